// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Parking of breaking requests (SPEC 4.3.2): a request that meets a lease
 * is kept, not a thread blocked; it is answered when the engine lets it
 * run, or with EINTR when its caller is interrupted.
 *
 * Over /dev/fuse the kernel's FUSE_INTERRUPT reaches the callback given to
 * fuse_req_interrupt_func(). libfuse 3.18 does not match interrupts to
 * io_uring requests (fuse_free_req: "no support for interrupts with
 * io-uring") and leaks them, so an io_uring mount turns interrupts off and
 * the engine thread looks every 10 ms whether the caller of a parked
 * request has an unblocked signal pending, which is what makes the kernel
 * send FUSE_INTERRUPT in the first place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mdfs.h"
#include "proc.h"

static pthread_mutex_t uring_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mdfs_parked *uring_parked;	/* under uring_lock */
unsigned int mdfs_uring_parked;		/* atomic: the engine polls while > 0 */

struct mdfs_parked *mdfs_parked_new(fuse_req_t req, enum mdfs_op op,
				    struct md_owner *owner, size_t extra)
{
	struct mdfs_parked *pk = calloc(1, sizeof(*pk));

	if (!pk) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	pk->req = req;
	pk->op = op;
	pk->p.owner = owner;
	pk->tid = fuse_req_ctx(req)->pid;
	pk->uid = fuse_req_ctx(req)->uid;
	pk->qid = fuse_req_is_uring(req) ? mdfs_thread_queue() : -1;
	pk->size = extra;
	/* on an io_uring mount interrupts are off for every request */
	pk->uring = mdfs.io_uring || fuse_req_is_uring(req);
	return pk;
}

void mdfs_parked_free(struct mdfs_parked *pk)
{
	if (pk->share[MDFS_SHARE_PARKED])
		mdfs_share_give(pk->uid, pk->share, pk->qid);
	free(pk->data);
	free(pk);
}

/*
 * A write that may wait keeps its payload: libfuse's buffer is gone once
 * the handler returns. Not before its share is taken, so that a write
 * refused at once costs no copy (issue 13: 1 MiB writes re-sent by many
 * threads). @return 0 or -errno
 */
static int keep_payload(struct mdfs_parked *pk)
{
	struct fuse_bufvec mem = FUSE_BUFVEC_INIT(pk->size);

	pk->data = malloc(pk->size ? pk->size : 1);
	if (!pk->data)
		return -ENOMEM;
	mem.buf[0].mem = pk->data;
	if (fuse_buf_copy(&mem, pk->in, 0) != (ssize_t)pk->size)
		return -EIO;
	pk->in = NULL;
	return 0;
}

/*
 * A place to wait, from the caller's share (share.c): false when its uid,
 * the daemon or (over io_uring) its CPU's queue has no room for one more.
 */
static bool charge(struct mdfs_parked *pk)
{
	uint64_t want[MDFS_SHARE_N] = {
		[MDFS_SHARE_PARKED] = 1,
		[MDFS_SHARE_BYTES] = pk->size,
	};

	if (!mdfs_share_take(pk->uid, want, pk->qid))
		return false;
	memcpy(pk->share, want, sizeof(want));
	return true;
}

static void uring_unlink(struct mdfs_parked *pk)
{
	if (pk->u_prev)
		pk->u_prev->u_next = pk->u_next;
	else
		uring_parked = pk->u_next;
	if (pk->u_next)
		pk->u_next->u_prev = pk->u_prev;
	pk->u_prev = pk->u_next = NULL;
	__atomic_sub_fetch(&mdfs_uring_parked, 1, __ATOMIC_RELAXED);
}

static void uring_link(struct mdfs_parked *pk)
{
	mdfs_lock(&uring_lock, MDFS_LOCK_URING);
	pk->u_next = uring_parked;
	if (uring_parked)
		uring_parked->u_prev = pk;
	uring_parked = pk;
	__atomic_add_fetch(&mdfs_uring_parked, 1, __ATOMIC_RELAXED);
	mdfs_unlock(&uring_lock, MDFS_LOCK_URING);
	/* the engine thread may sleep long: it polls every 10 ms from now */
	mdfs_lease_wake();
}

/* Exactly one of run, cancel-on-interrupt or refusal frees @pk. */
void mdfs_parked_run(struct mdfs_parked *pk)
{
	struct md_lfile *lf = pk->p.lf;
	struct fuse_bufvec mem;
	struct stat st;
	ssize_t n = -EIO;

	if (pk->uring) {
		mdfs_lock(&uring_lock, MDFS_LOCK_URING);
		uring_unlink(pk);
		mdfs_unlock(&uring_lock, MDFS_LOCK_URING);
	} else {
		/* waits for an interrupt callback that is running on @pk */
		fuse_req_interrupt_func(pk->req, NULL, NULL);
	}
	switch (pk->op) {
	case OP_WRITE:
		mem = (struct fuse_bufvec)FUSE_BUFVEC_INIT(pk->size);
		mem.buf[0].mem = pk->data;
		/* run from the handler: libfuse's buffer, never copied */
		n = mdfs_do_write(pk->req, pk->f, pk->in ? pk->in : &mem,
				  pk->off);
		break;
	case OP_FALLOCATE:
		n = mdfs_do_fallocate(pk->f, pk->mode, pk->off, pk->len);
		break;
	case OP_SETATTR:
		n = mdfs_do_setattr(pk->inode, &pk->attr, pk->valid, pk->f, &st);
		break;
	case OP_OPEN:
		n = mdfs_do_open(pk->req, pk->inode, &pk->fi);
		/* O_TRUNC broke the lease: the new open file did */
		if (n == 0)
			mdfs_file_broke(mdfs_file(&pk->fi), pk->tid, pk->uid);
		break;
	case OP_COPY:
		n = mdfs_do_copy(pk->f_in, pk->off_in, pk->f, pk->off,
				 (size_t)pk->len, pk->mode);
		break;
	}
	/* out of the gate before the reply: then the file may go away */
	md_gate_exit(lf);
	mdfs_stop_watch(pk->op != OP_OPEN ? pk->f :
			n == 0 ? mdfs_file(&pk->fi) : NULL);
	switch (pk->op) {
	case OP_WRITE:
	case OP_COPY:
		if (n < 0)
			fuse_reply_err(pk->req, (int)-n);
		else
			fuse_reply_write(pk->req, (size_t)n);
		break;
	case OP_FALLOCATE:
		fuse_reply_err(pk->req, (int)-n);
		break;
	case OP_SETATTR:
		mdfs_reply_attr(pk->req, (int)n, &st);
		break;
	case OP_OPEN:
		mdfs_reply_open(pk->req, (int)n, &pk->fi);
		break;
	}
	mdfs_parked_free(pk);
}

static void interrupted(fuse_req_t req, void *data)
{
	struct mdfs_parked *pk = data;

	/* false: it is running already and will answer itself */
	if (md_parked_cancel(mdfs.eng, &pk->p)) {
		fuse_reply_err(req, EINTR);
		mdfs_parked_free(pk);
	}
}

void mdfs_break(struct mdfs_parked *pk, struct mdfs_inode *inode,
		bool nonblock)
{
	fuse_req_t req = pk->req;
	struct md_dispose d;
	int ret;

	md_dispose_init(&d);
	/* no new lease while its file is open (README: anti-starvation);
	 * before md_break, after which @pk may be run and gone */
	if (pk->f)
		mdfs_file_broke(pk->f, pk->tid, pk->uid);
	if (__atomic_load_n(&mdfs.stopping, __ATOMIC_RELAXED)) {
		/* shutting down: breaks ended as timeouts, nobody waits */
		__atomic_add_fetch(&inode->lf.inflight, 1, __ATOMIC_SEQ_CST);
		pk->p.lf = &inode->lf;
		pk->uring = false;
		mdfs_parked_run(pk);
		return;
	}
	/* no place to wait: as if O_NONBLOCK, the break goes on (issue 13) */
	if (!nonblock && !charge(pk)) {
		nonblock = true;
		__atomic_add_fetch(&mdfs.over_share, 1, __ATOMIC_RELAXED);
		md_log_limited(LOG_WARNING, "uid %u: no room to wait for a "
			       "lease break (its share, the daemon's or its "
			       "CPU's io_uring queue is full): EAGAIN",
			       pk->uid);
	}
	/* nonblock: md_break runs it now or refuses it, never parks it */
	if (!nonblock && pk->in) {
		ret = keep_payload(pk);
		if (ret) {
			fuse_reply_err(req, -ret);
			mdfs_parked_free(pk);
			return;
		}
	}
	if (pk->uring)
		uring_link(pk);
	else
		fuse_req_interrupt_func(req, interrupted, pk);

	ret = md_break(mdfs.eng, &inode->lf, &pk->p, nonblock, &d);
	if (ret == 0) {
		mdfs_parked_run(pk);
	} else if (ret < 0) {
		if (pk->uring) {
			mdfs_lock(&uring_lock, MDFS_LOCK_URING);
			uring_unlink(pk);
			mdfs_unlock(&uring_lock, MDFS_LOCK_URING);
		} else {
			fuse_req_interrupt_func(req, NULL, NULL);
		}
		/* -EWOULDBLOCK (O_NONBLOCK) or -ETXTBSY (exclusive lease) */
		fuse_reply_err(req, -ret);
		mdfs_parked_free(pk);
	}
	/* ret == 1: parked; an interrupt that came before parking is seen
	 * by the callback (it runs at once if the request was interrupted) */
	mdfs_dispose_run(&d);
}

/*
 * Over io_uring: answer EINTR to each parked request whose caller has an
 * unblocked signal pending. Nothing is read from /proc and nothing is
 * answered under uring_lock: a reply over io_uring takes libfuse's queue
 * ring_lock, which a ring thread holds while its handler waits for
 * uring_lock in uring_link() (the ABBA deadlock of issue 13).
 */
void mdfs_uring_interrupts(void)
{
	struct mdfs_parked *pk, *next, *answer = NULL;
	size_t n = 0, k;
	pid_t *tid;
	bool *pending;

	mdfs_lock(&uring_lock, MDFS_LOCK_URING);
	n = __atomic_load_n(&mdfs_uring_parked, __ATOMIC_RELAXED);
	mdfs_unlock(&uring_lock, MDFS_LOCK_URING);
	if (!n)
		return;
	/* a thread blocked in a request has one: the tids are distinct */
	tid = calloc(n, sizeof(*tid));
	pending = calloc(n, sizeof(*pending));
	if (!tid || !pending)
		goto out;
	mdfs_lock(&uring_lock, MDFS_LOCK_URING);
	for (k = 0, pk = uring_parked; pk && k < n; pk = pk->u_next)
		tid[k++] = pk->tid;
	mdfs_unlock(&uring_lock, MDFS_LOCK_URING);
	n = k;
	for (k = 0; k < n; k++)
		pending[k] = md_proc_pending(tid[k]) == 1;

	mdfs_lock(&uring_lock, MDFS_LOCK_URING);
	for (pk = uring_parked; pk; pk = next) {
		next = pk->u_next;
		for (k = 0; k < n && tid[k] != pk->tid; k++)
			;
		if (k == n || !pending[k])
			continue;
		/* false: on its way to run, whoever runs it answers it */
		if (!md_parked_cancel(mdfs.eng, &pk->p))
			continue;
		uring_unlink(pk);
		pk->u_next = answer;
		answer = pk;
	}
	mdfs_unlock(&uring_lock, MDFS_LOCK_URING);
	for (pk = answer; pk; pk = next) {
		next = pk->u_next;
		fuse_reply_err(pk->req, EINTR);
		mdfs_parked_free(pk);
	}
out:
	free(tid);
	free(pending);
}
