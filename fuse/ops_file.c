// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open files. Every open is replied FOPEN_DIRECT_IO, so reads, writes and
 * everything that can change a block map reach the daemon (the enforcement
 * point, SPEC 3); with passthrough, mmap maps the backing file itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "mdfs.h"

#ifndef FUSE_DEV_IOC_BACKING_CLOSE
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
#endif

/*
 * Attach the inode's backing id to this open (one id per inode, shared by
 * all its opens: the kernel refuses to mix modes on an inode otherwise).
 * Must hold inode->lock.
 */
static int passthrough_attach(fuse_req_t req, struct mdfs_inode *inode,
			      int fd, struct fuse_file_info *fi)
{
	if (!inode->backing_id) {
		/* registered with the daemon's credentials: they are what
		 * the kernel uses for the backing file of every open */
		int id = fuse_passthrough_open(req, fd);

		if (id <= 0) {
			md_err("passthrough open of inode %llu failed: %s\n",
			       (unsigned long long)inode->ino,
			       strerror(id < 0 ? -id : EIO));
			return id < 0 ? id : -EIO;
		}
		inode->backing_id = id;
	}
	fi->backing_id = inode->backing_id;
	return 0;
}

/* Turn an open backing fd into the reply of open/create. */
static int setup_open(fuse_req_t req, struct mdfs_inode *inode, int fd,
		      struct fuse_file_info *fi)
{
	struct mdfs_file *f;
	int err = 0;

	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->flags = fi->flags;
	f->inode = inode;

	pthread_mutex_lock(&inode->lock);
	if (mdfs.passthrough)
		err = passthrough_attach(req, inode, fd, fi);
	if (!err)
		inode->nopen++;
	pthread_mutex_unlock(&inode->lock);
	if (err) {
		free(f);
		return err;
	}
	mdfs_privs_refresh(inode, fd);
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1;
	fi->parallel_direct_writes = 1;
	fi->keep_cache = 0;
	return 0;
}

static void file_put(struct mdfs_file *f)
{
	struct mdfs_inode *inode = f->inode;

	pthread_mutex_lock(&inode->lock);
	if (--inode->nopen == 0 && inode->backing_id) {
		/* mappings keep their own reference to the backing file */
		/* by the session fd: the request may be answered already */
		if (ioctl(fuse_session_fd(mdfs.se), FUSE_DEV_IOC_BACKING_CLOSE,
			  &inode->backing_id))
			md_err("passthrough close of inode %llu failed: %m\n",
			       (unsigned long long)inode->ino);
		inode->backing_id = 0;
	}
	pthread_mutex_unlock(&inode->lock);
	close(f->fd);
	free(f);
}

/* Backing open flags: the client's, minus what the kernel already did. */
static int backing_flags(int flags)
{
	return (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW)) |
	       O_CLOEXEC;
}

void mdfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mdfs_inode *inode = mdfs_inode(ino);
	char procfd[MDFS_PROCFD_LEN];
	int fd, err;

	mdfs_procfd(inode->fd, procfd);
	err = mdfs_creds_enter(req);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fd = openat(AT_FDCWD, procfd, backing_flags(fi->flags));
	err = fd < 0 ? -errno : 0;
	mdfs_creds_leave();
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	err = setup_open(req, inode, fd, fi);
	if (err) {
		close(fd);
		fuse_reply_err(req, -err);
		return;
	}
	if (fuse_reply_open(req, fi))
		file_put(mdfs_file(fi));
}

void mdfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, struct fuse_file_info *fi)
{
	struct mdfs_inode *dir = mdfs_inode(parent);
	struct fuse_entry_param e;
	int fd, err;

	err = mdfs_creds_enter(req);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* O_NOFOLLOW: a symlink planted in BACKING is never followed */
	fd = openat(dir->fd, name,
		    backing_flags(fi->flags) | O_CREAT | O_NOFOLLOW, mode);
	err = fd < 0 ? -errno : 0;
	mdfs_creds_leave();
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	err = mdfs_do_lookup(dir, name, &e);
	if (err)
		goto close_fd;
	err = setup_open(req, mdfs_inode(e.ino), fd, fi);
	if (err) {
		mdfs_forget_one(mdfs_inode(e.ino), 1);
		goto close_fd;
	}
	if (fuse_reply_create(req, &e, fi)) {
		file_put(mdfs_file(fi));
		mdfs_forget_one(mdfs_inode(e.ino), 1);
	}
	return;

close_fd:
	close(fd);
	fuse_reply_err(req, -err);
}

void mdfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	/* libfuse reads straight into the reply (or splices): no copy here */
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = mdfs_file(fi)->fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void mdfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		    off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	struct mdfs_file *f = mdfs_file(fi);
	ssize_t n;

	if (__atomic_load_n(&f->inode->privs, __ATOMIC_RELAXED))
		mdfs_privs_kill(req, f);
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = f->fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

void mdfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* closing a duplicate reports the backing's close-time errors */
	int fd = dup(mdfs_file(fi)->fd);

	if (fd < 0 || close(fd))
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

void mdfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	file_put(mdfs_file(fi));
	fuse_reply_err(req, 0);
}

void mdfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		struct fuse_file_info *fi)
{
	int fd = mdfs_file(fi)->fd;
	int res = datasync ? fdatasync(fd) : fsync(fd);

	fuse_reply_err(req, res ? errno : 0);
}

void mdfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		    off_t length, struct fuse_file_info *fi)
{
	if (fallocate(mdfs_file(fi)->fd, mode, offset, length))
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

void mdfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			  struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			  off_t off_out, struct fuse_file_info *fi_out,
			  size_t len, int flags)
{
	ssize_t n;

	n = copy_file_range(mdfs_file(fi_in)->fd, &off_in,
			    mdfs_file(fi_out)->fd, &off_out, len,
			    (unsigned int)flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

void mdfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		struct fuse_file_info *fi)
{
	off_t res = lseek(mdfs_file(fi)->fd, off, whence);

	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}
