// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open files. A mediated open is replied FOPEN_PASSTHROUGH|FOPEN_DIRECT_IO:
 * its reads and writes reach the daemon (the enforcement point, SPEC 3)
 * while mmap maps the backing file itself. Others (read-only opens; under
 * mediate=leased, writable opens of a file without a lease) are replied
 * FOPEN_PASSTHROUGH alone and never reach the daemon for read/write.
 * fallocate, truncate, O_TRUNC and copy_file_range always do.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utlist.h>

#include "buildconf.h"
#include "log.h"
#include "mdfs.h"
#include "proc.h"

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
		int id;

		/*
		 * The kernel does every passthrough read, write and mmap of
		 * the inode with the credentials of this call, whoever the
		 * opener: not root's filesystem identity, with which any
		 * caller's writes could take the blocks ext4 keeps for root
		 * (resuid 0) and would kill no setuid bit. CAP_SYS_ADMIN,
		 * which the call needs, is no filesystem capability and stays.
		 */
		setfsgid(MDFS_NOBODY);
		setfsuid(MDFS_NOBODY);
		id = fuse_passthrough_open(req, fd);
		setfsuid(geteuid());
		setfsgid(getegid());

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

static void file_drop(struct mdfs_link *l)
{
	struct mdfs_file *f = (struct mdfs_file *)l;

	close(f->fd);
	free(f);
}

static void writers_add(struct mdfs_inode *inode, struct mdfs_file *f)
{
	f->wprev = NULL;
	f->wnext = inode->writers;
	if (inode->writers)
		inode->writers->wprev = f;
	inode->writers = f;
}

static void writers_del(struct mdfs_inode *inode, struct mdfs_file *f)
{
	if (f->wprev)
		f->wprev->wnext = f->wnext;
	else
		inode->writers = f->wnext;
	if (f->wnext)
		f->wnext->wprev = f->wprev;
}

/*
 * Which opens the daemon mediates (SPEC 3.1): reads never break a lease,
 * so read-only opens read the backing file directly; so do writable opens
 * of a file without a lease under mediate=leased. Decided under
 * inode->lock, which a lease request holds too: no open slips between a
 * lease's check and its grant.
 */
static bool must_mediate(struct mdfs_inode *inode, int flags)
{
	if (!mdfs.passthrough)
		return true;	/* no passthrough: everything is mediated */
	if ((flags & O_ACCMODE) == O_RDONLY)
		return false;
	return mdfs.cfg.mediate == MD_MEDIATE_ALL ||
	       __atomic_load_n(&inode->lf.nleases, __ATOMIC_SEQ_CST);
}

static int setup_open(fuse_req_t req, struct mdfs_inode *inode, int fd,
		      struct fuse_file_info *fi)
{
	bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct mdfs_file *f;
	pid_t tgid = 0;
	int err = 0;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->flags = fi->flags;
	f->inode = inode;
	/* an unmediated writer is known by its process; ask before locking */
	if (writable && mdfs.passthrough && mdfs.cfg.mediate == MD_MEDIATE_LEASED)
		tgid = md_proc_tgid(fuse_req_ctx(req)->pid);

	mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
	f->mediated = must_mediate(inode, fi->flags);
	if (mdfs.passthrough)
		err = passthrough_attach(req, inode, fd, fi);
	if (!err) {
		inode->nopen++;
		if (writable && !f->mediated) {
			f->tgid = tgid;
			writers_add(inode, f);
		}
	}
	mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
	if (err) {
		free(f);
		return err;
	}
	mdfs_privs_refresh(inode, fd);
	f->link.drop = file_drop;
	mdfs_handle_add(&f->link);
	fi->fh = (uintptr_t)f;
	fi->direct_io = f->mediated;
	fi->parallel_direct_writes = f->mediated;
	fi->keep_cache = 0;
	return 0;
}

void mdfs_file_broke(struct mdfs_file *f, pid_t tid, uid_t uid)
{
	struct mdfs_inode *inode = f->inode;
	pid_t tgid;

	if (__atomic_load_n(&f->broke_tgid, __ATOMIC_RELAXED))
		return;
	/* /proc before the lock */
	tgid = md_proc_tgid(tid);
	if (tgid <= 0)
		tgid = -1;
	mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
	if (!f->broke_tgid) {
		f->broke_uid = uid;
		__atomic_store_n(&f->broke_tgid, tgid, __ATOMIC_RELAXED);
		DL_APPEND2(inode->breakers, f, bprev, bnext);
	}
	mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
}

static void file_put(struct mdfs_file *f)
{
	struct mdfs_inode *inode = f->inode;
	struct md_dispose d;

	/* a lease may be taken again once the breaker has let go */
	if (__atomic_load_n(&f->broke_tgid, __ATOMIC_RELAXED)) {
		mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
		DL_DELETE2(inode->breakers, f, bprev, bnext);
		mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
	}

	/* no longer a writer before its lease's end is looked at */
	if (!f->mediated && (f->flags & O_ACCMODE) != O_RDONLY) {
		mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
		writers_del(inode, f);
		mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
	}
	/* the lease may live on in a mapping (SPEC 4.2) */
	if (f->lo.lease) {
		md_dispose_init(&d);
		md_lease_file_closed(mdfs.eng, &inode->lf, &f->lo, &d);
		mdfs_dispose_run(&d);
	}
	mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
	if (--inode->nopen == 0 && inode->backing_id) {
		/* by the session fd: the request may be answered already */
		if (ioctl(fuse_session_fd(mdfs.se), FUSE_DEV_IOC_BACKING_CLOSE,
			  &inode->backing_id))
			md_err("passthrough close of inode %llu failed: %m\n",
			       (unsigned long long)inode->ino);
		inode->backing_id = 0;
	}
	mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
	mdfs_stop_released(f);
	mdfs_handle_del(&f->link);
	close(f->fd);
	free(f);
}

/* Backing open flags: the client's, minus what the kernel already did. */
static int backing_flags(int flags)
{
	return (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW)) |
	       O_CLOEXEC;
}

int mdfs_do_open(fuse_req_t req, struct mdfs_inode *inode,
		 struct fuse_file_info *fi)
{
	char procfd[MDFS_PROCFD_LEN];
	int fd, err;

	mdfs_procfd(inode->fd, procfd);
	err = mdfs_creds_enter(req);
	if (err)
		return err;
	fd = openat(AT_FDCWD, procfd, backing_flags(fi->flags));
	err = fd < 0 ? -errno : 0;
	mdfs_creds_leave();
	if (err)
		return err;
	err = setup_open(req, inode, fd, fi);
	if (err)
		close(fd);
	return err;
}

void mdfs_reply_open(fuse_req_t req, int err, struct fuse_file_info *fi)
{
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_open(req, fi))
		file_put(mdfs_file(fi));
}

void mdfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mdfs_inode *inode = mdfs_inode(ino);
	struct mdfs_parked *pk;

	/* O_TRUNC from a new open file breaks every lease (SPEC 4.3) */
	if (!(fi->flags & O_TRUNC) || md_gate_enter(&inode->lf)) {
		int err = mdfs_do_open(req, inode, fi);

		if (fi->flags & O_TRUNC)
			md_gate_exit(&inode->lf);
		mdfs_reply_open(req, err, fi);
		return;
	}
	pk = mdfs_parked_new(req, OP_OPEN, NULL, 0);
	if (!pk)
		return;
	pk->inode = inode;
	pk->fi = *fi;
	mdfs_break(pk, inode, fi->flags & O_NONBLOCK);
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

	__atomic_add_fetch(&mdfs.nread, 1, __ATOMIC_RELAXED);
	/* libfuse reads straight into the reply (or splices): no copy here */
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = mdfs_file(fi)->fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

ssize_t mdfs_do_write(fuse_req_t req, struct mdfs_file *f,
		      struct fuse_bufvec *in, off_t off)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));

	if (__atomic_load_n(&f->inode->privs, __ATOMIC_RELAXED))
		mdfs_privs_kill(req, f);
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = f->fd;
	out.buf[0].pos = off;
	return fuse_buf_copy(&out, in, 0);
}

void mdfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		    off_t off, struct fuse_file_info *fi)
{
	struct mdfs_file *f = mdfs_file(fi);
	struct mdfs_parked *pk;

	__atomic_add_fetch(&mdfs.nwrite, 1, __ATOMIC_RELAXED);
	/* the no-lease path: two atomics, no lookup (see md_gate_enter);
	 * -Dlease_gate=false compiles it out, to measure it (bench/) */
	if (!MDFS_LEASE_GATE || md_gate_enter(&f->inode->lf)) {
		ssize_t n = mdfs_do_write(req, f, in, off);

		if (MDFS_LEASE_GATE)
			md_gate_exit(&f->inode->lf);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_write(req, (size_t)n);
		return;
	}
	/* the request's buffer is libfuse's: mdfs_break copies it if the
	 * write may wait */
	pk = mdfs_parked_new(req, OP_WRITE, &f->lo, fuse_buf_size(in));
	if (!pk)
		return;
	pk->in = in;
	pk->f = f;
	pk->off = off;
	/* fi->flags is the file's f_flags now: fcntl(F_SETFL) counts */
	mdfs_break(pk, f->inode, fi->flags & O_NONBLOCK);
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

int mdfs_do_fallocate(struct mdfs_file *f, int mode, off_t off, off_t len)
{
	return fallocate(f->fd, mode, off, len) ? -errno : 0;
}

void mdfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		    off_t length, struct fuse_file_info *fi)
{
	struct mdfs_file *f = mdfs_file(fi);
	struct mdfs_parked *pk;

	if (md_gate_enter(&f->inode->lf)) {
		int err = mdfs_do_fallocate(f, mode, offset, length);

		md_gate_exit(&f->inode->lf);
		fuse_reply_err(req, -err);
		return;
	}
	pk = mdfs_parked_new(req, OP_FALLOCATE, &f->lo, 0);
	if (!pk)
		return;
	pk->f = f;
	pk->mode = mode;
	pk->off = offset;
	pk->len = length;
	/* fallocate carries no flags: those of the open */
	mdfs_break(pk, f->inode, f->flags & O_NONBLOCK);
}

ssize_t mdfs_do_copy(struct mdfs_file *in, off_t off_in, struct mdfs_file *out,
		     off_t off_out, size_t len, int flags)
{
	ssize_t n = copy_file_range(in->fd, &off_in, out->fd, &off_out, len,
				    (unsigned int)flags);

	return n < 0 ? -errno : n;
}

void mdfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			  struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			  off_t off_out, struct fuse_file_info *fi_out,
			  size_t len, int flags)
{
	struct mdfs_file *in = mdfs_file(fi_in), *out = mdfs_file(fi_out);
	struct mdfs_parked *pk;

	if (md_gate_enter(&out->inode->lf)) {
		ssize_t n = mdfs_do_copy(in, off_in, out, off_out, len, flags);

		md_gate_exit(&out->inode->lf);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_write(req, (size_t)n);
		return;
	}
	pk = mdfs_parked_new(req, OP_COPY, &out->lo, 0);
	if (!pk)
		return;
	pk->f_in = in;
	pk->off_in = off_in;
	pk->f = out;
	pk->off = off_out;
	pk->len = (off_t)len;
	pk->mode = flags;
	mdfs_break(pk, out->inode, out->flags & O_NONBLOCK);
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
