// SPDX-License-Identifier: LGPL-2.1-or-later
/* A file's status, and the mapdirectfs mounts of this mount namespace. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib_private.h"

struct mapdirect_mount {
	struct mapdirect_mount *next;
	char *dir;
	char *source;
	char *backing_dax;	/* NULL: no dax option */
	struct mdc_kv config;
	struct mdc_kv device;
	int error;
};

/* "yes\n" or "no: REASON\n" */
static int parse_eligible(const char *val, struct mapdirect_file_status *st)
{
	size_t len = strcspn(val, "\n");

	if (len == 3 && !strncmp(val, "yes", 3)) {
		st->eligible = true;
		return 0;
	}
	if (len < 4 || strncmp(val, "no: ", 4))
		return -EBADMSG;
	snprintf(st->reason, sizeof(st->reason), "%.*s", (int)len - 4,
		 val + 4);
	return 0;
}

static int file_status(int fd, struct mapdirect_file_status *st)
{
	struct mapdirect_lease_info info;
	char *val;
	int ret;

	ret = mapdirect_getlease(fd, &info);
	if (ret)
		return ret;
	st->state = info.state;
	st->holders = info.holders;
	st->ms_left = info.ms_left;
	st->lease_id = info.lease_id;
	ret = mdc_xattr(NULL, fd, MDC_XATTR("eligible"), &val, NULL);
	if (ret)
		return ret;
	ret = parse_eligible(val, st);
	free(val);
	if (ret)
		return ret;
	ret = mdc_xattr(NULL, fd, MDC_XATTR("dax"), &val, NULL);
	if (ret)
		return ret;
	if ((val[0] != '0' && val[0] != '1') || val[1] != '\n')
		ret = -EBADMSG;
	st->dax = val[0] == '1';
	free(val);
	return ret;
}

int mapdirect_status(const char *path, struct mapdirect_file_status *st)
{
	struct stat sb, fsb;
	int fd, ret;

	if (!path || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (stat(path, &sb))
		return -errno;
	ret = mdc_mapdirect_mount(sb.st_dev, NULL);
	if (ret <= 0)
		return ret ? ret : -ENOTTY;
	if (S_ISDIR(sb.st_mode))
		return -EISDIR;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	/* read-only: an open for reading never breaks a lease */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &fsb)) {
		ret = -errno;
		goto out;
	}
	/* replaced since the stat: by something that is not ours */
	if (fsb.st_dev != sb.st_dev) {
		ret = -ENOTTY;
		goto out;
	}
	if (!S_ISREG(fsb.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	ret = file_status(fd, st);
out:
	close(fd);
	return ret;
}

/* -- the mounts ------------------------------------------------------- */

static void mount_free(struct mapdirect_mount *m)
{
	free(m->dir);
	free(m->source);
	free(m->backing_dax);
	mdc_kv_free(&m->config);
	mdc_kv_free(&m->device);
}

void mdc_mounts_free(struct mapdirect_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_mounts; i++)
		mount_free(&ctx->mounts[i]);
	free(ctx->mounts);
	ctx->mounts = NULL;
	ctx->n_mounts = 0;
}

/* The dax option of BACKING's filesystem, from its super options. */
static int backing_dax(const struct mdc_mountinfo *mi, const char *backing,
		       char **out)
{
	const struct mdc_mnt *m;
	const char *opt;
	struct stat st;
	char *opts, *tok, *save = NULL;

	*out = NULL;
	if (!backing || stat(backing, &st))
		return 0;	/* not reachable from here: unknown */
	m = mdc_mountinfo_find(mi, st.st_dev, NULL);
	if (!m)
		return 0;
	opts = strdup(m->super_opts);
	if (!opts)
		return -ENOMEM;
	opt = NULL;
	for (tok = strtok_r(opts, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		/* plain "dax" is the old spelling of dax=always */
		if (!strcmp(tok, "dax"))
			opt = "always";
		else if (!strncmp(tok, "dax=", 4))
			opt = tok + 4;
	}
	if (opt) {
		*out = strdup(opt);
		if (!*out) {
			free(opts);
			return -ENOMEM;
		}
	}
	free(opts);
	return 0;
}

static int mount_load(struct mapdirect_mount *m, const struct mdc_mnt *mnt,
		      const struct mdc_mountinfo *mi)
{
	char *val;
	int ret;

	m->dir = strdup(mnt->dir);
	m->source = strdup(mnt->source);
	if (!m->dir || !m->source)
		return -ENOMEM;
	/* a daemon that is gone (ENOTCONN) is listed, not fatal */
	ret = mdc_xattr(m->dir, -1, MDC_XATTR("config"), &val, NULL);
	if (!ret)
		ret = mdc_kv_parse(&m->config, val, "\n");
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		m->error = ret;
		return 0;
	}
	ret = mdc_xattr(m->dir, -1, MDC_XATTR("device"), &val, NULL);
	if (!ret)
		ret = mdc_kv_parse(&m->device, val, " \n");
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		m->error = ret;
		return 0;
	}
	return backing_dax(mi, mapdirect_mount_get_backing(m),
			   &m->backing_dax);
}

int mapdirect_mounts_load(struct mapdirect_ctx *ctx)
{
	struct mdc_mountinfo mi;
	struct mapdirect_mount *v;
	size_t n = 0, i;
	int ret;

	if (!ctx)
		return -EINVAL;
	mdc_mounts_free(ctx);
	ret = mdc_mountinfo_read(&mi);
	if (ret)
		return ret;
	for (i = 0; i < mi.n; i++)
		n += !strcmp(mi.v[i].fstype, MDC_FSTYPE);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		mdc_mountinfo_free(&mi);
		return -ENOMEM;
	}
	ctx->mounts = v;
	for (i = 0; i < mi.n; i++) {
		if (strcmp(mi.v[i].fstype, MDC_FSTYPE))
			continue;
		ret = mount_load(&v[ctx->n_mounts], &mi.v[i], &mi);
		if (ctx->n_mounts)
			v[ctx->n_mounts - 1].next = &v[ctx->n_mounts];
		ctx->n_mounts++;
		if (ret) {
			mdc_mounts_free(ctx);
			mdc_mountinfo_free(&mi);
			return ret;
		}
	}
	mdc_mountinfo_free(&mi);
	return (int)ctx->n_mounts;
}

struct mapdirect_mount *mapdirect_mount_get_first(struct mapdirect_ctx *ctx)
{
	return ctx && ctx->n_mounts ? ctx->mounts : NULL;
}

struct mapdirect_mount *mapdirect_mount_get_next(struct mapdirect_mount *mount)
{
	return mount ? mount->next : NULL;
}

const char *mapdirect_mount_get_path(const struct mapdirect_mount *mount)
{
	return mount->dir;
}

const char *mapdirect_mount_get_backing(const struct mapdirect_mount *mount)
{
	const char *b = mdc_kv_get(&mount->config, "backing");

	return b ? b : mount->source;
}

const char *mapdirect_mount_get_config(const struct mapdirect_mount *mount,
				       const char *key)
{
	return key ? mdc_kv_get(&mount->config, key) : NULL;
}

const char *mapdirect_mount_get_device(const struct mapdirect_mount *mount,
				       const char *key)
{
	/* "none" has no '=': no keys at all */
	return key ? mdc_kv_get(&mount->device, key) : NULL;
}

const char *mapdirect_mount_get_backing_dax(
	const struct mapdirect_mount *mount)
{
	return mount->backing_dax;
}

int mapdirect_mount_get_error(const struct mapdirect_mount *mount)
{
	return mount->error;
}
