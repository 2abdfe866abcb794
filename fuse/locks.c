// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The daemon's lock order, checked (mdfs.h lists the locks). Each thread
 * keeps a mask of the ranks it holds: a lock may only be taken above
 * every rank held, and nothing may be held while a request is answered.
 * A violation aborts with a message, so that the test suite finds it.
 */
#include <stdlib.h>

#include "log.h"
#include "mdfs.h"

static __thread unsigned int held;

static const char *const rank_name[] = {
	[MDFS_LOCK_TABLE] = "table_lock",
	[MDFS_LOCK_INODE] = "an inode's lock",
	[MDFS_LOCK_URING] = "uring_lock",
	[MDFS_LOCK_LEAF] = "a leaf lock",
};

void mdfs_lock(pthread_mutex_t *m, enum mdfs_lock_rank r)
{
	if (held >> r) {
		md_err("lock order: taking %s while holding %s\n",
		       rank_name[r], rank_name[31 - __builtin_clz(held)]);
		abort();
	}
	pthread_mutex_lock(m);
	held |= 1U << r;
}

void mdfs_unlock(pthread_mutex_t *m, enum mdfs_lock_rank r)
{
	held &= ~(1U << r);
	pthread_mutex_unlock(m);
}

void mdfs_assert_unlocked(const char *what)
{
	if (!held)
		return;
	md_err("%s while holding %s\n", what,
	       rank_name[31 - __builtin_clz(held)]);
	abort();
}
