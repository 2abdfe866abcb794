// SPDX-License-Identifier: GPL-2.0-or-later
/* The lease ioctls (SPEC 4.1, 4.4) and poll (SPEC 4.3.1). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "caps.h"
#include "eligible.h"
#include "log.h"
#include "mapdirect.h"
#include "mdfs.h"
#include "proc.h"

static int fill_holes(struct mdfs_inode *inode)
{
	char procfd[MDFS_PROCFD_LEN];
	int fd, err;

	mdfs_procfd(inode->fd, procfd);
	fd = open(procfd, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = md_allocate(fd);
	close(fd);
	return err;
}

/*
 * An unmediated writable open file of a process other than @pid that holds
 * no lease on the file (SPEC 3.1): its writes would bypass every break.
 * Must hold inode->lock. @return that process, or 0.
 */
int mdfs_foreign_writer(struct mdfs_inode *inode, pid_t pid)
{
	uint32_t holders, id, flags;
	uint64_t left;

	for (struct mdfs_file *f = inode->writers; f; f = f->wnext) {
		if (f->tgid == pid)
			continue;
		md_lease_state(mdfs.eng, &inode->lf, f->tgid, &holders, &id,
			       &flags, &left);
		if (!id)
			return f->tgid > 0 ? f->tgid : -1;
	}
	return 0;
}

/*
 * A lease of the file ended while others remain. If a process that holds
 * none now has an unmediated writable open file (one from before any
 * lease: a former holder's), its writes would bypass the remaining
 * leases unseen (SPEC 3.1, 4.3): break them now, as its write would.
 */
void mdfs_lease_ended(uint64_t dev, uint64_t ino)
{
	struct md_parked p = { 0 };
	struct mdfs_inode *inode;
	struct md_dispose d;
	pid_t writer;
	int ret;

	inode = mdfs_inode_pin(dev, ino);
	if (!inode)
		return;
	mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
	writer = mdfs_foreign_writer(inode, 0);
	mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
	if (writer) {
		md_dispose_init(&d);
		/* a breaker that parks nothing and waits for nobody */
		ret = md_break(mdfs.eng, &inode->lf, &p, true, &d);
		if (ret == 0)
			md_gate_exit(&inode->lf);
		else if (ret == -ETXTBSY)
			md_warn("pid %d writes unmediated beside an exclusive "
				"lease of inode %llu\n", writer,
				(unsigned long long)ino);
		else
			md_dbg("pid %d writes unmediated: breaking the leases "
			       "of inode %llu\n", writer,
			       (unsigned long long)ino);
		mdfs_dispose_run(&d);
	}
	mdfs_forget_one(inode, 1);
}

static int do_lease(fuse_req_t req, struct mdfs_file *f,
		    struct mapdirect_lease *arg)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct md_lease_req rq = { 0 };
	struct timespec now;
	pid_t writer;
	char reason[96], comm[16];
	struct md_dispose d;
	struct stat st;
	uint32_t id;
	int ret;

	/*
	 * SPEC 4.1: a caller outside our pid namespace arrives as pid 0. We
	 * could neither watch its exit nor signal it, nor see its
	 * capabilities: it cannot hold a lease.
	 */
	if (ctx->pid <= 0) {
		md_log_limited(LOG_WARNING, "lease refused to uid %u: its "
			       "process is outside the daemon's pid namespace "
			       "(pid 0)", ctx->uid);
		ret = -ESRCH;
		goto refused;
	}
	if (fstat(f->fd, &st)) {
		ret = -errno;
		goto refused;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode))
		goto refused;
	/* SPEC 4.1: the owner, or CAP_LEASE */
	ret = -EACCES;
	if (st.st_uid != ctx->uid && !md_caps_has(ctx->pid, CAP_LEASE))
		goto refused;
	rq.pid = md_proc_tgid(ctx->pid);
	ret = rq.pid;
	if (rq.pid < 0)
		goto refused;
	if (arg->flags & MAPDIRECT_LEASE_ALLOCATE) {
		ret = fill_holes(f->inode);
		if (ret)
			goto refused;
	}
	ret = md_eligible(f->fd, mdfs.cfg.dax == MD_ON, reason, sizeof(reason));
	if (ret < 0)
		goto refused;
	if (ret == 0) {
		md_dbg("lease refused to pid %d: %s\n", rq.pid, reason);
		ret = -EPERM;
		goto refused;
	}
	md_proc_comm(rq.pid, comm);
	rq.owner = &f->lo;
	rq.tid = ctx->pid;
	rq.signo = (int)arg->signal;
	rq.flags = arg->flags;
	rq.comm = comm;
	clock_gettime(CLOCK_REALTIME, &now);
	rq.since_real_ms = (uint64_t)now.tv_sec * 1000 +
			   (uint64_t)now.tv_nsec / 1000000;
	md_dispose_init(&d);
	/* the writers' check and the grant under one lock: an open decides
	 * mediated or not under it too */
	mdfs_lock(&f->inode->lock, MDFS_LOCK_INODE);
	writer = mdfs_foreign_writer(f->inode, rq.pid);
	if (!writer)
		/* counts its own refusals */
		ret = md_lease_take(mdfs.eng, &f->inode->lf, &rq, &d, &id);
	mdfs_unlock(&f->inode->lock, MDFS_LOCK_INODE);
	mdfs_dispose_run(&d);
	if (writer) {
		md_dbg("lease refused to pid %d: open for writing by pid %d\n",
		       rq.pid, writer);
		ret = -EAGAIN;
		goto refused;
	}
	if (ret)
		return ret;
	arg->lease_id = id;
	return 0;

refused:
	md_lease_refused(mdfs.eng);
	return ret;
}

static int do_unlease(struct mdfs_file *f, const struct mapdirect_unlease *arg)
{
	struct md_dispose d;
	int ret;

	md_dispose_init(&d);
	ret = md_lease_unlease(mdfs.eng, &f->inode->lf, &f->lo,
			       (uint32_t)arg->lease_id, &d);
	mdfs_dispose_run(&d);
	return ret;
}

static int do_getlease(fuse_req_t req, struct mdfs_inode *inode,
		       struct mapdirect_lease_info *arg)
{
	static const uint32_t states[] = {
		[MD_STATE_NONE] = MAPDIRECT_STATE_NONE,
		[MD_STATE_HELD] = MAPDIRECT_STATE_HELD,
		[MD_STATE_BREAKING] = MAPDIRECT_STATE_BREAKING,
	};
	pid_t pid = md_proc_tgid(fuse_req_ctx(req)->pid);
	uint32_t holders, id, flags;
	uint64_t left;
	enum md_state state;

	state = md_lease_state(mdfs.eng, &inode->lf, pid, &holders, &id,
			       &flags, &left);
	arg->state = states[state];
	arg->holders = holders;
	arg->lease_id = id;
	arg->lease_flags = flags;
	arg->ms_left = left;
	return 0;
}

void mdfs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		struct fuse_file_info *fi, unsigned int flags,
		const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	union md_abi_arg u;
	size_t size = _IOC_SIZE(cmd);
	int ret;

	/* restricted ioctls: the kernel copied what the encoding says */
	ret = md_abi_decode(cmd, in_buf, in_bufsz, &u);
	/* leases are on regular files; a dir's fh is no mdfs_file; the
	 * listing also answers on the mount root */
	if (!ret && cmd != MAPDIRECT_IOC_LEASES &&
	    (!fi || mdfs_inode(ino)->type != S_IFREG))
		ret = -ENOTTY;
	if (ret) {
		/* a malformed lease request is a refused one too */
		if (cmd == MAPDIRECT_IOC_LEASE)
			md_lease_refused(mdfs.eng);
		fuse_reply_err(req, -ret);
		return;
	}
	switch (cmd) {
	case MAPDIRECT_IOC_LEASE:
		ret = do_lease(req, mdfs_file(fi), &u.lease);
		break;
	case MAPDIRECT_IOC_UNLEASE:
		ret = do_unlease(mdfs_file(fi), &u.unlease);
		break;
	case MAPDIRECT_IOC_LEASES:
		ret = mdfs_list_leases(req, mdfs_inode(ino), &u.leases);
		break;
	default:
		ret = do_getlease(req, mdfs_inode(ino), &u.info);
		break;
	}
	if (ret)
		fuse_reply_err(req, -ret);
	else if (cmd == MAPDIRECT_IOC_UNLEASE)
		fuse_reply_ioctl(req, 0, NULL, 0);
	else
		fuse_reply_ioctl(req, 0, &u, size);
}

void mdfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       struct fuse_pollhandle *ph)
{
	unsigned int revents = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
	bool breaking;
	void *drop;

	drop = md_lease_poll(mdfs.eng, &mdfs_file(fi)->lo, ph, &breaking);
	if (drop)
		fuse_pollhandle_destroy(drop);
	if (breaking)
		revents |= POLLPRI;
	fuse_reply_poll(req, revents);
}
