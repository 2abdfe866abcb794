// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes, passed through to the backing file by the
 * /proc/self/fd magic link of the O_PATH fd. The jump through the magic
 * link ends on the inode itself: a symlink is not followed (checked on
 * 6.18; the *xattrat calls refuse O_PATH fds with EBADF).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "mdfs.h"

/* One call, four shapes: get, list, set, remove. */
enum xop { X_GET, X_LIST, X_SET, X_REMOVE };

static ssize_t xattr_call(struct mdfs_inode *inode, enum xop op,
			  const char *name, void *buf, size_t size, int flags)
{
	char procfd[MDFS_PROCFD_LEN];

	mdfs_procfd(inode->fd, procfd);
	switch (op) {
	case X_GET:
		return getxattr(procfd, name, buf, size);
	case X_LIST:
		return listxattr(procfd, buf, size);
	case X_SET:
		return setxattr(procfd, name, buf, size, flags);
	default:
		return removexattr(procfd, name);
	}
}

/* get or list: a size probe (0) or the data */
static void read_xattrs(fuse_req_t req, fuse_ino_t ino, enum xop op,
			const char *name, size_t size)
{
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = xattr_call(mdfs_inode(ino), op, name, buf, size, 0);
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void mdfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   size_t size)
{
	read_xattrs(req, ino, X_GET, name, size);
}

void mdfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	read_xattrs(req, ino, X_LIST, NULL, size);
}

/* set or remove, as the caller */
static void change_xattr(fuse_req_t req, fuse_ino_t ino, enum xop op,
			 const char *name, const char *value, size_t size,
			 int flags)
{
	int err = mdfs_creds_enter(req);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (xattr_call(mdfs_inode(ino), op, name, (void *)value, size,
		       flags) < 0)
		err = errno;
	mdfs_creds_leave();
	fuse_reply_err(req, err);
}

void mdfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   const char *value, size_t size, int flags)
{
	change_xattr(req, ino, X_SET, name, value, size, flags);
}

void mdfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	change_xattr(req, ino, X_REMOVE, name, NULL, 0, 0);
}
