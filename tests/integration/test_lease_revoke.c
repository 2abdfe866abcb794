// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 4.3.3 and 2 (revoke=, lease_break_time=): a holder that ignores a
 * break is revoked when lease_break_time has passed: SIGBUS (revoke=signal,
 * the default: its default action kills the holder), SIGKILL (revoke=kill)
 * or nothing (revoke=none); in every case the lease is gone and the parked
 * breaker completes. lease_break_time=0 revokes at once. SIGTERM to the
 * daemon during a break ends the break as if it had timed out.
 */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (64 << 10)
/* long enough to see the breaker blocked first */
#define BREAK_MS 1000
#define BLOCKED_MS 100
#define WAIT_MS 5000

/*
 * A holder that maps the file and then ignores the break, and a breaker
 * pwrite parked behind it; returns once the breaker is seen blocked.
 */
static int ignored_break(struct mdfs_fs *fs, struct lease_holder *h,
			 struct mdfs_agent **b, struct lop *w, long long *map)
{
	int fd;

	lease_file(fs, "f", SIZE, 'a');
	lease_hold(fs, h, "f", 0, 0);
	*map = LOP_OK(h->a, op_mmap(h->fd, SIZE));
	*b = mdfs_agent_start(-1, -1);
	fd = LOP_OK(*b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	*w = op_pwrite(fd, 0, 'Z', 4096);
	lop_send(*b, w);
	lease_assert_blocked(*b, BLOCKED_MS, "pwrite");
	return fd;
}

/* The breaker completed, its bytes are in, no lease is left */
static void assert_breaker_done(struct mdfs_fs *fs, struct mdfs_agent *b,
				struct lop *w)
{
	int obs;

	cr_assert_eq(lop_recv(b, w), 4096, "parked pwrite: %s",
		     strerror((int)-w->ret));
	lease_assert_backing(fs, "f", 0, 4096, 'Z');
	lease_assert_backing(fs, "f", 4096, SIZE - 4096, 'a');
	obs = lease_obs(fs, "f");
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, WAIT_MS);
	close(obs);
}

/*
 * SPEC 4.3.3 "the remaining holders are revoked ..., counted and logged
 * with their pids": a line of the daemon's log tells of a revocation and
 * names @pid, and the file ("f", by its path in the mount).
 */
static void assert_revocation_logged(struct mdfs_fs *fs, pid_t pid)
{
	char *log, *line, *save = NULL, want[32], path[PATH_MAX + 8];
	bool found = false;
	size_t len;

	snprintf(path, sizeof(path), " on %s:", mdfs_mpath(fs, "f"));
	snprintf(want, sizeof(want), "%d", (int)pid);
	log = mdfs_read_file(fs->log, &len);
	for (line = strtok_r(log, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *p = line;

		if (!strcasestr(line, "revok") || !strstr(line, path))
			continue;
		/* the pid as a number of its own */
		while ((p = strstr(p, want))) {
			bool start = p == line ||
				     !isdigit((unsigned char)p[-1]);
			bool end = !isdigit((unsigned char)p[strlen(want)]);

			if (start && end)
				found = true;
			p += strlen(want);
		}
	}
	free(log);
	cr_assert(found, "no revocation of pid %d on %s in the daemon's log",
		  pid, mdfs_mpath(fs, "f"));
}

static void assert_killed_by(struct lease_holder *h, int sig)
{
	char how[64];
	int st = mdfs_agent_wait_exit(h->a, WAIT_MS);

	cr_assert(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == sig,
		  "revoked holder: %s, expected signal %d (%s)",
		  mdfs_describe_status(st, how, sizeof(how)), sig,
		  strsignal(sig));
}

/* revoke=signal is the default (SPEC 2) */
MDFS_LEASE_TEST(lease_revoke, default_signal_kills_holder_by_sigbus,
		"lease_break_time=1")
{
	struct lease_holder h = { 0 };
	struct mdfs_agent *b;
	long long map;
	struct lop w;

	ignored_break(fs, &h, &b, &w, &map);
	cr_assert_eq(lease_stat(fs, "leases_revoked"), 0);
	assert_killed_by(&h, SIGBUS);
	assert_breaker_done(fs, b, &w);
	cr_assert_geq(w.ms, BLOCKED_MS, "the breaker did not wait");
	/* SPEC 4.3.3 "counted and logged with their pids" */
	assert_revocation_logged(fs, h.a->pid);
	cr_assert_eq(lease_stat(fs, "leases_revoked"), 1);
}

MDFS_LEASE_TEST(lease_revoke, kill_kills_holder_by_sigkill,
		"lease_break_time=1,revoke=kill")
{
	struct lease_holder h = { 0 };
	struct mdfs_agent *b;
	long long map;
	struct lop w;

	ignored_break(fs, &h, &b, &w, &map);
	assert_killed_by(&h, SIGKILL);
	assert_breaker_done(fs, b, &w);
}

MDFS_LEASE_TEST(lease_revoke, none_leaves_holder_alone_lease_gone,
		"lease_break_time=1,revoke=none")
{
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	struct mdfs_agent *b;
	long long map;
	struct lop w;

	ignored_break(fs, &h, &b, &w, &map);
	assert_breaker_done(fs, b, &w);
	assert_revocation_logged(fs, h.a->pid);
	cr_assert_eq(lease_stat(fs, "leases_revoked"), 1);
	/* alive, untouched, its mapping still works; only the lease is gone */
	cr_assert_eq(mdfs_agent_wait_exit(h.a, 0), -1, "the holder died");
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGBUS)), 0);
	cr_assert_eq(lop_do(h.a, op_load(map, 0)), 'Z');
	lease_info(h.a, h.fd, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_NONE);
	cr_assert_eq(i.lease_id, 0);
	cr_assert_eq(lop_do(h.a, op_unlease(h.fd, 0)), -ENOENT,
		     "UNLEASE of a revoked lease");
	/* and it may lease again */
	cr_assert_geq(lop_do(h.a, op_lease(h.fd, 0, 0)), 1);
}

/* lease_break_time=0: "revoke at once"; the breaker proceeds */
MDFS_LEASE_TEST(lease_revoke, zero_break_time_revokes_at_once,
		"lease_break_time=0,revoke=signal")
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct lop w;
	int fd;

	lease_file(fs, "f", SIZE, 'a');
	lease_hold(fs, &h, "f", 0, 0);
	LOP_OK(h.a, op_mmap(h.fd, SIZE));
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'Z', 4096);
	lop_send(b, &w);
	assert_breaker_done(fs, b, &w);
	cr_assert_lt(w.ms, WAIT_MS, "the breaker waited %lld ms", w.ms);
	assert_killed_by(&h, SIGBUS);
}

/*
 * SPEC 2 "On SIGTERM/SIGINT the daemon ends every break as if it had
 * timed out, lets the parked operations run, answers every request, and
 * unmounts": the parked breaker gets its own result, the daemon exits 0.
 */
static void sigterm_body(struct mdfs_fs *fs, int sig, int revoked_by)
{
	struct lease_holder h = { 0 };
	struct mdfs_agent *b;
	long long map;
	struct lop w;
	char how[64], tail[4096];
	int st, fd;

	fd = ignored_break(fs, &h, &b, &w, &map);
	cr_assert_eq(kill(fs->pid, sig), 0);
	cr_assert_eq(lop_recv(b, &w), 4096, "parked pwrite at shutdown: %s",
		     strerror((int)-w.ret));
	/* the daemon waits (a bounded time) for the close of a file whose
	 * parked operation it answered: its FLUSH gets an answer too */
	LOP_OK(b, op_close(fd));
	st = mdfs_stop(fs, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon: %s after "
		  "signal %d; its log ends:\n%s",
		  mdfs_describe_status(st, how, sizeof(how)), sig,
		  mdfs_file_tail(fs->log, tail, sizeof(tail)));
	lease_assert_backing(fs, "f", 0, 4096, 'Z');
	cr_assert_not(mdfs_is_mounted(fs->mnt), "still mounted");
	if (revoked_by) {
		assert_killed_by(&h, revoked_by);
	} else {
		cr_assert_eq(mdfs_agent_wait_exit(h.a, 0), -1,
			     "the holder died");
		cr_assert_eq(lop_do(h.a, op_sigpending(SIGBUS)), 0);
	}
}

MDFS_LEASE_TEST(lease_revoke, sigterm_runs_parked_breaker_and_unmounts,
		"lease_break_time=5,revoke=none")
{
	sigterm_body(fs, SIGTERM, 0);
}

MDFS_LEASE_TEST(lease_revoke, sigint_runs_parked_breaker_and_unmounts,
		"lease_break_time=5,revoke=none")
{
	sigterm_body(fs, SIGINT, 0);
}

/* "as if it had timed out": the holder is revoked as at the deadline */
MDFS_LEASE_TEST(lease_revoke, sigterm_revokes_like_a_timeout,
		"lease_break_time=5,revoke=signal")
{
	sigterm_body(fs, SIGTERM, SIGBUS);
}
