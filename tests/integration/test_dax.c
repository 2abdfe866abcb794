// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What only a DAX backing can show (issue 12, section 2). `make test-dax`
 * runs these in a guest with an emulated NVDIMM, with the tests' temp dirs
 * (so BACKING) on a DAX ext4 and then on a DAX xfs; elsewhere every test
 * here skips, saying why, before it makes anything (test_mmap.c has the
 * mapping's pages, whose non-DAX half runs everywhere). The truth is the
 * machine's (dax_truth.h): statx, the mount table, ndctl, pagemap and
 * /proc/iomem.
 */
static void require_dax(void);
#define MDFS_TEST_INIT require_dax
#include "harness.h"
#include "dax_truth.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

#define SIZE (2 << 20)		/* a PMD's worth: DAX maps it huge */
#define PAGE 4096
#define PROMPT_MS 3000
#define BLOCKED_MS 200

static const char *where_name(int w)
{
	return w == TRUTH_PMEM ? "Persistent Memory" :
	       w == TRUTH_RAM ? "System RAM" : strerror(-w);
}

/* Skip the test unless a file made where the temp dirs go is DAX. */
static void require_dax(void)
{
	char opt[32] = "";

	if (mdfs_dir_is_dax(mdfs_tmpdir()))
		return;
	truth_mount_dax(mdfs_tmpdir(), opt, sizeof(opt));
	cr_skip_test("the tests' temp dirs (MDFS_TMPDIR=%s) are not on DAX "
		     "(dax=%s): make test-dax runs this on DAX ext4 and xfs",
		     mdfs_tmpdir(), opt[0] ? opt : "none");
}

/* In an agent: where the pages of its own mapping are (a struct lop:
 * a = address, b = length) */
static long agent_pages_where(void *buf)
{
	struct lop *o = buf;

	return truth_pages_where((const void *)(long)o->a, (size_t)o->b);
}

static int holder_pages_where(struct mdfs_agent *a, long long map,
			      size_t len)
{
	struct lop o = { .a = map, .b = (long long)len };

	return (int)mdfs_agent_call(a, agent_pages_where, &o, sizeof(o),
				    NULL);
}

/* "key=value key=value" of the device xattr: @key's value, static */
static const char *kv(const char *text, const char *key)
{
	static char val[128];
	size_t n = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, ' ') ?
	     strchr(p, ' ') + 1 : NULL) {
		if (!strncmp(p, key, n) && p[n] == '=') {
			snprintf(val, sizeof(val), "%.*s",
				 (int)strcspn(p + n + 1, " \n"), p + n + 1);
			return val;
		}
	}
	return NULL;
}

/* `mapdirect devices --json`, parsed */
static struct json_object *devices_json(void)
{
	const char *bin = getenv("MAPDIRECT_BIN");
	char cmd[PATH_MAX + 32], buf[65536];
	struct json_object *doc;
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' devices --json",
		 bin && *bin ? bin : MAPDIRECT_BIN);
	p = popen(cmd, "re");
	cr_assert_not_null(p, "%s: %s", cmd, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	cr_assert_eq(pclose(p), 0, "%s failed; it printed:\n%s", cmd, buf);
	doc = json_tokener_parse(buf);
	cr_assert_not_null(doc, "%s printed no JSON:\n%s", cmd, buf);
	return doc;
}

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s",
		  key, json_object_to_json_string(o));
	return v;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	cr_assert(json_object_is_type(v, json_type_string), "\"%s\" in %s",
		  key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

/*
 * user.mapdirect.dax, config (dax_active), device and `mapdirect devices
 * --json` agree with statx of the backing file and with `ndctl list`; a
 * file of the mount itself never shows STATX_ATTR_DAX (SPEC 6).
 */
MDFS_TEST(dax, xattrs_and_devices_agree_with_ndctl_and_statx, NULL)
{
	struct json_object *doc, *regions, *mounts, *ours = NULL, *dev;
	struct truth_ns ns, all[64];
	const char *device;
	struct statx stx;
	int n, regions_n, listed = 0;

	lease_file(fs, "f", SIZE, 'x');
	cr_assert(mdfs_file_is_dax(mdfs_bpath(fs, "f")));
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "f"), "user.mapdirect.dax"),
			 "1\n");
	cr_assert_eq(statx(AT_FDCWD, mdfs_mpath(fs, "f"), 0, STATX_BASIC_STATS,
			   &stx), 0);
	cr_assert_not(stx.stx_attributes & STATX_ATTR_DAX,
		      "a FUSE file showed STATX_ATTR_DAX");
	cr_assert(strstr(lease_xattr(fs->mnt, "user.mapdirect.config"),
			 "\ndax_active=1\n"), "config: %s",
		  lease_xattr(fs->mnt, "user.mapdirect.config"));

	cr_assert(mdfs_pmem_ns_of(fs->backing, &ns), "BACKING %s is DAX but "
		  "on no namespace ndctl lists", fs->backing);
	device = lease_xattr(fs->mnt, "user.mapdirect.device");
	cr_assert_str_eq(kv(device, "region"), ns.region, "device: %s", device);
	cr_assert_str_eq(kv(device, "namespace"), ns.dev, "device: %s", device);
	cr_assert_str_eq(kv(device, "mode"), ns.mode, "device: %s", device);
	cr_assert_str_eq(kv(device, "blockdev"), ns.blockdev, "device: %s",
			 device);
	/* the namespace's own size (sysfs), not the smaller one of its
	 * block device that ndctl list shows for fsdax */
	cr_assert_eq(strtoull(kv(device, "size"), NULL, 10), ns.raw_size,
		     "device: %s, namespace size %llu, ndctl's %llu", device,
		     ns.raw_size, ns.size);

	/* every region and namespace ndctl lists, and only those */
	n = truth_ndctl(all, 64, &regions_n);
	cr_assert_gt(n, 0);
	doc = devices_json();
	regions = jget(doc, "regions");
	cr_assert_eq(json_object_array_length(regions), (size_t)regions_n);
	for (size_t r = 0; r < json_object_array_length(regions); r++) {
		struct json_object *reg = json_object_array_get_idx(regions, r);
		struct json_object *nss = jget(reg, "namespaces");

		for (size_t k = 0; k < json_object_array_length(nss); k++) {
			struct json_object *o = json_object_array_get_idx(nss,
									  k);
			int i;

			for (i = 0; i < n; i++)
				if (!strcmp(all[i].dev, jstr(o, "name")))
					break;
			cr_assert_lt(i, n, "%s: not in ndctl's list",
				     jstr(o, "name"));
			cr_assert_str_eq(all[i].region, jstr(reg, "name"));
			cr_assert_str_eq(all[i].mode, jstr(o, "mode"));
			cr_assert_str_eq(all[i].blockdev, jstr(o, "blockdev"));
			listed++;
		}
	}
	cr_assert_eq(listed, n, "devices lists %d namespaces, ndctl %d",
		     listed, n);
	mounts = jget(doc, "mounts");
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);

		if (!strcmp(jstr(m, "mountpoint"), fs->mnt))
			ours = m;
	}
	cr_assert_not_null(ours, "%s not in devices --json", fs->mnt);
	cr_assert(json_object_get_boolean(jget(ours, "dax_active")));
	cr_assert_str_eq(jstr(ours, "backing_dax"), "always");
	dev = jget(ours, "device");
	cr_assert_str_eq(jstr(dev, "namespace"), ns.dev);
	cr_assert_str_eq(jstr(dev, "blockdev"), ns.blockdev);
	json_object_put(doc);
}

static void assert_one_line_refusal(const struct mdfs_result *r)
{
	const char *nl = strchr(r->err, '\n');

	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) != 0,
		  "wait status 0x%x; stderr:\n%s", r->status, r->err);
	cr_assert(!strncmp(r->err, "mapdirectfs: ", 13) && nl && !nl[1],
		  "not one \"mapdirectfs: \" line:\n%s", r->err);
	cr_assert(strstr(r->err, "not DAX"), "stderr: %s", r->err);
}

/*
 * SPEC 2 dax=require: mounts on a DAX backing (and leases there), is
 * refused on a tmpfs backing made in the same temp dir.
 */
MDFS_TEST_NOMOUNT(dax, require_mounts_on_dax_refuses_elsewhere)
{
	struct mdfs_result r;
	char o[256];
	uint64_t id;
	int fd;

	lease_file(fs, "f", SIZE, 'r');
	mdfs_start(fs, NULL, "dax=require");
	cr_assert(strstr(lease_xattr(fs->mnt, "user.mapdirect.config"),
			 "\ndax=require\n"), "config: %s",
		  lease_xattr(fs->mnt, "user.mapdirect.config"));
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "f"),
				     "user.mapdirect.eligible"), "yes\n");
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mapdirect_lease(fd, 0, 0, &id), 0);
	cr_assert_eq(mapdirect_unlease(fd), 0);
	close(fd);
	lease_stop_clean(fs);

	cr_assert_eq(mkdir(mdfs_tpath(fs, "ram"), 0755), 0);
	mdfs_cmd(fs, (const char *const[]){ "mount", "-t", "tmpfs", "-o",
					    "size=16m,mode=0755", "mdfs-ram",
					    mdfs_tpath(fs, "ram"), NULL });
	cr_assert_not(mdfs_dir_is_dax(mdfs_tpath(fs, "ram")));
	snprintf(o, sizeof(o), "%s,dax=require", fs->transport);
	mdfs_run_daemon(fs, (const char *const[]){ "-f", "-o", o,
						   mdfs_tpath(fs, "ram"),
						   fs->mnt, NULL }, &r);
	assert_one_line_refusal(&r);
}

/* the backing file @rel is all @byte over [0, @len), a MiB at a time */
static void assert_backing_all(struct mdfs_fs *fs, const char *rel,
			       size_t len, int byte)
{
	for (size_t off = 0; off < len; off += 1 << 20)
		lease_assert_backing(fs, rel, (off_t)off,
				     len - off < (1 << 20) ? len - off : 1 << 20,
				     byte);
}

/*
 * SPEC 4.1 on DAX: a sparse file and a fallocate'd one (unwritten
 * extents, where FIEMAP says the filesystem made them) are not eligible,
 * say why, and refuse a lease; ALLOCATE fills them, after which the file
 * has no hole and no unwritten extent, reads zeros, and its leased mapping
 * is pmem. A written file is eligible as it is.
 */
MDFS_TEST(dax, eligibility_and_allocate, NULL)
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	char want[64];
	long long map;
	int fd, bfd;

	lease_hole_file(fs, "sparse", SIZE);
	cr_assert_lt(lease_backing_hole(fs, "sparse"), SIZE);
	snprintf(want, sizeof(want), "no: hole at 0+%d\n", SIZE);
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "sparse"),
				     "user.mapdirect.eligible"), want);
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "sparse"), O_RDWR));
	cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), -EPERM);
	LOP_OK(h, op_lease(fd, MAPDIRECT_LEASE_ALLOCATE, 0));
	cr_assert_eq(lease_backing_hole(fs, "sparse"), SIZE, "a hole is left");
	cr_assert_not(lease_extent_flag(fs, "sparse", FIEMAP_EXTENT_UNWRITTEN),
		      "an unwritten extent is left");
	assert_backing_all(fs, "sparse", SIZE, 0);
	map = LOP_OK(h, op_mmap(fd, SIZE));
	cr_assert_eq(holder_pages_where(h, map, SIZE), TRUTH_PMEM);
	LOP_OK(h, op_munmap(map, SIZE));

	bfd = open(mdfs_bpath(fs, "unwritten"), O_RDWR | O_CREAT | O_CLOEXEC,
		   0644);
	cr_assert_geq(bfd, 0);
	cr_assert_eq(fallocate(bfd, 0, 0, SIZE), 0, "fallocate: %s",
		     strerror(errno));
	cr_assert_eq(fsync(bfd), 0);
	close(bfd);
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "unwritten"), O_RDWR));
	if (lease_extent_flag(fs, "unwritten", FIEMAP_EXTENT_UNWRITTEN)) {
		const char *el = lease_xattr(mdfs_mpath(fs, "unwritten"),
					     "user.mapdirect.eligible");

		/* SEEK_HOLE counts an unwritten extent as a hole on ext4
		 * and xfs (no page cache on DAX to say otherwise) */
		cr_assert(!strncmp(el, "no: hole at 0+", 14) ||
			  !strncmp(el, "no: unwritten extent at 0+", 26),
			  "eligible of a fallocate'd file: %s", el);
		cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), -EPERM);
		LOP_OK(h, op_lease(fd, MAPDIRECT_LEASE_ALLOCATE, 0));
		cr_assert_not(lease_extent_flag(fs, "unwritten",
					  FIEMAP_EXTENT_UNWRITTEN),
			      "unwritten extents left after ALLOCATE");
	} else {	/* the filesystem zeroed what it allocated */
		LOP_OK(h, op_lease(fd, 0, 0));
	}
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "unwritten"),
				     "user.mapdirect.eligible"), "yes\n");
	assert_backing_all(fs, "unwritten", SIZE, 0);

	lease_file(fs, "written", SIZE, 'w');
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "written"),
				     "user.mapdirect.eligible"), "yes\n");
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "written"), O_RDWR));
	LOP_OK(h, op_lease(fd, 0, 0));
}

/* A holder that leased @rel and maps all of it, in pmem (checked) */
static long long dax_holder(struct mdfs_fs *fs, struct lease_holder *h,
			    const char *rel, int sig)
{
	long long map;
	int w;

	lease_hold(fs, h, rel, 0, sig);
	map = LOP_OK(h->a, op_mmap(h->fd, SIZE));
	w = holder_pages_where(h->a, map, SIZE);
	cr_assert_eq(w, TRUTH_PMEM, "the holder's mapping is in %s",
		     where_name(w));
	return map;
}

/*
 * SPEC 4.3 with real DAX mappings: two holders map pmem and store through
 * it (the stores are in the backing file at once); a write from a third
 * process parks until both unmapped and unleased, each told by POLLPRI,
 * then runs; nobody waited for the deadline.
 */
MDFS_LEASE_TEST(dax_lease, a_break_waits_for_the_pmem_holders,
		"lease_break_time=20")
{
	struct lease_holder h1 = { 0 }, h2 = { 0 };
	struct mdfs_agent *b;
	long long m1, m2;
	struct lop w;
	int obs, fd;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	m1 = dax_holder(fs, &h1, "f", 0);
	m2 = dax_holder(fs, &h2, "f", 0);
	LOP_OK(h1.a, op_store(m1, 0, '1'));
	LOP_OK(h2.a, op_store(m2, SIZE - 1, '2'));
	lease_assert_backing(fs, "f", 0, 1, '1');
	lease_assert_backing(fs, "f", SIZE - 1, 1, '2');

	b = mdfs_agent_start(-1, -1);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, PAGE, 'B', PAGE);
	lop_send(b, &w);
	lease_assert_pollpri(&h1, PROMPT_MS);
	lease_assert_pollpri(&h2, PROMPT_MS);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 2, PROMPT_MS);
	/* the holders' mappings still work during the grace period */
	cr_assert_eq(lop_do(h1.a, op_load(m1, SIZE - 1)), '2');
	LOP_OK(h1.a, op_munmap(m1, SIZE));
	LOP_OK(h1.a, op_unlease(h1.fd, h1.id));
	lease_assert_blocked(b, BLOCKED_MS, "pwrite with one holder left");
	LOP_OK(h2.a, op_munmap(m2, SIZE));
	LOP_OK(h2.a, op_unlease(h2.fd, h2.id));
	cr_assert_eq(lop_recv(b, &w), PAGE);
	cr_assert_lt(w.ms, 10000, "the breaker waited %lld ms", w.ms);
	lease_assert_backing(fs, "f", PAGE, PAGE, 'B');
	lease_assert_backing(fs, "f", 0, 1, '1');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}

/*
 * SPEC 4.3.3: a holder of a pmem mapping that ignores the break is
 * revoked at the deadline (revoke=signal: SIGBUS), counted, and the
 * breaker runs.
 */
MDFS_LEASE_TEST(dax_lease, an_ignored_break_revokes_the_pmem_holder,
		"lease_break_time=1")
{
	struct lease_holder h = { 0 };
	struct mdfs_agent *b;
	char how[64];
	struct lop w;
	int fd, st;

	lease_file(fs, "f", SIZE, 'a');
	dax_holder(fs, &h, "f", 0);
	b = mdfs_agent_start(-1, -1);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'Z', PAGE);
	lop_send(b, &w);
	lease_assert_blocked(b, BLOCKED_MS, "pwrite");
	st = mdfs_agent_wait_exit(h.a, 10000);
	cr_assert(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS,
		  "revoked pmem holder: %s, expected SIGBUS",
		  mdfs_describe_status(st, how, sizeof(how)));
	cr_assert_eq(lop_recv(b, &w), PAGE);
	lease_assert_backing(fs, "f", 0, PAGE, 'Z');
	cr_assert_eq(lease_stat(fs, "leases_revoked"), 1);
}

/*
 * SPEC 4.2 with a pmem mapping: the lease follows the mapping, not the
 * fd. Closed after mmap, it is still held and a break still waits for the
 * holder; once the holder unmapped, the next break finds no mapping and
 * the breaker proceeds at once; a holder's exit ends its lease at once.
 */
MDFS_LEASE_TEST_NOMOUNT(dax_lease, the_lease_follows_the_pmem_mapping)
{
	struct lease_holder h = { 0 }, g = { 0 };
	struct mapdirect_lease_info i;
	struct mdfs_agent *b;
	long long map;
	struct lop w;
	int obs, fd, n;

	lease_file(fs, "f", SIZE, 'a');
	mdfs_start(fs, (const char *const[]){ "-d", NULL },
		   "lease_break_time=20");
	obs = lease_obs(fs, "f");
	map = dax_holder(fs, &h, "f", 0);
	n = lease_log_count(fs, "RELEASE", 0);
	LOP_OK(h.a, op_close(h.fd));
	lease_log_wait(fs, "RELEASE", 0, n + 1, PROMPT_MS);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "closing the fd of a "
		     "mapped lease ended it");
	cr_assert_eq(i.holders, 1);
	cr_assert_eq(holder_pages_where(h.a, map, SIZE), TRUTH_PMEM);

	LOP_OK(h.a, op_munmap(map, SIZE));
	b = mdfs_agent_start(-1, -1);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'Z', PAGE);
	cr_assert_eq(lop_run(b, &w), PAGE);
	cr_assert_lt(w.ms, PROMPT_MS, "the breaker waited %lld ms", w.ms);
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);

	dax_holder(fs, &g, "f", 0);
	assert_lease_becomes(obs, MAPDIRECT_STATE_HELD, 1, 0);
	mdfs_agent_kill(g.a, SIGKILL);
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}
