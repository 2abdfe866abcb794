// SPDX-License-Identifier: GPL-2.0-or-later
/* The lease engine: see lease.h for the states and the contract. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>

#include "lease.h"
#include "log.h"
#include "mapdirect.h"

/* md_parked.state; 0: not seen by the engine yet */
enum { P_WAITING = 1, P_RUNNING, P_CANCELLED, P_CANCEL_PENDING };

struct md_holder;

struct md_lease {
	uint32_t id;
	uint32_t flags;
	pid_t pid, tid;
	int signo;
	bool breaking;
	uint64_t since_ms;
	uint64_t since_real_ms;
	uint64_t deadline_ms;	/* while breaking; never 0 then */
	bool userflush;		/* md_lease_req.userflush at grant */
	struct md_thread *thread;	/* that took it: its pidfd, or NULL */
	struct md_owner *owner;	/* NULL once the open file is closed */
	void *poll;		/* the owner's poll handle, to notify */
	struct md_lfile *lf;
	struct md_holder *holder;
	struct md_lease *f_prev, *f_next;	/* lf->leases */
	struct md_lease *h_prev, *h_next;	/* holder->leases */
	struct md_lease *t_prev, *t_next;	/* breaking, by deadline */
	bool census;				/* queued for md_engine_census */
	struct md_lease *c_prev, *c_next;	/* eng->c_head, utlist */
	UT_hash_handle hh;			/* by id */
	char comm[16];
};

/* A thread of a holder that took leases: one pidfd for all of them */
struct md_thread {
	pid_t tid;
	int fd;			/* pidfd of the thread */
	unsigned int refs;	/* leases it took that live */
	struct md_thread *next;
};

struct md_holder {
	pid_t pid;
	int watch;		/* handle from ops->watch, or -1 */
	struct md_thread *threads;	/* that took its leases */
	struct md_lease *leases;
	UT_hash_handle hh;	/* by pid */
};

struct md_engine {
	pthread_mutex_t lock;	/* protects everything below and all lfiles */
	const struct md_engine_ops *ops;
	void *ctx;
	uint32_t break_ms;
	enum md_revoke revoke;
	uint32_t next_id;
	/* by_id's insertion order (a lease is added to the tail, and to
	 * the head of its file's list) is no longer id order: ids wrapped
	 * while older leases live (md_lease_list_from) */
	bool unordered;
	uint64_t armed;		/* deadline last given to ops->arm, 0: none */
	struct md_lease *by_id;
	struct md_holder *holders;
	struct md_lease *t_head, *t_tail;	/* breaking leases, FIFO */
	struct md_lfile *dirty;	/* files whose parked ops need a look */
	struct md_lease *c_head;	/* waiting for a census (utlist) */
	struct md_stats st;
};

#ifdef NDEBUG
#define assert_held(eng) ((void)(eng))
#else
/* lockdep_assert_held, poor man's: trylock must fail while we hold it */
#define assert_held(eng)                                              \
	do {                                                          \
		if (pthread_mutex_trylock(&(eng)->lock) == 0) {       \
			md_err("%s: engine lock not held\n", __func__); \
			abort();                                      \
		}                                                     \
	} while (0)
#endif

/* ---- dispose list ---- */

void md_dispose_init(struct md_dispose *d)
{
	memset(d, 0, sizeof(*d));
	d->run_tail = &d->run;
}

void md_dispose_fini(struct md_dispose *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->ev[i].pidfd >= 0)
			close(d->ev[i].pidfd);
		if (d->ev[i].tidfd >= 0)
			close(d->ev[i].tidfd);
	}
	free(d->ev);
	md_dispose_init(d);
}

/* -1 for -1, else a close-on-exec duplicate (-1 without fds) */
static int dup_fd(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static struct md_event *push_event(struct md_dispose *d,
				   enum md_event_type type,
				   const struct md_lease *l)
{
	struct md_event *ev;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct md_event *grown = realloc(d->ev, cap * sizeof(*grown));

		if (!grown) {
			d->oom = true;
			return NULL;
		}
		d->ev = grown;
		d->cap = cap;
	}
	ev = &d->ev[d->n++];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->id = l->id;
	ev->pid = l->pid;
	ev->tid = l->tid;
	ev->dev = l->lf->dev;
	ev->ino = l->lf->ino;
	ev->pidfd = ev->tidfd = -1;
	memcpy(ev->comm, l->comm, sizeof(ev->comm));
	return ev;
}

/* @ev signals the holder of @l: by pidfds, which no other process has */
static void aim(struct md_event *ev, const struct md_lease *l)
{
	ev->pidfd = dup_fd(l->holder->watch);
	ev->tidfd = dup_fd(l->thread ? l->thread->fd : -1);
}

/* Hand a poll handle to the embedder to drop. */
static void put_poll(struct md_dispose *d, struct md_lease *l)
{
	struct md_event *ev;

	if (!l->poll)
		return;
	ev = push_event(d, MD_EV_POLL_PUT, l);
	if (ev)
		ev->poll = l->poll;
	l->poll = NULL;
}

/* ---- engine ---- */

struct md_engine *md_engine_new(const struct md_engine_ops *ops, void *ctx,
				uint32_t break_ms, enum md_revoke revoke)
{
	struct md_engine *eng = calloc(1, sizeof(*eng));

	if (!eng)
		return NULL;
	pthread_mutex_init(&eng->lock, NULL);
	eng->ops = ops;
	eng->ctx = ctx;
	eng->break_ms = break_ms;
	eng->revoke = revoke;
	eng->next_id = 1;
	return eng;
}

void md_lfile_init(struct md_lfile *lf, uint64_t dev, uint64_t ino)
{
	memset(lf, 0, sizeof(*lf));
	lf->parked_tail = &lf->parked;
	lf->dev = dev;
	lf->ino = ino;
}

static uint64_t now_ms(struct md_engine *eng)
{
	return eng->ops->now_ms(eng->ctx);
}

static void rearm(struct md_engine *eng)
{
	uint64_t want = eng->t_head ? eng->t_head->deadline_ms : 0;

	assert_held(eng);
	if (want == eng->armed)
		return;
	eng->armed = want;
	if (eng->ops->arm)
		eng->ops->arm(eng->ctx, want);
}

/* leases of @lf, without the exclusions counted in nleases for the gate */
static uint32_t leases_of(const struct md_lfile *lf)
{
	return lf->nleases - lf->nexcluding;
}

static enum md_state file_state(const struct md_lfile *lf)
{
	if (!leases_of(lf))
		return MD_STATE_NONE;
	return lf->nbreaking ? MD_STATE_BREAKING : MD_STATE_HELD;
}

static struct md_lease *own_lease(const struct md_lfile *lf,
				  const struct md_owner *owner)
{
	if (owner && owner->lease && owner->lease->lf == lf)
		return owner->lease;
	return NULL;
}

static void mark_dirty(struct md_engine *eng, struct md_lfile *lf)
{
	if (lf->dirty || !lf->parked)
		return;
	lf->dirty = true;
	lf->dirty_next = eng->dirty;
	eng->dirty = lf;
}

/* Lease of @h taken by thread @tid through pidfd @fd (> 0, which is ours
 * now): @return its shared record, or NULL (no pidfd, no memory) */
static struct md_thread *thread_get(struct md_holder *h, pid_t tid, int fd)
{
	struct md_thread *t;

	for (t = h->threads; t; t = t->next)
		if (t->tid == tid)
			break;
	if (t) {
		/* the same thread as before: its pidfd is ours already */
		if (fd > 0)
			close(fd);
	} else if (fd > 0) {
		t = calloc(1, sizeof(*t));
		if (!t) {
			close(fd);
			return NULL;
		}
		t->tid = tid;
		t->fd = fd;
		t->next = h->threads;
		h->threads = t;
	}
	if (t)
		t->refs++;
	return t;
}

static void thread_put(struct md_holder *h, struct md_thread *t)
{
	struct md_thread **pp;

	if (!t || --t->refs)
		return;
	for (pp = &h->threads; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	close(t->fd);
	free(t);
}

/*
 * @l's open file is gone: does its holder still map the file? Asked of
 * md_engine_census(), which reads /proc without the engine lock.
 */
static void census_queue(struct md_engine *eng, struct md_lease *l,
			 struct md_dispose *d)
{
	if (l->census)
		return;
	l->census = true;
	l->lf->ncensus++;
	DL_APPEND2(eng->c_head, l, c_prev, c_next);
	d->census = true;
}

static void census_dequeue(struct md_engine *eng, struct md_lease *l)
{
	if (!l->census)
		return;
	DL_DELETE2(eng->c_head, l, c_prev, c_next);
	l->census = false;
	l->lf->ncensus--;
}

/* End lease @l; @counter is the stats counter of the reason. */
static void remove_lease(struct md_engine *eng, struct md_lease *l,
			 uint64_t *counter, struct md_dispose *d)
{
	struct md_lfile *lf = l->lf;
	struct md_holder *h = l->holder;

	assert_held(eng);
	if (l->f_prev)
		l->f_prev->f_next = l->f_next;
	else
		lf->leases = l->f_next;
	if (l->f_next)
		l->f_next->f_prev = l->f_prev;

	if (l->h_prev)
		l->h_prev->h_next = l->h_next;
	else
		h->leases = l->h_next;
	if (l->h_next)
		l->h_next->h_prev = l->h_prev;

	if (l->breaking) {
		if (l->t_prev)
			l->t_prev->t_next = l->t_next;
		else
			eng->t_head = l->t_next;
		if (l->t_next)
			l->t_next->t_prev = l->t_prev;
		else
			eng->t_tail = l->t_prev;
		if (--lf->nbreaking == 0) {
			eng->st.breaks_resolved++;
			eng->st.breaks_now--;
		}
	}
	if (l->flags & MAPDIRECT_LEASE_EXCLUSIVE)
		lf->nexclusive--;
	census_dequeue(eng, l);
	HASH_DEL(eng->by_id, l);
	if (l->owner)
		l->owner->lease = NULL;
	put_poll(d, l);
	thread_put(h, l->thread);
	__atomic_sub_fetch(&lf->nleases, 1, __ATOMIC_SEQ_CST);
	eng->st.active--;
	(*counter)++;
	/* its holder may write on, unseen (an open file from before any
	 * lease): the embedder decides whether the others must break */
	if (leases_of(lf) && counter != &eng->st.exited)
		push_event(d, MD_EV_ENDED, l);
	free(l);

	if (!h->leases) {
		if (h->watch >= 0 && eng->ops->unwatch)
			eng->ops->unwatch(eng->ctx, h->watch);
		HASH_DEL(eng->holders, h);
		free(h);
	}
	/* parked operations are looked at in settle(), not from here:
	 * callers may be walking lease lists */
	mark_dirty(eng, lf);
}

/* Start the break of one lease: notify its holder, start its clock. */
static void begin_break(struct md_engine *eng, struct md_lease *l,
			uint64_t now, struct md_dispose *d)
{
	struct md_lfile *lf = l->lf;
	struct md_event *ev;

	l->breaking = true;
	l->deadline_ms = now + eng->break_ms;
	if (!l->deadline_ms)
		l->deadline_ms = 1;	/* 0 means "not breaking" */
	l->t_next = NULL;
	l->t_prev = eng->t_tail;
	if (eng->t_tail)
		eng->t_tail->t_next = l;
	else
		eng->t_head = l;
	eng->t_tail = l;
	if (lf->nbreaking++ == 0) {
		eng->st.breaks_started++;
		eng->st.breaks_now++;
	}
	ev = push_event(d, MD_EV_BREAK, l);
	if (ev) {
		if (l->signo)
			aim(ev, l);
		ev->signo = l->signo;
		ev->poll = l->poll;
		l->poll = NULL;
	}
}

/*
 * A break reaches @l. A holder without its open file may not map the file
 * any more (SPEC 4.2 (2): then there is nothing to unmap and nobody to
 * tell): its break begins once the census found it mapping.
 */
static void start_break(struct md_engine *eng, struct md_lease *l,
			uint64_t now, struct md_dispose *d)
{
	if (!l->owner && eng->ops->maps)
		census_queue(eng, l, d);
	else
		begin_break(eng, l, now, d);
}

/*
 * Make every lease of @lf but @own breaking. Iterates only when one is not
 * breaking yet: joining a break in progress costs O(1).
 */
static void break_others(struct md_engine *eng, struct md_lfile *lf,
			 struct md_lease *own, struct md_dispose *d)
{
	uint32_t others = leases_of(lf) - (own ? 1 : 0);
	/* waiting for a census counts: its break begins after */
	uint32_t others_breaking = lf->nbreaking + lf->ncensus -
				   (own && own->breaking);
	struct md_lease *l, *next;
	uint64_t now;

	if (others_breaking >= others)
		return;
	now = now_ms(eng);
	for (l = lf->leases; l; l = next) {
		next = l->f_next;
		if (l != own && !l->breaking && !l->census)
			start_break(eng, l, now, d);
	}
}

/* Let parked operations whose leases are gone run, in arrival order. */
static void release_parked(struct md_engine *eng, struct md_lfile *lf,
			   struct md_dispose *d)
{
	struct md_parked *p;

	while ((p = lf->parked)) {
		struct md_lease *own = own_lease(lf, p->owner);

		if (lf->nleases > (own ? 1u : 0u)) {
			/* an op after its own holder's: break the rest */
			break_others(eng, lf, own, d);
			return;
		}
		lf->parked = p->next;
		if (!lf->parked)
			lf->parked_tail = &lf->parked;
		p->next = NULL;
		p->state = P_RUNNING;
		__atomic_add_fetch(&lf->inflight, 1, __ATOMIC_SEQ_CST);
		eng->st.parked_now--;
		eng->st.parked_run++;
		*d->run_tail = p;
		d->run_tail = &p->next;
	}
}

/*
 * Bring everything up to date at @now: revoke what is due, release parked
 * operations of files whose leases ended, and re-arm the timer. A step may
 * start new breaks (census, lease_break_time=0), hence the loop.
 */
static void settle(struct md_engine *eng, uint64_t now, struct md_dispose *d)
{
	static const int sig[] = {
		[MD_REVOKE_SIGNAL] = SIGBUS,
		[MD_REVOKE_KILL] = SIGKILL,
		[MD_REVOKE_NONE] = 0,
	};
	struct md_lease *l;
	struct md_lfile *lf;

	assert_held(eng);
	for (;;) {
		if ((l = eng->t_head) && l->deadline_ms <= now) {
			struct md_event *ev = push_event(d, MD_EV_REVOKE, l);

			if (ev) {
				ev->signo = sig[eng->revoke];
				if (ev->signo)
					aim(ev, l);
			}
			remove_lease(eng, l, &eng->st.revoked, d);
			continue;
		}
		if ((lf = eng->dirty)) {
			eng->dirty = lf->dirty_next;
			lf->dirty = false;
			release_parked(eng, lf, d);
			continue;
		}
		break;
	}
	rearm(eng);
}

void md_engine_expire(struct md_engine *eng, struct md_dispose *d)
{
	pthread_mutex_lock(&eng->lock);
	settle(eng, now_ms(eng), d);
	pthread_mutex_unlock(&eng->lock);
}

void md_engine_shutdown(struct md_engine *eng, struct md_dispose *d)
{
	pthread_mutex_lock(&eng->lock);
	/* no census any more: a holder without its open file is let go, as
	 * the breaks' deadlines let the others go */
	while (eng->c_head)
		remove_lease(eng, eng->c_head, &eng->st.released, d);
	settle(eng, UINT64_MAX, d);
	pthread_mutex_unlock(&eng->lock);
}

/* ---- breakers ---- */

bool md_gate_enter(struct md_lfile *lf)
{
	/* pairs with md_lease_take: count first, then look */
	__atomic_add_fetch(&lf->inflight, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&lf->nleases, __ATOMIC_SEQ_CST))
		return true;
	__atomic_sub_fetch(&lf->inflight, 1, __ATOMIC_SEQ_CST);
	return false;
}

void md_gate_exit(struct md_lfile *lf)
{
	__atomic_sub_fetch(&lf->inflight, 1, __ATOMIC_SEQ_CST);
}

int md_break(struct md_engine *eng, struct md_lfile *lf, struct md_parked *p,
	     bool nonblock, struct md_dispose *d)
{
	struct md_lease *own;
	int ret;

	pthread_mutex_lock(&eng->lock);
	p->lf = lf;
	own = own_lease(lf, p->owner);
	if (lf->nexclusive && !own) {
		eng->st.txtbsy++;
		ret = -ETXTBSY;
		goto unlock;
	}
	break_others(eng, lf, own, d);
	if (lf->nleases == (own ? 1u : 0u) && !lf->parked) {
		/* nothing (left) to wait for */
		p->state = P_RUNNING;
		__atomic_add_fetch(&lf->inflight, 1, __ATOMIC_SEQ_CST);
		ret = 0;
	} else if (nonblock) {
		eng->st.nonblock++;
		ret = -EWOULDBLOCK;
	} else if (p->state == P_CANCEL_PENDING) {
		/* interrupted before it could park: the break goes on */
		eng->st.interrupted++;
		ret = -EINTR;
	} else {
		p->next = NULL;
		p->state = P_WAITING;
		*lf->parked_tail = p;
		lf->parked_tail = &p->next;
		eng->st.parked_total++;
		eng->st.parked_now++;
		ret = 1;
	}
	/* lease_break_time=0 revokes now; a late timer is caught up too */
unlock:
	settle(eng, now_ms(eng), d);
	pthread_mutex_unlock(&eng->lock);
	return ret;
}

bool md_parked_cancel(struct md_engine *eng, struct md_parked *p)
{
	struct md_parked **pp;
	bool found = false;

	pthread_mutex_lock(&eng->lock);
	if (p->state == P_WAITING && p->lf) {
		for (pp = &p->lf->parked; *pp; pp = &(*pp)->next) {
			if (*pp != p)
				continue;
			*pp = p->next;
			if (!*pp)
				p->lf->parked_tail = pp;
			found = true;
			break;
		}
	}
	if (found) {
		p->state = P_CANCELLED;
		eng->st.parked_now--;
		eng->st.interrupted++;
	} else if (p->state == 0) {
		/* md_break has not seen it yet: it will refuse to park it */
		p->state = P_CANCEL_PENDING;
	}
	pthread_mutex_unlock(&eng->lock);
	return found;
}

/* ---- lease requests ---- */

static uint32_t alloc_id(struct md_engine *eng)
{
	struct md_lease *dup;
	uint32_t id;

	/* ids travel in sival_int: keep them positive and unique */
	do {
		id = eng->next_id++;
		if (eng->next_id > INT32_MAX)
			eng->next_id = 1;
		HASH_FIND(hh, eng->by_id, &id, sizeof(id), dup);
	} while (dup);
	/* it goes to the tail of by_id: below the tail's id after a wrap */
	if (eng->by_id) {
		struct md_lease *tail = ELMT_FROM_HH(eng->by_id->hh.tbl,
						     eng->by_id->hh.tbl->tail);

		if (tail->id > id)
			eng->unordered = true;
	}
	return id;
}

/*
 * The holder @pid, watched. A holder the embedder cannot watch is none: its
 * exit would go unnoticed and a revocation signal could reach whoever has
 * its pid by then. @return it, or NULL and *@err.
 */
static struct md_holder *get_holder(struct md_engine *eng, pid_t pid,
				    int *err)
{
	struct md_holder *h;

	HASH_FIND(hh, eng->holders, &pid, sizeof(pid), h);
	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h) {
		*err = -ENOMEM;
		return NULL;
	}
	h->pid = pid;
	h->watch = eng->ops->watch ? eng->ops->watch(eng->ctx, pid) : -1;
	if (eng->ops->watch && h->watch < 0) {
		free(h);
		*err = -EMFILE;
		return NULL;
	}
	HASH_ADD(hh, eng->holders, pid, sizeof(pid), h);
	return h;
}

void md_lease_refused(struct md_engine *eng)
{
	pthread_mutex_lock(&eng->lock);
	eng->st.refused++;
	pthread_mutex_unlock(&eng->lock);
}

int md_lease_take(struct md_engine *eng, struct md_lfile *lf,
		  const struct md_lease_req *rq, struct md_dispose *d,
		  uint32_t *id)
{
	int tidfd = rq->tidfd > 0 ? rq->tidfd : -1;
	struct md_holder *h;
	struct md_lease *l;
	int ret = 0;

	if ((rq->flags & ~MAPDIRECT_LEASE_FLAGS) || !rq->owner ||
	    rq->signo < 0 || rq->signo > SIGRTMAX) {
		md_lease_refused(eng);
		if (tidfd >= 0)
			close(tidfd);
		return -EINVAL;
	}

	pthread_mutex_lock(&eng->lock);
	l = rq->owner->lease;
	if (l) {
		/* SPEC 4.1: the same open file gets the same id */
		if (l->lf != lf) {
			ret = -EINVAL;
			goto refused;
		}
		*id = l->id;
		goto unlock;
	}
	if (lf->nbreaking || lf->parked || lf->nexclusive ||
	    ((rq->flags & MAPDIRECT_LEASE_EXCLUSIVE) && leases_of(lf))) {
		ret = -EAGAIN;
		goto refused;
	}
	/* pairs with md_gate_enter: publish first, then look (an exclusion
	 * keeps breakers out already; some may just be backing off) */
	__atomic_add_fetch(&lf->nleases, 1, __ATOMIC_SEQ_CST);
	if (!lf->nexcluding && __atomic_load_n(&lf->inflight, __ATOMIC_SEQ_CST)) {
		ret = -EAGAIN;
		goto unpublish;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		ret = -ENOMEM;
		goto unpublish;
	}
	h = get_holder(eng, rq->pid, &ret);
	if (!h) {
		free(l);
		goto unpublish;
	}
	l->id = alloc_id(eng);
	l->flags = rq->flags;
	l->pid = rq->pid;
	l->tid = rq->tid;
	l->signo = rq->signo;
	l->since_ms = now_ms(eng);
	l->since_real_ms = rq->since_real_ms;
	l->userflush = rq->userflush;
	l->thread = thread_get(h, rq->tid, tidfd);
	tidfd = -1;	/* the holder's now */
	l->owner = rq->owner;
	l->lf = lf;
	l->holder = h;
	if (rq->comm)
		strncpy(l->comm, rq->comm, sizeof(l->comm) - 1);
	/* one lease, one line of "key=value" words: no blanks in a value */
	for (char *c = l->comm; *c; c++)
		if (*c == ' ' || *c == '\n' || *c == '\t' || *c == '=')
			*c = '_';
	l->f_next = lf->leases;
	if (lf->leases)
		lf->leases->f_prev = l;
	lf->leases = l;
	l->h_next = h->leases;
	if (h->leases)
		h->leases->h_prev = l;
	h->leases = l;
	HASH_ADD(hh, eng->by_id, id, sizeof(l->id), l);
	if (rq->flags & MAPDIRECT_LEASE_EXCLUSIVE)
		lf->nexclusive++;
	rq->owner->lease = l;
	eng->st.granted++;
	eng->st.active++;
	*id = l->id;
	goto unlock;

unpublish:
	__atomic_sub_fetch(&lf->nleases, 1, __ATOMIC_SEQ_CST);
refused:
	eng->st.refused++;
unlock:
	pthread_mutex_unlock(&eng->lock);
	if (tidfd >= 0)
		close(tidfd);
	return ret;
}

int md_lease_again(struct md_engine *eng, struct md_lfile *lf,
		   const struct md_owner *owner, uint32_t *id,
		   uint32_t *flags)
{
	struct md_lease *l;

	pthread_mutex_lock(&eng->lock);
	l = own_lease(lf, owner);
	if (l) {
		*id = l->id;
		if (flags)
			*flags = l->flags |
				 (l->userflush && !l->breaking ?
					  MD_LEASE_USERFLUSH : 0);
	}
	pthread_mutex_unlock(&eng->lock);
	return l ? 0 : -ENOENT;
}

int md_exclude_begin(struct md_engine *eng, struct md_lfile *lf)
{
	int ret = 0;

	pthread_mutex_lock(&eng->lock);
	if (lf->nbreaking || lf->parked || lf->nexclusive) {
		ret = -EAGAIN;
	} else {
		lf->nexcluding++;
		/* pairs with md_gate_enter: publish, then md_exclude_idle() */
		__atomic_add_fetch(&lf->nleases, 1, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&eng->lock);
	return ret;
}

bool md_exclude_idle(struct md_lfile *lf)
{
	return !__atomic_load_n(&lf->inflight, __ATOMIC_SEQ_CST);
}

void md_exclude_end(struct md_engine *eng, struct md_lfile *lf,
		    struct md_dispose *d)
{
	pthread_mutex_lock(&eng->lock);
	lf->nexcluding--;
	__atomic_sub_fetch(&lf->nleases, 1, __ATOMIC_SEQ_CST);
	/* what parked behind it runs now, or breaks the lease just taken */
	mark_dirty(eng, lf);
	settle(eng, now_ms(eng), d);
	pthread_mutex_unlock(&eng->lock);
}

int md_lease_unlease(struct md_engine *eng, struct md_lfile *lf,
		     struct md_owner *owner, uint32_t id, struct md_dispose *d)
{
	struct md_lease *l;
	int ret = 0;

	pthread_mutex_lock(&eng->lock);
	l = own_lease(lf, owner);
	if (!l)
		ret = -ENOENT;
	else if (id && id != l->id)
		ret = -EINVAL;
	else
		remove_lease(eng, l, &eng->st.unleased, d);
	settle(eng, now_ms(eng), d);
	pthread_mutex_unlock(&eng->lock);
	return ret;
}

void md_lease_file_closed(struct md_engine *eng, struct md_lfile *lf,
			  struct md_owner *owner, struct md_dispose *d)
{
	struct md_lease *l;

	pthread_mutex_lock(&eng->lock);
	l = own_lease(lf, owner);
	if (l) {
		l->owner = NULL;
		owner->lease = NULL;
		put_poll(d, l);	/* the handle belonged to the open file */
		census_queue(eng, l, d);
	}
	settle(eng, now_ms(eng), d);
	pthread_mutex_unlock(&eng->lock);
}

void *md_lease_poll(struct md_engine *eng, struct md_owner *owner,
		    void *poll, bool *breaking)
{
	struct md_lease *l;
	void *drop = poll;

	pthread_mutex_lock(&eng->lock);
	l = owner->lease;
	*breaking = l && l->breaking;
	if (l && !l->breaking && poll) {
		drop = l->poll;
		l->poll = poll;
	}
	pthread_mutex_unlock(&eng->lock);
	return drop;
}

#define CENSUS_BATCH 64

void md_engine_census(struct md_engine *eng, struct md_dispose *d)
{
	struct {
		uint32_t id;
		pid_t pid;
		int fd;
		uint64_t dev, ino;
		int mapped;
	} b[CENSUS_BATCH];
	struct md_lfile at;
	struct md_lease *l;
	pid_t last_pid = 0;
	uint64_t last_dev = 0, last_ino = 0;
	int last = 0;
	size_t n, i;

	for (;;) {
		pthread_mutex_lock(&eng->lock);
		for (n = 0, l = eng->c_head; l && n < CENSUS_BATCH;
		     l = l->c_next, n++) {
			b[n].id = l->id;
			b[n].pid = l->pid;
			b[n].fd = dup_fd(l->holder->watch);
			b[n].dev = l->lf->dev;
			b[n].ino = l->lf->ino;
		}
		pthread_mutex_unlock(&eng->lock);
		if (!n)
			return;
		/* without the lock; one read per holder and file in a row */
		for (i = 0; i < n; i++) {
			if (b[i].pid != last_pid || b[i].dev != last_dev ||
			    b[i].ino != last_ino) {
				md_lfile_init(&at, b[i].dev, b[i].ino);
				last = eng->ops->maps(eng->ctx, b[i].pid,
						      b[i].fd, &at);
				last_pid = b[i].pid;
				last_dev = b[i].dev;
				last_ino = b[i].ino;
			}
			b[i].mapped = last == 1;
			if (b[i].fd >= 0)
				close(b[i].fd);
		}
		pthread_mutex_lock(&eng->lock);
		for (i = 0; i < n; i++) {
			HASH_FIND(hh, eng->by_id, &b[i].id, sizeof(b[i].id), l);
			/* ended meanwhile, or its file came back: nothing */
			if (!l || !l->census)
				continue;
			census_dequeue(eng, l);
			eng->st.census++;
			if (!b[i].mapped)
				remove_lease(eng, l, &eng->st.released, d);
			else if (l->lf->parked || l->lf->nbreaking)
				begin_break(eng, l, now_ms(eng), d);
		}
		settle(eng, now_ms(eng), d);
		pthread_mutex_unlock(&eng->lock);
	}
}

void md_holder_exited(struct md_engine *eng, pid_t pid, struct md_dispose *d)
{
	struct md_holder *h;

	pthread_mutex_lock(&eng->lock);
	HASH_FIND(hh, eng->holders, &pid, sizeof(pid), h);
	/* the last lease frees the holder */
	while (h) {
		bool last = !h->leases->h_next;

		remove_lease(eng, h->leases, &eng->st.exited, d);
		if (last)
			break;
	}
	settle(eng, now_ms(eng), d);
	pthread_mutex_unlock(&eng->lock);
}

/* ---- inspection ---- */

enum md_state md_lease_state(struct md_engine *eng, struct md_lfile *lf,
			     pid_t pid, uint32_t *holders, uint32_t *id,
			     uint32_t *flags, uint64_t *ms_left)
{
	struct md_holder *h;
	struct md_lease *l;
	enum md_state state;
	uint64_t now;

	pthread_mutex_lock(&eng->lock);
	now = now_ms(eng);
	state = file_state(lf);
	*holders = leases_of(lf);
	*id = 0;
	*flags = 0;
	*ms_left = 0;
	HASH_FIND(hh, eng->holders, &pid, sizeof(pid), h);
	for (l = h ? h->leases : NULL; l; l = l->h_next) {
		if (l->lf != lf)
			continue;
		*id = l->id;
		*flags = l->flags;
		if (l->userflush && !l->breaking)
			*flags |= MD_LEASE_USERFLUSH;
		break;
	}
	/* the soonest deadline of the file: what the holders have left */
	for (l = eng->t_head; state == MD_STATE_BREAKING && l; l = l->t_next) {
		if (l->lf != lf)
			continue;
		*ms_left = l->deadline_ms > now ? l->deadline_ms - now : 0;
		break;
	}
	pthread_mutex_unlock(&eng->lock);
	return state;
}

static void view_of(struct md_engine *eng, const struct md_lease *l,
		    uint64_t now, struct md_lease_view *v)
{
	v->id = l->id;
	v->pid = l->pid;
	v->signo = l->signo;
	v->flags = l->flags;
	v->breaking = l->breaking;
	v->has_file = l->owner != NULL;
	v->since_ms = l->since_ms;
	v->since_real_ms = l->since_real_ms;
	v->ms_left = l->breaking && l->deadline_ms > now ?
			     l->deadline_ms - now : 0;
	memcpy(v->comm, l->comm, sizeof(v->comm));
}

size_t md_lease_list(struct md_engine *eng, struct md_lfile *lf,
		     void (*fn)(void *arg, struct md_lfile *lf,
				const struct md_lease_view *v),
		     void *arg)
{
	struct md_lease_view v;
	struct md_lease *l, *tmp;
	size_t n = 0;
	uint64_t now;

	pthread_mutex_lock(&eng->lock);
	now = now_ms(eng);
	if (lf) {
		for (l = lf->leases; l; l = l->f_next, n++) {
			view_of(eng, l, now, &v);
			fn(arg, lf, &v);
		}
	} else {
		HASH_ITER(hh, eng->by_id, l, tmp) {
			view_of(eng, l, now, &v);
			fn(arg, l->lf, &v);
			n++;
		}
	}
	pthread_mutex_unlock(&eng->lock);
	return n;
}

/*
 * Keep @pick (n of at most @max) sorted by id, holding the lowest ids
 * offered. Ids offered in ascending order cost one comparison each.
 */
static void pick_lowest(struct md_lease **pick, size_t *n, size_t max,
			struct md_lease *l)
{
	size_t i;

	if (*n == max) {
		if (l->id > pick[max - 1]->id)
			return;
		i = max - 1;	/* the highest drops out */
	} else {
		i = (*n)++;
	}
	for (; i > 0 && pick[i - 1]->id > l->id; i--)
		pick[i] = pick[i - 1];
	pick[i] = l;
}

/*
 * The batch after @after without a full pass, where the lists are in id
 * order (!eng->unordered) and the lease @after is still there: the next
 * ones by_id, the previous ones in its file's list. @return the number
 * picked, or -1: look at every lease.
 */
static long pick_next(struct md_engine *eng, struct md_lfile *lf,
		      uint32_t after, struct md_lease **pick, size_t max)
{
	struct md_lease *l;
	size_t n = 0;

	if (eng->unordered)
		return -1;
	HASH_FIND(hh, eng->by_id, &after, sizeof(after), l);
	if (!l || (lf && l->lf != lf))
		return -1;
	for (l = lf ? l->f_prev : l->hh.next; l && n < max;
	     l = lf ? l->f_prev : l->hh.next)
		pick[n++] = l;
	return (long)n;
}

int md_lease_list_from(struct md_engine *eng, struct md_lfile *lf,
		       uint32_t after, size_t max,
		       void (*fn)(void *arg, struct md_lfile *lf,
				  const struct md_lease_view *v),
		       void *arg)
{
	struct md_lease **pick, *l, *tmp;
	struct md_lease_view v;
	uint32_t prev = 0;
	bool ascending = true;
	size_t n = 0;
	uint64_t now;
	long fast;

	if (!max)
		return 0;
	pick = malloc(max * sizeof(*pick));
	if (!pick)
		return -ENOMEM;
	pthread_mutex_lock(&eng->lock);
	fast = pick_next(eng, lf, after, pick, max);
	if (fast >= 0) {
		n = (size_t)fast;
	} else if (lf) {
		for (l = lf->leases; l; l = l->f_next)
			if (l->id > after)
				pick_lowest(pick, &n, max, l);
	} else {
		HASH_ITER(hh, eng->by_id, l, tmp) {
			ascending = ascending && l->id > prev;
			prev = l->id;
			if (l->id > after)
				pick_lowest(pick, &n, max, l);
		}
		/* the leases from before ids wrapped are gone */
		if (ascending)
			eng->unordered = false;
	}
	now = now_ms(eng);
	for (size_t i = 0; i < n; i++) {
		view_of(eng, pick[i], now, &v);
		fn(arg, pick[i]->lf, &v);
	}
	pthread_mutex_unlock(&eng->lock);
	free(pick);
	return (int)n;
}

void md_engine_stats(struct md_engine *eng, struct md_stats *st)
{
	pthread_mutex_lock(&eng->lock);
	*st = eng->st;
	pthread_mutex_unlock(&eng->lock);
}

uint32_t md_engine_break_ms(struct md_engine *eng)
{
	return eng->break_ms;
}

void md_engine_free(struct md_engine *eng)
{
	struct md_lease *l, *ltmp;
	struct md_holder *h, *htmp;

	if (!eng)
		return;
	HASH_ITER(hh, eng->by_id, l, ltmp) {
		HASH_DEL(eng->by_id, l);
		__atomic_sub_fetch(&l->lf->nleases, 1, __ATOMIC_SEQ_CST);
		if (l->owner)
			l->owner->lease = NULL;
		thread_put(l->holder, l->thread);
		free(l);
	}
	HASH_ITER(hh, eng->holders, h, htmp) {
		if (h->watch >= 0 && eng->ops->unwatch)
			eng->ops->unwatch(eng->ctx, h->watch);
		HASH_DEL(eng->holders, h);
		free(h);
	}
	pthread_mutex_destroy(&eng->lock);
	free(eng);
}
