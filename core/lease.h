/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_LEASE_H
#define MD_LEASE_H

/*
 * The lease engine (SPEC 4): per-file lease sets, timed breaks, operations
 * parked behind a break. No libfuse: the embedder (fuse/) gives the clock,
 * the timer, pid watching and the mapping census through md_engine_ops,
 * and carries out what the engine decides (notify, signal, revoke, run a
 * parked operation) from an md_dispose list, after the engine lock is gone.
 *
 * File states and their transitions:
 *
 *   NONE --take--> HELD --breaker--> BREAKING
 *   BREAKING --every breaking lease ended--> HELD (leases left) or NONE
 *   HELD --last lease ended--> NONE
 *
 * A lease ends by unlease, by its holder losing both its open file and
 * every mapping of the file, by the holder's exit, or by revocation when
 * its break deadline passes. Every engine call takes the engine lock; the
 * md_lfile fields are under it, except the two atomics of the gate.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct md_engine;
struct md_lease;
struct md_lfile;

/* Embedded in the embedder's open file: which lease it took, if any. */
struct md_owner {
	struct md_lease *lease;
};

enum md_state { MD_STATE_NONE, MD_STATE_HELD, MD_STATE_BREAKING };

/* An operation parked behind a break, embedded in the embedder's request. */
struct md_parked {
	struct md_parked *next;
	struct md_lfile *lf;
	struct md_owner *owner;	/* open file it came through, or NULL */
	int state;		/* private to the engine */
};

/* Lease state of one file, embedded in the embedder's inode; zeroed = none. */
struct md_lfile {
	uint32_t nleases;	/* atomic: the gate reads it without the lock */
	uint32_t inflight;	/* atomic: breakers between gate enter and exit */
	uint32_t nbreaking;
	uint32_t nexclusive;
	uint32_t nexcluding;	/* md_exclude_begin()s, counted in nleases */
	uint32_t ncensus;	/* leases waiting for md_engine_census() */
	struct md_lease *leases;
	struct md_parked *parked, **parked_tail;
	uint64_t dev, ino;	/* backing identity, for the census and logs */
	struct md_lfile *dirty_next;	/* engine's list of files to settle */
	bool dirty;
};

/* What the embedder provides; all but now_ms may be NULL. */
struct md_engine_ops {
	/* monotonic clock, in ms */
	uint64_t (*now_ms)(void *ctx);
	/* make the engine's md_engine_expire() run at @deadline_ms (0: never);
	 * called under the engine lock: must not block */
	void (*arm)(void *ctx, uint64_t deadline_ms);
	/* watch @pid for exit (md_holder_exited); returns a pidfd, which
	 * events that signal the holder carry a duplicate of, or -1 */
	int (*watch)(void *ctx, pid_t pid);
	void (*unwatch)(void *ctx, int handle);
	/* does @pid (watched as @handle, from watch()) still map the file?
	 * 1, 0, or -errno (treated as gone) */
	int (*maps)(void *ctx, pid_t pid, int handle,
		    const struct md_lfile *lf);
};

/* One thing to do once the engine lock is dropped. */
enum md_event_type {
	MD_EV_BREAK,	/* a lease's break started: poll-notify, signal */
	MD_EV_REVOKE,	/* a lease was revoked: signal per revoke= */
	MD_EV_POLL_PUT,	/* a poll handle nobody will notify any more */
	MD_EV_ENDED,	/* a lease ended while the file keeps others */
};

struct md_event {
	enum md_event_type type;
	uint32_t id;
	pid_t pid, tid;
	int signo;		/* BREAK: requested signal; REVOKE: to send */
	void *poll;		/* poll handle to notify (BREAK) or drop */
	uint64_t dev, ino;	/* the file's backing identity */
	/* BREAK, REVOKE: duplicates of the holder's watch handle and of the
	 * lease's md_lease_req.tidfd, -1 if none: whom to signal, not a
	 * pid that may be someone else's by now. md_dispose_fini() closes
	 * them. */
	int pidfd, tidfd;
	char comm[16];
};

struct md_dispose {
	struct md_event *ev;
	size_t n, cap;
	struct md_parked *run, **run_tail;	/* to run, in arrival order */
	bool oom;		/* an event could not be recorded */
	bool census;		/* md_engine_census() has work: call it soon */
};

struct md_stats {
	uint64_t granted;		/* leases granted */
	uint64_t active;		/* leases now */
	uint64_t unleased;		/* ended by unlease */
	uint64_t released;		/* ended: no open file, no mapping */
	uint64_t exited;		/* ended: holder exited */
	uint64_t revoked;		/* ended: break deadline passed */
	uint64_t breaks_started;	/* files entering BREAKING */
	uint64_t breaks_resolved;	/* files leaving BREAKING */
	uint64_t breaks_now;
	uint64_t parked_total;
	uint64_t parked_now;
	uint64_t parked_run;		/* released to run */
	uint64_t interrupted;		/* parked operations cancelled */
	uint64_t nonblock;		/* EWOULDBLOCK to O_NONBLOCK breakers */
	uint64_t txtbsy;		/* ETXTBSY for exclusive leases */
	uint64_t refused;		/* lease requests refused (any error) */
	uint64_t census;		/* leases md_engine_census() looked at */
};

/* A lease request, as decoded from MAPDIRECT_IOC_LEASE. */
struct md_lease_req {
	struct md_owner *owner;	/* the open file */
	pid_t pid, tid;
	int signo;
	uint32_t flags;		/* MAPDIRECT_LEASE_* */
	const char *comm;
	uint64_t since_real_ms;	/* wall clock at the request, for listings */
	/* the embedder made the file's block map durable and the file is
	 * DAX: a CPU cache flush makes the holder's stores durable */
	bool userflush;
	/* a pidfd of thread @tid taken with the request (> 0; 0 or -1:
	 * none): md_lease_take() keeps it with a new lease or closes it */
	int tidfd;
};

/* out bit of md_lease_state()'s @flags: the caller's lease has userflush
 * and is not breaking (SPEC 4.1 "Durable block map") */
#define MD_LEASE_USERFLUSH (1u << 31)

/* One lease, as listings see it. */
struct md_lease_view {
	uint32_t id;
	pid_t pid;
	int signo;
	uint32_t flags;
	bool breaking;
	bool has_file;		/* still has its open file (else: mapping) */
	uint64_t since_ms;	/* engine clock at grant */
	uint64_t since_real_ms;	/* wall clock at grant (from the request) */
	uint64_t ms_left;	/* while breaking */
	char comm[16];
};

/**
 * md_engine_new - create a lease engine
 * @ops: clock, timer, pid watching, census
 * @ctx: passed to every op
 * @break_ms: lease_break_time in ms (0: revoke at once)
 * @revoke: what md_engine_expire() asks to do with a late holder
 *
 * @return the engine, or NULL without memory.
 */
struct md_engine *md_engine_new(const struct md_engine_ops *ops, void *ctx,
				uint32_t break_ms, enum md_revoke revoke);
void md_engine_free(struct md_engine *eng);

/* md_lfile_init - prepare an embedded md_lfile (zeroed memory is fine too) */
void md_lfile_init(struct md_lfile *lf, uint64_t dev, uint64_t ino);

/**
 * md_gate_enter - fast check before a block-map-changing operation
 * @lf: the file
 *
 * Lock-free: counts the operation in flight, then looks for leases; a
 * lease request that races with it sees the count and gets EAGAIN, so no
 * lease is granted while an unchecked breaker runs. On true the caller
 * runs the operation, then calls md_gate_exit(). On false it must call
 * md_break() (the count was dropped).
 *
 * @return true when the file has no lease.
 */
bool md_gate_enter(struct md_lfile *lf);
void md_gate_exit(struct md_lfile *lf);

/**
 * md_break - a breaker met leases: start or join a break
 * @eng: engine
 * @p: the operation; p->owner is its open file (NULL: none)
 * @nonblock: the breaker's file is O_NONBLOCK
 * @d: events to carry out after return
 *
 * The breaker's own lease (same owner) is not broken. On 0 the operation
 * may run now: it is counted in flight, call md_gate_exit() after it.
 * On 1 it is parked: it comes back once in @d->run of a later call (counted
 * in flight, same rule), unless md_parked_cancel() took it out first.
 *
 * @return 0, 1, -EWOULDBLOCK (@nonblock; the break goes on), -EINTR
 * (md_parked_cancel() came first; the break goes on), or -ETXTBSY (an
 * exclusive lease: nobody notified).
 */
int md_break(struct md_engine *eng, struct md_lfile *lf, struct md_parked *p,
	     bool nonblock, struct md_dispose *d);

/**
 * md_parked_cancel - take a parked operation out (its caller was interrupted)
 *
 * @return true if it was still parked: the caller answers it (EINTR);
 * false if it is already on its way to run, or not parked yet (then
 * md_break() refuses to park it and returns -EINTR). @p must be zeroed
 * before its first use.
 */
bool md_parked_cancel(struct md_engine *eng, struct md_parked *p);

/**
 * md_lease_take - MAPDIRECT_IOC_LEASE, after the embedder checked
 * permission and eligibility
 * @rq: the request; rq->owner identifies the open file
 * @id: the lease id (the existing one when rq->owner has a lease already)
 *
 * Between md_exclude_begin() and md_exclude_end() no breaker can be in
 * flight; without them a breaker in flight refuses the lease.
 *
 * @return 0, -EAGAIN (break in progress, operations parked, breaker in
 * flight, exclusive conflict), -EINVAL, -ENOMEM, -EMFILE (the holder
 * cannot be watched: ops->watch failed).
 */
int md_lease_take(struct md_engine *eng, struct md_lfile *lf,
		  const struct md_lease_req *rq, struct md_dispose *d,
		  uint32_t *id);

/**
 * md_lease_again - the lease @owner took of @lf already, if any (SPEC 4.1:
 * taking a lease again through the same open file returns the same id)
 * @flags: if not NULL, its flags, with MD_LEASE_USERFLUSH as in
 *         md_lease_state()
 * @return 0 and *@id, or -ENOENT.
 */
int md_lease_again(struct md_engine *eng, struct md_lfile *lf,
		   const struct md_owner *owner, uint32_t *id,
		   uint32_t *flags);

/**
 * md_exclude_begin - keep every breaker of @lf out while a lease request
 * checks, fills and syncs the file (SPEC 4.1)
 *
 * Counts as a lease for the gate (md_gate_enter() sends breakers to
 * md_break(), which parks them; the embedder mediates new writable opens
 * while nleases is not 0) but is never reported, broken or timed. Breakers
 * that passed the gate before it are still running: wait for
 * md_exclude_idle() before looking at the file. md_lease_take() may then
 * grant a lease; md_exclude_end() ends the exclusion in every case, and
 * what parked behind it runs (or breaks the new lease).
 *
 * @return 0, or -EAGAIN (a break is in progress, operations are parked,
 * the file has an exclusive lease).
 */
int md_exclude_begin(struct md_engine *eng, struct md_lfile *lf);
/* md_exclude_idle - no breaker is past the gate of @lf (lock-free) */
bool md_exclude_idle(struct md_lfile *lf);
void md_exclude_end(struct md_engine *eng, struct md_lfile *lf,
		    struct md_dispose *d);

/**
 * md_lease_unlease - MAPDIRECT_IOC_UNLEASE on the open file @owner
 * @id: 0, or the id the caller believes it holds
 *
 * @return 0, -ENOENT (no lease through this open file), -EINVAL (@id is
 * not that lease).
 */
int md_lease_unlease(struct md_engine *eng, struct md_lfile *lf,
		     struct md_owner *owner, uint32_t id, struct md_dispose *d);

/**
 * md_lease_file_closed - the open file @owner was released
 *
 * Its lease, if any, lives on while the holder maps the file (SPEC 4.2);
 * the census is queued (md_engine_census()).
 */
void md_lease_file_closed(struct md_engine *eng, struct md_lfile *lf,
			  struct md_owner *owner, struct md_dispose *d);

/**
 * md_lease_poll - answer a poll of the open file @owner, keep its handle
 * @poll: the poll handle of this request, or NULL
 * @breaking: set when @owner's lease is breaking (POLLPRI)
 *
 * Atomic with break start: a handle kept here is notified by the break.
 * @return a handle the caller must drop now (@poll itself when it is not
 * kept, or the older handle it replaces), or NULL.
 */
void *md_lease_poll(struct md_engine *eng, struct md_owner *owner,
		    void *poll, bool *breaking);

/**
 * md_engine_census - look at the mappings of holders whose open file is
 * gone (SPEC 4.2), queued when that file was released or a break started
 * (the dispose list's census flag says so)
 *
 * Reads /proc with the engine lock dropped: a holder with 65 000 mappings
 * takes ~40 ms to read, and nobody else's lease may wait for that. A
 * holder still mapping the file keeps its lease (and its break starts now
 * if the file is breaking); one that maps nothing loses it. Call it from
 * one thread (the embedder's engine thread); it blocks for the reads.
 */
void md_engine_census(struct md_engine *eng, struct md_dispose *d);

/* md_holder_exited - the process @pid is gone: end its leases */
void md_holder_exited(struct md_engine *eng, pid_t pid, struct md_dispose *d);

/**
 * md_engine_expire - revoke what is past its deadline, re-arm the timer
 * Called by the embedder's timer; also safe at any time.
 */
void md_engine_expire(struct md_engine *eng, struct md_dispose *d);

/* md_engine_shutdown - end every break as if it timed out; run all parked */
void md_engine_shutdown(struct md_engine *eng, struct md_dispose *d);

/**
 * md_lease_state - what MAPDIRECT_IOC_GETLEASE reports
 * @pid: the caller; *id and *flags are its lease on the file, or 0
 */
enum md_state md_lease_state(struct md_engine *eng, struct md_lfile *lf,
			     pid_t pid, uint32_t *holders, uint32_t *id,
			     uint32_t *flags, uint64_t *ms_left);

/**
 * md_lease_list - visit the leases of @lf (or of every file when NULL)
 * @fn: called under the engine lock: must not block or call the engine
 *
 * @return the number visited.
 */
size_t md_lease_list(struct md_engine *eng, struct md_lfile *lf,
		     void (*fn)(void *arg, struct md_lfile *lf,
				const struct md_lease_view *v),
		     void *arg);

/**
 * md_lease_list_from - visit a batch of leases in ascending id order
 * @lf: one file's leases, or NULL for every lease of the engine
 * @after: only leases with an id above it
 * @max: at most this many, the lowest ids above @after
 * @fn: called under the engine lock: must not block or call the engine
 *
 * A walk that passes the last id visited as @after to the next call sees
 * each lease that lives through the whole walk exactly once. One pass
 * over the leases (of @lf) per call, under the engine lock.
 *
 * @return the number visited, or -ENOMEM.
 */
int md_lease_list_from(struct md_engine *eng, struct md_lfile *lf,
		       uint32_t after, size_t max,
		       void (*fn)(void *arg, struct md_lfile *lf,
				  const struct md_lease_view *v),
		       void *arg);

/* a lease request the embedder refused before md_lease_take() (SPEC 4.1
 * checks: permission, eligibility, an unmediated writer): counted */
void md_lease_refused(struct md_engine *eng);
void md_engine_stats(struct md_engine *eng, struct md_stats *st);
uint32_t md_engine_break_ms(struct md_engine *eng);

/* md_dispose_init/fini - an empty list; fini frees the array and closes
 * the events' pidfds */
void md_dispose_init(struct md_dispose *d);
void md_dispose_fini(struct md_dispose *d);

#endif
