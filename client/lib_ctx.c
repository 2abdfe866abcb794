// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The context and its lease snapshot (SPEC 4.4): read through
 * MAPDIRECT_IOC_LEASES on the mount root or on the file, a batch per call
 * with a cursor, so that no listing is too long; from the
 * user.mapdirect.leases xattr only where that ioctl cannot be used (a
 * daemon without it, a root or file the caller may not open). Its lines:
 *   id=3 pid=42 comm=app since=2026-11-26T08:00:00.123Z signal=10
 *   state=breaking ms_left=900 flags=allocate,exclusive fd=open
 *   inode=00:2d:1234 path=d/f
 * (one line; ms_left only while breaking, inode and path only on the
 * mount root, path only where the reader could reach the file); a value
 * cut at the xattr size limit ends with a "truncated: " line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "lib_private.h"

#define NO_PATH SIZE_MAX

struct mapdirect_lease_entry {
	struct mapdirect_lease_entry *next;
	uint64_t id;
	uint64_t ms_left;
	uint64_t ino;
	dev_t dev;
	pid_t pid;
	int signo;
	unsigned int state;
	unsigned int flags;
	bool fd_open;
	char comm[16];
	char since[32];
	size_t path_off;	/* into ctx->leases_buf while loading */
	const char *path;
};

/* A snapshot being built: entries, and the strings their paths are in. */
struct snap {
	struct mapdirect_lease_entry *v;
	size_t n, cap;
	char *str;
	size_t len, str_cap;
};

int mapdirect_new(struct mapdirect_ctx **ctx)
{
	struct mapdirect_ctx *c;

	if (!ctx)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->refcount = 1;
	*ctx = c;
	return 0;
}

struct mapdirect_ctx *mapdirect_ref(struct mapdirect_ctx *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

void mapdirect_unref(struct mapdirect_ctx *ctx)
{
	if (!ctx || --ctx->refcount > 0)
		return;
	mdc_leases_free(ctx);
	mdc_mounts_free(ctx);
	mdc_pmem_free(ctx);
	free(ctx);
}

void mdc_leases_free(struct mapdirect_ctx *ctx)
{
	free(ctx->leases);
	free(ctx->leases_buf);
	ctx->leases = NULL;
	ctx->leases_buf = NULL;
	ctx->n_leases = 0;
}

static struct mapdirect_lease_entry *snap_add(struct snap *sn)
{
	struct mapdirect_lease_entry *e;

	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 64;

		e = realloc(sn->v, cap * sizeof(*e));
		if (!e)
			return NULL;
		sn->v = e;
		sn->cap = cap;
	}
	e = &sn->v[sn->n++];
	memset(e, 0, sizeof(*e));
	e->path_off = NO_PATH;
	return e;
}

/* Keep @len bytes of @s and a NUL; @return their offset, or NO_PATH */
static size_t snap_str(struct snap *sn, const char *s, size_t len)
{
	size_t off = sn->len;

	if (sn->str_cap - sn->len <= len) {
		size_t cap = sn->str_cap ? sn->str_cap : 4096;
		char *p;

		while (cap - sn->len <= len)
			cap *= 2;
		p = realloc(sn->str, cap);
		if (!p)
			return NO_PATH;
		sn->str = p;
		sn->str_cap = cap;
	}
	memcpy(sn->str + off, s, len);
	sn->str[off + len] = '\0';
	sn->len += len + 1;
	return off;
}

static void snap_drop(struct snap *sn)
{
	free(sn->v);
	free(sn->str);
	memset(sn, 0, sizeof(*sn));
}

/* Hand the snapshot to @ctx, its order kept. @return the count */
static int snap_done(struct mapdirect_ctx *ctx, struct snap *sn)
{
	for (size_t i = 0; i < sn->n; i++) {
		struct mapdirect_lease_entry *e = &sn->v[i];

		e->path = e->path_off == NO_PATH ? NULL : sn->str + e->path_off;
		e->next = i + 1 < sn->n ? &sn->v[i + 1] : NULL;
	}
	ctx->leases = sn->v;
	ctx->leases_buf = sn->str;
	ctx->n_leases = sn->n;
	return (int)sn->n;
}

/* -- through MAPDIRECT_IOC_LEASES -------------------------------------- */

/* "2026-11-26T08:00:00.123Z", as the xattr has it */
static void since_text(uint64_t ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(out, 32, "?");
		return;
	}
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned int)(ms % 1000));
}

/* The records of one answer into @sn. @return 0, -ENOMEM, -EBADMSG */
static int take_records(struct snap *sn, const struct mapdirect_leases *a)
{
	const struct mapdirect_lease_rec *r;
	struct mapdirect_lease_rec rec;
	size_t off = 0;

	if (a->len > sizeof(a->buf))
		return -EBADMSG;
	for (uint32_t i = 0; i < a->count; i++) {
		struct mapdirect_lease_entry *e;

		if (a->len - off < sizeof(rec))
			return -EBADMSG;
		memcpy(&rec, a->buf + off, sizeof(rec));
		if (rec.rec_len < sizeof(rec) || rec.rec_len % 8 ||
		    rec.rec_len > a->len - off || !rec.lease_id ||
		    (rec.state != MAPDIRECT_STATE_HELD &&
		     rec.state != MAPDIRECT_STATE_BREAKING))
			return -EBADMSG;
		r = (const void *)(a->buf + off);
		if ((rec.rec_flags & MAPDIRECT_REC_PATH) &&
		    (rec.path_len >= rec.rec_len - sizeof(rec) ||
		     strnlen((const char *)(r + 1), rec.path_len + 1) !=
			     rec.path_len))
			return -EBADMSG;
		e = snap_add(sn);
		if (!e)
			return -ENOMEM;
		e->id = rec.lease_id;
		e->pid = (pid_t)rec.pid;
		e->signo = (int)rec.signal;
		e->state = rec.state;
		e->flags = rec.lease_flags;
		e->ms_left = rec.ms_left;
		e->fd_open = rec.rec_flags & MAPDIRECT_REC_FD_OPEN;
		e->dev = (dev_t)rec.dev;
		e->ino = rec.ino;
		since_text(rec.since_ms, e->since);
		/* the daemon says "" where the reader may not see it */
		if ((rec.rec_flags & MAPDIRECT_REC_COMM) && rec.comm[0])
			snprintf(e->comm, sizeof(e->comm), "%.15s", rec.comm);
		else
			snprintf(e->comm, sizeof(e->comm), "?");
		if (rec.rec_flags & MAPDIRECT_REC_PATH) {
			e->path_off = snap_str(sn, (const char *)(r + 1),
					       rec.path_len);
			if (e->path_off == NO_PATH)
				return -ENOMEM;
		}
		off += rec.rec_len;
	}
	return 0;
}

/* Every lease MAPDIRECT_IOC_LEASES gives on @fd. @return the count */
static int load_ioctl(struct mapdirect_ctx *ctx, int fd)
{
	struct mapdirect_leases *a = calloc(1, sizeof(*a));
	struct snap sn = { 0 };
	uint64_t cursor = 0;
	int ret;

	if (!a)
		return -ENOMEM;
	for (;;) {
		memset(a, 0, offsetof(struct mapdirect_leases, buf));
		a->size = sizeof(*a);
		a->cursor = cursor;
		if (ioctl(fd, MAPDIRECT_IOC_LEASES, a)) {
			/* a FUSE filesystem without ioctls says ENOSYS */
			ret = errno == ENOSYS ? -ENOTTY : -errno;
			goto err_load;
		}
		ret = take_records(&sn, a);
		if (ret)
			goto err_load;
		if ((a->out_flags & MAPDIRECT_LEASES_END) || !a->count)
			break;
		/* ids only grow along a walk: else it would never end */
		if (a->cursor <= cursor) {
			ret = -EBADMSG;
			goto err_load;
		}
		cursor = a->cursor;
	}
	free(a);
	return snap_done(ctx, &sn);

err_load:
	free(a);
	snap_drop(&sn);
	return ret;
}

/* -- through the user.mapdirect.leases xattr ---------------------------- */

static int parse_flags(const char *s, unsigned int *out)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} names[] = {
		{ "allocate", MAPDIRECT_LEASE_ALLOCATE },
		{ "exclusive", MAPDIRECT_LEASE_EXCLUSIVE },
	};

	*out = 0;
	if (!strcmp(s, "none"))
		return 0;
	while (*s) {
		size_t len = strcspn(s, ",");
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len &&
			    !strncmp(s, names[i].name, len))
				*out |= names[i].flag;
		/* a flag newer than this library is not ours to show */
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	if (mdc_parse_u64(s, out) || *out > max)
		return -EBADMSG;
	return 0;
}

/* The key=value words after comm; unknown keys are for newer daemons. */
static int parse_word(struct mapdirect_lease_entry *e, char *word,
		      const char *base)
{
	char *val = strchr(word, '=');
	uint64_t v;

	if (!val)
		return -EBADMSG;
	*val++ = '\0';
	if (!strcmp(word, "since")) {
		snprintf(e->since, sizeof(e->since), "%s", val);
	} else if (!strcmp(word, "signal")) {
		if (parse_num(val, 64, &v))
			return -EBADMSG;
		e->signo = (int)v;
	} else if (!strcmp(word, "state")) {
		if (!strcmp(val, "held"))
			e->state = MAPDIRECT_STATE_HELD;
		else if (!strcmp(val, "breaking"))
			e->state = MAPDIRECT_STATE_BREAKING;
		else
			return -EBADMSG;
	} else if (!strcmp(word, "ms_left")) {
		return parse_num(val, UINT64_MAX, &e->ms_left);
	} else if (!strcmp(word, "flags")) {
		return parse_flags(val, &e->flags);
	} else if (!strcmp(word, "fd")) {
		e->fd_open = !strcmp(val, "open");
	} else if (!strcmp(word, "inode")) {
		unsigned int maj, min;
		char end;

		if (sscanf(val, "%x:%x:%" SCNu64 "%c", &maj, &min, &e->ino,
			   &end) != 3)
			return -EBADMSG;
		e->dev = makedev(maj, min);
	} else if (!strcmp(word, "path")) {
		e->path_off = (size_t)(val - base);
	}
	return 0;
}

static int parse_line(struct mapdirect_lease_entry *e, char *line,
		      const char *base)
{
	char *comm, *since, *p, *word, *save = NULL;
	uint64_t v;
	int ret;

	/* comm is whatever the process named itself, blanks included */
	comm = strstr(line, " comm=");
	if (!comm)
		return -EBADMSG;
	*comm = '\0';
	comm += strlen(" comm=");
	/* path has no blanks (the daemon replaces them): the last " since=" */
	since = NULL;
	for (p = comm; (p = strstr(p, " since=")); p++)
		since = p;
	if (!since)
		return -EBADMSG;
	*since++ = '\0';
	snprintf(e->comm, sizeof(e->comm), "%.15s", *comm ? comm : "?");

	if (strncmp(line, "id=", 3) || !(p = strstr(line, " pid=")))
		return -EBADMSG;
	*p = '\0';
	if (parse_num(line + 3, UINT64_MAX, &e->id) ||
	    parse_num(p + 5, INT32_MAX, &v))
		return -EBADMSG;
	e->pid = (pid_t)v;

	for (word = strtok_r(since, " ", &save); word;
	     word = strtok_r(NULL, " ", &save)) {
		ret = parse_word(e, word, base);
		if (ret)
			return ret;
	}
	if (!e->id || !e->since[0] || !e->state)
		return -EBADMSG;
	return 0;
}

/*
 * Every lease of the xattr of @path (or of @fd when @path is NULL); a
 * file's own lines have no inode: @st gives it. @return the count, or
 * -E2BIG when the daemon cut the value at the xattr size limit.
 */
static int load_text(struct mapdirect_ctx *ctx, const char *path, int fd,
		     const struct stat *st)
{
	struct snap sn = { 0 };
	char *line, *nl;
	int ret;

	ret = mdc_xattr(path, fd, MDC_XATTR("leases"), &sn.str, &sn.len);
	if (ret)
		return ret;
	sn.str_cap = sn.len + 1;
	for (line = sn.str; *line; line = nl + 1) {
		struct mapdirect_lease_entry *e;

		nl = strchr(line, '\n');
		if (!nl)
			break;	/* every line ends with one */
		*nl = '\0';
		/* SPEC 4.4: the rest is only in MAPDIRECT_IOC_LEASES */
		if (!strncmp(line, "truncated:", 10)) {
			ret = -E2BIG;
			goto err_parse;
		}
		e = snap_add(&sn);
		if (!e) {
			ret = -ENOMEM;
			goto err_parse;
		}
		if (st) {
			e->dev = st->st_dev;
			e->ino = st->st_ino;
		}
		ret = parse_line(e, line, sn.str);
		if (ret)
			goto err_parse;
	}
	return snap_done(ctx, &sn);

err_parse:
	snap_drop(&sn);
	return ret;
}

int mdc_leases_load_fd(struct mapdirect_ctx *ctx, int fd)
{
	struct stat st;
	int ret;

	mdc_leases_free(ctx);
	ret = load_ioctl(ctx, fd);
	/* a daemon from before MAPDIRECT_IOC_LEASES */
	if (ret == -ENOTTY && !fstat(fd, &st) && S_ISREG(st.st_mode))
		ret = load_text(ctx, NULL, fd, &st);
	return ret;
}

int mapdirect_leases_load(struct mapdirect_ctx *ctx, const char *path)
{
	struct stat st, fst;
	char *dir = NULL;
	const char *at;
	int fd, ret;

	if (!ctx || !path)
		return -EINVAL;
	mdc_leases_free(ctx);
	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EINVAL;
	ret = mdc_mapdirect_mount(st.st_dev, S_ISDIR(st.st_mode) ? &dir :
				  NULL);
	if (ret <= 0)
		return ret ? ret : -ENOTTY;
	/* a directory stands for its mount: the root lists them all */
	at = dir ? dir : path;
	fd = open(at, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		  (dir ? O_DIRECTORY : 0));
	if (fd < 0) {
		ret = -errno;
		/* getxattr needs no read permission, open does */
		if (ret == -EACCES)
			ret = load_text(ctx, at, -1, dir ? NULL : &st);
		goto out;
	}
	/* replaced since the stat: by something that is not ours */
	if (fstat(fd, &fst) || fst.st_dev != st.st_dev) {
		ret = -ENOTTY;
		goto out_close;
	}
	ret = load_ioctl(ctx, fd);
	if (ret == -ENOTTY)
		ret = load_text(ctx, NULL, fd, dir ? NULL : &fst);
out_close:
	close(fd);
out:
	free(dir);
	return ret;
}

struct mapdirect_lease_entry *mapdirect_lease_get_first(
	struct mapdirect_ctx *ctx)
{
	return ctx && ctx->n_leases ? ctx->leases : NULL;
}

struct mapdirect_lease_entry *mapdirect_lease_get_next(
	struct mapdirect_lease_entry *lease)
{
	return lease ? lease->next : NULL;
}

uint64_t mapdirect_lease_get_id(const struct mapdirect_lease_entry *lease)
{
	return lease->id;
}

pid_t mapdirect_lease_get_pid(const struct mapdirect_lease_entry *lease)
{
	return lease->pid;
}

const char *mapdirect_lease_get_comm(const struct mapdirect_lease_entry *lease)
{
	return lease->comm;
}

const char *mapdirect_lease_get_since(const struct mapdirect_lease_entry *lease)
{
	return lease->since;
}

int mapdirect_lease_get_signal(const struct mapdirect_lease_entry *lease)
{
	return lease->signo;
}

unsigned int mapdirect_lease_get_state(
	const struct mapdirect_lease_entry *lease)
{
	return lease->state;
}

uint64_t mapdirect_lease_get_ms_left(const struct mapdirect_lease_entry *lease)
{
	return lease->ms_left;
}

unsigned int mapdirect_lease_get_flags(
	const struct mapdirect_lease_entry *lease)
{
	return lease->flags;
}

bool mapdirect_lease_get_fd_open(const struct mapdirect_lease_entry *lease)
{
	return lease->fd_open;
}

const char *mapdirect_lease_get_path(const struct mapdirect_lease_entry *lease)
{
	return lease->path;
}

dev_t mapdirect_lease_get_dev(const struct mapdirect_lease_entry *lease)
{
	return lease->dev;
}

uint64_t mapdirect_lease_get_ino(const struct mapdirect_lease_entry *lease)
{
	return lease->ino;
}
