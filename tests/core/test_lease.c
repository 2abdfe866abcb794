// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The lease engine on a fake clock (SPEC 4.1-4.3): no sleeps, no mount.
 * The fake ops record what the engine asked of its embedder.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "mapdirect.h"

struct fake {
	uint64_t now;
	uint64_t armed;
	int arms;
	int watching;		/* watches minus unwatches */
	int maps_answer;	/* what the census says */
	int maps_calls;
	/* census_reads_without_the_engine_lock: the read blocks until */
	volatile int block, in_maps;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static void fake_arm(void *ctx, uint64_t deadline)
{
	struct fake *f = ctx;

	f->armed = deadline;
	f->arms++;
}

static int fake_watch(void *ctx, pid_t pid)
{
	((struct fake *)ctx)->watching++;
	return (int)pid;
}

static void fake_unwatch(void *ctx, int h)
{
	((struct fake *)ctx)->watching--;
}

static int fake_maps(void *ctx, pid_t pid, int handle,
		     const struct md_lfile *lf)
{
	struct fake *f = ctx;

	f->maps_calls++;
	f->in_maps = 1;
	while (f->block)
		usleep(1000);
	f->in_maps = 0;
	return f->maps_answer;
}

static const struct md_engine_ops fake_ops = {
	.now_ms = fake_now,
	.arm = fake_arm,
	.watch = fake_watch,
	.unwatch = fake_unwatch,
	.maps = fake_maps,
};

static struct fake fk;
static struct md_engine *eng;
static struct md_lfile lf;
static struct md_dispose d;

static void setup_ms(uint32_t break_ms, enum md_revoke revoke)
{
	memset(&fk, 0, sizeof(fk));
	fk.now = 1000;
	fk.maps_answer = 1;
	eng = md_engine_new(&fake_ops, &fk, break_ms, revoke);
	cr_assert(eng);
	md_lfile_init(&lf, 1, 42);
	md_dispose_init(&d);
}

static void setup(void)
{
	setup_ms(5000, MD_REVOKE_SIGNAL);
}

static void teardown(void)
{
	md_dispose_fini(&d);
	md_engine_free(eng);
}

static uint32_t take(struct md_owner *o, pid_t pid, int signo, uint32_t flags)
{
	struct md_lease_req rq = {
		.owner = o, .pid = pid, .tid = pid + 1, .signo = signo,
		.flags = flags, .comm = "holder",
	};
	uint32_t id = 0;

	cr_assert_eq(md_lease_take(eng, &lf, &rq, &d, &id), 0);
	cr_assert_neq(id, 0);
	return id;
}

static int try_take(struct md_owner *o, pid_t pid, uint32_t flags)
{
	struct md_lease_req rq = { .owner = o, .pid = pid, .flags = flags };
	uint32_t id;

	return md_lease_take(eng, &lf, &rq, &d, &id);
}

static size_t count_events(enum md_event_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < d.n; i++)
		n += d.ev[i].type == t;
	return n;
}

static size_t count_run(void)
{
	size_t n = 0;

	for (struct md_parked *p = d.run; p; p = p->next)
		n++;
	return n;
}

static void reset_dispose(void)
{
	md_dispose_fini(&d);
}

static enum md_state state(void)
{
	uint32_t holders, id, flags;
	uint64_t left;

	return md_lease_state(eng, &lf, 0, &holders, &id, &flags, &left);
}

TestSuite(core_lease, .init = setup, .fini = teardown);

Test(core_lease, take_gives_ids_and_same_open_file_same_id)
{
	struct md_owner a = { 0 }, b = { 0 };
	uint32_t ia = take(&a, 100, 0, 0);
	uint32_t ib = take(&b, 200, 0, 0);

	cr_assert_neq(ia, ib);
	cr_assert_eq(take(&a, 100, 0, 0), ia, "SPEC 4.1: same open file, same id");
	cr_assert_eq(state(), MD_STATE_HELD);
	cr_assert_eq(lf.nleases, 2);
	cr_assert_eq(fk.watching, 2, "one pid watch per holder process");
}

Test(core_lease, bad_requests_are_einval)
{
	struct md_owner a = { 0 };

	cr_assert_eq(try_take(&a, 1, 0x80), -EINVAL);
	cr_assert_eq(try_take(NULL, 1, 0), -EINVAL);
	{
		struct md_lease_req rq = { .owner = &a, .pid = 1, .signo = SIGRTMAX + 1 };
		uint32_t id;

		cr_assert_eq(md_lease_take(eng, &lf, &rq, &d, &id), -EINVAL);
	}
	cr_assert_eq(lf.nleases, 0);
}

Test(core_lease, no_lease_gate_is_open)
{
	cr_assert(md_gate_enter(&lf));
	cr_assert_eq(lf.inflight, 1);
	md_gate_exit(&lf);
	cr_assert_eq(lf.inflight, 0);
}

Test(core_lease, lease_refused_while_breaker_in_flight)
{
	struct md_owner a = { 0 };

	cr_assert(md_gate_enter(&lf));
	cr_assert_eq(try_take(&a, 1, 0), -EAGAIN);
	cr_assert_eq(lf.nleases, 0, "the refused lease is not published");
	md_gate_exit(&lf);
	take(&a, 1, 0, 0);
	cr_assert_not(md_gate_enter(&lf), "SPEC 4.3: a leased file breaks");
	cr_assert_eq(lf.inflight, 0);
}

Test(core_lease, break_notifies_each_holder_once_and_parks)
{
	struct md_owner a = { 0 }, b = { 0 };
	struct md_parked p1 = { 0 }, p2 = { 0 };
	struct md_stats st;

	take(&a, 100, SIGUSR1, 0);
	take(&b, 200, 0, 0);
	cr_assert_eq(md_break(eng, &lf, &p1, false, &d), 1);
	cr_assert_eq(count_events(MD_EV_BREAK), 2);
	for (size_t i = 0; i < d.n; i++)
		if (d.ev[i].pid == 100)
			cr_assert_eq(d.ev[i].signo, SIGUSR1);
	cr_assert_eq(state(), MD_STATE_BREAKING);
	cr_assert_eq(fk.armed, 1000 + 5000, "timer armed at the deadline");

	/* a second breaker joins: nobody is told again (SPEC 4.3.1) */
	reset_dispose();
	cr_assert_eq(md_break(eng, &lf, &p2, false, &d), 1);
	cr_assert_eq(d.n, 0);

	/* SPEC 4.3.4: no new lease during a break */
	{
		struct md_owner c = { 0 };

		cr_assert_eq(try_take(&c, 300, 0), -EAGAIN);
	}

	/* holders release: both parked ops run, in arrival order */
	cr_assert_eq(md_lease_unlease(eng, &lf, &a, 0, &d), 0);
	cr_assert_eq(count_run(), 0, "one holder left");
	cr_assert_eq(md_lease_unlease(eng, &lf, &b, 0, &d), 0);
	cr_assert_eq(count_run(), 2);
	cr_assert_eq(d.run, &p1);
	cr_assert_eq(d.run->next, &p2);
	cr_assert_eq(lf.inflight, 2, "released ops count as in flight");
	cr_assert_eq(state(), MD_STATE_NONE);
	cr_assert_eq(fk.armed, 0, "timer disarmed");
	cr_assert_eq(fk.watching, 0);

	md_engine_stats(eng, &st);
	cr_assert_eq(st.granted, 2);
	cr_assert_eq(st.active, 0);
	cr_assert_eq(st.unleased, 2);
	cr_assert_eq(st.breaks_started, 1);
	cr_assert_eq(st.breaks_resolved, 1);
	cr_assert_eq(st.breaks_now, 0);
	cr_assert_eq(st.parked_total, 2);
	cr_assert_eq(st.parked_now, 0);
	cr_assert_eq(st.parked_run, 2);
	cr_assert_eq(st.refused, 1);
}

Test(core_lease, deadline_revokes_with_sigbus_then_runs_parked)
{
	struct md_owner a = { 0 };
	struct md_parked p = { 0 };
	struct md_stats st;

	take(&a, 100, 0, 0);
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), 1);
	fk.now += 4999;
	reset_dispose();
	md_engine_expire(eng, &d);
	cr_assert_eq(d.n, 0, "not yet");
	fk.now += 1;
	md_engine_expire(eng, &d);
	cr_assert_eq(count_events(MD_EV_REVOKE), 1);
	cr_assert_eq(d.ev[0].signo, SIGBUS);
	cr_assert_eq(d.ev[0].pid, 100);
	cr_assert_str_eq(d.ev[0].comm, "holder");
	cr_assert_eq(d.run, &p);
	cr_assert_null(a.lease, "the open file no longer has a lease");
	md_engine_stats(eng, &st);
	cr_assert_eq(st.revoked, 1);
}

Test(core_lease, revoke_kill_and_none)
{
	struct md_owner a = { 0 };
	struct md_parked p = { 0 };

	md_engine_free(eng);
	eng = md_engine_new(&fake_ops, &fk, 10, MD_REVOKE_KILL);
	take(&a, 100, 0, 0);
	md_break(eng, &lf, &p, false, &d);
	fk.now += 10;
	md_engine_expire(eng, &d);
	cr_assert_eq(d.ev[d.n - 1].type, MD_EV_REVOKE);
	cr_assert_eq(d.ev[d.n - 1].signo, SIGKILL);
	cr_assert_eq(d.run, &p);
	md_gate_exit(&lf);	/* the released op ran */

	md_engine_free(eng);
	reset_dispose();
	eng = md_engine_new(&fake_ops, &fk, 10, MD_REVOKE_NONE);
	take(&a, 100, 0, 0);
	md_break(eng, &lf, &p, false, &d);
	fk.now += 10;
	md_engine_expire(eng, &d);
	cr_assert_eq(d.ev[d.n - 1].signo, 0);
	cr_assert_eq(count_run(), 1);
}

Test(core_lease, zero_break_time_revokes_at_once)
{
	struct md_owner a = { 0 };
	struct md_parked p = { 0 };

	md_engine_free(eng);
	eng = md_engine_new(&fake_ops, &fk, 0, MD_REVOKE_SIGNAL);
	take(&a, 100, 0, 0);
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), 1);
	cr_assert_eq(count_events(MD_EV_REVOKE), 1);
	cr_assert_eq(d.run, &p, "parked and released in the same call");
	cr_assert_eq(state(), MD_STATE_NONE);
}

Test(core_lease, nonblocking_breaker_gets_ewouldblock_and_break_goes_on)
{
	struct md_owner a = { 0 };
	struct md_parked p = { 0 };
	struct md_stats st;

	take(&a, 100, 0, 0);
	cr_assert_eq(md_break(eng, &lf, &p, true, &d), -EWOULDBLOCK);
	cr_assert_eq(count_events(MD_EV_BREAK), 1);
	cr_assert_eq(state(), MD_STATE_BREAKING);
	cr_assert_null(lf.parked);
	md_engine_stats(eng, &st);
	cr_assert_eq(st.nonblock, 1);
	cr_assert_eq(st.parked_total, 0);
}

Test(core_lease, exclusive_lease_fails_breakers_without_telling)
{
	struct md_owner a = { 0 }, b = { 0 };
	struct md_parked p = { 0 };

	take(&a, 100, SIGUSR1, MAPDIRECT_LEASE_EXCLUSIVE);
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), -ETXTBSY);
	cr_assert_eq(d.n, 0, "SPEC 4.1: holders are not notified");
	cr_assert_eq(state(), MD_STATE_HELD);
	cr_assert_eq(try_take(&b, 200, 0), -EAGAIN, "only one exclusive");
	cr_assert_eq(try_take(&b, 200, MAPDIRECT_LEASE_EXCLUSIVE), -EAGAIN);
	/* the holder's own I/O is not a breaker */
	p.owner = &a;
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), 0);
	md_gate_exit(&lf);
	md_lease_unlease(eng, &lf, &a, 0, &d);
	take(&b, 200, 0, 0);
	cr_assert_eq(try_take(&a, 100, MAPDIRECT_LEASE_EXCLUSIVE), -EAGAIN,
		     "not together with shared ones");
}

Test(core_lease, own_io_breaks_the_others_not_its_own)
{
	struct md_owner a = { 0 }, b = { 0 };
	struct md_parked p = { .owner = &a };

	take(&a, 100, 0, 0);
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), 0, "alone: runs at once");
	md_gate_exit(&lf);
	cr_assert_eq(d.n, 0);

	take(&b, 200, 0, 0);
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), 1);
	cr_assert_eq(count_events(MD_EV_BREAK), 1);
	cr_assert_eq(d.ev[0].pid, 200, "only b is told");
	cr_assert_eq(md_lease_unlease(eng, &lf, &b, 0, &d), 0);
	cr_assert_eq(d.run, &p);
	cr_assert_eq(state(), MD_STATE_HELD, "a keeps its lease");
}

Test(core_lease, parked_op_can_be_cancelled_once)
{
	struct md_owner a = { 0 };
	struct md_parked p1 = { 0 }, p2 = { 0 }, p3 = { 0 };
	struct md_stats st;

	take(&a, 100, 0, 0);
	md_break(eng, &lf, &p1, false, &d);
	md_break(eng, &lf, &p2, false, &d);
	md_break(eng, &lf, &p3, false, &d);
	cr_assert(md_parked_cancel(eng, &p2));
	cr_assert_not(md_parked_cancel(eng, &p2), "not twice");
	md_lease_unlease(eng, &lf, &a, 0, &d);
	cr_assert_eq(count_run(), 2);
	cr_assert_eq(d.run, &p1);
	cr_assert_eq(d.run->next, &p3);
	cr_assert_not(md_parked_cancel(eng, &p3), "already running");
	md_engine_stats(eng, &st);
	cr_assert_eq(st.interrupted, 1);
	cr_assert_eq(st.parked_now, 0);
	cr_assert_eq(st.parked_run, 2);
	cr_assert_eq(st.parked_total, st.parked_run + st.interrupted);
}

Test(core_lease, lease_follows_the_mapping_not_the_fd)
{
	struct md_owner a = { 0 }, b = { 0 };
	struct md_stats st;

	take(&a, 100, 0, 0);
	take(&b, 200, 0, 0);
	fk.maps_answer = 1;
	md_lease_file_closed(eng, &lf, &a, &d);
	cr_assert(d.census, "the release asks for a census");
	cr_assert_eq(fk.maps_calls, 0, "no /proc read under the engine lock");
	md_engine_census(eng, &d);
	cr_assert_eq(lf.nleases, 2, "SPEC 4.2: still mapped, still leased");
	cr_assert_null(a.lease);
	fk.maps_answer = 0;
	md_lease_file_closed(eng, &lf, &b, &d);
	cr_assert_eq(lf.nleases, 2, "leased until the census has looked");
	md_engine_census(eng, &d);
	cr_assert_eq(lf.nleases, 1, "neither fd nor mapping: lease ends");

	/* a's mapping went away since: found by the census at break start,
	 * before anybody is told; the breaker waits for it, then runs */
	{
		struct md_parked p = { 0 };

		reset_dispose();
		cr_assert_eq(md_break(eng, &lf, &p, false, &d), 1);
		cr_assert_eq(d.n, 0, "nobody told before the census");
		md_engine_census(eng, &d);
		cr_assert_eq(count_events(MD_EV_BREAK), 0,
			     "nobody left to notify");
		cr_assert_eq(count_run(), 1, "the breaker runs");
		md_gate_exit(&lf);
	}
	md_engine_stats(eng, &st);
	cr_assert_eq(st.released, 2);
	cr_assert_eq(st.active, 0);
}

Test(core_lease, holder_exit_ends_its_leases_and_runs_parked)
{
	struct md_owner a = { 0 }, a2 = { 0 }, b = { 0 };
	struct md_lfile lf2;
	struct md_parked p = { 0 };
	struct md_stats st;

	md_lfile_init(&lf2, 1, 43);
	take(&a, 100, 0, 0);
	{
		struct md_lease_req rq = { .owner = &a2, .pid = 100 };
		uint32_t id;

		cr_assert_eq(md_lease_take(eng, &lf2, &rq, &d, &id), 0);
	}
	take(&b, 200, 0, 0);
	cr_assert_eq(fk.watching, 2);
	md_break(eng, &lf, &p, false, &d);
	md_holder_exited(eng, 100, &d);
	cr_assert_eq(lf2.nleases, 0);
	cr_assert_eq(lf.nleases, 1);
	cr_assert_eq(fk.watching, 1);
	cr_assert_eq(count_run(), 0, "b still breaking");
	md_holder_exited(eng, 200, &d);
	cr_assert_eq(d.run, &p);
	md_engine_stats(eng, &st);
	cr_assert_eq(st.exited, 3);
}

Test(core_lease, getlease_reports_callers_lease_and_time_left)
{
	struct md_owner a = { 0 };
	struct md_parked p = { 0 };
	uint32_t holders, id, flags;
	uint64_t left;
	uint32_t ia = take(&a, 100, 0, MAPDIRECT_LEASE_ALLOCATE);

	cr_assert_eq(md_lease_state(eng, &lf, 100, &holders, &id, &flags, &left),
		     MD_STATE_HELD);
	cr_assert_eq(holders, 1);
	cr_assert_eq(id, ia);
	cr_assert_eq(flags, MAPDIRECT_LEASE_ALLOCATE);
	md_lease_state(eng, &lf, 999, &holders, &id, &flags, &left);
	cr_assert_eq(id, 0, "not the caller's");
	md_break(eng, &lf, &p, false, &d);
	fk.now += 1200;
	cr_assert_eq(md_lease_state(eng, &lf, 100, &holders, &id, &flags, &left),
		     MD_STATE_BREAKING);
	cr_assert_eq(left, 3800);
}

Test(core_lease, unlease_checks_owner_and_id)
{
	struct md_owner a = { 0 }, b = { 0 };
	uint32_t ia = take(&a, 100, 0, 0);

	cr_assert_eq(md_lease_unlease(eng, &lf, &b, 0, &d), -ENOENT);
	cr_assert_eq(md_lease_unlease(eng, &lf, &a, ia + 1, &d), -EINVAL);
	cr_assert_eq(md_lease_unlease(eng, &lf, &a, ia, &d), 0);
	cr_assert_eq(md_lease_unlease(eng, &lf, &a, 0, &d), -ENOENT);
}

Test(core_lease, poll_handle_kept_until_break_then_handed_out)
{
	struct md_owner a = { 0 }, none = { 0 };
	struct md_parked p = { 0 };
	int h1, h2, h3;
	bool breaking;

	cr_assert_eq(md_lease_poll(eng, &none, &h1, &breaking), &h1,
		     "no lease: drop it");
	take(&a, 100, 0, 0);
	cr_assert_null(md_lease_poll(eng, &a, &h1, &breaking));
	cr_assert_not(breaking);
	cr_assert_eq(md_lease_poll(eng, &a, &h2, &breaking), &h1, "older one");
	md_break(eng, &lf, &p, false, &d);
	cr_assert_eq(d.ev[0].type, MD_EV_BREAK);
	cr_assert_eq(d.ev[0].poll, &h2, "the break notifies the kept handle");
	cr_assert_eq(md_lease_poll(eng, &a, &h3, &breaking), &h3);
	cr_assert(breaking, "POLLPRI from now on");
}

Test(core_lease, shutdown_ends_breaks_and_runs_everything)
{
	struct md_owner a = { 0 }, b = { 0 };
	struct md_lfile lf2;
	struct md_parked p = { 0 };

	md_lfile_init(&lf2, 1, 43);
	take(&a, 100, 0, 0);
	{
		struct md_lease_req rq = { .owner = &b, .pid = 200 };
		uint32_t id;

		cr_assert_eq(md_lease_take(eng, &lf2, &rq, &d, &id), 0);
	}
	md_break(eng, &lf, &p, false, &d);
	md_engine_shutdown(eng, &d);
	cr_assert_eq(d.run, &p);
	cr_assert_eq(count_events(MD_EV_REVOKE), 1);
	cr_assert_eq(lf2.nleases, 1, "leases not breaking stay until exit");
}

Test(core_lease, many_leases_one_break_one_event_each)
{
	enum { N = 10000 };
	static struct md_owner o[N];
	struct md_parked p1 = { 0 }, p2 = { 0 };
	struct md_stats st;

	memset(o, 0, sizeof(o));
	for (int i = 0; i < N; i++)
		take(&o[i], 1000 + i, 0, 0);
	md_break(eng, &lf, &p1, false, &d);
	cr_assert_eq(count_events(MD_EV_BREAK), N);
	fk.maps_calls = 0;
	reset_dispose();
	md_break(eng, &lf, &p2, false, &d);
	cr_assert_eq(d.n, 0);
	cr_assert_eq(fk.maps_calls, 0, "joining a break walks no lease list");
	for (int i = 0; i < N; i++)
		md_lease_unlease(eng, &lf, &o[i], 0, &d);
	cr_assert_eq(count_run(), 2);
	md_engine_stats(eng, &st);
	cr_assert_eq(st.active, 0);
	cr_assert_eq(st.breaks_resolved, 1);
}

Test(core_lease, one_census_per_holder_per_break)
{
	enum { N = 1000 };
	static struct md_owner o[N];
	struct md_parked p = { 0 };

	memset(o, 0, sizeof(o));
	for (int i = 0; i < N; i++) {
		take(&o[i], 100, 0, 0);
		md_lease_file_closed(eng, &lf, &o[i], &d);	/* mapped */
	}
	md_engine_census(eng, &d);
	cr_assert_eq(lf.nleases, N);
	cr_assert_eq(fk.maps_calls, 1, "one holder, one /proc/PID/maps read");
	fk.maps_calls = 0;
	reset_dispose();
	md_break(eng, &lf, &p, false, &d);
	md_engine_census(eng, &d);
	cr_assert_eq(fk.maps_calls, 1, "one holder, one /proc/PID/maps read");
	cr_assert_eq(count_events(MD_EV_BREAK), N);
}

Test(core_lease, census_at_release_is_never_cached)
{
	struct md_owner a = { 0 }, b = { 0 };
	struct md_parked p = { 0 };

	take(&a, 100, 0, 0);
	md_lease_file_closed(eng, &lf, &a, &d);		/* census 1: mapped */
	md_engine_census(eng, &d);
	md_break(eng, &lf, &p, false, &d);		/* census 2 */
	md_engine_census(eng, &d);
	md_lease_file_closed(eng, &lf, &b, &d);		/* not a lease: none */
	md_engine_census(eng, &d);
	cr_assert_eq(fk.maps_calls, 2);
	cr_assert_eq(count_events(MD_EV_BREAK), 1, "mapped: told, after");
	fk.maps_answer = 0;
	md_engine_expire(eng, &d);			/* nothing due yet */
	cr_assert_eq(lf.nleases, 1, "the break's cached answer is not reused");
}

/*
 * SPEC 4.1, issue 13 finding 3: a lease request excludes breakers while
 * it checks, fills and syncs the file. Breakers that come meanwhile park
 * behind the exclusion without a deadline and tell nobody; the exclusion
 * is no lease to the reports; a lease taken under it is granted without
 * the in-flight check; at its end the breakers break the new lease.
 */
Test(core_lease, an_exclusion_parks_breakers_and_is_no_lease)
{
	/* static: the engine clears it at teardown, after the test */
	static struct md_owner o;
	struct md_parked p = { 0 }, q = { 0 };
	struct md_lease_req rq = { .owner = &o, .pid = 100, .tid = 101 };
	uint32_t id, holders, lid, flags;
	uint64_t left;

	cr_assert(md_gate_enter(&lf), "no lease, no exclusion: the gate opens");
	cr_assert_not(md_exclude_idle(&lf), "a breaker is past the gate");
	md_gate_exit(&lf);
	cr_assert_eq(md_exclude_begin(eng, &lf), 0);
	cr_assert(md_exclude_idle(&lf));
	cr_assert_not(md_gate_enter(&lf), "the exclusion shuts the gate");
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), 1, "a breaker parks");
	cr_assert_eq(md_break(eng, &lf, &q, true, &d), -EWOULDBLOCK);
	cr_assert_eq(count_events(MD_EV_BREAK), 0, "nobody to tell");
	cr_assert_eq(fk.armed, 0, "no deadline");
	cr_assert_eq(md_lease_state(eng, &lf, 100, &holders, &lid, &flags,
				    &left), MD_STATE_NONE);
	cr_assert_eq(holders, 0, "an exclusion is no lease");
	/* breakers parked behind it: a lease now would starve them */
	cr_assert_eq(md_lease_take(eng, &lf, &rq, &d, &id), -EAGAIN);
	md_exclude_end(eng, &lf, &d);
	cr_assert_eq(count_run(), 1, "the parked breaker runs at the end");
	md_gate_exit(&lf);

	/* nobody waiting: the lease is granted under the exclusion, even
	 * with a breaker backing off the gate, and carries userflush */
	reset_dispose();
	md_dispose_init(&d);
	cr_assert_eq(md_exclude_begin(eng, &lf), 0);
	__atomic_add_fetch(&lf.inflight, 1, __ATOMIC_SEQ_CST);
	rq.userflush = true;
	cr_assert_eq(md_lease_take(eng, &lf, &rq, &d, &id), 0);
	__atomic_sub_fetch(&lf.inflight, 1, __ATOMIC_SEQ_CST);
	cr_assert_eq(md_lease_state(eng, &lf, 100, &holders, &lid, &flags,
				    &left), MD_STATE_HELD);
	cr_assert_eq(holders, 1);
	cr_assert_eq(flags, MD_LEASE_USERFLUSH);
	cr_assert_eq(md_lease_again(eng, &lf, &o, &lid, &flags), 0);
	cr_assert_eq(lid, id);
	cr_assert_eq(md_break(eng, &lf, &p, false, &d), 1);
	md_exclude_end(eng, &lf, &d);
	cr_assert_eq(count_events(MD_EV_BREAK), 1, "the new lease breaks");
	cr_assert_eq(md_lease_state(eng, &lf, 100, &holders, &lid, &flags,
				    &left), MD_STATE_BREAKING);
	cr_assert_eq(flags, 0, "no userflush once breaking");
	/* a break in progress refuses an exclusion */
	cr_assert_eq(md_exclude_begin(eng, &lf), -EAGAIN);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/*
 * Issue 13 finding 8: a lease keeps a pidfd of the thread that took it
 * (signals reach it, not whoever has its tid later), shared by every
 * lease that thread took: 100k leases of one thread are one fd. The
 * last of them closes it; a break's event carries a duplicate, closed
 * with the dispose list.
 */
Test(core_lease, a_threads_leases_share_its_pidfd)
{
	static struct md_owner a, b;
	struct md_lease_req ra = { .owner = &a, .pid = 100, .tid = 101,
				   .signo = SIGUSR1 };
	struct md_lease_req rb = { .owner = &b, .pid = 100, .tid = 101 };
	struct md_parked x = { 0 };
	int p[2], q[2];
	uint32_t id_a, id_b;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pipe(q), 0);
	ra.tidfd = p[0];
	rb.tidfd = q[0];
	cr_assert_eq(md_lease_take(eng, &lf, &ra, &d, &id_a), 0);
	cr_assert_eq(md_lease_take(eng, &lf, &rb, &d, &id_b), 0);
	cr_assert(fd_open(p[0]), "the first lease's pidfd is kept");
	cr_assert_not(fd_open(q[0]), "the same thread's second pidfd is "
		      "closed: the first serves both");

	cr_assert_eq(md_break(eng, &lf, &x, true, &d), -EWOULDBLOCK);
	cr_assert_eq(count_events(MD_EV_BREAK), 2);
	for (size_t i = 0; i < d.n; i++)
		if (d.ev[i].type == MD_EV_BREAK && d.ev[i].signo)
			cr_assert(d.ev[i].tidfd >= 0 && d.ev[i].tidfd != p[0],
				  "the signalling event carries a duplicate");
	reset_dispose();
	cr_assert(fd_open(p[0]));
	md_dispose_init(&d);
	cr_assert_eq(md_lease_unlease(eng, &lf, &a, id_a, &d), 0);
	cr_assert(fd_open(p[0]), "a lease of the thread lives on");
	cr_assert_eq(md_lease_unlease(eng, &lf, &b, id_b, &d), 0);
	cr_assert_not(fd_open(p[0]), "the thread's last lease closed it");
	close(p[1]);
	close(q[1]);
}

static void *census_thread(void *arg)
{
	struct md_dispose cd;

	md_dispose_init(&cd);
	md_engine_census(eng, &cd);
	md_dispose_fini(&cd);
	return NULL;
}

/*
 * The census reads /proc/PID/maps, ~40 ms for a process with 65 000
 * mappings: a user with many such holders could hold the engine lock, and
 * every lease operation of every user, for as long as it liked. Here the
 * read blocks until the test lets it go; meanwhile the engine answers.
 */
Test(core_lease, census_reads_without_the_engine_lock, .timeout = 20)
{
	static struct md_owner a, b;
	uint32_t holders, id, flags;
	uint64_t left;
	pthread_t t;

	take(&a, 100, 0, 0);
	md_lease_file_closed(eng, &lf, &a, &d);
	fk.block = 1;
	cr_assert_eq(pthread_create(&t, NULL, census_thread, NULL), 0);
	while (!fk.in_maps)
		usleep(1000);
	/* the census is in its read: the engine lock is free */
	cr_assert_eq(md_lease_state(eng, &lf, 100, &holders, &id, &flags,
				    &left), MD_STATE_HELD);
	take(&b, 200, 0, 0);
	cr_assert_eq(holders, 1);
	fk.block = 0;
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(lf.nleases, 2, "still mapped: still leased");
}
