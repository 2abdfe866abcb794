// SPDX-License-Identifier: GPL-2.0-or-later
/* Names and attributes: lookup, create-like ops, setattr, statfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"
#include "mdfs.h"

/* Answer a create-like op with the entry of @name, or with @err. */
static void reply_entry(fuse_req_t req, struct mdfs_inode *parent,
			const char *name, int err)
{
	struct fuse_entry_param e;

	if (!err)
		err = mdfs_do_lookup(parent, name, &e);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* the kernel never saw it: give the reference back */
	if (fuse_reply_entry(req, &e))
		mdfs_forget_one(mdfs_inode(e.ino), 1);
}

void mdfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int err;

	err = mdfs_do_lookup(mdfs_inode(parent), name, &e);
	if (err == -ENOENT) {
		/* a negative entry the kernel may cache */
		e.ino = 0;
		fuse_reply_entry(req, &e);
		return;
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (fuse_reply_entry(req, &e))
		mdfs_forget_one(mdfs_inode(e.ino), 1);
}

void mdfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	mdfs_forget_one(mdfs_inode(ino), nlookup);
	fuse_reply_none(req);
}

void mdfs_forget_multi(fuse_req_t req, size_t count,
		       struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		mdfs_forget_one(mdfs_inode(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

void mdfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int err;

	if (fi && fstat(mdfs_file(fi)->fd, &st))
		err = -errno;
	else if (!fi)
		err = mdfs_stat(mdfs_inode(ino), &st);
	else
		err = 0;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, mdfs.timeout);
}

static int set_times(struct mdfs_inode *inode, int fd, const char *procfd,
		     const struct stat *attr, int valid)
{
	struct timespec tv[2];

	tv[0].tv_nsec = UTIME_OMIT;
	tv[1].tv_nsec = UTIME_OMIT;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;

	if (fd >= 0)
		return futimens(fd, tv) ? -errno : 0;
	if (inode->type == S_IFLNK) {
		/* never through /proc: that would follow the link */
		if (utimensat(inode->fd, "", tv, AT_EMPTY_PATH))
			return errno == EINVAL ? -EPERM : -errno;
		return 0;
	}
	return utimensat(AT_FDCWD, procfd, tv, 0) ? -errno : 0;
}

/*
 * Runs as the daemon, not as the caller: with default_permissions the kernel
 * has vetted the change already, including the suid/sgid kill it forces on
 * truncate by a non-owner, which the caller could not do on the backing.
 */
int mdfs_do_setattr(struct mdfs_inode *inode, struct stat *attr, int valid,
		    struct mdfs_file *f, struct stat *st)
{
	int fd = f ? f->fd : -1;
	char procfd[MDFS_PROCFD_LEN];
	int err = 0;

	mdfs_procfd(inode->fd, procfd);
	md_dbg("setattr inode %llu valid 0x%x mode 0%o size %lld\n",
	       (unsigned long long)inode->ino, valid, attr->st_mode,
	       (long long)attr->st_size);
	if (valid & FUSE_SET_ATTR_MODE) {
		if (fd >= 0 ? fchmod(fd, attr->st_mode) :
			      fchmodat(AT_FDCWD, procfd, attr->st_mode, 0)) {
			err = -errno;
			goto out;
		}
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		if (fchownat(inode->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
			err = -errno;
			goto out;
		}
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (fd >= 0 ? ftruncate(fd, attr->st_size) :
			      truncate(procfd, attr->st_size)) {
			err = -errno;
			goto out;
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))
		err = set_times(inode, fd, procfd, attr, valid);
	/* FATTR_KILL_SUIDGID (HANDLE_KILLPRIV_V2): the caller lacks
	 * CAP_FSETID and truncates or chowns; we write with it */
	if (!err && (valid & FUSE_SET_ATTR_KILL_SUID))
		mdfs_privs_clear(inode);
	if (valid & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		mdfs_privs_refresh(inode, fd >= 0 ? fd : inode->fd);
	if (!err)
		err = fd >= 0 ? (fstat(fd, st) ? -errno : 0) :
				mdfs_stat(inode, st);
out:
	return err;
}

void mdfs_reply_attr(fuse_req_t req, int err, const struct stat *st)
{
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, st, mdfs.timeout);
}

void mdfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		  int valid, struct fuse_file_info *fi)
{
	struct mdfs_inode *inode = mdfs_inode(ino);
	struct mdfs_file *f = fi ? mdfs_file(fi) : NULL;
	struct mdfs_parked *pk;
	bool nonblock;

	/*
	 * A passthrough write never reaches the daemon; on a file with
	 * suid/sgid/caps the kernel's file_remove_privs() sends an empty
	 * SETATTR instead, and with HANDLE_KILLPRIV_V2 the clearing is ours.
	 */
	if (!(valid & ~FUSE_SET_ATTR_CTIME) &&
	    __atomic_load_n(&inode->privs, __ATOMIC_RELAXED) &&
	    !md_caps_has(fuse_req_ctx(req)->pid, CAP_FSETID))
		valid |= FUSE_SET_ATTR_KILL_SUID;

	/* only a size change touches the block map (SPEC 4.3) */
	if (!(valid & FUSE_SET_ATTR_SIZE) || md_gate_enter(&inode->lf)) {
		struct stat st;
		int err = mdfs_do_setattr(inode, attr, valid, f, &st);

		if (valid & FUSE_SET_ATTR_SIZE)
			md_gate_exit(&inode->lf);
		mdfs_reply_attr(req, err, &st);
		return;
	}
	/* truncate(2) by path has no open file: it waits */
	nonblock = f && (f->flags & O_NONBLOCK);
	pk = mdfs_parked_new(req, OP_SETATTR, f ? &f->lo : NULL, 0, &nonblock);
	if (!pk)
		return;
	pk->inode = inode;
	pk->f = f;
	pk->attr = *attr;
	pk->valid = valid;
	mdfs_break(pk, inode, nonblock);
}

void mdfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n;

	n = readlinkat(mdfs_inode(ino)->fd, "", buf, sizeof(buf));
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((size_t)n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* mknod, mkdir and symlink differ only in the call that makes the node. */
enum node_kind { NODE_MKNOD, NODE_MKDIR, NODE_SYMLINK };

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      enum node_kind kind, mode_t mode, dev_t rdev,
		      const char *link)
{
	struct mdfs_inode *dir = mdfs_inode(parent);
	int err, res;

	err = mdfs_creds_enter(req);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	switch (kind) {
	case NODE_MKNOD:
		res = mknodat(dir->fd, name, mode, rdev);
		break;
	case NODE_MKDIR:
		res = mkdirat(dir->fd, name, mode);
		break;
	default:
		res = symlinkat(link, dir->fd, name);
		break;
	}
	err = res ? -errno : 0;
	mdfs_creds_leave();
	reply_entry(req, dir, name, err);
}

void mdfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, dev_t rdev)
{
	make_node(req, parent, name, NODE_MKNOD, mode, rdev, NULL);
}

void mdfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode)
{
	make_node(req, parent, name, NODE_MKDIR, S_IFDIR | mode, 0, NULL);
}

void mdfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		  const char *name)
{
	make_node(req, parent, name, NODE_SYMLINK, 0, 0, link);
}

void mdfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	       const char *newname)
{
	struct mdfs_inode *dir = mdfs_inode(newparent);
	char procfd[MDFS_PROCFD_LEN];
	int err;

	mdfs_procfd(mdfs_inode(ino)->fd, procfd);
	err = mdfs_creds_enter(req);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH; the magic link not */
	if (linkat(AT_FDCWD, procfd, dir->fd, newname, AT_SYMLINK_FOLLOW))
		err = -errno;
	mdfs_creds_leave();
	reply_entry(req, dir, newname, err);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 int flags)
{
	int err = mdfs_creds_enter(req);

	if (!err) {
		if (unlinkat(mdfs_inode(parent)->fd, name, flags))
			err = -errno;
		mdfs_creds_leave();
	}
	fuse_reply_err(req, -err);
}

void mdfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, 0);
}

void mdfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, AT_REMOVEDIR);
}

void mdfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname,
		 unsigned int flags)
{
	int err = mdfs_creds_enter(req);

	if (!err) {
		if (renameat2(mdfs_inode(parent)->fd, name,
			      mdfs_inode(newparent)->fd, newname, flags))
			err = -errno;
		mdfs_creds_leave();
	}
	fuse_reply_err(req, -err);
}

void mdfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(mdfs_inode(ino)->fd, &sv))
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}
