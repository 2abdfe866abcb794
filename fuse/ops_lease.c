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
	if (mdfs.no_grant_sync)
		rq->userflush = md_dax_fd(f->fd) == 1;
	else if (fsync(f->fd))
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
 * Lease requests are granted off the request's thread, by a few threads
 * that live as long as the session. A grant fsyncs the file (and FIEMAP
 * writes it back; ALLOCATE writes its zeros), which can take seconds
 * behind a busy journal: over io_uring the handler's thread serves a whole
 * CPU's queue, and over /dev/fuse the workers are few, so every user's
 * requests would wait. The grant threads must outlive their answers: over
 * io_uring an answer hands the ring entry's next fetch to the answering
 * thread, and a thread that exits cancels it (the next request on that
 * entry then fails with ECANCELED: seen with a thread per fill).
 */
#define GRANT_THREADS 4

struct grant_job {
	struct grant_job *next;
	fuse_req_t req;
	struct mdfs_file *f;
	struct md_lease_req rq;
	char comm[16];
	struct mapdirect_lease arg;
	uid_t uid;
	int qid;
	uint64_t share[MDFS_SHARE_N];
};

static pthread_mutex_t grants_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t grants_cond = PTHREAD_COND_INITIALIZER;
/* under grants_lock: */
static struct grant_job *grants_head, **grants_tail = &grants_head;
static pthread_t grant_thread[GRANT_THREADS];
static unsigned int grant_threads, grants_idle, grants_running;
static bool grants_closed;	/* shutting down: no new request */
/* the session is over: the threads may end (not before: each owns the
 * next fetch of the ring entries it answered on) */
static bool grants_exit;

/* The writers' check, the exclusion, the grant; @return 0 or -errno */
static int grant_job_run(struct grant_job *j, struct md_dispose *d)
{
	struct mdfs_inode *inode = j->f->inode;
	pid_t writer;
	int ret;

	/* the writers' check and the exclusion under one lock: an open
	 * decides mediated or not under it too */
	mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
	writer = mdfs_foreign_writer(inode, j->rq.pid);
	if (!writer)
		writer = mdfs_waiting_breaker(inode, j->uid);
	ret = writer ? -EAGAIN : md_exclude_begin(mdfs.eng, &inode->lf);
	mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
	if (ret) {
		if (writer)
			md_dbg("lease refused to pid %d: open for writing by "
			       "pid %d\n", j->rq.pid, writer);
		md_lease_refused(mdfs.eng);
		if (j->rq.tidfd > 0)
			close(j->rq.tidfd);
		return ret;
	}
	/* md_lease_take() keeps or closes rq.tidfd */
	ret = grant(j->req, j->f, &j->rq, &j->arg, d);
	md_exclude_end(mdfs.eng, &inode->lf, d);
	return ret;
}

static void grant_job_done(struct grant_job *j)
{
	struct md_dispose d;
	int ret;

	md_dispose_init(&d);
	j->rq.comm = j->comm;
	ret = grant_job_run(j, &d);
	mdfs_dispose_run(&d);
	mdfs_share_give(j->uid, j->share, j->qid);
	if (ret)
		fuse_reply_err(j->req, -ret);
	else
		fuse_reply_ioctl(j->req, 0, &j->arg, sizeof(j->arg));
	free(j);
}

/*
 * The next job, round robin by uid: the oldest of the uid after the one
 * served last, so that one user's queued grants (fsyncs, fills) delay
 * another's by one of theirs at a time. Must hold grants_lock.
 */
static struct grant_job *grants_next(void)
{
	static uid_t last;
	struct grant_job **pp, **best = NULL, *j;
	uid_t d, bestd = 0;

	for (pp = &grants_head; *pp; pp = &(*pp)->next) {
		d = (*pp)->uid - last - 1;	/* cyclic distance after last */
		if (!best || d < bestd) {
			best = pp;
			bestd = d;
		}
	}
	j = *best;
	*best = j->next;
	if (grants_tail == &j->next)
		grants_tail = best;
	last = j->uid;
	return j;
}

static void *grant_main(void *arg)
{
	struct grant_job *j;

	mdfs_lock(&grants_lock, MDFS_LOCK_LEAF);
	for (;;) {
		while (!grants_head && !grants_exit) {
			grants_idle++;
			pthread_cond_wait(&grants_cond, &grants_lock);
			grants_idle--;
		}
		if (!grants_head)
			break;
		j = grants_next();
		grants_running++;
		mdfs_unlock(&grants_lock, MDFS_LOCK_LEAF);
		grant_job_done(j);
		mdfs_lock(&grants_lock, MDFS_LOCK_LEAF);
		grants_running--;
		pthread_cond_broadcast(&grants_cond);
	}
	mdfs_unlock(&grants_lock, MDFS_LOCK_LEAF);
	return NULL;
}

/*
 * Hand the request to a grant thread. Until answered it holds its request
 * (over io_uring a ring entry of its CPU's queue): charged to the caller's
 * share like a parked breaker (within that, a uid may have 16 grants
 * waiting, and one ALLOCATE fill). Past it: EAGAIN. @return 1 (the grant
 * thread answers), or -errno.
 */
static int start_grant(fuse_req_t req, struct mdfs_file *f,
		       const struct md_lease_req *rq,
		       const struct mapdirect_lease *arg)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	struct grant_job *j;
	int ret = 1;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->share[MDFS_SHARE_PARKED] = 1;
	j->share[MDFS_SHARE_GRANTS] = 1;
	j->share[MDFS_SHARE_FILLS] = arg->flags & MAPDIRECT_LEASE_ALLOCATE;
	j->qid = fuse_req_is_uring(req) ? mdfs_thread_queue() : -1;
	if (!mdfs_share_take(uid, j->share, j->qid)) {
		free(j);
		return -EAGAIN;
	}
	j->req = req;
	j->f = f;
	j->rq = *rq;
	memcpy(j->comm, rq->comm, sizeof(j->comm));
	j->arg = *arg;
	j->uid = uid;
	mdfs_lock(&grants_lock, MDFS_LOCK_LEAF);
	if (!grants_closed && !grants_idle && grant_threads < GRANT_THREADS &&
	    !pthread_create(&grant_thread[grant_threads], NULL, grant_main,
			    NULL))
		grant_threads++;
	if (grants_closed || !grant_threads) {
		ret = -EAGAIN;
	} else {
		*grants_tail = j;
		grants_tail = &j->next;
		pthread_cond_signal(&grants_cond);
	}
	mdfs_unlock(&grants_lock, MDFS_LOCK_LEAF);
	if (ret < 0) {
		mdfs_share_give(uid, j->share, j->qid);
		free(j);
	}
	return ret;
}

void mdfs_grants_wait(void)
{
	mdfs_lock(&grants_lock, MDFS_LOCK_LEAF);
	grants_closed = true;
	pthread_cond_broadcast(&grants_cond);
	while (grants_head || grants_running)
		pthread_cond_wait(&grants_cond, &grants_lock);
	mdfs_unlock(&grants_lock, MDFS_LOCK_LEAF);
}

void mdfs_grants_stop(void)
{
	unsigned int n;

	mdfs_grants_wait();
	mdfs_lock(&grants_lock, MDFS_LOCK_LEAF);
	grants_exit = true;
	pthread_cond_broadcast(&grants_cond);
	n = grant_threads;
	grant_threads = 0;
	mdfs_unlock(&grants_lock, MDFS_LOCK_LEAF);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(grant_thread[i], NULL);
}

/*
 * MAPDIRECT_IOC_LEASE. @return 0 (answer @arg), -errno, or 1 when a grant
 * thread took the request over and answers it.
 */
static int do_lease(fuse_req_t req, struct mdfs_file *f,
		    struct mapdirect_lease *arg)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct md_lease_req rq = { 0 };
	struct timespec now;
	uint32_t id, flags;
	char comm[16];
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
	ret = start_grant(req, f, &rq, arg);
	if (ret == 1)
		return 1;	/* the grant thread owns rq.tidfd now */

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
			return;	/* a grant thread answers */
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
