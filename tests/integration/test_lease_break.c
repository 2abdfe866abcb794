// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 4.3: breakers and breaks. A holder agent takes a lease; a breaker
 * agent's operation starts a break (the file goes to "breaking", the
 * holder's fd polls POLLPRI, its signal is queued) and is parked until
 * the holders unlease, then completes with its own result. Reads and
 * mappings never break; O_NONBLOCK breakers get EAGAIN, interrupted ones
 * EINTR, and the break goes on. lease_break_time is long (5 s) here: the
 * holders end the breaks themselves, and a breaker that returns before
 * that shows it was let go, not timed out (test_lease_revoke.c times out).
 * Breakers open their files under the lease: under mediate=leased (SPEC
 * 3.1) a writer open from before would have kept the lease from being
 * granted (test_mediate.c).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (64 << 10)
#define OPTS "lease_break_time=5"
#define BREAK_MS 5000
/* "at once" / "before the deadline": well under BREAK_MS */
#define PROMPT_MS 3000
/* how long a parked breaker must still be blocked */
#define BLOCKED_MS 100

/* ------------------------------------------------------------------ */

enum bk {
	BK_WRITE, BK_PWRITE_MID, BK_PWRITE_PAST_EOF, BK_WRITEV,
	BK_FALLOC, BK_FALLOC_KEEP, BK_PUNCH, BK_FTRUNC_GROW, BK_FTRUNC_SHRINK,
	BK_FTRUNC_SAME, BK_TRUNCATE, BK_OTRUNC, BK_COPY, BK_LINK, BK_N,
};

static const char *const bk_name[BK_N] = {
	"write", "pwrite in the middle", "pwrite past EOF", "writev",
	"fallocate 0", "fallocate KEEP_SIZE", "fallocate PUNCH_HOLE",
	"ftruncate larger", "ftruncate smaller", "ftruncate same size",
	"truncate(path)", "open O_TRUNC", "copy_file_range",
	"pwrite through a hard link",
};

/* Open what breaker @k needs in @b; the op to send */
static struct lop bk_prepare(struct mdfs_fs *fs, struct mdfs_agent *b,
			     enum bk k, const char *rel)
{
	const char *p = mdfs_mpath(fs, "%s", rel);
	int fd = -1, src;

	if (k != BK_TRUNCATE && k != BK_OTRUNC)
		fd = LOP_OK(b, op_open(p, O_RDWR));
	switch (k) {
	case BK_WRITE:
		return op_write(fd, 'W', 4096);
	case BK_PWRITE_MID:
		return op_pwrite(fd, 8192, 'M', 100);
	case BK_PWRITE_PAST_EOF:
		return op_pwrite(fd, 2 * SIZE, 'E', 10);
	case BK_WRITEV:
		return op_writev(fd, 'V', 6000);
	case BK_FALLOC:
		return op_fallocate(fd, 0, 0, 2 * SIZE);
	case BK_FALLOC_KEEP:
		return op_fallocate(fd, FALLOC_FL_KEEP_SIZE, SIZE, SIZE);
	case BK_PUNCH:
		return op_fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				    FALLOC_FL_KEEP_SIZE, 0, 4096);
	case BK_FTRUNC_GROW:
		return op_ftruncate(fd, 2 * SIZE);
	case BK_FTRUNC_SHRINK:
		return op_ftruncate(fd, 4096);
	case BK_FTRUNC_SAME:
		return op_ftruncate(fd, SIZE);
	case BK_TRUNCATE:
		return op_truncate(p, 100);
	case BK_OTRUNC:
		return op_open(p, O_WRONLY | O_TRUNC);
	case BK_COPY:
		src = LOP_OK(b, op_open(mdfs_mpath(fs, "src"), O_RDONLY));
		return op_copy(src, 0, fd, 4096, 4096);
	case BK_LINK:
		/* another name of the same inode */
		LOP_OK(b, op_close(fd));
		fd = LOP_OK(b, op_open(mdfs_mpath(fs, "%s.link", rel),
				       O_WRONLY));
		return op_pwrite(fd, 0, 'L', 4096);
	default:
		break;
	}
	cr_assert_fail("breaker %d", k);
	return op_close(-1);
}

/* Check breaker @k's result and what it did to the backing file */
static void bk_check(struct mdfs_fs *fs, enum bk k, const char *rel,
		     long long r)
{
	const char *n = bk_name[k];
	off_t size = lease_backing_size(fs, rel);

	switch (k) {
	case BK_WRITE:
		cr_assert_eq(r, 4096, "%s returned %lld", n, r);
		lease_assert_backing(fs, rel, 0, 4096, 'W');
		break;
	case BK_PWRITE_MID:
		cr_assert_eq(r, 100, "%s returned %lld", n, r);
		lease_assert_backing(fs, rel, 8192, 100, 'M');
		break;
	case BK_PWRITE_PAST_EOF:
		cr_assert_eq(r, 10, "%s returned %lld", n, r);
		lease_assert_backing(fs, rel, 2 * SIZE, 10, 'E');
		cr_assert_eq(size, 2 * SIZE + 10);
		break;
	case BK_WRITEV:
		cr_assert_eq(r, 6000, "%s returned %lld", n, r);
		lease_assert_backing(fs, rel, 0, 6000, 'V');
		break;
	case BK_FALLOC:
	case BK_FTRUNC_GROW:
		cr_assert_eq(r, 0, "%s: %s", n, strerror((int)-r));
		cr_assert_eq(size, 2 * SIZE, "%s: size %lld", n,
			     (long long)size);
		lease_assert_backing(fs, rel, SIZE, SIZE, 0);
		break;
	case BK_FALLOC_KEEP:
		cr_assert_eq(r, 0, "%s: %s", n, strerror((int)-r));
		cr_assert_eq(size, SIZE);
		cr_assert_geq(mdfs_lstat(mdfs_bpath(fs, "%s", rel)).st_blocks,
			      2 * SIZE / 512, "%s allocated nothing", n);
		break;
	case BK_PUNCH:
		cr_assert_eq(r, 0, "%s: %s", n, strerror((int)-r));
		lease_assert_backing(fs, rel, 0, 4096, 0);
		lease_assert_backing(fs, rel, 4096, 4096, 'a');
		break;
	case BK_FTRUNC_SHRINK:
		cr_assert_eq(r, 0, "%s: %s", n, strerror((int)-r));
		cr_assert_eq(size, 4096);
		break;
	case BK_FTRUNC_SAME:
		cr_assert_eq(r, 0, "%s: %s", n, strerror((int)-r));
		cr_assert_eq(size, SIZE);
		break;
	case BK_TRUNCATE:
		cr_assert_eq(r, 0, "%s: %s", n, strerror((int)-r));
		cr_assert_eq(size, 100);
		break;
	case BK_OTRUNC:
		cr_assert_geq(r, 0, "%s: %s", n, strerror((int)-r));
		cr_assert_eq(size, 0);
		break;
	case BK_COPY:
		cr_assert_eq(r, 4096, "%s returned %lld", n, r);
		lease_assert_backing(fs, rel, 4096, 4096, 'C');
		lease_assert_backing(fs, rel, 0, 4096, 'a');
		break;
	case BK_LINK:
		cr_assert_eq(r, 4096, "%s returned %lld", n, r);
		lease_assert_backing(fs, rel, 0, 4096, 'L');
		break;
	default:
		break;
	}
}

/*
 * SPEC 4.3: each breaker, from an open file other than the holder's,
 * starts a break: the file is "breaking", the holder's fd polls POLLPRI,
 * the breaker is parked (nothing changed in the backing yet), and once
 * the holder unleases it completes with its own result.
 */
MDFS_LEASE_TEST(lease_break, every_breaker_starts_a_break_and_waits, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	char rel[32];

	lease_file(fs, "src", SIZE, 'C');
	for (int k = 0; k < BK_N; k++) {
		struct lop op;
		long long r;
		int obs;

		snprintf(rel, sizeof(rel), "f%d", k);
		lease_file(fs, rel, SIZE, 'a');
		cr_assert_eq(link(mdfs_bpath(fs, "%s", rel),
				  mdfs_bpath(fs, "%s.link", rel)), 0);
		obs = lease_obs(fs, rel);
		lease_hold(fs, &h, rel, 0, 0);
		op = bk_prepare(fs, b, k, rel);
		lop_send(b, &op);
		assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1,
				     PROMPT_MS);
		lease_assert_pollpri(&h, PROMPT_MS);
		lease_assert_blocked(b, BLOCKED_MS, bk_name[k]);
		/* parked: not done yet */
		cr_assert_eq(lease_backing_size(fs, rel), SIZE,
			     "%s changed the size while parked", bk_name[k]);
		lease_assert_backing(fs, rel, 0, SIZE, 'a');
		LOP_OK(h.a, op_unlease(h.fd, (unsigned long long)h.id));
		r = lop_recv(b, &op);
		cr_assert_lt(op.ms, PROMPT_MS + BLOCKED_MS, "%s took %lld ms: "
			     "it waited for the deadline, not the unlease",
			     bk_name[k], op.ms);
		bk_check(fs, k, rel, r);
		assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
		LOP_OK(h.a, op_close(h.fd));
		close(obs);
	}
}

/* SPEC 4.3 "fallocate in every mode", incl. ZERO_RANGE (ext4) */
MDFS_LEASE_TEST_EXT4(lease_break, every_fallocate_mode_breaks, OPTS)
{
	static const struct {
		int mode;
		const char *name;
	} m[] = {
		{ 0, "0" },
		{ FALLOC_FL_KEEP_SIZE, "KEEP_SIZE" },
		{ FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, "PUNCH_HOLE" },
		{ FALLOC_FL_ZERO_RANGE, "ZERO_RANGE" },
		{ FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		  "ZERO_RANGE|KEEP_SIZE" },
	};
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };

	lease_file(fs, "f", SIZE, 'a');
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		int obs = lease_obs(fs, "f");
		struct lop op;
		int fd;

		lease_hold(fs, &h, "f", 0, 0);
		/* opened under the lease: a writer of before would have
		 * kept it from being granted (SPEC 3.1, mediate=leased) */
		fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR));
		op = op_fallocate(fd, m[k].mode, 4096, 4096);
		lop_send(b, &op);
		assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1,
				     PROMPT_MS);
		lease_assert_pollpri(&h, PROMPT_MS);
		lease_assert_blocked(b, BLOCKED_MS, m[k].name);
		lease_assert_backing(fs, "f", 4096, 4096, 'a');
		LOP_OK(h.a, op_unlease(h.fd, 0));
		cr_assert_eq(lop_recv(b, &op), 0, "fallocate %s: %s",
			     m[k].name, strerror((int)-op.ret));
		if (m[k].mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			lease_assert_backing(fs, "f", 4096, 4096, 0);
		/* the file is whole again for the next lease */
		lease_file(fs, "f", SIZE, 'a');
		LOP_OK(h.a, op_close(h.fd));
		LOP_OK(b, op_close(fd));
		close(obs);
	}
}

/*
 * SPEC 4.3.1: every holder is told at once: POLLPRI (poll, epoll and
 * select), GETLEASE "breaking" with the time left, and its signal queued
 * (SI_QUEUE, sival_int = its lease id), once per break: a second breaker
 * joining the break queues nothing more.
 */
MDFS_LEASE_TEST_NOMOUNT(lease_break, holders_are_told_poll_getlease_signal)
{
	struct mdfs_agent *b1 = mdfs_agent_start(-1, -1);
	struct mdfs_agent *b2 = mdfs_agent_start(-1, -1);
	struct lease_holder h[3] = { { 0 } };
	const int sig[3] = { SIGUSR1, SIGRTMIN + 1, SIGIO };
	struct mapdirect_lease_info i;
	struct lop w, t, s, wait[3];
	int fd1, fd2, obs, k;
	__u64 left;

	lease_file(fs, "f", SIZE, 'a');
	/* -d: see the second breaker's request arrive (lease_log_wait) */
	mdfs_start(fs, (const char *const[]){ "-d", NULL }, OPTS);
	obs = lease_obs(fs, "f");
	for (k = 0; k < 3; k++)
		lease_hold(fs, &h[k], "f", 0, sig[k]);
	for (k = 0; k < 3; k++)
		lease_assert_no_pollpri(&h[k]);
	fd1 = LOP_OK(b1, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	fd2 = LOP_OK(b2, op_open(mdfs_mpath(fs, "f"), O_RDWR));

	/* the holders are waiting for it when the break starts */
	wait[0] = op_pollpri(h[0].fd, PROMPT_MS);
	wait[1] = op_epollpri(h[1].fd, PROMPT_MS);
	wait[2] = op_selectpri(h[2].fd, PROMPT_MS);
	for (k = 0; k < 3; k++)
		lop_send(h[k].a, &wait[k]);
	for (k = 0; k < 3; k++)
		lease_assert_blocked(h[k].a, k ? 0 : BLOCKED_MS,
				     "poll(POLLPRI)");
	w = op_pwrite(fd1, 0, 'B', 4096);
	lop_send(b1, &w);
	for (k = 0; k < 3; k++)
		lop_recv(h[k].a, &wait[k]);
	cr_assert(wait[0].ret > 0 && (wait[0].ret & POLLPRI), "a waiting "
		  "poll was not woken by the break: %lld", wait[0].ret);
	cr_assert(wait[1].ret > 0 && (wait[1].ret & EPOLLPRI), "a waiting "
		  "epoll_wait was not woken by the break: %lld", wait[1].ret);
	cr_assert_eq(wait[2].ret, 1, "a waiting select was not woken by the "
		     "break: %lld", wait[2].ret);
	cr_assert_lt(wait[0].ms, PROMPT_MS, "poll timed out");
	for (k = 0; k < 3; k++) {
		lease_assert_pollpri(&h[k], PROMPT_MS);
		cr_assert(lop_do(h[k].a, op_epollpri(h[k].fd, PROMPT_MS)) &
			  EPOLLPRI, "holder %d: epoll gives no EPOLLPRI", k);
		cr_assert_eq(lop_do(h[k].a, op_selectpri(h[k].fd, PROMPT_MS)),
			     1, "holder %d: select: fd not in exceptfds", k);
		s = op_sigwait(sig[k], PROMPT_MS);
		cr_assert_eq(lop_run(h[k].a, &s), sig[k], "holder %d got no "
			     "signal %d: %s", k, sig[k], strerror((int)-s.ret));
		cr_assert_eq(s.sig_code, SI_QUEUE, "holder %d: si_code %d",
			     k, s.sig_code);
		cr_assert_eq(s.sig_value, h[k].id, "holder %d: sival_int %d, "
			     "its lease is %lld", k, s.sig_value, h[k].id);
		lease_info(h[k].a, h[k].fd, &i);
		cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING);
		cr_assert_eq(i.lease_id, (__u64)h[k].id);
		cr_assert(i.ms_left > 0 && i.ms_left <= BREAK_MS,
			  "holder %d: ms_left %llu in a %d ms break", k,
			  (unsigned long long)i.ms_left, BREAK_MS);
	}
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING);
	cr_assert_eq(i.holders, 3);
	cr_assert_eq(i.lease_id, 0);
	cr_assert(i.ms_left > 0 && i.ms_left <= BREAK_MS, "ms_left %llu",
		  (unsigned long long)i.ms_left);
	left = i.ms_left;
	lease_assert_blocked(b1, BLOCKED_MS, "pwrite");

	/*
	 * A second breaker joins the same break: no second signal. (A
	 * pwrite inside the file: the kernel lets it in beside the first;
	 * ftruncate or an extending write would wait for the inode lock.)
	 */
	t = op_pwrite(fd2, 8192, 'b', 4096);
	lop_send(b2, &t);
	lease_log_wait(fs, "WRITE", b2->pid, 1, PROMPT_MS);
	lease_assert_blocked(b2, BLOCKED_MS, "second pwrite");
	for (k = 0; k < 3; k++) {
		cr_assert_eq(lop_do(h[k].a, op_sigpending(sig[k])), 0,
			     "holder %d: a second signal in one break", k);
		lease_assert_pollpri(&h[k], 0);
	}
	/* joining the break did not restart its clock */
	lease_info(NULL, obs, &i);
	cr_assert_leq(i.ms_left, left, "ms_left went from %llu to %llu when "
		      "a second breaker joined", (unsigned long long)left,
		      (unsigned long long)i.ms_left);
	/* a break ends when all holders released, not one */
	LOP_OK(h[0].a, op_unlease(h[0].fd, 0));
	LOP_OK(h[1].a, op_unlease(h[1].fd, 0));
	lease_assert_blocked(b1, BLOCKED_MS, "pwrite with one holder left");
	lease_assert_blocked(b2, BLOCKED_MS,
			     "second pwrite with one holder left");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING);
	cr_assert_eq(i.holders, 1);
	LOP_OK(h[2].a, op_unlease(h[2].fd, 0));
	cr_assert_eq(lop_recv(b1, &w), 4096, "pwrite: %s",
		     strerror((int)-w.ret));
	cr_assert_eq(lop_recv(b2, &t), 4096, "second pwrite: %s",
		     strerror((int)-t.ret));
	cr_assert_lt(w.ms, PROMPT_MS + 3 * BLOCKED_MS, "pwrite took %lld ms",
		     w.ms);
	lease_assert_backing(fs, "f", 0, 4096, 'B');
	lease_assert_backing(fs, "f", 4096, 4096, 'a');
	lease_assert_backing(fs, "f", 8192, 4096, 'b');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	/* the signal came once: nothing more is pending */
	for (k = 0; k < 3; k++)
		cr_assert_eq(lop_do(h[k].a, op_sigpending(sig[k])), 0);
	close(obs);
}

/*
 * SPEC 4.3: a break is the file's: a holder's lease on another file is
 * not broken, and that holder is not told (but told of its broken one).
 */
MDFS_LEASE_TEST(lease_break, a_break_is_per_file, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder hf = { 0 }, hg = { 0 };
	struct mapdirect_lease_info i;
	struct lop w, s;
	int obs_g, fd;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "g", SIZE, 'b');
	obs_g = lease_obs(fs, "g");
	lease_hold(fs, &hf, "f", 0, SIGUSR1);
	/* the same process holds g: a second lease of its own */
	hg.a = hf.a;
	lease_hold(fs, &hg, "g", 0, SIGUSR2);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	w = op_pwrite(fd, 0, 'x', 4096);
	lop_send(b, &w);
	lease_assert_pollpri(&hf, PROMPT_MS);
	s = op_sigwait(SIGUSR1, PROMPT_MS);
	cr_assert_eq(lop_run(hf.a, &s), SIGUSR1);
	cr_assert_eq(s.sig_value, hf.id);
	lease_info(NULL, obs_g, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "the other file's lease "
		     "is %u", i.state);
	lease_assert_no_pollpri(&hg);
	cr_assert_eq(lop_do(hg.a, op_sigpending(SIGUSR2)), 0,
		     "the other file's signal came");
	LOP_OK(hf.a, op_unlease(hf.fd, 0));
	cr_assert_eq(lop_recv(b, &w), 4096);
	lease_info(hg.a, hg.fd, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.lease_id, (__u64)hg.id);
	close(obs_g);
}

/* ------------------------------------------------------------------ */
/* the signal goes to the thread that took the lease (SPEC 4.3.1)      */

struct thread_lease {
	char path[256];
	int sig;
	bool exit_thread;	/* the thread ends once it has the lease */
	/* out */
	long long id;
	int tid;
	int err;
};

static int tl_pipe[2] = { -1, -1 };
static pthread_t tl_thread;

static void *tl_main(void *arg)
{
	struct thread_lease *tl = arg;
	struct mapdirect_lease l = { .size = sizeof(l) };
	char c;
	int fd;

	tl->tid = (int)syscall(SYS_gettid);
	fd = open(tl->path, O_RDWR | O_CLOEXEC);
	l.signal = (__u32)tl->sig;
	if (fd < 0 || ioctl(fd, MAPDIRECT_IOC_LEASE, &l)) {
		tl->err = errno;
		return NULL;
	}
	tl->id = (long long)l.lease_id;
	if (tl->exit_thread)
		return NULL;
	/* stay until told: the fd stays open with the process anyway */
	while (read(tl_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Agent: block @sig in every thread, take the lease in a new thread */
static long tl_start(void *buf)
{
	/* a copy the thread may keep using */
	static struct thread_lease copy;
	struct thread_lease *tl = buf;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, tl->sig);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || pipe(tl_pipe))
		return -1;
	copy = *tl;
	if ((errno = pthread_create(&tl_thread, NULL, tl_main, &copy)))
		return -1;
	if (copy.exit_thread) {
		pthread_join(tl_thread, NULL);
	} else {
		/* until it has the lease */
		while (!__atomic_load_n(&copy.id, __ATOMIC_SEQ_CST) &&
		       !__atomic_load_n(&copy.err, __ATOMIC_SEQ_CST))
			poll(NULL, 0, 1);
	}
	*tl = copy;
	errno = tl->err;
	return tl->err ? -1 : 0;
}

/* Bit of @sig in the "@key:" line of /proc/self/task/@tid/status */
static int sig_bit(int tid, const char *key, int sig)
{
	char path[64], line[256];
	unsigned long long v = 0;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = strtoull(line + klen + 1, NULL, 16);
	fclose(f);
	return (int)((v >> (sig - 1)) & 1);
}

struct where {
	int tid, sig;
	/* out */
	int thread, shared;
};

/*
 * Agent: wait (up to 10 s) until @sig is pending on thread @tid or on the
 * process; say which. A thread-directed signal is only in the thread's
 * SigPnd, a process-directed one in ShdPnd.
 */
static long where_pending(void *buf)
{
	struct where *w = buf;
	long long end = mdfs_now_ms() + 10000;

	do {
		w->thread = w->tid ? sig_bit(w->tid, "SigPnd", w->sig) : 0;
		w->shared = sig_bit(getpid(), "ShdPnd", w->sig);
		if (w->thread > 0 || w->shared > 0)
			return 0;
		poll(NULL, 0, 5);
	} while (mdfs_now_ms() < end);
	return -1;
}

static void signal_target_body(struct mdfs_fs *fs, bool exit_thread)
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct thread_lease tl = { .sig = SIGUSR1 };
	struct where w = { .sig = SIGUSR1 };
	struct lop op, s;
	int fd, err = 0;

	lease_file(fs, "f", SIZE, 'a');
	snprintf(tl.path, sizeof(tl.path), "%s", mdfs_mpath(fs, "f"));
	tl.exit_thread = exit_thread;
	cr_assert_eq(mdfs_agent_call(h, tl_start, &tl, sizeof(tl), &err), 0,
		     "lease in a thread: %s", strerror(err));
	cr_assert_neq(tl.tid, h->pid, "the thread is the main thread");
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
	op = op_pwrite(fd, 0, 'T', 10);
	lop_send(b, &op);
	w.tid = exit_thread ? 0 : tl.tid;
	cr_assert_eq(mdfs_agent_call(h, where_pending, &w, sizeof(w), NULL),
		     0, "no signal %d pending in the holder", w.sig);
	if (exit_thread) {
		cr_assert_eq(w.shared, 1, "the signal did not come to the "
			     "process once the thread was gone");
	} else {
		cr_assert_eq(w.thread, 1, "the signal is not pending on "
			     "the thread that took the lease");
		cr_assert_eq(w.shared, 0, "the signal was sent to the "
			     "process, not to the thread");
	}
	if (exit_thread) {
		/* the main thread takes it, with the lease id */
		s = op_sigwait(SIGUSR1, PROMPT_MS);
		cr_assert_eq(lop_run(h, &s), SIGUSR1);
		cr_assert_eq(s.sig_code, SI_QUEUE);
		cr_assert_eq(s.sig_value, tl.id);
	}
	/* end it: the holder process exits */
	mdfs_agent_kill(h, SIGKILL);
	cr_assert_eq(lop_recv(b, &op), 10, "pwrite: %s",
		     strerror((int)-op.ret));
}

/* breaks of 15 s: under ASan the revocation's SIGBUS came before it (CI) */
MDFS_LEASE_TEST(lease_break, signal_goes_to_the_thread_that_leased,
		"lease_break_time=15")
{
	signal_target_body(fs, false);
}

MDFS_LEASE_TEST(lease_break, signal_goes_to_the_process_once_thread_gone,
		"lease_break_time=15")
{
	signal_target_body(fs, true);
}

/* ------------------------------------------------------------------ */

/*
 * SPEC 4.3 "Reads never break" (nor do mappings, loads and stores through
 * them, or opens without O_TRUNC): after all of them the lease is held,
 * not breaking, and its holder was not told anything.
 */
MDFS_LEASE_TEST(lease_break, reads_and_mappings_never_break, OPTS)
{
	struct mdfs_agent *r = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	long long map, got;
	struct lop rd;
	int fd, obs, out;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "g", SIZE, 'g');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, SIGUSR1);
	/* the holder maps it too */
	map = LOP_OK(h.a, op_mmap(h.fd, SIZE));

	fd = LOP_OK(r, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	rd = op_pread(fd, 100, 4096);
	cr_assert_eq(lop_run(r, &rd), 4096, "pread: %s",
		     strerror((int)-rd.ret));
	cr_assert_eq(rd.byte, 'a');
	LOP_OK(r, op_close(lop_do(r, op_open(mdfs_mpath(fs, "f"),
					      O_RDONLY))));
	got = LOP_OK(r, op_mmap(fd, SIZE));
	cr_assert_eq(lop_do(r, op_load(got, 5000)), 'a');
	LOP_OK(r, op_store(got, 5000, 's'));
	LOP_OK(h.a, op_store(map, 6000, 'h'));
	cr_assert_eq(lop_do(h.a, op_load(map, 5000)), 's',
		     "the holder's mapping does not see the other's store");
	LOP_OK(r, op_munmap(got, SIZE));
	/* copy_file_range out of the leased file reads it */
	out = LOP_OK(r, op_open(mdfs_mpath(fs, "g"), O_RDWR));
	cr_assert_eq(lop_do(r, op_copy(fd, 0, out, 0, 4096)), 4096,
		     "copy_file_range out of the leased file");
	LOP_OK(r, op_close(out));
	LOP_OK(r, op_close(fd));

	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "state %u after reads "
		     "and mappings", i.state);
	cr_assert_eq(i.holders, 1);
	lease_assert_no_pollpri(&h);
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGUSR1)), 0,
		     "the holder got its break signal");
	/* the stores are in the backing file */
	lease_assert_backing(fs, "f", 5000, 1, 's');
	lease_assert_backing(fs, "f", 6000, 1, 'h');
	lease_assert_backing(fs, "g", 0, 4096, 'a');
	close(obs);
}

/*
 * SPEC 4.3 "A holder's I/O through its own leased open file does not
 * break its own lease, but does break the others'".
 */
MDFS_LEASE_TEST(lease_break, own_io_does_not_break_own_lease_but_others, OPTS)
{
	struct lease_holder h = { 0 }, o = { 0 };
	struct mapdirect_lease_info i;
	struct lop w;
	int obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, SIGUSR1);
	w = op_pwrite(h.fd, 0, 'o', 4096);
	cr_assert_eq(lop_run(h.a, &w), 4096, "own pwrite: %s",
		     strerror((int)-w.ret));
	cr_assert_lt(w.ms, PROMPT_MS, "own pwrite waited %lld ms", w.ms);
	/* (nothing that leaves a hole: the other holder must be granted) */
	cr_assert_eq(lop_do(h.a, op_pwrite(h.fd, SIZE, 'p', SIZE)), SIZE,
		     "own pwrite at EOF");
	cr_assert_eq(lop_do(h.a, op_ftruncate(h.fd, 2 * SIZE)), 0,
		     "own ftruncate");
	cr_assert_eq(lop_do(h.a, op_fallocate(h.fd, FALLOC_FL_KEEP_SIZE, 0,
					      SIZE)), 0, "own fallocate");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "own I/O broke the lease");
	cr_assert_eq(i.holders, 1);
	lease_assert_no_pollpri(&h);
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGUSR1)), 0);
	lease_assert_backing(fs, "f", 0, 4096, 'o');
	cr_assert_eq(lease_backing_size(fs, "f"), 2 * SIZE);

	/* another holder */
	lease_hold(fs, &o, "f", 0, 0);
	if (!mdfs_mediate_all(fs)) {
		long long nw = lease_stat(fs, "requests_write");

		/*
		 * SPEC 6: h.fd was opened before any lease existed, so under
		 * mediate=leased it is unmediated (SPEC 3.1): its write goes
		 * straight to the backing and breaks nobody's lease.
		 */
		w = op_pwrite(h.fd, 0, 'u', 4096);
		cr_assert_eq(lop_run(h.a, &w), 4096, "pwrite: %s",
			     strerror((int)-w.ret));
		cr_assert_lt(w.ms, PROMPT_MS, "pwrite waited %lld ms", w.ms);
		lease_assert_backing(fs, "f", 0, 4096, 'u');
		cr_assert_eq(lease_stat(fs, "requests_write"), nw,
			     "a write through an unmediated open file "
			     "reached the daemon");
		lease_info(NULL, obs, &i);
		cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "state %u after "
			     "a holder's unmediated write", i.state);
		cr_assert_eq(i.holders, 2);
		lease_assert_no_pollpri(&o);
		/*
		 * A leased open file made while the file has a lease is
		 * mediated: through it, SPEC 4.3 holds as in mediate=all.
		 * Closing h.fd ends its lease (nothing maps the file, SPEC
		 * 4.2) without leaving h an unmediated writer beside o's
		 * lease (an unlease first would: that breaks o, see
		 * test_mediate.c).
		 */
		LOP_OK(h.a, op_close(h.fd));
		h.fd = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
		h.id = LOP_OK(h.a, op_lease(h.fd, 0, SIGUSR1));
	}
	/* the first one's own write through its leased fd breaks the other */
	w = op_pwrite(h.fd, 0, 'x', 4096);
	lop_send(h.a, &w);
	lease_assert_pollpri(&o, PROMPT_MS);
	lease_assert_blocked(h.a, BLOCKED_MS, "the holder's own pwrite");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING);
	LOP_OK(o.a, op_unlease(o.fd, 0));
	cr_assert_eq(lop_recv(h.a, &w), 4096, "pwrite: %s",
		     strerror((int)-w.ret));
	lease_assert_backing(fs, "f", 0, 4096, 'x');
	/* and its own lease is still there, not breaking */
	lease_info(h.a, h.fd, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.holders, 1);
	cr_assert_eq(i.lease_id, (__u64)h.id);
	lease_assert_no_pollpri(&h);
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGUSR1)), 0);
	close(obs);
}

struct other_fd {
	int leased, other;
	/* out */
	int revents;		/* of the leased fd, during the write */
	long long written;	/* by the write through the other fd */
	long long write_ms;
};

static struct other_fd *of_arg;

static void *of_writer(void *arg)
{
	struct lop w = op_pwrite(of_arg->other, 0, 'z', 4096);

	lop_run(NULL, &w);
	of_arg->written = w.ret;
	of_arg->write_ms = w.ms;
	return NULL;
}

/*
 * Agent: a thread writes through another open file of the leased file
 * while the main thread waits for POLLPRI on the leased fd, then
 * unleases.
 */
static long write_other_fd(void *buf)
{
	struct mapdirect_unlease u = { .size = sizeof(u) };
	struct pollfd p;
	pthread_t t;

	of_arg = buf;
	if ((errno = pthread_create(&t, NULL, of_writer, NULL)))
		return -1;
	p = (struct pollfd){ .fd = of_arg->leased, .events = POLLPRI };
	of_arg->revents = poll(&p, 1, PROMPT_MS) > 0 ? p.revents : 0;
	ioctl(of_arg->leased, MAPDIRECT_IOC_UNLEASE, &u);
	pthread_join(t, NULL);
	return 0;
}

/*
 * SPEC 4.3 "from any open file other than the holder's own leased one":
 * the holder's own write through another of its open files breaks its
 * own lease.
 */
MDFS_LEASE_TEST(lease_break, holders_other_open_file_breaks_its_lease, OPTS)
{
	struct lease_holder h = { 0 };
	struct other_fd of;

	lease_file(fs, "f", SIZE, 'a');
	lease_hold(fs, &h, "f", 0, 0);
	memset(&of, 0, sizeof(of));
	of.leased = h.fd;
	of.other = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	mdfs_agent_call(h.a, write_other_fd, &of, sizeof(of), NULL);
	cr_assert(of.revents & POLLPRI, "the write through the holder's "
		  "other open file did not break its lease (revents 0x%x)",
		  of.revents);
	cr_assert_eq(of.written, 4096, "pwrite: %s",
		     strerror((int)-of.written));
	cr_assert_lt(of.write_ms, PROMPT_MS + BLOCKED_MS);
	lease_assert_backing(fs, "f", 0, 4096, 'z');
}

/*
 * SPEC 3.1 with 4.1 and 4.3: a file opened for writing before the lease
 * was asked for. Under mediate=all ("every writable open is mediated")
 * its writes go through the daemon, so the lease is granted and the
 * writer's next write breaks it like any other. Under mediate=leased that
 * open file is unmediated: the lease is refused with EAGAIN while it is
 * open (eligible names the writer), granted once it is closed, and the
 * writer's next open, made under the lease, is mediated and breaks it.
 */
MDFS_LEASE_TEST(lease_break, writer_opened_before_lease_breaks_or_blocks_it,
		OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct lop w;
	int fd;

	lease_file(fs, "f", SIZE, 'a');
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	if (mdfs_mediate_all(fs)) {
		lease_hold(fs, &h, "f", 0, 0);
	} else {
		lease_assert_eligible_writer(fs, "f", b->pid);
		h.a = mdfs_agent_start(-1, -1);
		h.fd = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
		cr_assert_eq(lop_do(h.a, op_lease(h.fd, 0, 0)), -EAGAIN,
			     "LEASE while another process has the file open "
			     "for writing, unmediated");
		LOP_OK(b, op_close(fd));
		h.id = lease_retry(h.a, h.fd, 0, 0, PROMPT_MS);
		cr_assert_geq(h.id, 1, "LEASE once the writer closed: %s",
			      strerror((int)-h.id));
		cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "f"),
					     "user.mapdirect.eligible"),
				 "yes\n");
		fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	}
	w = op_pwrite(fd, 0, 'e', 4096);
	lop_send(b, &w);
	lease_assert_pollpri(&h, PROMPT_MS);
	lease_assert_blocked(b, BLOCKED_MS, "the writer's pwrite");
	lease_assert_backing(fs, "f", 0, SIZE, 'a');
	LOP_OK(h.a, op_unlease(h.fd, 0));
	cr_assert_eq(lop_recv(b, &w), 4096);
	lease_assert_backing(fs, "f", 0, 4096, 'e');
}

/*
 * SPEC 4.3.2 "The breaking operation waits — parked, no daemon thread
 * blocked": a single-threaded daemon (-s) with breakers parked still
 * serves everything else: reads, opens, GETLEASE, a new file, the
 * UNLEASE that ends the break.
 */
MDFS_LEASE_TEST_NOMOUNT(lease_break, parked_breakers_block_no_daemon_thread)
{
	struct mdfs_agent *b[3], *r;
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	struct lop w[3], rd;
	int k, fd, obs;

	lease_file(fs, "f", SIZE, 'a');
	mdfs_start(fs, (const char *const[]){ "-s", NULL }, OPTS);
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	for (k = 0; k < 3; k++) {
		b[k] = mdfs_agent_start(-1, -1);
		fd = LOP_OK(b[k], op_open(mdfs_mpath(fs, "f"), O_RDWR));
		w[k] = op_pwrite(fd, 4096 * k, '1' + k, 4096);
		lop_send(b[k], &w[k]);
	}
	lease_assert_pollpri(&h, PROMPT_MS);
	for (k = 0; k < 3; k++)
		lease_assert_blocked(b[k], k ? 0 : BLOCKED_MS, "pwrite");
	r = mdfs_agent_start(-1, -1);
	fd = LOP_OK(r, op_open(mdfs_mpath(fs, "f"), O_RDONLY));
	rd = op_pread(fd, 0, SIZE);
	cr_assert_eq(lop_run(r, &rd), SIZE, "read with breakers parked in a "
		     "single-threaded daemon: %s", strerror((int)-rd.ret));
	lease_info(r, fd, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING);
	fd = LOP_OK(r, op_open(mdfs_mpath(fs, "new"), O_RDWR | O_CREAT));
	cr_assert_eq(lop_do(r, op_pwrite(fd, 0, 'n', 100)), 100);
	LOP_OK(h.a, op_unlease(h.fd, 0));
	for (k = 0; k < 3; k++)
		cr_assert_eq(lop_recv(b[k], &w[k]), 4096);
	for (k = 0; k < 3; k++)
		lease_assert_backing(fs, "f", 4096 * k, 4096, '1' + k);
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}

/* ------------------------------------------------------------------ */

enum nb { NB_OPEN_FLAG, NB_SETFL, NB_FTRUNCATE, NB_FALLOCATE, NB_OTRUNC,
	  NB_COPY, NB_N };

static const char *const nb_name[NB_N] = {
	"pwrite (O_NONBLOCK open)", "pwrite (F_SETFL O_NONBLOCK)",
	"ftruncate (O_NONBLOCK open)", "fallocate (O_NONBLOCK open)",
	"open O_TRUNC|O_NONBLOCK", "copy_file_range to an O_NONBLOCK file",
};

/*
 * SPEC 4.3.2 "A breaker whose file is O_NONBLOCK gets EWOULDBLOCK at once
 * and the break goes on": the holder is told, the file stays breaking,
 * nothing is changed.
 */
MDFS_LEASE_TEST(lease_break, nonblocking_breaker_eagain_break_goes_on, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	const char *p = mdfs_mpath(fs, "f");
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	int obs, src;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "src", SIZE, 'C');
	obs = lease_obs(fs, "f");
	src = LOP_OK(b, op_open(mdfs_mpath(fs, "src"), O_RDONLY));
	for (int k = 0; k < NB_N; k++) {
		struct lop op;
		int fd = -1;

		lease_hold(fs, &h, "f", 0, 0);
		switch (k) {
		case NB_OPEN_FLAG:
			fd = LOP_OK(b, op_open(p, O_RDWR | O_NONBLOCK));
			op = op_pwrite(fd, 0, 'N', 4096);
			break;
		case NB_SETFL:
			fd = LOP_OK(b, op_open(p, O_RDWR));
			LOP_OK(b, op_setfl(fd, O_NONBLOCK));
			op = op_pwrite(fd, 0, 'N', 4096);
			break;
		case NB_FTRUNCATE:
			fd = LOP_OK(b, op_open(p, O_RDWR | O_NONBLOCK));
			op = op_ftruncate(fd, 4096);
			break;
		case NB_FALLOCATE:
			fd = LOP_OK(b, op_open(p, O_RDWR | O_NONBLOCK));
			op = op_fallocate(fd, 0, 0, 2 * SIZE);
			break;
		case NB_OTRUNC:
			op = op_open(p, O_WRONLY | O_TRUNC | O_NONBLOCK);
			break;
		default:
			fd = LOP_OK(b, op_open(p, O_RDWR | O_NONBLOCK));
			op = op_copy(src, 0, fd, 0, 4096);
			break;
		}
		cr_assert_eq(lop_run(b, &op), -EAGAIN, "%s: %s, expected "
			     "EAGAIN", nb_name[k], strerror((int)-op.ret));
		cr_assert_lt(op.ms, PROMPT_MS, "%s took %lld ms", nb_name[k],
			     op.ms);
		lease_info(NULL, obs, &i);
		cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING, "%s: the "
			     "break did not go on (state %u)", nb_name[k],
			     i.state);
		lease_assert_pollpri(&h, PROMPT_MS);
		cr_assert_eq(lease_backing_size(fs, "f"), SIZE, "%s changed "
			     "the size", nb_name[k]);
		lease_assert_backing(fs, "f", 0, SIZE, 'a');
		LOP_OK(h.a, op_unlease(h.fd, 0));
		LOP_OK(h.a, op_close(h.fd));
		assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
		if (fd >= 0)
			LOP_OK(b, op_close(fd));
	}
	close(obs);
}

/*
 * SPEC 4.3.1: every holder is told, also when a break start has more of
 * them than a worker thread tells itself (it hands long lists to the
 * engine thread): 40 leases through 40 open files, a thread asleep in
 * poll(POLLPRI) on each before the break, one O_NONBLOCK breaker answered
 * EAGAIN. A poll that times out rescans and would see POLLPRI anyway, so
 * each thread must be woken long before its timeout: by its notification.
 */
#define MANY_HOLDERS 40
#define MANY_POLL_MS 12000	/* < the break time: no revocation */

struct poller {
	pthread_t thread;
	pid_t tid;
	int fd;
	int revents;
	long long woke_ms;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLPRI };

	__atomic_store_n(&p->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (poll(&pfd, 1, MANY_POLL_MS) > 0)
		p->revents = pfd.revents;
	p->woke_ms = mdfs_now_ms();
	return NULL;
}

/* @tid sleeps in poll(), past the daemon's answer to its FUSE_POLL */
static bool asleep_in_poll(pid_t tid)
{
	char path[64], wchan[128] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(wchan, sizeof(wchan), f))
		wchan[0] = 0;
	fclose(f);
	return !strncmp(wchan, "poll_schedule_timeout", 21);
}

MDFS_LEASE_TEST(lease_break, many_holders_all_told, "lease_break_time=20")
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_unlease u = { .size = sizeof(u) };
	static struct poller pl[MANY_HOLDERS];
	long long t0, deadline;
	int obs, fd, k;
	struct lop op;

	memset(pl, 0, sizeof(pl));
	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	for (k = 0; k < MANY_HOLDERS; k++) {
		pl[k].fd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
		cr_assert_geq(pl[k].fd, 0);
		cr_assert_eq(ioctl(pl[k].fd, MAPDIRECT_IOC_LEASE, &l), 0,
			     "lease %d: %s", k, strerror(errno));
		cr_assert_eq(pthread_create(&pl[k].thread, NULL, poller_main,
					    &pl[k]), 0);
	}
	deadline = mdfs_now_ms() + PROMPT_MS;
	for (k = 0; k < MANY_HOLDERS && mdfs_now_ms() < deadline;) {
		pid_t tid = __atomic_load_n(&pl[k].tid, __ATOMIC_ACQUIRE);

		if (tid && asleep_in_poll(tid))
			k++;
		else
			usleep(1000);
	}
	cr_assert_eq(k, MANY_HOLDERS, "only %d poller threads asleep in "
		     "poll() after %d ms", k, PROMPT_MS);

	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR | O_NONBLOCK));
	op = op_pwrite(fd, 0, 'N', 4096);
	t0 = mdfs_now_ms();
	cr_assert_eq(lop_run(b, &op), -EAGAIN, "pwrite: %s, expected EAGAIN",
		     strerror((int)-op.ret));
	for (k = 0; k < MANY_HOLDERS; k++) {
		pthread_join(pl[k].thread, NULL);
		cr_assert(pl[k].revents & POLLPRI, "holder %d: poll revents "
			  "%#x, expected POLLPRI", k, pl[k].revents);
		cr_assert_lt(pl[k].woke_ms - t0, MANY_POLL_MS / 2, "holder %d "
			     "was not woken: its poll() timed out", k);
	}
	lease_assert_backing(fs, "f", 0, SIZE, 'a');
	for (k = 0; k < MANY_HOLDERS; k++) {
		cr_assert_eq(ioctl(pl[k].fd, MAPDIRECT_IOC_UNLEASE, &u), 0,
			     "unlease %d: %s", k, strerror(errno));
		close(pl[k].fd);
	}
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	LOP_OK(b, op_close(fd));
	close(obs);
}

/*
 * SPEC 4.3.2 "A breaker interrupted by a signal gets EINTR and the break
 * goes on"; the interrupted operation never runs. Over both transports
 * (io_uring needs the daemon to notice the pending signal itself).
 */
MDFS_LEASE_TEST(lease_break, interrupted_breaker_eintr_break_goes_on, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	int obs, fd[3];

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	LOP_OK(b, op_sighandler(SIGUSR2));
	for (int k = 0; k < 3; k++) {
		static const char *const what[] = { "pwrite", "ftruncate",
						    "fallocate" };
		struct lop op;

		lease_hold(fs, &h, "f", 0, 0);
		/* opened under the lease (SPEC 3.1: else no lease) */
		fd[k] = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR));
		op = k == 0 ? op_pwrite(fd[k], 0, 'I', 4096) :
		     k == 1 ? op_ftruncate(fd[k], 4096) :
			      op_fallocate(fd[k], 0, 0, 2 * SIZE);
		lop_send(b, &op);
		assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1,
				     PROMPT_MS);
		lease_assert_blocked(b, BLOCKED_MS, what[k]);
		mdfs_agent_kill(b, SIGUSR2);
		cr_assert_eq(lop_recv(b, &op), -EINTR, "interrupted %s: %s, "
			     "expected EINTR", what[k],
			     strerror((int)-op.ret));
		cr_assert_lt(op.ms, BREAK_MS, "interrupted %s returned after "
			     "%lld ms: at the deadline", what[k], op.ms);
		/* the break goes on */
		lease_info(NULL, obs, &i);
		cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING, "after EINTR: "
			     "state %u", i.state);
		lease_assert_pollpri(&h, PROMPT_MS);
		LOP_OK(h.a, op_unlease(h.fd, 0));
		LOP_OK(h.a, op_close(h.fd));
		assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
		/* it was cancelled, not run late */
		cr_assert_eq(lease_backing_size(fs, "f"), SIZE, "interrupted "
			     "%s ran anyway", what[k]);
		lease_assert_backing(fs, "f", 0, SIZE, 'a');
	}
	/* the agent's files still work */
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(lop_do(b, op_pwrite(fd[k], 10 * k, 'J' + k, 10)),
			     10, "pwrite after an interrupted break");
		lease_assert_backing(fs, "f", 10 * k, 10, 'J' + k);
		LOP_OK(b, op_close(fd[k]));
	}
	close(obs);
	/* nothing of the cancelled requests is left behind */
	lease_stop_clean(fs);
}

/*
 * SPEC 4.3.2, the fatal case of "interrupted by a signal": a parked
 * breaker killed by SIGKILL dies long before the deadline (the kernel
 * waits for the daemon's answer first), its operation never runs, and the
 * break goes on.
 */
MDFS_LEASE_TEST(lease_break, killed_breaker_dies_break_goes_on, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	long long t0;
	struct lop w;
	int obs, fd, st;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	w = op_pwrite(fd, 0, 'k', 4096);
	lop_send(b, &w);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, PROMPT_MS);
	lease_assert_blocked(b, BLOCKED_MS, "pwrite");
	t0 = mdfs_now_ms();
	mdfs_agent_kill(b, SIGKILL);
	st = mdfs_agent_wait_exit(b, PROMPT_MS);
	cr_assert_neq(st, -1, "a parked breaker killed by SIGKILL is still "
		      "there after %d ms", PROMPT_MS);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	cr_assert_lt(mdfs_now_ms() - t0, BREAK_MS);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_BREAKING, "the break ended "
		     "with the breaker (state %u)", i.state);
	lease_assert_pollpri(&h, PROMPT_MS);
	LOP_OK(h.a, op_unlease(h.fd, 0));
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	lease_assert_backing(fs, "f", 0, SIZE, 'a');
	close(obs);
}

/*
 * SPEC 4.3.4 "During a break new leases fail with EAGAIN; reads and mmaps
 * proceed"; SPEC 4.1 EAGAIN "a break is in progress on the file".
 */
MDFS_LEASE_TEST(lease_break, during_break_leases_eagain_reads_proceed, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct mdfs_agent *c = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	struct lop w, rd;
	long long map;
	int obs, fd, cfd, hfd2;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	fd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	w = op_pwrite(fd, 0, 'w', 4096);
	lop_send(b, &w);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, PROMPT_MS);

	cfd = LOP_OK(c, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(c, op_lease(cfd, 0, 0)), -EAGAIN,
		     "LEASE during a break");
	cr_assert_eq(lop_do(c, op_lease(cfd, MAPDIRECT_LEASE_ALLOCATE, 0)),
		     -EAGAIN, "LEASE ALLOCATE during a break");
	cr_assert_eq(lop_do(c, op_lease(cfd, MAPDIRECT_LEASE_EXCLUSIVE, 0)),
		     -EAGAIN, "LEASE EXCLUSIVE during a break");
	hfd2 = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(h.a, op_lease(hfd2, 0, 0)), -EAGAIN,
		     "the holder's LEASE on a new open file during a break");
	rd = op_pread(cfd, 0, SIZE);
	cr_assert_eq(lop_run(c, &rd), SIZE, "pread during a break: %s",
		     strerror((int)-rd.ret));
	cr_assert_eq(rd.byte, 'a');
	map = LOP_OK(c, op_mmap(cfd, SIZE));
	cr_assert_eq(lop_do(c, op_load(map, SIZE - 1)), 'a');
	LOP_OK(c, op_munmap(map, SIZE));
	lease_assert_blocked(b, 0, "pwrite");

	LOP_OK(h.a, op_unlease(h.fd, 0));
	cr_assert_eq(lop_recv(b, &w), 4096);
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	/* after the break, leases are granted again */
	if (mdfs_mediate_all(fs)) {
		cr_assert_geq(lop_do(c, op_lease(cfd, 0, 0)), 1, "LEASE after "
			      "the break ended");
	} else {
		/*
		 * SPEC 3.1: unless a process that holds no lease has the file
		 * open for writing, unmediated: here the former holder, whose
		 * fd was opened before its lease.
		 */
		cr_assert_eq(lop_do(c, op_lease(cfd, 0, 0)), -EAGAIN, "LEASE "
			     "beside the former holder's unmediated fd");
		lease_assert_eligible_writer(fs, "f", h.a->pid);
		LOP_OK(h.a, op_close(h.fd));
		cr_assert_geq(lease_retry(c, cfd, 0, 0, PROMPT_MS), 1,
			      "LEASE after the break ended and the former "
			      "holder closed its fd");
	}
	close(obs);
}

/* ------------------------------------------------------------------ */

/*
 * SPEC 4.3.3 "parked operations run in arrival order, each exactly once,
 * and return their own result". Three pwrites at one offset, each shorter
 * than the one before: in order and once, the file ends as a staircase
 * (3 over 2 over 1); another order, or one of the first two run again
 * later, shows. The daemon runs with -d so that the test sees each
 * request arrive before it sends the next. (Only writes inside the file
 * can be parked side by side: the kernel holds the inode lock across
 * truncate, fallocate and extending or O_APPEND writes, so those queue
 * in the kernel, not in the daemon.)
 */
MDFS_LEASE_TEST_NOMOUNT(lease_break, parked_breakers_run_in_order_once)
{
	static const size_t len[3] = { 3000, 2000, 1000 };
	struct mdfs_agent *w[3];
	struct lease_holder h = { 0 };
	struct lop op[3];
	int k, fd, obs;

	lease_file(fs, "f", SIZE, 'a');
	mdfs_start(fs, (const char *const[]){ "-d", NULL }, OPTS);
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	for (k = 0; k < 3; k++) {
		w[k] = mdfs_agent_start(-1, -1);
		fd = LOP_OK(w[k], op_open(mdfs_mpath(fs, "f"), O_WRONLY));
		op[k] = op_pwrite(fd, 100, '1' + k, len[k]);
		lop_send(w[k], &op[k]);
		lease_log_wait(fs, "WRITE", w[k]->pid, 1, PROMPT_MS);
		lease_assert_blocked(w[k], BLOCKED_MS, "pwrite");
	}
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, 0);
	LOP_OK(h.a, op_unlease(h.fd, 0));
	for (k = 0; k < 3; k++)
		cr_assert_eq(lop_recv(w[k], &op[k]), (long long)len[k],
			     "writer %d: %s", k, strerror((int)-op[k].ret));
	lease_assert_backing(fs, "f", 0, 100, 'a');
	lease_assert_backing(fs, "f", 100, 1000, '3');
	lease_assert_backing(fs, "f", 1100, 1000, '2');
	lease_assert_backing(fs, "f", 2100, 1000, '1');
	lease_assert_backing(fs, "f", 3100, SIZE - 3100, 'a');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}
