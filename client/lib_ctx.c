// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The context and its lease snapshot: user.mapdirect.leases of a file or
 * of a mount root, one line per lease (SPEC 4.4):
 *   id=3 pid=42 comm=app since=2026-11-26T08:00:00.123Z signal=10
 *   state=breaking ms_left=900 flags=allocate,exclusive fd=open path=d/f
 * (one line; ms_left only while breaking, path only on the mount root).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib_private.h"

struct mapdirect_lease_entry {
	struct mapdirect_lease_entry *next;
	uint64_t id;
	uint64_t ms_left;
	pid_t pid;
	int signo;
	unsigned int state;
	unsigned int flags;
	bool fd_open;
	const char *comm;
	const char *since;
	const char *path;
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
static int parse_word(struct mapdirect_lease_entry *e, char *word)
{
	char *val = strchr(word, '=');
	uint64_t v;

	if (!val)
		return -EBADMSG;
	*val++ = '\0';
	if (!strcmp(word, "since")) {
		e->since = val;
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
	} else if (!strcmp(word, "path")) {
		e->path = val;
	}
	return 0;
}

static int parse_line(struct mapdirect_lease_entry *e, char *line)
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
	e->comm = comm;

	if (strncmp(line, "id=", 3) || !(p = strstr(line, " pid=")))
		return -EBADMSG;
	*p = '\0';
	if (parse_num(line + 3, UINT64_MAX, &e->id) ||
	    parse_num(p + 5, INT32_MAX, &v))
		return -EBADMSG;
	e->pid = (pid_t)v;

	for (word = strtok_r(since, " ", &save); word;
	     word = strtok_r(NULL, " ", &save)) {
		ret = parse_word(e, word);
		if (ret)
			return ret;
	}
	if (!e->id || !e->since || !e->state)
		return -EBADMSG;
	return 0;
}

int mapdirect_leases_load(struct mapdirect_ctx *ctx, const char *path)
{
	char *buf = NULL, *dir = NULL, *line, *nl;
	size_t lines = 0, n = 0;
	struct mapdirect_lease_entry *v = NULL;
	struct stat st;
	int ret;

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
	/* a directory stands for its mount: the root's list has them all */
	ret = mdc_xattr(dir ? dir : path, -1, MDC_XATTR("leases"), &buf,
			NULL);
	free(dir);
	if (ret)
		return ret;
	for (line = buf; *line; line++)
		lines += *line == '\n';
	if (lines) {
		v = calloc(lines, sizeof(*v));
		if (!v) {
			free(buf);
			return -ENOMEM;
		}
	}
	for (line = buf; *line && n < lines; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;	/* every line ends with one */
		*nl = '\0';
		ret = parse_line(&v[n], line);
		if (ret) {
			free(v);
			free(buf);
			return ret;
		}
		if (n)
			v[n - 1].next = &v[n];
		n++;
	}
	ctx->leases = v;
	ctx->leases_buf = buf;
	ctx->n_leases = n;
	return (int)n;
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
