// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Shares of the daemon's resources, per caller uid and in total (issue 13:
 * hostile neighbours). What a request holds while it waits is charged to
 * its caller's uid: parked breakers (each keeps a request, over io_uring
 * a ring entry of its CPU's queue), the write payloads they keep, lease
 * requests filling holes (ALLOCATE). A request past its uid's share, or
 * past the total, is refused at once instead of waiting (the caller says
 * with what), so that one user can neither run the daemon out of memory
 * nor take the ring entries every other user's requests need.
 *
 * Root's requests are held to the totals only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <uthash.h>

#include "log.h"
#include "mdfs.h"

struct share {
	uid_t uid;
	uint64_t held[MDFS_SHARE_N];
	unsigned int *queue;	/* parked per io_uring queue */
	UT_hash_handle hh;
};

static pthread_mutex_t share_lock = PTHREAD_MUTEX_INITIALIZER;
static struct share *shares;		/* by uid, under share_lock */
static uint64_t total[MDFS_SHARE_N];	/* under share_lock */
static unsigned int *queue_parked;	/* per io_uring queue, likewise */
static unsigned int nqueues;

/* files: set from RLIMIT_NOFILE at init */
static uint64_t per_uid[MDFS_SHARE_N] = {
	[MDFS_SHARE_PARKED] = MDFS_PARKED_PER_UID,
	[MDFS_SHARE_BYTES] = MDFS_PARKED_BYTES_PER_UID,
	[MDFS_SHARE_FILLS] = MDFS_FILLS_PER_UID,
	[MDFS_SHARE_GRANTS] = MDFS_GRANTS_PER_UID,
};

static uint64_t all[MDFS_SHARE_N] = {
	[MDFS_SHARE_PARKED] = MDFS_PARKED_MAX,
	[MDFS_SHARE_BYTES] = MDFS_PARKED_BYTES_MAX,
	[MDFS_SHARE_FILLS] = MDFS_FILLS_MAX,
	[MDFS_SHARE_GRANTS] = MDFS_GRANTS_MAX,
};

int mdfs_share_init(void)
{
	struct rlimit rl = { 0 };

	/* one user cannot take the fds every lookup and open needs */
	getrlimit(RLIMIT_NOFILE, &rl);
	all[MDFS_SHARE_FILES] = rl.rlim_cur / 4 * 3;
	per_uid[MDFS_SHARE_FILES] = rl.rlim_cur / 8 > 64 ? rl.rlim_cur / 8 : 64;
	nqueues = (unsigned int)get_nprocs_conf();
	queue_parked = calloc(nqueues, sizeof(*queue_parked));
	return queue_parked ? 0 : -ENOMEM;
}

static void share_free(struct share *s)
{
	HASH_DEL(shares, s);
	free(s->queue);
	free(s);
}

void mdfs_share_fini(void)
{
	struct share *s, *tmp;

	HASH_ITER(hh, shares, s, tmp)
		share_free(s);
	free(queue_parked);
	queue_parked = NULL;
}

unsigned int mdfs_queue_parked_max(void)
{
	/* the other half of a queue's entries stays free for requests that
	 * do not wait: a stat from that CPU never queues behind breakers */
	unsigned int max = mdfs.uring_depth / 2;

	return max ? max : 1;
}

/* one uid may take half of that: a second user can still park there */
static unsigned int queue_parked_per_uid(void)
{
	unsigned int max = mdfs_queue_parked_max() / 2;

	return max ? max : 1;
}

static int queue_of(const uint64_t n[MDFS_SHARE_N], int qid)
{
	return n[MDFS_SHARE_PARKED] && qid >= 0 && (unsigned int)qid < nqueues ?
		       qid : -1;
}

/* Must hold share_lock. */
static bool fits(const struct share *s, uid_t uid,
		 const uint64_t want[MDFS_SHARE_N], int q)
{
	for (int i = 0; i < MDFS_SHARE_N; i++) {
		if (total[i] + want[i] > all[i])
			return false;
		if (uid && (s ? s->held[i] : 0) + want[i] > per_uid[i])
			return false;
	}
	if (q < 0)
		return true;
	if (queue_parked[q] + 1 > mdfs_queue_parked_max())
		return false;
	return !uid || !s || s->queue[q] + 1 <= queue_parked_per_uid();
}

bool mdfs_share_take(uid_t uid, const uint64_t want[MDFS_SHARE_N], int qid)
{
	int q = queue_of(want, qid);
	struct share *s;
	bool ok;

	mdfs_lock(&share_lock, MDFS_LOCK_LEAF);
	HASH_FIND(hh, shares, &uid, sizeof(uid), s);
	ok = fits(s, uid, want, q);
	if (ok && !s) {
		s = calloc(1, sizeof(*s));
		if (s)
			s->queue = calloc(nqueues, sizeof(*s->queue));
		if (s && s->queue) {
			s->uid = uid;
			HASH_ADD(hh, shares, uid, sizeof(uid), s);
		} else {
			free(s);
			ok = false;
		}
	}
	if (ok) {
		for (int i = 0; i < MDFS_SHARE_N; i++) {
			s->held[i] += want[i];
			total[i] += want[i];
		}
		if (q >= 0) {
			s->queue[q]++;
			queue_parked[q]++;
		}
	}
	mdfs_unlock(&share_lock, MDFS_LOCK_LEAF);
	return ok;
}

void mdfs_share_give(uid_t uid, const uint64_t held[MDFS_SHARE_N], int qid)
{
	int q = queue_of(held, qid);
	struct share *s;
	bool empty = true;

	mdfs_lock(&share_lock, MDFS_LOCK_LEAF);
	HASH_FIND(hh, shares, &uid, sizeof(uid), s);
	if (!s) {
		md_err("a share of uid %u given back that it never took\n",
		       uid);
		abort();
	}
	for (int i = 0; i < MDFS_SHARE_N; i++) {
		s->held[i] -= held[i];
		total[i] -= held[i];
		empty = empty && !s->held[i];
	}
	if (q >= 0) {
		s->queue[q]--;
		queue_parked[q]--;
	}
	if (empty)
		share_free(s);
	mdfs_unlock(&share_lock, MDFS_LOCK_LEAF);
}

int mdfs_thread_queue(void)
{
	static __thread int qid = -2;
	char name[16];

	if (qid == -2) {
		if (pthread_getname_np(pthread_self(), name, sizeof(name)) ||
		    sscanf(name, "fuse-ring-%d", &qid) != 1)
			qid = -1;
	}
	return qid;
}

static const uint64_t one_file[MDFS_SHARE_N] = { [MDFS_SHARE_FILES] = 1 };

bool mdfs_share_file(uid_t uid)
{
	if (mdfs_share_take(uid, one_file, -1))
		return true;
	md_log_limited(LOG_WARNING, "uid %u: no more open files in its share "
		       "(or the daemon's): EMFILE", uid);
	return false;
}

void mdfs_unshare_file(uid_t uid)
{
	mdfs_share_give(uid, one_file, -1);
}
