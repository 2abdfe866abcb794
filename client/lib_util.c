// SPDX-License-Identifier: LGPL-2.1-or-later
/* mountinfo, xattr values and key=value text: the library's plumbing */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib_private.h"

int mdc_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* A file of unknown size (procfs says 0), whole and NUL-terminated. */
static int read_all(const char *path, char **out)
{
	size_t cap = 8192, len = 0;
	char *buf = NULL, *grown;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (!buf || cap - len < 2) {
			if (buf)
				cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				ret = -ENOMEM;
				goto err_read;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto err_read;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;

err_read:
	free(buf);
	close(fd);
	return ret;
}

/* Undo the kernel's octal escapes (space, tab, newline, backslash). */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/*
 * "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,..."
 * Fields 1-6, optional fields up to "-", then fstype, source, super options.
 */
static bool split_line(char *line, struct mdc_mnt *m)
{
	char *field[64], *save = NULL, *tok;
	unsigned int maj, min;
	int n = 0, dash = -1;

	for (tok = strtok_r(line, " ", &save); tok && n < 64;
	     tok = strtok_r(NULL, " ", &save)) {
		if (dash < 0 && n >= 6 && !strcmp(tok, "-"))
			dash = n;
		field[n++] = tok;
	}
	if (dash < 0 || dash + 3 >= n)
		return false;
	if (sscanf(field[2], "%u:%u", &maj, &min) != 2)
		return false;
	m->dev = makedev(maj, min);
	m->root = field[3];
	m->dir = field[4];
	m->fstype = field[dash + 1];
	m->source = field[dash + 2];
	m->super_opts = field[dash + 3];
	unescape(m->root);
	unescape(m->dir);
	unescape(m->source);
	return true;
}

int mdc_mountinfo_read(struct mdc_mountinfo *mi)
{
	size_t lines = 0, cap;
	char *p, *nl;
	int ret;

	memset(mi, 0, sizeof(*mi));
	ret = read_all("/proc/self/mountinfo", &mi->buf);
	if (ret)
		return ret;
	for (p = mi->buf; *p; p++)
		lines += *p == '\n';
	cap = lines + 1;
	mi->v = calloc(cap, sizeof(*mi->v));
	if (!mi->v) {
		mdc_mountinfo_free(mi);
		return -ENOMEM;
	}
	for (p = mi->buf; *p && mi->n < cap; p = nl + 1) {
		/* the last line may come without its newline */
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		if (split_line(p, &mi->v[mi->n]))
			mi->n++;
		if (!nl[1])
			break;
	}
	return 0;
}

void mdc_mountinfo_free(struct mdc_mountinfo *mi)
{
	free(mi->v);
	free(mi->buf);
	memset(mi, 0, sizeof(*mi));
}

const struct mdc_mnt *mdc_mountinfo_find(const struct mdc_mountinfo *mi,
					 dev_t dev, const char *fstype)
{
	const struct mdc_mnt *found = NULL;

	for (size_t i = 0; i < mi->n; i++) {
		const struct mdc_mnt *m = &mi->v[i];

		if (m->dev != dev || (fstype && strcmp(m->fstype, fstype)))
			continue;
		/* a bind mount of a subdirectory is not the root */
		if (!found || !strcmp(m->root, "/") || strcmp(found->root, "/"))
			found = m;
	}
	return found;
}

int mdc_mapdirect_mount(dev_t dev, char **dir)
{
	struct mdc_mountinfo mi;
	const struct mdc_mnt *m;
	int ret;

	ret = mdc_mountinfo_read(&mi);
	if (ret)
		return ret;
	m = mdc_mountinfo_find(&mi, dev, MDC_FSTYPE);
	ret = m != NULL;
	if (m && dir) {
		*dir = strdup(m->dir);
		if (!*dir)
			ret = -ENOMEM;
	}
	mdc_mountinfo_free(&mi);
	return ret;
}

int mdc_xattr(const char *path, int fd, const char *name, char **out,
	      size_t *len)
{
	char *buf = NULL, *grown;
	ssize_t n;
	int tries;

	/* a lease list may grow between the probe and the read: again */
	for (tries = 0; tries < 8; tries++) {
		n = path ? getxattr(path, name, NULL, 0) :
			   fgetxattr(fd, name, NULL, 0);
		if (n < 0)
			goto err_errno;
		grown = realloc(buf, (size_t)n + 1);
		if (!grown) {
			free(buf);
			return -ENOMEM;
		}
		buf = grown;
		n = path ? getxattr(path, name, buf, (size_t)n) :
			   fgetxattr(fd, name, buf, (size_t)n);
		if (n >= 0) {
			buf[n] = '\0';
			*out = buf;
			if (len)
				*len = (size_t)n;
			return 0;
		}
		if (errno != ERANGE)
			goto err_errno;
	}
	free(buf);
	return -EAGAIN;

err_errno:
	n = -errno;
	free(buf);
	return (int)n;
}

int mdc_kv_parse(struct mdc_kv *kv, char *text, const char *seps)
{
	size_t max = 1;
	char *p, *tok, *save = NULL, *eq;

	memset(kv, 0, sizeof(*kv));
	kv->buf = text;
	for (p = text; *p; p++)
		max += strchr(seps, *p) != NULL;
	kv->key = calloc(max, sizeof(*kv->key));
	kv->val = calloc(max, sizeof(*kv->val));
	if (!kv->key || !kv->val) {
		mdc_kv_free(kv);
		return -ENOMEM;
	}
	for (tok = strtok_r(text, seps, &save); tok && kv->n < max;
	     tok = strtok_r(NULL, seps, &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		kv->key[kv->n] = tok;
		kv->val[kv->n++] = eq + 1;
	}
	return 0;
}

const char *mdc_kv_get(const struct mdc_kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key))
			return kv->val[i];
	return NULL;
}

void mdc_kv_free(struct mdc_kv *kv)
{
	free(kv->key);
	free(kv->val);
	free(kv->buf);
	memset(kv, 0, sizeof(*kv));
}
