// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes, passed through to the backing file. Symlinks have
 * no race-free path (the /proc magic link would follow them), so they get
 * the answers Linux gives for user.* xattrs on a symlink.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "mdfs.h"

/* Reply to a get/list: @n is the syscall's result, @buf its data. */
static void reply_xattr_result(fuse_req_t req, ssize_t n, size_t size,
			       const char *buf)
{
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void mdfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   size_t size)
{
	struct mdfs_inode *inode = mdfs_inode(ino);
	char procfd[MDFS_PROCFD_LEN];
	char *buf = NULL;
	ssize_t n;

	if (inode->type == S_IFLNK) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	mdfs_procfd(inode->fd, procfd);
	n = getxattr(procfd, name, buf, size);
	reply_xattr_result(req, n, size, buf);
	free(buf);
}

void mdfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mdfs_inode *inode = mdfs_inode(ino);
	char procfd[MDFS_PROCFD_LEN];
	char *buf = NULL;
	ssize_t n;

	if (inode->type == S_IFLNK) {
		reply_xattr_result(req, 0, size, "");
		return;
	}
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	mdfs_procfd(inode->fd, procfd);
	n = listxattr(procfd, buf, size);
	reply_xattr_result(req, n, size, buf);
	free(buf);
}

/* set (value != NULL) or remove, as the caller */
static void change_xattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 const char *value, size_t size, int flags)
{
	struct mdfs_inode *inode = mdfs_inode(ino);
	char procfd[MDFS_PROCFD_LEN];
	int err, res;

	if (inode->type == S_IFLNK) {
		fuse_reply_err(req, EPERM);
		return;
	}
	mdfs_procfd(inode->fd, procfd);
	err = mdfs_creds_enter(req);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	res = value ? setxattr(procfd, name, value, size, flags) :
		      removexattr(procfd, name);
	err = res ? errno : 0;
	mdfs_creds_leave();
	fuse_reply_err(req, err);
}

void mdfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   const char *value, size_t size, int flags)
{
	/* a zero-length value still needs a non-NULL pointer */
	change_xattr(req, ino, name, value ? value : "", size, flags);
}

void mdfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	change_xattr(req, ino, name, NULL, 0, 0);
}
