// SPDX-License-Identifier: GPL-2.0-or-later
/* What the machine says about DAX and pmem: see dax_truth.h (issue 12). */
#include "dax_truth.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

int truth_statx_dax(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
		  &stx))
		return -errno;
	return !!(stx.stx_attributes & STATX_ATTR_DAX);
}

/* mountinfo escapes blanks and backslashes as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* @dir is @path or one of its ancestors, component-wise */
static bool covers(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(dir, path, n) && (path[n] == '/' || !path[n]);
}

/*
 * The mount that holds @path: the longest mount point above its real
 * path, the last one listed where mounts are stacked. Its source and super
 * options go to @source and @opts.
 */
static int find_mount(const char *path, char *source, size_t slen,
		      char *opts, size_t olen)
{
	char real[PATH_MAX], line[8192], best[PATH_MAX] = "";
	size_t best_len = 0;
	bool found = false;
	FILE *f;

	if (!realpath(path, real))
		return -errno;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *fields[12], *sep, *save = NULL, *tok;
		char *src, *sopts;
		int n = 0;

		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok && n < 12;
		     tok = strtok_r(NULL, " ", &save))
			fields[n++] = tok;
		if (n < 5)
			continue;
		unescape(fields[4]);
		if (!covers(fields[4], real) || strlen(fields[4]) < best_len)
			continue;
		save = NULL;
		strtok_r(sep + 3, " ", &save);		/* fstype */
		src = strtok_r(NULL, " ", &save);
		sopts = strtok_r(NULL, " \n", &save);
		snprintf(best, sizeof(best), "%s", fields[4]);
		best_len = strlen(best);
		snprintf(source, slen, "%s", src ? src : "");
		snprintf(opts, olen, "%s", sopts ? sopts : "");
		found = true;
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

int truth_mount_dax(const char *path, char *val, size_t len)
{
	char source[PATH_MAX], opts[4096], *tok, *save = NULL;
	const char *v = "";
	int ret;

	ret = find_mount(path, source, sizeof(source), opts, sizeof(opts));
	if (ret)
		return ret;
	for (tok = strtok_r(opts, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "dax"))
			v = "always";
		else if (!strncmp(tok, "dax=", 4))
			v = tok + 4;
	}
	snprintf(val, len, "%s", v);
	return 0;
}

int truth_mount_blockdev(const char *path, char *dev, size_t len)
{
	char source[PATH_MAX], opts[4096];
	int ret;

	ret = find_mount(path, source, sizeof(source), opts, sizeof(opts));
	if (ret)
		return ret;
	snprintf(dev, len, "%s",
		 strncmp(source, "/dev/", 5) ? "" : source + 5);
	return 0;
}

/* the top-level /proc/iomem range holding physical address @pa */
static int iomem_kind(unsigned long long pa)
{
	char line[256], name[200];
	unsigned long long lo, hi;
	int kind = -EIO;
	FILE *f;

	f = fopen("/proc/iomem", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == ' ')
			continue;	/* a child range: its parent decides */
		if (sscanf(line, "%llx-%llx : %199[^\n]", &lo, &hi, name) != 3)
			continue;
		if (pa < lo || pa > hi)
			continue;
		if (!strcmp(name, "Persistent Memory"))
			kind = TRUTH_PMEM;
		else if (!strcmp(name, "System RAM"))
			kind = TRUTH_RAM;
		break;
	}
	fclose(f);
	return kind;
}

int truth_pages_where(const void *addr, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(page - 1);
	int fd, kind = 0;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (uintptr_t a = start; a < (uintptr_t)addr + len; a += page) {
		uint64_t e, pfn;
		int k;

		(void)*(volatile const char *)a;	/* fault it in */
		if (pread(fd, &e, sizeof(e), (off_t)(a / page * 8)) !=
		    (ssize_t)sizeof(e)) {
			kind = -EIO;
			break;
		}
		pfn = e & ((1ULL << 55) - 1);
		if (!(e >> 63)) {		/* not present after a read */
			kind = -EIO;
			break;
		}
		if (!pfn) {		/* hidden without CAP_SYS_ADMIN */
			kind = -EPERM;
			break;
		}
		k = iomem_kind(pfn * (uint64_t)page);
		if (k < 0 || (kind && k != kind)) {
			kind = -EIO;
			break;
		}
		kind = k;
	}
	close(fd);
	return kind ? kind : -EINVAL;
}

int truth_file_pages_where(const char *path, size_t len)
{
	void *map;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ret = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	ret = truth_pages_where(map, len);
	munmap(map, len);
	return ret;
}

/* `ndctl list -RN`: stdout into a malloc()ed string */
static int ndctl_list(char **out)
{
	size_t cap = 65536, n = 0;
	int pipefd[2], st;
	char *buf;
	pid_t pid;
	ssize_t r;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(pipefd[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execlp("ndctl", "ndctl", "list", "-RN", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	buf = malloc(cap);
	while (buf && (r = read(pipefd[0], buf + n, cap - n - 1)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
		if (n + 1 == cap) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	close(pipefd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return -ENOMEM;
	buf[n] = '\0';
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127) {
		free(buf);
		return -ENOENT;
	}
	*out = buf;
	return 0;
}

struct walk {
	struct truth_ns *ns;
	int max, n, regions;
};

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* any nesting ndctl chooses: buses, regions, namespaces, or one object */
static void walk(struct walk *w, struct json_object *o, const char *region)
{
	const char *dev;

	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			walk(w, json_object_array_get_idx(o, i), region);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	dev = jstr(o, "dev");
	if (!strncmp(dev, "region", 6)) {
		region = dev;
		w->regions++;
	} else if (!strncmp(dev, "namespace", 9)) {
		if (w->n < w->max) {
			struct truth_ns *ns = &w->ns[w->n];
			struct json_object *sz;

			memset(ns, 0, sizeof(*ns));
			snprintf(ns->region, sizeof(ns->region), "%s",
				 region ? region : "");
			snprintf(ns->dev, sizeof(ns->dev), "%s", dev);
			snprintf(ns->mode, sizeof(ns->mode), "%s",
				 jstr(o, "mode"));
			snprintf(ns->blockdev, sizeof(ns->blockdev), "%s",
				 jstr(o, "blockdev"));
			if (json_object_object_get_ex(o, "size", &sz))
				ns->size = (unsigned long long)
					   json_object_get_int64(sz);
		}
		w->n++;
	}
	json_object_object_foreach(o, key, val) {
		(void)key;
		if (json_object_is_type(val, json_type_array) ||
		    json_object_is_type(val, json_type_object))
			walk(w, val, region);
	}
}

int truth_ndctl(struct truth_ns *ns, int max, int *regions)
{
	struct walk w = { .ns = ns, .max = max };
	struct json_object *doc;
	char *out = NULL;
	int ret;

	ret = ndctl_list(&out);
	if (ret)
		return ret;
	if (out[strspn(out, " \t\n")]) {	/* nothing at all: no pmem */
		doc = json_tokener_parse(out);
		if (!doc) {
			free(out);
			return -EINVAL;
		}
		walk(&w, doc, NULL);
		json_object_put(doc);
	}
	free(out);
	for (int i = 0; i < w.n && i < max; i++) {
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/nd/devices/%s/size",
			 ns[i].dev);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns[i].raw_size) != 1)
			ns[i].raw_size = 0;
		fclose(f);
	}
	if (regions)
		*regions = w.regions;
	return w.n;
}

bool mdfs_file_is_dax(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	char opt[32];
	int dax, fd, where;
	off_t data;
	void *map;

	dax = truth_statx_dax(path);
	cr_assert_geq(dax, 0, "statx %s: %s", path, strerror(-dax));
	cr_assert_eq(truth_mount_dax(path, opt, sizeof(opt)), 0,
		     "no mount holds %s", path);
	if (!strcmp(opt, "always"))
		cr_assert_eq(dax, 1, "%s: mounted dax=always, statx says no "
			     "DAX", path);
	if (!opt[0] || !strcmp(opt, "never"))
		cr_assert_eq(dax, 0, "%s: mounted without dax (\"%s\"), "
			     "statx says DAX", path, opt);
	/* where its first page of data is, once mapped (a hole is not) */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	data = lseek(fd, 0, SEEK_DATA);
	if (data >= 0) {
		data &= ~(off_t)(page - 1);
		map = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, data);
		cr_assert_neq(map, MAP_FAILED, "mmap %s: %s", path,
			      strerror(errno));
		where = truth_pages_where(map, page);
		munmap(map, page);
		if (where != -EPERM)
			cr_assert_eq(where, dax ? TRUTH_PMEM : TRUTH_RAM,
				     "%s: statx says DAX=%d, its page at %lld "
				     "is in %s", path, dax, (long long)data,
				     where == TRUTH_PMEM ? "Persistent Memory" :
				     where == TRUTH_RAM ? "System RAM" :
				     strerror(-where));
	}
	close(fd);
	return dax == 1;
}

bool mdfs_dir_is_dax(const char *dir)
{
	char path[PATH_MAX], buf[8192];
	bool dax;
	int fd;

	snprintf(path, sizeof(path), "%s/.mdfs-dax-probe.XXXXXX", dir);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp %s: %s", path, strerror(errno));
	memset(buf, 'p', sizeof(buf));
	cr_assert_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	cr_assert_eq(fsync(fd), 0);
	close(fd);
	dax = mdfs_file_is_dax(path);
	cr_assert_eq(unlink(path), 0);
	return dax;
}

bool mdfs_pmem_ns_of(const char *path, struct truth_ns *ns)
{
	struct truth_ns all[64];
	char dev[64];
	int n;

	cr_assert_eq(truth_mount_blockdev(path, dev, sizeof(dev)), 0);
	if (!dev[0])
		return false;
	n = truth_ndctl(all, 64, NULL);
	cr_assert_geq(n, 0, "ndctl list: %s", strerror(-n));
	for (int i = 0; i < n && i < 64; i++) {
		if (!strcmp(all[i].blockdev, dev)) {
			*ns = all[i];
			return true;
		}
	}
	return false;
}
