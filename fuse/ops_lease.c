// SPDX-License-Identifier: GPL-2.0-or-later
/* The lease ioctls (SPEC 4.1, 4.4) and poll (SPEC 4.3.1). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <utlist.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

#include "abi.h"
#include "caps.h"
#include "dax.h"
#include "eligible.h"
#include "log.h"
#include "mapdirect.h"
#include "mdfs.h"
#include "proc.h"

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

pid_t mdfs_waiting_breaker(struct mdfs_inode *inode, uid_t uid)
{
	struct mdfs_file *f;

	if (uid == 0)
		return 0;	/* root may starve a user's writer: it is root */
	DL_FOREACH2(inode->breakers, f, bnext)
		if (f->broke_uid != uid)
			return f->broke_tgid;
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

/* how long a lease request waits for breakers already past the gate */
#define EXCLUDE_WAIT_US (200 * 1000)

/* Breakers that passed the gate before the exclusion began have run. */
static bool exclude_settled(struct md_lfile *lf)
{
	for (int us = 0; us < EXCLUDE_WAIT_US; us += 100) {
		if (md_exclude_idle(lf))
			return true;
		usleep(100);
	}
	return md_exclude_idle(lf);
}

/*
 * The lease, once nobody can change the file (between md_exclude_begin
 * and md_exclude_end): fill it (ALLOCATE, as the caller), check it, make
 * its block map durable, grant (SPEC 4.1). Checking under the exclusion
 * means no write slips between the check and the grant.
 */
static int grant(fuse_req_t req, struct mdfs_file *f, struct md_lease_req *rq,
		 struct mapdirect_lease *arg, struct md_dispose *d)
{
	char reason[96];
	uint32_t id;
	int ret = -EAGAIN;

	if (!exclude_settled(&f->inode->lf))
		goto refused;
	if (arg->flags & MAPDIRECT_LEASE_ALLOCATE) {
		/* the caller's rights: quotas, reserved blocks (creds.c) */
		ret = mdfs_creds_enter(req);
		if (!ret) {
			ret = md_allocate(f->fd);
			mdfs_creds_leave();
		}
		if (ret)
			goto refused;
	}
	ret = md_eligible(f->fd, mdfs.cfg.dax == MD_ON, reason, sizeof(reason));
	if (ret < 0)
		goto refused;
	if (ret == 0) {
		md_dbg("lease refused to pid %d: %s\n", rq->pid, reason);
		ret = -EPERM;
		goto refused;
	}
	/*
	 * The block map durable before the grant: then on DAX a CPU cache
	 * flush makes the holder's stores durable (no allocation or extent
	 * conversion is left only in the journal). fsync, not fdatasync:
	 * whatever the filesystem needs to find the blocks again.
	 */
	if (fsync(f->fd))
		md_log_limited(LOG_WARNING, "lease of inode %llu granted "
			       "without a durable block map: fsync: %s",
			       (unsigned long long)f->inode->ino,
			       strerror(errno));
	else
		rq->userflush = md_dax_fd(f->fd) == 1;
	/* counts its own refusals */
	ret = md_lease_take(mdfs.eng, &f->inode->lf, rq, d, &id);
	if (ret)
		return ret;
	arg->lease_id = id;
	arg->out_flags = rq->userflush ? MAPDIRECT_OUT_USERFLUSH : 0;
	return 0;

refused:
	md_lease_refused(mdfs.eng);
	if (rq->tidfd > 0)
		close(rq->tidfd);
	rq->tidfd = -1;
	return ret;
}

/*
 * ALLOCATE leases are filled off the request's thread (a ring thread
 * serves a whole CPU's queue), by a few threads that live as long as the
 * session: over io_uring an answer hands the ring entry's next fetch to
 * the answering thread, and a thread that exits cancels it (the next
 * request on that entry fails with ECANCELED: seen with a thread a fill).
 */
struct fill {
	struct fill *next;
	fuse_req_t req;
	struct mdfs_file *f;
	struct md_lease_req rq;
	char comm[16];
	struct mapdirect_lease arg;
	uid_t uid;
};

static const uint64_t one_fill[MDFS_SHARE_N] = { [MDFS_SHARE_FILLS] = 1 };

static pthread_mutex_t fills_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fills_cond = PTHREAD_COND_INITIALIZER;
/* under fills_lock: */
static struct fill *fills_head, **fills_tail = &fills_head;
static pthread_t fill_thread[MDFS_FILLS_MAX];
static unsigned int fill_threads, fills_idle, fills_running;
static bool fills_closed;	/* shutting down: no new fill */

static void fill_one(struct fill *fl)
{
	struct md_dispose d;
	int ret;

	md_dispose_init(&d);
	fl->rq.comm = fl->comm;
	ret = grant(fl->req, fl->f, &fl->rq, &fl->arg, &d);
	md_exclude_end(mdfs.eng, &fl->f->inode->lf, &d);
	mdfs_dispose_run(&d);
	mdfs_share_give(fl->uid, one_fill, -1);
	if (ret)
		fuse_reply_err(fl->req, -ret);
	else
		fuse_reply_ioctl(fl->req, 0, &fl->arg, sizeof(fl->arg));
	free(fl);
}

static void *fill_main(void *arg)
{
	struct fill *fl;

	mdfs_lock(&fills_lock, MDFS_LOCK_LEAF);
	for (;;) {
		while (!fills_head && !fills_closed) {
			fills_idle++;
			pthread_cond_wait(&fills_cond, &fills_lock);
			fills_idle--;
		}
		if (!fills_head)
			break;
		fl = fills_head;
		fills_head = fl->next;
		if (!fills_head)
			fills_tail = &fills_head;
		fills_running++;
		mdfs_unlock(&fills_lock, MDFS_LOCK_LEAF);
		fill_one(fl);
		mdfs_lock(&fills_lock, MDFS_LOCK_LEAF);
		fills_running--;
		pthread_cond_broadcast(&fills_cond);
	}
	mdfs_unlock(&fills_lock, MDFS_LOCK_LEAF);
	return NULL;
}

/* @return 1: a fill thread answers; else as do_lease() */
static int start_fill(fuse_req_t req, struct mdfs_file *f,
		      const struct md_lease_req *rq,
		      const struct mapdirect_lease *arg)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	struct fill *fl;
	int ret = 1;

	/* one fill a uid, a few in all: each holds a request (over
	 * io_uring, a ring entry) for as long as its zeros take */
	if (!mdfs_share_take(uid, one_fill, -1))
		return -EAGAIN;
	fl = calloc(1, sizeof(*fl));
	if (!fl) {
		mdfs_share_give(uid, one_fill, -1);
		return -ENOMEM;
	}
	fl->req = req;
	fl->f = f;
	fl->rq = *rq;
	memcpy(fl->comm, rq->comm, sizeof(fl->comm));
	fl->arg = *arg;
	fl->uid = uid;
	mdfs_lock(&fills_lock, MDFS_LOCK_LEAF);
	/* the fills share bounds them: never more waiting than threads */
	if (!fills_closed && !fills_idle && fill_threads < MDFS_FILLS_MAX &&
	    !pthread_create(&fill_thread[fill_threads], NULL, fill_main, NULL))
		fill_threads++;
	if (fills_closed || !fill_threads) {
		ret = -EAGAIN;
	} else {
		*fills_tail = fl;
		fills_tail = &fl->next;
		pthread_cond_signal(&fills_cond);
	}
	mdfs_unlock(&fills_lock, MDFS_LOCK_LEAF);
	if (ret < 0) {
		mdfs_share_give(uid, one_fill, -1);
		free(fl);
	}
	return ret;
}

void mdfs_fills_wait(void)
{
	mdfs_lock(&fills_lock, MDFS_LOCK_LEAF);
	fills_closed = true;
	pthread_cond_broadcast(&fills_cond);
	while (fills_head || fills_running)
		pthread_cond_wait(&fills_cond, &fills_lock);
	mdfs_unlock(&fills_lock, MDFS_LOCK_LEAF);
}

void mdfs_fills_stop(void)
{
	unsigned int n;

	mdfs_fills_wait();
	mdfs_lock(&fills_lock, MDFS_LOCK_LEAF);
	n = fill_threads;
	fill_threads = 0;
	mdfs_unlock(&fills_lock, MDFS_LOCK_LEAF);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(fill_thread[i], NULL);
}

/*
 * MAPDIRECT_IOC_LEASE. @return 0 (answer @arg), -errno, or 1 when a fill
 * thread took the request over and answers it.
 */
static int do_lease(fuse_req_t req, struct mdfs_file *f,
		    struct mapdirect_lease *arg)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct md_lease_req rq = { 0 };
	struct timespec now;
	uint32_t id, flags;
	pid_t writer;
	char comm[16];
	struct md_dispose d;
	struct stat st;
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
	/* ALLOCATE writes: through a file the caller may write (SPEC 4.1) */
	ret = -EBADF;
	if ((arg->flags & MAPDIRECT_LEASE_ALLOCATE) &&
	    (f->flags & O_ACCMODE) == O_RDONLY)
		goto refused;
	rq.pid = md_proc_tgid(ctx->pid);
	ret = rq.pid;
	if (rq.pid < 0)
		goto refused;
	/*
	 * While we handle its request the caller's thread waits for our
	 * answer, even on SIGKILL, so ctx->pid is still it: the pidfd taken
	 * now is the holder's, whatever happens to the pid later (signals,
	 * revocation). The CAP_LEASE and tgid reads above are safe for the
	 * same reason.
	 */
	rq.tidfd = (int)syscall(SYS_pidfd_open, ctx->pid, PIDFD_THREAD);
	if (rq.tidfd < 0) {
		ret = -errno;	/* EMFILE: no holder we cannot signal */
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
	arg->out_flags = 0;
	/* SPEC 4.1: the same open file, the same lease (nothing to check) */
	if (!md_lease_again(mdfs.eng, &f->inode->lf, &f->lo, &id, &flags)) {
		arg->lease_id = id;
		if (flags & MD_LEASE_USERFLUSH)
			arg->out_flags = MAPDIRECT_OUT_USERFLUSH;
		ret = 0;
		goto close_tidfd;
	}

	/* the writers' check and the exclusion under one lock: an open
	 * decides mediated or not under it too */
	mdfs_lock(&f->inode->lock, MDFS_LOCK_INODE);
	writer = mdfs_foreign_writer(f->inode, rq.pid);
	if (!writer)
		writer = mdfs_waiting_breaker(f->inode, ctx->uid);
	ret = writer ? -EAGAIN : md_exclude_begin(mdfs.eng, &f->inode->lf);
	mdfs_unlock(&f->inode->lock, MDFS_LOCK_INODE);
	if (writer)
		md_dbg("lease refused to pid %d: open for writing by pid %d\n",
		       rq.pid, writer);
	if (ret)
		goto refused;

	if (arg->flags & MAPDIRECT_LEASE_ALLOCATE) {
		ret = start_fill(req, f, &rq, arg);
		if (ret == 1)
			return 1;	/* the fill owns rq.tidfd now */
		md_dispose_init(&d);
		md_exclude_end(mdfs.eng, &f->inode->lf, &d);
		mdfs_dispose_run(&d);
		goto refused;
	}
	md_dispose_init(&d);
	/* md_lease_take() keeps or closes rq.tidfd */
	ret = grant(req, f, &rq, arg, &d);
	md_exclude_end(mdfs.eng, &f->inode->lf, &d);
	mdfs_dispose_run(&d);
	return ret;

refused:
	md_lease_refused(mdfs.eng);
close_tidfd:
	if (rq.tidfd > 0)
		close(rq.tidfd);
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
	arg->lease_flags = flags & ~MD_LEASE_USERFLUSH;
	arg->out_flags = flags & MD_LEASE_USERFLUSH ? MAPDIRECT_OUT_USERFLUSH : 0;
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
		if (ret == 1)
			return;	/* a fill thread answers */
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
