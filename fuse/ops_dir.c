// SPDX-License-Identifier: GPL-2.0-or-later
/* Directories: readdir and readdirplus over a DIR stream per open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdfs.h"

struct mdfs_dir {
	struct mdfs_link link;	/* first: drop() casts it back */
	uid_t uid;		/* its opener: its share holds the fd */
	DIR *dp;
	off_t offset;		/* where dp stands */
	struct dirent *entry;	/* read but not yet returned */
};

static struct mdfs_dir *dir_of(struct fuse_file_info *fi)
{
	return (struct mdfs_dir *)(uintptr_t)fi->fh;
}

static void dir_drop(struct mdfs_link *l)
{
	struct mdfs_dir *d = (struct mdfs_dir *)l;

	closedir(d->dp);
	free(d);
}

void mdfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mdfs_dir *d;
	int fd, err;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->uid = fuse_req_ctx(req)->uid;
	if (!mdfs_share_file(d->uid)) {
		free(d);
		fuse_reply_err(req, EMFILE);
		return;
	}
	fd = openat(mdfs_inode(ino)->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		goto free_dir;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		goto free_dir;
	}
	fi->fh = (uintptr_t)d;
	d->link.drop = dir_drop;
	mdfs_handle_add(&d->link);
	if (fuse_reply_open(req, fi)) {
		mdfs_handle_del(&d->link);
		closedir(d->dp);
		mdfs_unshare_file(d->uid);
		free(d);
	}
	return;

free_dir:
	mdfs_unshare_file(d->uid);
	free(d);
	fuse_reply_err(req, err);
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t offset, struct fuse_file_info *fi, bool plus)
{
	struct mdfs_dir *d = dir_of(fi);
	struct mdfs_inode *dir = mdfs_inode(ino);
	char *buf, *p;
	size_t rem = size;
	int err = 0;

	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		struct fuse_entry_param e;
		const char *name;
		size_t n;
		off_t next;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno; /* 0 at the end */
				break;
			}
		}
		next = d->entry->d_off;
		name = d->entry->d_name;
		if (!plus) {
			struct stat st = {
				.st_ino = d->entry->d_ino,
				.st_mode = (mode_t)d->entry->d_type << 12,
			};
			n = fuse_add_direntry(req, p, rem, name, &st, next);
		} else if (is_dot_or_dotdot(name)) {
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = d->entry->d_ino;
			e.attr.st_mode = (mode_t)d->entry->d_type << 12;
			n = fuse_add_direntry_plus(req, p, rem, name, &e, next);
		} else {
			err = -mdfs_do_lookup(dir, name, &e);
			if (err == ENOENT) {
				/* gone since readdir: skip it */
				err = 0;
				d->entry = NULL;
				d->offset = next;
				continue;
			}
			if (err)
				break;
			n = fuse_add_direntry_plus(req, p, rem, name, &e, next);
			if (n > rem)
				mdfs_forget_one(mdfs_inode(e.ino), 1);
		}
		if (n > rem)
			break;	/* keep d->entry for the next call */
		p += n;
		rem -= n;
		d->entry = NULL;
		d->offset = next;
	}
	/* an error after some entries: return those, the error comes next */
	if (err && rem == size)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

void mdfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void mdfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void mdfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mdfs_dir *d = dir_of(fi);

	mdfs_handle_del(&d->link);
	closedir(d->dp);
	mdfs_unshare_file(d->uid);
	free(d);
	fuse_reply_err(req, 0);
}

void mdfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi)
{
	int fd = dirfd(dir_of(fi)->dp);
	int res = datasync ? fdatasync(fd) : fsync(fd);

	fuse_reply_err(req, res ? errno : 0);
}
