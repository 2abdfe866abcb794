/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib_private.h - what the libmapdirect sources share and do not export
 * (libmapdirect.sym keeps everything but mapdirect_* local).
 */
#ifndef MDC_PRIVATE_H
#define MDC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mapdirect.h"

/* what /proc/self/mountinfo shows of a mapdirectfs mount */
#define MDC_FSTYPE "fuse.mapdirectfs"
/* the virtual xattrs (SPEC 4.4) */
#define MDC_XATTR(name) "user.mapdirect." name

/* One line of /proc/self/mountinfo; strings point into mdc_mountinfo.buf. */
struct mdc_mnt {
	dev_t dev;		/* major:minor of the mounted filesystem */
	char *root;		/* which directory of it is mounted */
	char *dir;		/* mount point, unescaped */
	char *fstype;
	char *source;		/* unescaped */
	char *super_opts;	/* the filesystem's own options */
};

struct mdc_mountinfo {
	char *buf;
	struct mdc_mnt *v;
	size_t n;
};

/* Read and split /proc/self/mountinfo. @return 0 or -errno. */
int mdc_mountinfo_read(struct mdc_mountinfo *mi);
void mdc_mountinfo_free(struct mdc_mountinfo *mi);
/*
 * The mount of device @dev, of type @fstype unless NULL; among several
 * (bind mounts), the one of the filesystem's root, else the last.
 */
const struct mdc_mnt *mdc_mountinfo_find(const struct mdc_mountinfo *mi,
					 dev_t dev, const char *fstype);

/**
 * mdc_mapdirect_mount - is @dev a mapdirectfs mount? (reads mountinfo)
 * @dir: if not NULL, gets its mount point (malloc()ed)
 *
 * @return 1, 0, or -errno.
 */
int mdc_mapdirect_mount(dev_t dev, char **dir);

/**
 * mdc_xattr - the whole value of xattr @name, NUL-terminated
 * @path: read by path (symlinks followed), or NULL to read @fd
 * @fd: used when @path is NULL
 * @out: gets a malloc()ed copy; the length goes to @len unless NULL
 *
 * A value that grows between the size probe and the read is read again.
 * @return 0 or -errno.
 */
int mdc_xattr(const char *path, int fd, const char *name, char **out,
	      size_t *len);

/* Strict decimal: digits only, no sign, no blanks. @return 0 or -EINVAL */
int mdc_parse_u64(const char *s, uint64_t *out);

/* mapdirect_lease(), and the reply's MAPDIRECT_OUT_* if @out_flags */
int mdc_lease(int fd, unsigned int flags, int signo, uint64_t *lease_id,
	      uint32_t *out_flags);

/* Lines "key=value" (or words "key=value" on one line): kept as pairs. */
struct mdc_kv {
	char *buf;
	char **key, **val;
	size_t n;
};

/*
 * Split @text (taken over, freed by mdc_kv_free) at any of @seps; entries
 * without '=' are skipped. @return 0 or -ENOMEM.
 */
int mdc_kv_parse(struct mdc_kv *kv, char *text, const char *seps);
const char *mdc_kv_get(const struct mdc_kv *kv, const char *key);
void mdc_kv_free(struct mdc_kv *kv);

/* The snapshots of a context, each freed by its own loader. */
struct mapdirect_ctx {
	int refcount;
	struct mapdirect_lease_entry *leases;	/* array, n_leases long */
	size_t n_leases;
	char *leases_buf;			/* the entries' strings */
	struct mapdirect_mount *mounts;
	size_t n_mounts;
	struct mapdirect_region *regions;
	size_t n_regions;
};

void mdc_leases_free(struct mapdirect_ctx *ctx);
/*
 * mdc_leases_load_fd - the lease snapshot of the open file @fd: through
 * MAPDIRECT_IOC_LEASES (no size limit), else its xattr.
 * @return the count, or -errno.
 */
int mdc_leases_load_fd(struct mapdirect_ctx *ctx, int fd);
void mdc_mounts_free(struct mapdirect_ctx *ctx);
void mdc_pmem_free(struct mapdirect_ctx *ctx);

#endif
