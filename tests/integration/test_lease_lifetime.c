// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 4.2: "the lease follows the mapping, not the descriptor". A lease
 * ends at UNLEASE (test_lease_abi.c), when its holder has neither the
 * open file nor a mapping of the file (checked at release and when a
 * break starts), when the holder exits, or by revocation
 * (test_lease_revoke.c); "when the last lease of a file ends during a
 * break, every parked operation proceeds at once".
 *
 * The kernel sends FUSE_RELEASE in the background after close(2): tests
 * that must know the daemon has seen a close run it with -d and wait for
 * the RELEASE in its log (lease_log_wait).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (64 << 10)
#define OPTS "lease_break_time=5"
#define BREAK_MS 5000
/* "at once": well before the 5 s deadline */
#define PROMPT_MS 3000
#define BLOCKED_MS 100

/* close(@fd) in the holder and wait until the daemon took the RELEASE */
/* census_done before the last close_released(): release_handled() waits
 * for the census of that release, which the engine thread makes */
static long long census_before;

static void close_released(struct mdfs_fs *fs, struct lease_holder *h,
			   int fd)
{
	int n = lease_log_count(fs, "RELEASE", 0);

	census_before = lease_stat(fs, "census_done");
	LOP_OK(h->a, op_close(fd));
	lease_log_wait(fs, "RELEASE", 0, n + 1, PROMPT_MS);
}

/*
 * SPEC 4.2.2: "a holder may close its fd after mmap and keep its lease
 * while the mapping lives": the file still has a holder, a break still
 * reaches it (its signal, with its lease id) and parks the breaker.
 */
MDFS_LEASE_TEST_NOMOUNT(lease_lifetime, close_after_mmap_keeps_the_lease)
{
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	struct mdfs_agent *b;
	struct lop w, s;
	long long map;
	int obs, fd, fd2;

	lease_file(fs, "f", SIZE, 'a');
	mdfs_start(fs, (const char *const[]){ "-d", NULL }, OPTS);
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, SIGUSR1);
	map = LOP_OK(h.a, op_mmap(h.fd, SIZE));
	close_released(fs, &h, h.fd);

	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "closing the fd of a "
		     "mapped lease ended it");
	cr_assert_eq(i.holders, 1);
	/* the process still holds it: GETLEASE on a new fd says so */
	fd2 = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDONLY));
	lease_info(h.a, fd2, &i);
	cr_assert_eq(i.lease_id, (__u64)h.id);

	b = mdfs_agent_start(-1, -1);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'Z', 4096);
	lop_send(b, &w);
	s = op_sigwait(SIGUSR1, PROMPT_MS);
	cr_assert_eq(lop_run(h.a, &s), SIGUSR1, "the mapping-only holder "
		     "got no break signal");
	cr_assert_eq(s.sig_value, h.id);
	lease_assert_blocked(b, BLOCKED_MS, "pwrite");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING);
	cr_assert_eq(lop_do(h.a, op_load(map, 0)), 'a');

	/* it cannot unlease without the open file; its exit ends it */
	cr_assert_eq(lop_do(h.a, op_unlease(fd2, 0)), -ENOENT);
	mdfs_agent_kill(h.a, SIGKILL);
	cr_assert_eq(lop_recv(b, &w), 4096);
	cr_assert_lt(w.ms, BREAK_MS, "the breaker waited for the deadline");
	lease_assert_backing(fs, "f", 0, 4096, 'Z');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}

/*
 * SPEC 4.2.2: closing the leased open file without a mapping ends the
 * lease (even while the process keeps another open file of it); a breaker
 * then proceeds at once and the holder is told nothing.
 */
MDFS_LEASE_TEST(lease_lifetime, close_without_mapping_ends_the_lease, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct lop w;
	int obs, fd, other;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	h.a = mdfs_agent_start(-1, -1);
	other = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	lease_hold(fs, &h, "f", 0, SIGUSR1);
	assert_lease_becomes(obs, MAPDIRECT_STATE_HELD, 1, 0);
	LOP_OK(h.a, op_close(h.fd));
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);

	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'Z', 4096);
	cr_assert_eq(lop_run(b, &w), 4096);
	cr_assert_lt(w.ms, PROMPT_MS, "pwrite waited %lld ms", w.ms);
	lease_assert_backing(fs, "f", 0, 4096, 'Z');
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGUSR1)), 0,
		     "the former holder got a break signal");
	LOP_OK(h.a, op_close(other));
	close(obs);
}

/*
 * SPEC 4.2.2 "the daemon checks the holder's mappings ... whenever a
 * break starts": after close and munmap, the next break finds no mapping;
 * the breaker proceeds without waiting, the holder is neither told nor
 * revoked (revoke=signal would kill it by SIGBUS).
 */
MDFS_LEASE_TEST_NOMOUNT(lease_lifetime, munmap_after_close_breaker_proceeds)
{
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	struct mdfs_agent *b;
	long long map;
	struct lop w;
	int obs, fd;

	lease_file(fs, "f", SIZE, 'a');
	mdfs_start(fs, (const char *const[]){ "-d", NULL },
		   OPTS ",revoke=signal");
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, SIGUSR1);
	map = LOP_OK(h.a, op_mmap(h.fd, SIZE));
	close_released(fs, &h, h.fd);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1, "closing the fd of a mapped lease ended "
		     "it");
	LOP_OK(h.a, op_munmap(map, SIZE));

	b = mdfs_agent_start(-1, -1);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'Z', 4096);
	cr_assert_eq(lop_run(b, &w), 4096, "pwrite: %s",
		     strerror((int)-w.ret));
	cr_assert_lt(w.ms, PROMPT_MS, "pwrite waited %lld ms for a lease "
		     "whose holder maps nothing", w.ms);
	lease_assert_backing(fs, "f", 0, 4096, 'Z');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	cr_assert_eq(mdfs_agent_wait_exit(h.a, 0), -1, "the holder was "
		     "killed");
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGUSR1)), 0,
		     "the holder was told of a break");
	close(obs);
}

/*
 * SPEC 4.2.3: "the holder process exits (noticed within 100 ms)": all its
 * leases end, whether it exits or is killed, mapped or not. (Bounded
 * generously here.)
 */
MDFS_LEASE_TEST(lease_lifetime, holder_exit_ends_its_leases, OPTS)
{
	struct lease_holder h = { 0 }, k = { 0 };
	int obs_f, obs_g, fd;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "g", SIZE, 'b');
	obs_f = lease_obs(fs, "f");
	obs_g = lease_obs(fs, "g");

	/* exit(0), with a mapping of one file and an fd of the other */
	lease_hold(fs, &h, "f", 0, 0);
	LOP_OK(h.a, op_mmap(h.fd, SIZE));
	LOP_OK(h.a, op_close(h.fd));
	fd = LOP_OK(h.a, op_open(mdfs_mpath(fs, "g"), O_RDWR));
	LOP_OK(h.a, op_lease(fd, 0, 0));
	assert_lease_becomes(obs_f, MAPDIRECT_STATE_HELD, 1, 0);
	assert_lease_becomes(obs_g, MAPDIRECT_STATE_HELD, 1, 0);
	{
		struct lop e = op_exit(0);

		lop_send(h.a, &e);
	}
	cr_assert_eq(mdfs_agent_wait_exit(h.a, PROMPT_MS), 0);
	assert_lease_becomes(obs_f, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	assert_lease_becomes(obs_g, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);

	/* SIGKILL, lease with fd and mapping */
	lease_hold(fs, &k, "f", 0, 0);
	LOP_OK(k.a, op_mmap(k.fd, SIZE));
	assert_lease_becomes(obs_f, MAPDIRECT_STATE_HELD, 1, 0);
	mdfs_agent_kill(k.a, SIGKILL);
	assert_lease_becomes(obs_f, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs_f);
	close(obs_g);
}

/*
 * SPEC 4.2.3 and 4.2 "When the last lease of a file ends during a break,
 * every parked operation proceeds at once": a holder killed during a
 * break lets the parked breaker go long before the deadline.
 */
MDFS_LEASE_TEST(lease_lifetime, holder_killed_during_break_breaker_proceeds,
		OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct lop w;
	int obs, fd;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	LOP_OK(h.a, op_mmap(h.fd, SIZE));
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'K', 4096);
	lop_send(b, &w);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, PROMPT_MS);
	lease_assert_blocked(b, BLOCKED_MS, "pwrite");
	mdfs_agent_kill(h.a, SIGKILL);
	cr_assert_eq(lop_recv(b, &w), 4096, "pwrite: %s",
		     strerror((int)-w.ret));
	cr_assert_lt(w.ms, BREAK_MS, "the breaker waited for the deadline "
		     "(%lld ms)", w.ms);
	lease_assert_backing(fs, "f", 0, 4096, 'K');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}

/*
 * SPEC 4.2.1 and 4.2: UNLEASE during a break lets the parked breaker go
 * at once; the holder keeps its open file and mapping.
 */
MDFS_LEASE_TEST(lease_lifetime, unlease_during_break_breaker_proceeds, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	long long map;
	struct lop w;
	int obs, fd;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	map = LOP_OK(h.a, op_mmap(h.fd, SIZE));
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'U', 4096);
	lop_send(b, &w);
	lease_assert_pollpri(&h, PROMPT_MS);
	lease_assert_blocked(b, BLOCKED_MS, "pwrite");
	LOP_OK(h.a, op_unlease(h.fd, (unsigned long long)h.id));
	cr_assert_eq(lop_recv(b, &w), 4096);
	cr_assert_lt(w.ms, BREAK_MS, "the breaker waited for the deadline");
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	/* the holder is unharmed and sees the new bytes in its mapping */
	cr_assert_eq(lop_do(h.a, op_load(map, 0)), 'U');
	close(obs);
}

/*
 * SPEC 4.2.2 during a break: a holder that answers the break by closing
 * its fd (no mapping), or by unmapping and closing, ends its lease; the
 * breaker proceeds at once (4.2: "every parked operation proceeds at
 * once"), long before the deadline.
 */
MDFS_LEASE_TEST(lease_lifetime, unmap_and_close_during_break_breaker_proceeds,
		OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lop w;
	int obs, fd;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	for (int mapped = 0; mapped < 2; mapped++) {
		struct lease_holder h = { 0 };
		long long map = 0;

		lease_hold(fs, &h, "f", 0, 0);
		/* opened under the lease (SPEC 3.1: else no lease) */
		fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
		if (mapped)
			map = LOP_OK(h.a, op_mmap(h.fd, SIZE));
		w = op_pwrite(fd, 0, 'A' + mapped, 4096);
		lop_send(b, &w);
		lease_assert_pollpri(&h, PROMPT_MS);
		lease_assert_blocked(b, BLOCKED_MS, "pwrite");
		if (mapped)
			LOP_OK(h.a, op_munmap(map, SIZE));
		LOP_OK(h.a, op_close(h.fd));
		cr_assert_eq(lop_recv(b, &w), 4096);
		cr_assert_lt(w.ms, BREAK_MS, "the breaker waited for the "
			     "deadline (%s)", mapped ? "munmap and close" :
			     "close");
		lease_assert_backing(fs, "f", 0, 4096, 'A' + mapped);
		assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
		cr_assert_eq(mdfs_agent_wait_exit(h.a, 0), -1,
			     "the holder was killed");
		LOP_OK(b, op_close(fd));
	}
	close(obs);
}

/* The daemon has handled the release of the leased file @rel: its census
 * saw the mapping and the lease says fd=closed */
static void release_handled(struct mdfs_fs *fs, const char *rel)
{
	long long t0 = mdfs_now_ms();

	while ((!strstr(lease_xattr(mdfs_mpath(fs, "%s", rel),
				    "user.mapdirect.leases"), "fd=closed") ||
		lease_stat(fs, "census_done") <= census_before) &&
	       mdfs_now_ms() - t0 < PROMPT_MS)
		usleep(1000);
	cr_assert(strstr(lease_xattr(mdfs_mpath(fs, "%s", rel),
				     "user.mapdirect.leases"), "fd=closed"),
		  "the release of %s was not handled in %d ms", rel,
		  PROMPT_MS);
	cr_assert_gt(lease_stat(fs, "census_done"), census_before,
		     "no census of the release of %s in %d ms", rel,
		     PROMPT_MS);
}

static int forgets(struct mdfs_fs *fs)
{
	return lease_log_count(fs, "FORGET", 0) +
	       lease_log_count(fs, "BATCH_FORGET", 0);
}

/*
 * An inode the kernel forgets while a lease lives on (its holder unmapped
 * after closing; no census has looked yet) is kept as an orphan; looked up
 * again, the orphan sweep lets it go with its list of unmediated writers
 * intact, so a lease is still refused beside such a writer (SPEC 3.1).
 * A sweep that cleared the list (fixed in 4ebe854) lets the lease through:
 * the writer opens while the orphan waits for the engine's next sweep.
 */
MDFS_TEST_NOMOUNT(lease_lifetime, forgotten_leased_inode_keeps_its_writers)
{
	struct lease_holder h = { 0 };
	struct mdfs_agent *c, *d, *e;
	long long map, before, t0;
	char want[64];
	struct lop w;
	int fd, n;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "g", SIZE, 'b');
	mdfs_start(fs, (const char *const[]){ "-d", NULL }, OPTS);
	lease_hold(fs, &h, "f", 0, 0);
	map = LOP_OK(h.a, op_mmap(h.fd, SIZE));
	close_released(fs, &h, h.fd);
	release_handled(fs, "f");
	LOP_OK(h.a, op_munmap(map, SIZE));

	/* the kernel forgets "f"; the lease lives on in the daemon */
	n = forgets(fs);
	mdfs_write_file("/proc/sys/vm/drop_caches", "2", 1);
	for (t0 = mdfs_now_ms(); forgets(fs) == n &&
	     mdfs_now_ms() - t0 < PROMPT_MS;)
		usleep(10000);
	cr_assert_gt(forgets(fs), n, "no FORGET after drop_caches");
	cr_assert_eq(lease_stat(fs, "leases_active"), 1);

	/* looked up again; a write finds the holder maps nothing: the lease
	 * ends, the write goes on */
	c = mdfs_agent_start(-1, -1);
	fd = LOP_OK(c, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'Z', 4096);
	cr_assert_eq(lop_run(c, &w), 4096, "pwrite: %s",
		     strerror((int)-w.ret));
	cr_assert_eq(lease_stat(fs, "leases_active"), 0);
	/* an unmediated writer, while the orphan is still on the list */
	d = mdfs_agent_start(-1, -1);
	LOP_OK(d, op_open(mdfs_mpath(fs, "f"), O_RDWR));

	/* two holder exits, seen by the engine thread: it has swept at
	 * least once since */
	before = lease_stat(fs, "leases_exited");
	for (int k = 1; k <= 2; k++) {
		struct lease_holder g = { 0 };
		struct lop x = op_exit(0);

		/* mapped, fd closed: only the exit (pidfd) ends it */
		lease_hold(fs, &g, "g", 0, 0);
		LOP_OK(g.a, op_mmap(g.fd, SIZE));
		close_released(fs, &g, g.fd);
		release_handled(fs, "g");
		lop_send(g.a, &x);
		cr_assert_eq(mdfs_agent_wait_exit(g.a, PROMPT_MS), 0);
		for (t0 = mdfs_now_ms(); lease_stat(fs, "leases_exited") <
		     before + k && mdfs_now_ms() - t0 < PROMPT_MS;)
			usleep(1000);
		cr_assert_eq(lease_stat(fs, "leases_exited"), before + k);
	}
	e = mdfs_agent_start(-1, -1);
	fd = LOP_OK(e, op_open(mdfs_mpath(fs, "f"), O_RDONLY));
	cr_assert_eq(lop_do(e, op_lease(fd, 0, 0)), -EAGAIN, "a lease "
		     "beside pid %d's unmediated writable open", (int)d->pid);
	snprintf(want, sizeof(want), "no: open for writing by pid %d\n",
		 (int)d->pid);
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "f"),
				     "user.mapdirect.eligible"), want);
}
