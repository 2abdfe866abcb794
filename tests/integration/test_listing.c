// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 4.4 lease listings (issue 13, findings 6 and 7):
 * - the mount-wide listing shows a lease's path (and its holder's comm)
 *   only to a reader who could reach the file: search permission on every
 *   directory from the mount root to it, as the kernel decides it for that
 *   reader (uid, gid, supplementary groups); uid 0 always; anyone else
 *   gets dev:inode, as /proc/locks shows it. In the xattr, in
 *   MAPDIRECT_IOC_LEASES, in libmapdirect and in `mapdirect leases`.
 * - no listing fails for being long: MAPDIRECT_IOC_LEASES hands out
 *   batches with a cursor, the library and the CLI read it whole, and an
 *   xattr that would pass 64 KiB is cut with a last line that says so.
 * - a cursor walk returns each lease that lived through the whole walk
 *   exactly once, whatever ended or began between its calls.
 * Readers are forked children as uid 1000/1001 on allow_other mounts.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mapdirect.h"

#ifndef MAPDIRECT_BIN
#error "MAPDIRECT_BIN (path of the built CLI) must be defined by the build"
#endif

#define PAGE 4096
#define OWNER 1000
#define OTHER 1001
#define XATTR "user.mapdirect.leases"
#define SECRET_DIR "private_1000"
#define SECRET "private_1000/salary-2026-layoffs.xlsx"
#define PUBLIC "shared/plan.txt"
#define COMM "hr-payroll"
/* what the readers' children bring back, in shared memory */
#define OUT_LEN (512 * 1024)

/* -- MAPDIRECT_IOC_LEASES, by hand ------------------------------------ */

struct rec {
	struct mapdirect_lease_rec r;
	char path[PATH_MAX];	/* "" without MAPDIRECT_REC_PATH */
};

/*
 * One call from @cursor: the records into @v (up to @max), the answer's
 * cursor and flags into @a. @return the count, or -errno.
 */
static int leases_call(int fd, uint64_t cursor, struct mapdirect_leases *a,
		       struct rec *v, int max)
{
	size_t off = 0;

	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->cursor = cursor;
	if (ioctl(fd, MAPDIRECT_IOC_LEASES, a))
		return -errno;
	if (a->len > sizeof(a->buf))
		return -EBADMSG;
	for (uint32_t i = 0; i < a->count; i++) {
		struct rec *r = &v[i];

		if ((int)i >= max || a->len - off < sizeof(r->r))
			return -EBADMSG;
		memcpy(&r->r, a->buf + off, sizeof(r->r));
		if (r->r.rec_len < sizeof(r->r) || r->r.rec_len % 8 ||
		    r->r.rec_len > a->len - off)
			return -EBADMSG;
		r->path[0] = '\0';
		if (r->r.rec_flags & MAPDIRECT_REC_PATH) {
			const char *p = (const char *)a->buf + off +
					sizeof(r->r);

			if (r->r.path_len >= r->r.rec_len - sizeof(r->r) ||
			    p[r->r.path_len] || strlen(p) != r->r.path_len)
				return -EBADMSG;
			memcpy(r->path, p, r->r.path_len + 1);
		}
		off += r->r.rec_len;
	}
	return (int)a->count;
}

/*
 * A whole walk from cursor 0 into @v (up to @max). @return the count, or
 * -errno; -EPROTO if the cursor went backwards or ids did not ascend.
 */
static int leases_walk(int fd, struct rec *v, int max, int *calls)
{
	struct mapdirect_leases *a = malloc(sizeof(*a));
	uint64_t cursor = 0;
	int n = 0, got;

	if (!a)
		return -ENOMEM;
	*calls = 0;
	for (;;) {
		got = leases_call(fd, cursor, a, v + n, max - n);
		(*calls)++;
		if (got < 0)
			break;
		for (int i = 0; i < got; i++)
			if (v[n + i].r.lease_id <= cursor ||
			    (i && v[n + i].r.lease_id <=
				  v[n + i - 1].r.lease_id))
				got = -EPROTO;
		if (got < 0)
			break;
		n += got;
		if (got && a->cursor != v[n - 1].r.lease_id) {
			got = -EPROTO;
			break;
		}
		if ((a->out_flags & MAPDIRECT_LEASES_END) || !got)
			break;
		cursor = a->cursor;
	}
	free(a);
	return got < 0 ? got : n;
}

/* -- readers ---------------------------------------------------------- */

/*
 * What one reader sees of the mount's leases, each as a line
 * "id=N inode=MAJ:MIN:INO comm=C path=P" (P "-" when not shown):
 * through the xattr (its raw text), the ioctl, and libmapdirect.
 */
struct view {
	const struct mdfs_fs *fs;
	uid_t uid;
	gid_t gid;
	gid_t group;		/* a supplementary group, or 0: none */
	int xattr_err, ioctl_err, lib_err;
	char xattr[70000];
	char ioctl[16384];
	char lib[16384];
};

static void add_line(char *out, size_t len, uint64_t id, dev_t dev,
		     uint64_t ino, const char *comm, const char *path)
{
	size_t used = strlen(out);

	snprintf(out + used, len - used, "id=%" PRIu64 " inode=%02x:%02x:%"
		 PRIu64 " comm=%s path=%s\n", id, major(dev), minor(dev), ino,
		 comm, path ? path : "-");
}

static void read_view(struct view *v)
{
	struct mapdirect_lease_entry *l;
	struct mapdirect_ctx *ctx;
	struct rec *recs;
	ssize_t n;
	int fd, calls;

	n = getxattr(v->fs->mnt, XATTR, v->xattr, sizeof(v->xattr) - 1);
	v->xattr_err = n < 0 ? errno : 0;
	v->xattr[n < 0 ? 0 : n] = '\0';

	recs = calloc(64, sizeof(*recs));
	fd = open(v->fs->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = fd < 0 || !recs ? -errno : leases_walk(fd, recs, 64, &calls);
	v->ioctl_err = n < 0 ? (int)-n : 0;
	for (int i = 0; i < n; i++)
		add_line(v->ioctl, sizeof(v->ioctl), recs[i].r.lease_id,
			 (dev_t)recs[i].r.dev, recs[i].r.ino,
			 (recs[i].r.rec_flags & MAPDIRECT_REC_COMM) ?
				 recs[i].r.comm : "",
			 (recs[i].r.rec_flags & MAPDIRECT_REC_PATH) ?
				 recs[i].path : NULL);
	if (fd >= 0)
		close(fd);
	free(recs);

	if (mapdirect_new(&ctx)) {
		v->lib_err = ENOMEM;
		return;
	}
	n = mapdirect_leases_load(ctx, v->fs->mnt);
	v->lib_err = n < 0 ? (int)-n : 0;
	mapdirect_lease_foreach(ctx, l)
		add_line(v->lib, sizeof(v->lib), mapdirect_lease_get_id(l),
			 mapdirect_lease_get_dev(l), mapdirect_lease_get_ino(l),
			 mapdirect_lease_get_comm(l),
			 mapdirect_lease_get_path(l));
	mapdirect_unref(ctx);
}

/* in a child that starts as root: become the reader, then read */
static int reader(void *arg)
{
	struct view *v = arg;

	if (v->uid) {
		if (setgroups(v->group ? 1 : 0, &v->group) ||
		    setgid(v->gid) || setuid(v->uid) || geteuid() != v->uid)
			return MDFS_CHILD_SETUP_FAILED;
	}
	read_view(v);
	return 0;
}

static struct view *view_as(struct mdfs_fs *fs, uid_t uid, gid_t gid,
			    gid_t group)
{
	struct view *v = mdfs_shared(sizeof(*v));

	v->fs = fs;
	v->uid = uid;
	v->gid = gid;
	v->group = group;
	cr_assert_eq(mdfs_run_child(reader, v), 0, "reader uid %u", uid);
	return v;
}

/* The forms of a view, the xattr first: what each assertion looks at */
#define NFORMS 3
static const char *const form_names[NFORMS] = {
	"xattr", "MAPDIRECT_IOC_LEASES", "mapdirect_leases_load"
};

static const char *form(const struct view *v, int i)
{
	const char *text[NFORMS] = { v->xattr, v->ioctl, v->lib };
	int err[NFORMS] = { v->xattr_err, v->ioctl_err, v->lib_err };

	cr_assert_eq(err[i], 0, "uid %u, %s: %s", v->uid, form_names[i],
		     strerror(err[i]));
	return text[i];
}

/* The line of @text that starts with "id=@id " (a static copy), or NULL */
static const char *line_of(const char *text, long long id)
{
	static char line[8192];
	char key[32];
	const char *l;
	size_t klen;

	klen = (size_t)snprintf(key, sizeof(key), "id=%lld ", id);
	for (l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 :
						       NULL) {
		if (strncmp(l, key, klen))
			continue;
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
		return line;
	}
	return NULL;
}

/* "inode=00:2d:1234": the file as stat(2) shows it through the mount */
static const char *inode_word(struct mdfs_fs *fs, const char *rel)
{
	static char word[64];
	struct stat st = mdfs_lstat(mdfs_mpath(fs, "%s", rel));

	snprintf(word, sizeof(word), "inode=%02x:%02x:%llu", major(st.st_dev),
		 minor(st.st_dev), (unsigned long long)st.st_ino);
	return word;
}

/*
 * Each form of @v has a line for lease @id that names the file by its
 * inode and, iff @shown, by @rel with the holder's comm.
 */
static void assert_sees(struct mdfs_fs *fs, const struct view *v,
			long long id, const char *rel, bool shown)
{
	char path[PATH_MAX], comm[64], inode[64];

	snprintf(inode, sizeof(inode), "%s", inode_word(fs, rel));
	snprintf(path, sizeof(path), " path=%s", rel);
	snprintf(comm, sizeof(comm), " comm=%s ", COMM);
	for (int i = 0; i < NFORMS; i++) {
		const char *text = form(v, i), *l = line_of(text, id);

		cr_assert_not_null(l, "uid %u, %s: no lease %lld in\n%s",
				   v->uid, form_names[i], id, text);
		if (shown) {
			cr_assert(strstr(l, path) && strstr(l, comm),
				  "uid %u, %s: path and comm of %s not shown:"
				  "\n%s", v->uid, form_names[i], rel, l);
		} else {
			cr_assert(!strstr(l, " path=") ||
					  strstr(l, " path=-"),
				  "uid %u, %s: a path it cannot reach:\n%s",
				  v->uid, form_names[i], l);
			cr_assert(!strstr(l, COMM), "uid %u, %s: the "
				  "holder's comm beside a hidden path:\n%s",
				  v->uid, form_names[i], l);
		}
		cr_assert(strstr(l, inode), "uid %u, %s: no %s in\n%s", v->uid,
			  form_names[i], inode, l);
	}
}

/* No form of @v holds @word anywhere */
static void assert_never(const struct view *v, const char *word)
{
	for (int i = 0; i < NFORMS; i++) {
		const char *text = form(v, i);

		cr_assert(!strstr(text, word), "uid %u sees \"%s\" in %s:\n%s",
			  v->uid, word, form_names[i], text);
	}
}

/* Each form of @v has a line for lease @id, holding @word */
static void assert_line_has(const struct view *v, long long id,
			    const char *word)
{
	for (int i = 0; i < NFORMS; i++) {
		const char *text = form(v, i), *l = line_of(text, id);

		cr_assert(l && strstr(l, word), "uid %u, %s: lease %lld "
			  "without \"%s\":\n%s", v->uid, form_names[i], id,
			  word, text);
	}
}

/* -- fixtures --------------------------------------------------------- */

/* A leasable backing file @rel of @uid, mode 0644 */
static void owned_file(struct mdfs_fs *fs, const char *rel, uid_t uid)
{
	lease_file(fs, rel, 4 * PAGE, 's');
	cr_assert_eq(chown(mdfs_bpath(fs, "%s", rel), uid, uid), 0);
}

static void owned_dir(struct mdfs_fs *fs, const char *rel, uid_t uid,
		      gid_t gid, mode_t mode)
{
	cr_assert_eq(mkdir(mdfs_bpath(fs, "%s", rel), mode), 0);
	cr_assert_eq(chown(mdfs_bpath(fs, "%s", rel), uid, gid), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "%s", rel), mode), 0);
}

static long set_comm(void *buf)
{
	return prctl(PR_SET_NAME, (char *)buf, 0, 0, 0);
}

/*
 * uid 1000's secret file in its 0700 (or @mode) directory and a file of
 * its in a public one, both leased by one agent of uid 1000 named COMM.
 */
static void secret_setup(struct mdfs_fs *fs, mode_t mode,
			 struct lease_holder *secret,
			 struct lease_holder *public)
{
	char comm[16] = COMM;

	owned_dir(fs, SECRET_DIR, OWNER, OWNER, mode);
	owned_dir(fs, "shared", OWNER, OWNER, 0755);
	owned_file(fs, SECRET, OWNER);
	owned_file(fs, PUBLIC, OWNER);
	secret->a = mdfs_agent_start(OWNER, OWNER);
	cr_assert_eq(mdfs_agent_call(secret->a, set_comm, comm, sizeof(comm),
				     NULL), 0);
	lease_hold(fs, secret, SECRET, 0, 0);
	public->a = secret->a;
	lease_hold(fs, public, PUBLIC, 0, 0);
}

/* -- who sees what ---------------------------------------------------- */

MDFS_TEST(listing, path_only_where_the_reader_may_walk, "allow_other")
{
	struct lease_holder secret = { 0 }, public = { 0 };
	struct view *v;

	secret_setup(fs, 0700, &secret, &public);

	/* finding 6: uid 1001 may not search private_1000/ */
	v = view_as(fs, OTHER, OTHER, 0);
	assert_sees(fs, v, secret.id, SECRET, false);
	assert_sees(fs, v, public.id, PUBLIC, true);
	assert_never(v, "salary");
	assert_never(v, SECRET_DIR);

	/* its owner and root walk there */
	v = view_as(fs, OWNER, OWNER, 0);
	assert_sees(fs, v, secret.id, SECRET, true);
	assert_sees(fs, v, public.id, PUBLIC, true);
	v = view_as(fs, 0, 0, 0);
	assert_sees(fs, v, secret.id, SECRET, true);
	assert_sees(fs, v, public.id, PUBLIC, true);
}

MDFS_TEST(listing, supplementary_groups_count, "allow_other")
{
	struct lease_holder secret = { 0 }, public = { 0 };
	struct view *v;

	/* group 1000 may search the directory, others may not */
	secret_setup(fs, 0750, &secret, &public);
	v = view_as(fs, OTHER, OTHER, 0);
	assert_sees(fs, v, secret.id, SECRET, false);
	assert_never(v, "salary");
	v = view_as(fs, OTHER, OTHER, OWNER);
	assert_sees(fs, v, secret.id, SECRET, true);
}

MDFS_TEST(listing, every_directory_on_the_way_counts, "allow_other")
{
	struct lease_holder h = { 0 };
	struct view *v;

	/* searchable at the end, not half-way: the walk stops there */
	owned_dir(fs, "a", OWNER, OWNER, 0755);
	owned_dir(fs, "a/locked", OWNER, OWNER, 0700);
	owned_dir(fs, "a/locked/open", OWNER, OWNER, 0777);
	owned_file(fs, "a/locked/open/f", OWNER);
	h.a = mdfs_agent_start(OWNER, OWNER);
	lease_hold(fs, &h, "a/locked/open/f", 0, 0);
	v = view_as(fs, OTHER, OTHER, 0);
	assert_never(v, "locked");
	assert_line_has(v, h.id, inode_word(fs, "a/locked/open/f"));

	/* a rename moves the lease under a directory it may not search */
	owned_dir(fs, "pub", OWNER, OWNER, 0755);
	owned_file(fs, "pub/g", OWNER);
	lease_hold(fs, &h, "pub/g", 0, 0);
	v = view_as(fs, OTHER, OTHER, 0);
	assert_line_has(v, h.id, " path=pub/g");
	cr_assert_eq(rename(mdfs_mpath(fs, "pub/g"),
			    mdfs_mpath(fs, "a/locked/g")), 0);
	v = view_as(fs, OTHER, OTHER, 0);
	assert_never(v, "pub/g");
	assert_never(v, "locked");
	assert_line_has(v, h.id, inode_word(fs, "a/locked/g"));
	v = view_as(fs, 0, 0, 0);
	assert_line_has(v, h.id, " path=a/locked/g");
}

/* "u::rwx,u:@uid:--x,g::---,m::--x,o::---" in the kernel's xattr form */
static void acl_lets_in(const char *dir, uid_t uid)
{
	struct {
		uint32_t version;
		struct {
			uint16_t tag, perm;
			uint32_t id;
		} e[5];
	} acl = {
		.version = 2,
		.e = {
			{ 0x01, 7, (uint32_t)-1 },	/* user:: */
			{ 0x02, 1, uid },		/* user:uid */
			{ 0x04, 0, (uint32_t)-1 },	/* group:: */
			{ 0x10, 1, (uint32_t)-1 },	/* mask:: */
			{ 0x20, 0, (uint32_t)-1 },	/* other:: */
		},
	};

	if (setxattr(dir, "system.posix_acl_access", &acl, sizeof(acl), 0))
		cr_skip_test("no POSIX ACLs on the backing here: %s",
			     strerror(errno));
}

static int can_stat(void *arg)
{
	struct stat st;

	return stat(arg, &st) ? errno : 0;
}

MDFS_TEST(listing, a_backing_acl_is_not_a_way_in, "allow_other")
{
	struct lease_holder secret = { 0 }, public = { 0 };
	struct view *v;

	secret_setup(fs, 0700, &secret, &public);
	/* BACKING lets uid 1001 search the directory, the mount does not:
	 * it checks mode bits only (default_permissions, no ACLs) */
	acl_lets_in(mdfs_bpath(fs, SECRET_DIR), OTHER);
	cr_assert_eq(mdfs_run_as(OTHER, OTHER, can_stat,
				 (void *)mdfs_mpath(fs, SECRET)), EACCES,
		     "uid 1001 reaches the file through the mount");
	v = view_as(fs, OTHER, OTHER, 0);
	assert_sees(fs, v, secret.id, SECRET, false);
	assert_never(v, "salary");
}

/* -- the CLI ---------------------------------------------------------- */

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static const char *cli_bin(void)
{
	const char *env = getenv("MAPDIRECT_BIN");

	return env && *env ? env : MAPDIRECT_BIN;
}

struct cli {
	uid_t uid;
	const char *argv[8];
	const char *out;	/* stdout goes there */
};

static int cli_child(void *arg)
{
	struct cli *c = arg;
	int fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0)
		return MDFS_CHILD_SETUP_FAILED;
	if (c->uid && (setgroups(0, NULL) || setgid(c->uid) ||
		       setuid(c->uid)))
		return MDFS_CHILD_SETUP_FAILED;
	execv(c->argv[0], (char *const *)c->argv);
	return 127;
}

/* `mapdirect leases [--json] MNT` as @uid: its stdout (malloc()ed) */
static char *cli_leases(struct mdfs_fs *fs, uid_t uid, bool json)
{
	struct cli c = { .uid = uid };
	char out[PATH_MAX];
	int n = 0, code;
	size_t len;

	mdfs_pathf(out, "%s/cli-%u.out", fs->tmp, uid);
	c.out = out;
	c.argv[n++] = cli_bin();
	c.argv[n++] = "leases";
	if (json)
		c.argv[n++] = "--json";
	c.argv[n++] = fs->mnt;
	code = mdfs_run_child(cli_child, &c);
	cr_assert_eq(code, 0, "mapdirect leases as uid %u: exit %d", uid,
		     code);
	return mdfs_read_file(out, &len);
}

static struct json_object *json_lease(struct json_object *arr, long long id)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;

		if (json_object_object_get_ex(o, "id", &v) &&
		    json_object_get_int64(v) == id)
			return o;
	}
	cr_assert_fail("no lease %lld in %s", id,
		       json_object_to_json_string(arr));
	return NULL;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no %s in %s", key,
		  json_object_to_json_string(o));
	return v ? json_object_get_string(v) : NULL;
}

MDFS_TEST(listing, cli_hides_what_the_reader_may_not_walk, "allow_other")
{
	struct lease_holder secret = { 0 }, public = { 0 };
	struct json_object *arr, *o;
	struct stat st;
	char ino[32], dev[16], *text;

	secret_setup(fs, 0700, &secret, &public);
	st = mdfs_lstat(mdfs_mpath(fs, SECRET));
	snprintf(dev, sizeof(dev), "%02x:%02x", major(st.st_dev),
		 minor(st.st_dev));
	snprintf(ino, sizeof(ino), "%s:%llu", dev,
		 (unsigned long long)st.st_ino);

	text = cli_leases(fs, OTHER, false);
	cr_assert(!strstr(text, "salary") && !strstr(text, SECRET_DIR) &&
		  strstr(text, ino) && strstr(text, PUBLIC),
		  "uid 1001's mapdirect leases:\n%s", text);
	free(text);

	text = cli_leases(fs, OTHER, true);
	arr = json_tokener_parse(text);
	cr_assert(arr && json_object_is_type(arr, json_type_array),
		  "not a JSON array:\n%s", text);
	o = json_lease(arr, secret.id);
	cr_assert_null(json_str(o, "path"), "%s", text);
	cr_assert_str_eq(json_str(o, "comm"), "?");
	cr_assert_str_eq(json_str(o, "dev"), dev);
	cr_assert_eq(json_object_get_int64(json_object_object_get(o, "ino")),
		     (int64_t)st.st_ino);
	o = json_lease(arr, public.id);
	cr_assert_str_eq(json_str(o, "path"), PUBLIC);
	cr_assert_str_eq(json_str(o, "comm"), COMM);
	json_object_put(arr);
	cr_assert(!strstr(text, "salary"), "%s", text);
	free(text);

	text = cli_leases(fs, 0, false);
	cr_assert(strstr(text, SECRET) && strstr(text, COMM),
		  "root's mapdirect leases:\n%s", text);
	free(text);
}

MDFS_TEST(listing, cli_prints_a_line_per_lease_whatever_the_name, NULL)
{
	static const char evil[] = "d/x\n99 1 forged held";
	struct json_object *arr;
	char *text;
	long long id;
	int fd;

	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	lease_file(fs, evil, PAGE, 'e');
	fd = open(mdfs_mpath(fs, "%s", evil), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	id = lop_do(NULL, op_lease(fd, 0, 0));
	cr_assert_gt(id, 0);
	/* the ioctl and the library give the name as it is */
	text = cli_leases(fs, 0, true);
	arr = json_tokener_parse(text);
	cr_assert_not_null(arr, "%s", text);
	cr_assert_str_eq(json_str(json_lease(arr, id), "path"), evil);
	json_object_put(arr);
	free(text);
	/* the text listing keeps one line per lease */
	text = cli_leases(fs, 0, false);
	cr_assert(count_lines(text) == 2 && strstr(text, " d/x?99 1 forged"),
		  "mapdirect leases:\n%s", text);
	free(text);
	close(fd);
}

/* -- long listings (finding 7) ---------------------------------------- */

#define NLONG 30
/* ~3 KB paths: 12 directories of 250 characters */
#define DEPTH 12
#define NAMELEN 250

/* the deep directory, relative to the root; made in BACKING */
static void deep_dir(struct mdfs_fs *fs, char *rel, size_t len)
{
	char name[NAMELEN + 1];

	rel[0] = '\0';
	for (int d = 0; d < DEPTH; d++) {
		size_t used = strlen(rel);

		memset(name, 'a' + d, NAMELEN);
		name[NAMELEN] = '\0';
		snprintf(rel + used, len - used, "%s%s", d ? "/" : "", name);
		cr_assert_eq(mkdir(mdfs_bpath(fs, "%s", rel), 0755), 0,
			     "mkdir: %s", strerror(errno));
	}
}

/* Open @rel below the mount a component at a time (no symlinks: ours) */
static int open_deep(struct mdfs_fs *fs, const char *rel, int flags)
{
	char *copy = strdup(rel), *save = NULL, *name, *next;
	int dir = open(fs->mnt, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;

	cr_assert(copy && dir >= 0);
	for (name = strtok_r(copy, "/", &save); name; name = next) {
		next = strtok_r(NULL, "/", &save);
		fd = openat(dir, name, (next ? O_PATH | O_DIRECTORY : flags) |
			    O_NOFOLLOW | O_CLOEXEC);
		cr_assert_geq(fd, 0, "openat %s: %s", name, strerror(errno));
		close(dir);
		dir = fd;
	}
	free(copy);
	return fd;
}

MDFS_TEST(listing, long_listing_is_read_whole_and_the_xattr_says_cut,
	  "allow_other")
{
	char deep[PATH_MAX], rel[NLONG][PATH_MAX], *val, *text;
	struct mapdirect_lease_entry *l;
	struct mapdirect_ctx *ctx;
	struct json_object *arr;
	long long id[NLONG];
	const char *last;
	struct rec *recs;
	int fd[NLONG], n, calls, left, root;
	ssize_t len;

	deep_dir(fs, deep, sizeof(deep));
	for (int i = 0; i < NLONG; i++) {
		mdfs_pathf(rel[i], "%s/f%02d", deep, i);
		lease_file(fs, rel[i], PAGE, 'l');
		fd[i] = open_deep(fs, rel[i], O_RDWR);
		id[i] = lop_do(NULL, op_lease(fd[i], 0, 0));
		cr_assert_gt(id[i], 0, "lease %d: %s", i,
			     strerror((int)-id[i]));
	}

	/* the xattr: within 64 KiB (no E2BIG), cut, and saying so */
	len = getxattr(fs->mnt, XATTR, NULL, 0);
	cr_assert(len > 0 && len <= 65536, "size probe: %zd (%s)", len,
		  len < 0 ? strerror(errno) : "");
	val = calloc(1, 65537);
	cr_assert_not_null(val);
	len = getxattr(fs->mnt, XATTR, val, 65536);
	cr_assert(len > 0, "getxattr of %d leases with ~3 KB paths: %s",
		  NLONG, strerror(errno));
	val[len] = '\0';
	last = strrchr(val, '\n');
	cr_assert(last && last[1] == '\0');
	while (last > val && last[-1] != '\n')
		last--;
	cr_assert(sscanf(last, "truncated: %d more lease", &left) == 1,
		  "last line of a cut listing: %s", last);
	cr_assert_eq(count_lines(val) - 1 + left, NLONG,
		     "%d lines shown and %d left out of %d",
		     count_lines(val) - 1, left, NLONG);
	cr_assert_gt(left, 0);
	free(val);

	/* the ioctl, a batch per call: every one, with its path */
	recs = calloc(NLONG + 1, sizeof(*recs));
	cr_assert_not_null(recs);
	root = open(fs->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(root, 0);
	n = leases_walk(root, recs, NLONG + 1, &calls);
	close(root);
	cr_assert_eq(n, NLONG, "walk: %d (%s)", n, n < 0 ? strerror(-n) : "");
	cr_assert_gt(calls, 1, "%d leases of ~3 KB paths in one call", NLONG);
	for (int i = 0; i < NLONG; i++) {
		cr_assert_eq((long long)recs[i].r.lease_id, id[i]);
		cr_assert_str_eq(recs[i].path, rel[i]);
	}
	free(recs);

	/* the library */
	cr_assert_eq(mapdirect_new(&ctx), 0);
	n = mapdirect_leases_load(ctx, fs->mnt);
	cr_assert_eq(n, NLONG, "mapdirect_leases_load: %d", n);
	n = 0;
	mapdirect_lease_foreach(ctx, l)
		cr_assert_str_eq(mapdirect_lease_get_path(l), rel[n++]);
	mapdirect_unref(ctx);

	/* the CLI */
	text = cli_leases(fs, 0, true);
	arr = json_tokener_parse(text);
	cr_assert(arr && json_object_is_type(arr, json_type_array) &&
		  json_object_array_length(arr) == NLONG,
		  "mapdirect leases --json of %d long paths: %.300s", NLONG,
		  text);
	for (int i = 0; i < NLONG; i++)
		cr_assert_str_eq(json_str(json_lease(arr, id[i]), "path"),
				 rel[i]);
	json_object_put(arr);
	free(text);
	text = cli_leases(fs, 0, false);
	cr_assert_eq(count_lines(text), NLONG + 1, "a header and %d lines",
		     NLONG);
	free(text);
	for (int i = 0; i < NLONG; i++)
		close(fd[i]);
}

/* a line of a file's own listing is ~104 bytes: 800 pass 64 KiB */
#define NFILE 800

/* in a child: the mount-wide walk as uid 1001, how many records have a path */
static int paths_seen_as_other(void *arg)
{
	struct mdfs_fs *fs = arg;
	struct rec *recs = calloc(NFILE + 1, sizeof(*recs));
	int fd, n, calls, paths = 0;

	if (!recs || setgroups(0, NULL) || setgid(OTHER) || setuid(OTHER))
		return MDFS_CHILD_SETUP_FAILED;
	fd = open(fs->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = fd < 0 ? -1 : leases_walk(fd, recs, NFILE + 1, &calls);
	if (n != NFILE)
		return 200;
	for (int i = 0; i < n; i++)
		paths += (recs[i].r.rec_flags & MAPDIRECT_REC_PATH) != 0;
	return paths > 100 ? 100 : paths;
}

MDFS_TEST(listing, one_file_with_many_leases, "allow_other")
{
	const char *path = mdfs_mpath(fs, "p/f");
	struct mapdirect_lease_entry *l;
	struct mapdirect_ctx *ctx;
	int *fd = calloc(NFILE, sizeof(*fd)), n, calls;
	long long *id = calloc(NFILE, sizeof(*id));
	char *val = calloc(1, 65537), *last;
	struct rec *recs = calloc(NFILE + 1, sizeof(*recs));
	int len_calls;
	ssize_t len;

	cr_assert(fd && id && val && recs);
	owned_dir(fs, "p", 0, 0, 0700);
	lease_file(fs, "p/f", PAGE, 'm');
	for (int i = 0; i < NFILE; i++) {
		fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		cr_assert_geq(fd[i], 0, "open %d: %s", i, strerror(errno));
		id[i] = lop_do(NULL, op_lease(fd[i], 0, 0));
		cr_assert_gt(id[i], 0, "lease %d: %s", i,
			     strerror((int)-id[i]));
	}
	/* the file's own xattr: a line per lease would pass 64 KiB */
	len = getxattr(path, XATTR, val, 65536);
	cr_assert(len > 0, "getxattr of %d leases of a file: %s", NFILE,
		  strerror(errno));
	val[len] = '\0';
	last = val + len - 1;
	while (last > val && last[-1] != '\n')
		last--;
	cr_assert(sscanf(last, "truncated: %d more lease", &n) == 1 &&
		  count_lines(val) - 1 + n == NFILE, "last line: %s", last);

	/* the file's own ioctl: all, without paths */
	calls = leases_walk(fd[0], recs, NFILE + 1, &n);
	cr_assert_eq(calls, NFILE, "walk: %d", calls);
	cr_assert_gt(n, 1);
	for (int i = 0; i < NFILE; i++) {
		cr_assert_eq((long long)recs[i].r.lease_id, id[i]);
		cr_assert_not(recs[i].r.rec_flags & MAPDIRECT_REC_PATH);
		cr_assert(recs[i].r.rec_flags & MAPDIRECT_REC_COMM);
	}

	/* the mount's: a path on every one for root, on none for uid 1001 */
	n = open(fs->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(n, 0);
	calls = leases_walk(n, recs, NFILE + 1, &len_calls);
	close(n);
	cr_assert_eq(calls, NFILE, "walk: %d", calls);
	for (int i = 0; i < NFILE; i++)
		cr_assert_str_eq(recs[i].path, "p/f");
	cr_assert_eq(mdfs_run_child(paths_seen_as_other, fs), 0,
		     "uid 1001 sees paths below a 0700 directory of root's");

	cr_assert_eq(mapdirect_new(&ctx), 0);
	cr_assert_eq(mapdirect_leases_load(ctx, path), NFILE);
	n = 0;
	mapdirect_lease_foreach(ctx, l) {
		cr_assert_eq((long long)mapdirect_lease_get_id(l), id[n++]);
		cr_assert_null(mapdirect_lease_get_path(l));
	}
	mapdirect_unref(ctx);
	for (int i = 0; i < NFILE; i++)
		close(fd[i]);
	free(fd);
	free(id);
	free(val);
	free(recs);
}

/* -- the cursor ------------------------------------------------------- */

#define NCHURN 150
#define NEXTRA 60

struct churn {
	int fd;
	long long id;
	bool ended;		/* before or during the walk */
	bool late;		/* began during the walk */
	int seen;		/* times the walk returned it */
};

static void churn_lease(struct mdfs_fs *fs, struct churn *c, int i)
{
	char rel[PATH_MAX];

	/* long names: a few dozen records per call, so many calls */
	mdfs_pathf(rel, "%0200d", i);
	lease_file(fs, rel, PAGE, 'c');
	c->fd = open(mdfs_mpath(fs, "%s", rel), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(c->fd, 0);
	c->id = lop_do(NULL, op_lease(c->fd, 0, 0));
	cr_assert_gt(c->id, 0, "lease: %s", strerror((int)-c->id));
}

/* UNLEASE: ended when it returns (a close(2) ends it with RELEASE, later) */
static void churn_end(struct churn *c)
{
	cr_assert_eq(lop_do(NULL, op_unlease(c->fd, (unsigned long long)c->id)),
		     0);
	c->ended = true;
}

MDFS_TEST(listing, cursor_walk_sees_every_lasting_lease_once, NULL)
{
	struct churn *c = calloc(NCHURN + NEXTRA, sizeof(*c));
	struct mapdirect_leases *a = malloc(sizeof(*a));
	struct rec *recs = calloc(NCHURN + NEXTRA, sizeof(*recs));
	int root, n, calls = 0, extra = NCHURN, ended_ahead = 0;
	uint64_t cursor = 0;

	cr_assert(c && a && recs);
	for (int i = 0; i < NCHURN; i++)
		churn_lease(fs, &c[i], i);
	root = open(fs->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(root, 0);
	for (;;) {
		n = leases_call(root, cursor, a, recs, NCHURN + NEXTRA);
		cr_assert_geq(n, 0, "MAPDIRECT_IOC_LEASES: %s", strerror(-n));
		calls++;
		for (int i = 0; i < n; i++) {
			uint64_t got = recs[i].r.lease_id;
			int k;

			cr_assert_gt(got, cursor, "id %" PRIu64 " after cursor "
				     "%" PRIu64, got, cursor);
			for (k = 0; k < extra && c[k].id != (long long)got; k++)
				;
			cr_assert_lt(k, extra, "id %" PRIu64 " never was",
				     got);
			cr_assert_not(c[k].ended, "lease %" PRIu64 " listed "
				      "after it ended", got);
			c[k].seen++;
			cursor = got;
		}
		cr_assert_eq(a->cursor, cursor);
		if ((a->out_flags & MAPDIRECT_LEASES_END) || !n)
			break;
		/* between calls: two ahead of the cursor and one behind end,
		 * three begin */
		for (int k = extra - 1, m = 0; k >= 0 && m < 2; k--) {
			if (!c[k].ended && c[k].id > (long long)cursor) {
				churn_end(&c[k]);
				ended_ahead++;
				m++;
			}
		}
		for (int k = 0; k < extra; k++) {
			if (!c[k].ended && c[k].seen) {
				churn_end(&c[k]);
				break;
			}
		}
		for (int m = 0; m < 3 && extra < NCHURN + NEXTRA; m++) {
			c[extra].late = true;
			churn_lease(fs, &c[extra], extra);
			extra++;
		}
	}
	cr_assert_gt(calls, 3, "%d calls: too few to test the cursor", calls);
	cr_assert_gt(ended_ahead, 0);
	for (int k = 0; k < extra; k++) {
		cr_assert_leq(c[k].seen, 1, "lease %lld listed %d times",
			      c[k].id, c[k].seen);
		/* it lived through the whole walk: it must be there */
		if (!c[k].late && !(c[k].ended && !c[k].seen))
			cr_assert_eq(c[k].seen, 1, "lease %lld, there all "
				     "along, missing", c[k].id);
	}
	close(root);
	for (int k = 0; k < extra; k++)
		close(c[k].fd);
	free(c);
	free(a);
	free(recs);
}

/* -- the ioctl's ABI -------------------------------------------------- */

MDFS_TEST(listing, ioctl_checks_its_input_and_where_it_is, NULL)
{
	struct mapdirect_leases *a = calloc(1, sizeof(*a));
	struct rec recs[4];
	int root, dir, fd, n;
	long long id;

	cr_assert_not_null(a);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	lease_file(fs, "d/f", PAGE, 'x');
	lease_file(fs, "g", PAGE, 'x');
	root = open(fs->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = open(mdfs_mpath(fs, "d"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open(mdfs_mpath(fs, "d/f"), O_RDONLY | O_CLOEXEC);
	cr_assert(root >= 0 && dir >= 0 && fd >= 0);

	/* nothing yet: an empty last batch */
	cr_assert_eq(leases_call(root, 0, a, recs, 4), 0);
	cr_assert(a->out_flags & MAPDIRECT_LEASES_END);
	id = lop_do(NULL, op_lease(fd, 0, 0));
	cr_assert_gt(id, 0);
	n = open(mdfs_mpath(fs, "g"), O_RDONLY | O_CLOEXEC);
	cr_assert_gt(lop_do(NULL, op_lease(n, 0, 0)), 0);

	/* the root lists both; the file its own, without a path */
	cr_assert_eq(leases_call(root, 0, a, recs, 4), 2);
	cr_assert(a->out_flags & MAPDIRECT_LEASES_END);
	cr_assert_str_eq(recs[0].path, "d/f");
	cr_assert_str_eq(recs[1].path, "g");
	cr_assert_eq(leases_call(fd, 0, a, recs, 4), 1);
	cr_assert_eq((long long)recs[0].r.lease_id, id);
	cr_assert_str_eq(recs[0].path, "");
	cr_assert_eq(recs[0].r.state, MAPDIRECT_STATE_HELD);
	cr_assert(recs[0].r.rec_flags & MAPDIRECT_REC_FD_OPEN);
	cr_assert_eq(recs[0].r.ino, mdfs_lstat(mdfs_mpath(fs, "d/f")).st_ino);
	cr_assert_eq(recs[0].r.dev, mdfs_lstat(mdfs_mpath(fs, "d/f")).st_dev);
	/* from a cursor on: only what comes after */
	cr_assert_eq(leases_call(root, (uint64_t)id, a, recs, 4), 1);
	cr_assert_str_eq(recs[0].path, "g");
	cr_assert_eq(leases_call(root, 1ull << 40, a, recs, 4), 0);
	cr_assert(a->out_flags & MAPDIRECT_LEASES_END);

	/* another directory is not the mount's */
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	cr_assert_eq(ioctl(dir, MAPDIRECT_IOC_LEASES, a), -1);
	cr_assert_eq(errno, ENOTTY, "%s", strerror(errno));
	/* malformed: size, flags, reserved */
	a->size = sizeof(*a) - 8;
	cr_assert(ioctl(root, MAPDIRECT_IOC_LEASES, a) == -1 &&
		  errno == EINVAL);
	a->size = sizeof(*a);
	a->flags = 1;
	cr_assert(ioctl(root, MAPDIRECT_IOC_LEASES, a) == -1 &&
		  errno == EINVAL);
	a->flags = 0;
	a->reserved[3] = 1;
	cr_assert(ioctl(root, MAPDIRECT_IOC_LEASES, a) == -1 &&
		  errno == EINVAL);
	a->reserved[3] = 0;
	a->reserved0 = 1;
	cr_assert(ioctl(root, MAPDIRECT_IOC_LEASES, a) == -1 &&
		  errno == EINVAL);
	close(n);
	close(fd);
	close(dir);
	close(root);
	free(a);
}
