// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hostile neighbours (issue 13): on an allow_other mount, unprivileged
 * uids attack each other and root. Each test reproduces one finding
 * against main 9628630 and checks that it is gone; an innocent user's
 * unrelated requests are watched by a prober child throughout, which must
 * keep getting answers (generous bounds: a hang, not a speed, fails).
 * Over both transports and in both mediate= modes.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ATTACKER 1000
#define VICTIM 1001
/* an answer to an innocent request within this, or the mount hangs */
#define HANG_MS 5000
#define SIZE (64 << 10)

/* A file of @len bytes of @byte in BACKING, owned by @uid, mode @mode */
static void user_file(struct mdfs_fs *fs, const char *rel, uid_t uid,
		      mode_t mode, size_t len, int byte)
{
	lease_file(fs, rel, len, byte);
	cr_assert_eq(chown(mdfs_bpath(fs, "%s", rel), uid, uid), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "%s", rel), mode), 0);
}

/* ---- the innocent prober ---------------------------------------------- */

/* Shared with the prober child: it stats @path until @stop, counting. */
struct prober {
	char path[PATH_MAX];
	volatile int stop;
	volatile long long answers;	/* stats answered (any result) */
	volatile long long last_ms;	/* when the last one was */
	pid_t pid;
};

static int prober_main(void *arg)
{
	struct prober *pr = arg;
	struct stat st;

	while (!pr->stop) {
		stat(pr->path, &st);
		pr->last_ms = mdfs_now_ms();
		pr->answers++;
		usleep(2000);
	}
	return 0;
}

/* The prober, on CPU 0 */
static int pinned_prober(void *arg);

/* Start a root prober of @rel (a file nobody attacks) */
static struct prober *prober_start(struct mdfs_fs *fs, const char *rel)
{
	struct prober *pr = mdfs_shared(sizeof(*pr));

	snprintf(pr->path, sizeof(pr->path), "%s", mdfs_mpath(fs, "%s", rel));
	pr->last_ms = mdfs_now_ms();
	pr->pid = mdfs_fork_as(-1, -1, prober_main, pr);
	return pr;
}

/* The prober got an answer within the last HANG_MS */
static void prober_assert_alive(struct prober *pr, const char *when)
{
	long long late = mdfs_now_ms() - pr->last_ms;

	cr_assert_lt(late, HANG_MS, "%s: an innocent stat of %s has not "
		     "returned for %lld ms (%lld answered before): the mount "
		     "hangs", when, pr->path, late, pr->answers);
}

static void pin_cpu0(void);

static int pinned_prober(void *arg)
{
	pin_cpu0();
	return prober_main(arg);
}

static void prober_stop(struct prober *pr)
{
	pr->stop = 1;
	cr_assert_eq(mdfs_wait_child(pr->pid), 0, "the prober did not end");
}

/* ---- finding 1: signal storm at parked io_uring requests --------------- */

struct storm {
	char path[PATH_MAX];
	volatile int stop;
	volatile long long eintr;	/* interrupted writes, all writers */
	volatile int ready;		/* writers with a handler and a file */
	pid_t writers[4];
};

static void on_usr1(int sig)
{
}

/* A writer of the attacker: writes into the leased file, is interrupted,
 * writes again, until told to stop */
static int storm_writer(void *arg)
{
	struct storm *s = arg;
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	char buf[4096];
	int fd;

	sigaction(SIGUSR1, &sa, NULL);
	do
		fd = open(s->path, O_RDWR);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return 1;
	__atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST);
	memset(buf, 'w', sizeof(buf));
	while (!s->stop)
		if (pwrite(fd, buf, sizeof(buf), 0) < 0 && errno == EINTR)
			__atomic_add_fetch(&s->eintr, 1, __ATOMIC_RELAXED);
	close(fd);
	return 0;
}

/* The fifth process: SIGUSR1 at the writers, as fast as it can */
static int storm_signaller(void *arg)
{
	struct storm *s = arg;

	while (!s->stop)
		for (int i = 0; i < 4; i++)
			kill(s->writers[i], SIGUSR1);
	return 0;
}

/*
 * Finding 1: uid 1000 leases its own file with a holder that ignores
 * breaks, parks four of its own writers on it, and a fifth process
 * storms them with SIGUSR1. On 9628630 over io_uring every request of
 * every user hung within seconds (the engine answered EINTR under a lock
 * a ring thread waited for while holding its queue). Root's stat of
 * another file must keep being answered, and the writers interrupted.
 */
MDFS_LEASE_TEST(multiuser, signal_storm_at_parked_writers_hangs_nobody,
		"allow_other,lease_break_time=60")
{
	struct storm *s = mdfs_shared(sizeof(*s));
	struct lease_holder h = { .a = mdfs_agent_start(ATTACKER, ATTACKER) };
	struct prober *pr;
	pid_t sig;
	long long end;
	int obs;

	user_file(fs, "own", ATTACKER, 0644, SIZE, 'o');
	lease_file(fs, "innocent", SIZE, 'i');
	lease_hold(fs, &h, "own", 0, 0);
	obs = lease_obs(fs, "own");
	pr = prober_start(fs, "innocent");
	snprintf(s->path, sizeof(s->path), "%s", mdfs_mpath(fs, "own"));
	for (int i = 0; i < 4; i++)
		s->writers[i] = mdfs_fork_as(ATTACKER, ATTACKER, storm_writer,
					     s);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, HANG_MS);
	for (end = mdfs_now_ms() + HANG_MS; s->ready < 4;) {
		cr_assert_lt(mdfs_now_ms(), end, "%d of 4 writers ready",
			     s->ready);
		usleep(1000);
	}
	sig = mdfs_fork_as(ATTACKER, ATTACKER, storm_signaller, s);
	for (end = mdfs_now_ms() + 3000; mdfs_now_ms() < end;) {
		usleep(100 * 1000);
		prober_assert_alive(pr, "during the storm");
	}
	s->stop = 1;
	cr_assert_eq(mdfs_wait_child(sig), 0);
	cr_assert_gt(s->eintr, 0, "no write was interrupted: no storm");
	/* the holder lets go; every writer ends */
	LOP_OK(h.a, op_unlease(h.fd, 0));
	for (int i = 0; i < 4; i++)
		cr_assert_eq(mdfs_wait_child(s->writers[i]), 0,
			     "writer %d did not end", i);
	prober_assert_alive(pr, "after the storm");
	prober_stop(pr);
	close(obs);
	lease_stop_clean(fs);
}

/* ---- finding 2: callers the daemon cannot see -------------------------- */

enum suid_op { SU_WRONLY, SU_RDWR, SU_APPEND, SU_PWRITE, SU_FALLOC, SU_COPY,
	       SU_N };

static const char *const suid_op_name[SU_N] = {
	"O_WRONLY write", "O_RDWR write", "O_APPEND write", "pwrite",
	"fallocate", "copy_file_range",
};

struct suid_case {
	char path[PATH_MAX], src[PATH_MAX];
	enum suid_op op;
	int err;
};

/* The victim's write to a root-owned 06777 file, one way or another */
static int victim_writes(void *arg)
{
	struct suid_case *c = arg;
	static const int flags[SU_N] = {
		O_WRONLY, O_RDWR, O_WRONLY | O_APPEND, O_RDWR, O_RDWR, O_WRONLY,
	};
	off_t in = 0, out = 16;
	int fd = open(c->path, flags[c->op]), src, r = 0;

	if (fd < 0)
		return c->err = errno, 1;
	switch (c->op) {
	case SU_WRONLY:
	case SU_RDWR:
	case SU_APPEND:
		r = write(fd, "w", 1) == 1 ? 0 : -1;
		break;
	case SU_PWRITE:
		r = pwrite(fd, "p", 1, 8) == 1 ? 0 : -1;
		break;
	case SU_FALLOC:
		r = fallocate(fd, 0, 0, 2 * SIZE);
		break;
	case SU_COPY:
		src = open(c->src, O_RDONLY);
		r = src < 0 ? -1 :
		    copy_file_range(src, &in, fd, &out, 4, 0) == 4 ? 0 : -1;
		if (src >= 0)
			close(src);
		break;
	case SU_N:
		break;
	}
	c->err = r ? errno : 0;
	close(fd);
	return r ? 2 : 0;
}

static const char *const in_pidns[] = {
	"unshare", "--pid", "--fork", "--kill-child", NULL,
};

/*
 * Finding 2: the daemon in its own pid namespace (a container): callers
 * from outside arrive with pid 0. On 9628630 their capabilities were read
 * from /proc/thread-self, the daemon's own, so a root-owned 06777 file
 * stayed 06777 after uid 1001 wrote it, every way; and their leases
 * failed with a bare ESRCH. Now such a caller has no capabilities: each
 * write clears setuid and setgid in the backing file (SPEC 3), and a
 * lease is refused with ESRCH and a log line that says why (SPEC 4.1).
 */
MDFS_LEASE_TEST_NOMOUNT(multiuser, callers_outside_the_pid_namespace)
{
	struct suid_case *c = mdfs_shared(sizeof(*c));
	struct mdfs_agent *a;
	char tail[4096];
	struct stat st;
	int fd;

	fs->wrapper = in_pidns;
	user_file(fs, "src", 0, 0644, SIZE, 's');
	for (int op = 0; op < SU_N; op++) {
		user_file(fs, suid_op_name[op], 0, 0644, SIZE, 'a');
		cr_assert_eq(chmod(mdfs_bpath(fs, "%s", suid_op_name[op]),
				   06777), 0);
	}
	user_file(fs, "mine", VICTIM, 0644, SIZE, 'm');
	mdfs_start(fs, NULL, "allow_other,lease_break_time=2");
	cr_assert_gt(mdfs_daemon_pid(fs), 0, "no daemon under unshare");

	snprintf(c->src, sizeof(c->src), "%s", mdfs_mpath(fs, "src"));
	for (int op = 0; op < SU_N; op++) {
		const char *b = mdfs_bpath(fs, "%s", suid_op_name[op]);

		snprintf(c->path, sizeof(c->path), "%s",
			 mdfs_mpath(fs, "%s", suid_op_name[op]));
		c->op = op;
		cr_assert_eq(mdfs_run_as(VICTIM, VICTIM, victim_writes, c), 0,
			     "%s by uid %d: %s", suid_op_name[op], VICTIM,
			     strerror(c->err));
		st = mdfs_lstat(b);
		cr_assert_eq(st.st_mode & 06000, 0, "%s by uid %d from outside "
			     "the daemon's pid namespace: backing mode %o, "
			     "setuid/setgid kept", suid_op_name[op], VICTIM,
			     st.st_mode & 07777);
	}

	/* a lease from outside: refused, and said why */
	a = mdfs_agent_start(VICTIM, VICTIM);
	fd = LOP_OK(a, op_open(mdfs_mpath(fs, "mine"), O_RDWR));
	cr_assert_eq(lop_do(a, op_lease(fd, 0, 0)), -ESRCH,
		     "a lease from pid 0: expected ESRCH");
	cr_assert_not_null(strstr(mdfs_file_tail(fs->log, tail, sizeof(tail)),
				  "outside the daemon's pid namespace"),
			   "no log line says why; the log ends:\n%s", tail);
	cr_assert_geq(lease_stat(fs, "leases_refused"), 1);
	LOP_OK(a, op_close(fd));
	lease_stop_clean(fs);
}

/* ---- findings 4 and 5: what parked breakers hold ------------------------ */

#define CROWD 12

/* Writers of one uid, each a process pinned to CPU 0 (io_uring queue 0) */
#define CROWD_MAX 200

struct crowd {
	char path[PATH_MAX];
	size_t len;			/* bytes per pwrite */
	int n;
	bool pin;			/* on CPU 0 */
	volatile int ret[CROWD_MAX];	/* 0: not back yet; bytes or -errno */
	pid_t pid[CROWD_MAX];
};

static void pin_cpu0(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static void pin_other_cpu(void)
{
	cpu_set_t rest;

	sched_getaffinity(0, sizeof(rest), &rest);
	CPU_CLR(0, &rest);
	if (CPU_COUNT(&rest))
		sched_setaffinity(0, sizeof(rest), &rest);
}

struct crowd_arg {
	struct crowd *c;
	int i;
};

static int crowd_writer(void *arg)
{
	struct crowd_arg *a = arg;
	struct crowd *c = a->c;
	char *buf = malloc(c->len);
	ssize_t n;
	int fd;

	if (c->pin)
		pin_cpu0();
	fd = open(c->path, O_RDWR);
	if (fd < 0 || !buf)
		return c->ret[a->i] = -errno, 1;
	memset(buf, 'c', c->len);
	n = pwrite(fd, buf, c->len, 0);
	c->ret[a->i] = n < 0 ? -errno : (int)n;
	close(fd);
	free(buf);
	return 0;
}

static void crowd_start(struct mdfs_fs *fs, struct crowd *c, const char *rel,
			int n, size_t len, bool pin)
{
	static struct crowd_arg args[CROWD_MAX];

	cr_assert_leq(n, CROWD_MAX);
	snprintf(c->path, sizeof(c->path), "%s", mdfs_mpath(fs, "%s", rel));
	c->n = n;
	c->len = len;
	c->pin = pin;
	for (int i = 0; i < n; i++) {
		args[i] = (struct crowd_arg){ c, i };
		c->pid[i] = mdfs_fork_as(ATTACKER, ATTACKER, crowd_writer,
					 &args[i]);
	}
}

/* writers back already */
static int crowd_back(const struct crowd *c)
{
	int k = 0;

	for (int i = 0; i < c->n; i++)
		k += c->ret[i] != 0;
	return k;
}

/* Wait until every writer is back or parked; @return how many parked */
static int crowd_settle(struct mdfs_fs *fs, struct crowd *c)
{
	long long end = mdfs_now_ms() + HANG_MS;
	int parked;

	do {
		parked = (int)lease_stat(fs, "parked_now");
		if (parked + crowd_back(c) == c->n)
			return parked;
		usleep(10 * 1000);
	} while (mdfs_now_ms() < end);
	/* one neither back nor parked waits in the kernel for a ring entry
	 * of its CPU's queue: the queue is full */
	cr_assert_fail("of %d writers %d came back and %d parked after %d "
		       "ms: the others wait for room in their CPU's queue",
		       c->n, crowd_back(c), parked, HANG_MS);
	return -1;
}

/*
 * Finding 4: uid 1000 leases its own file and pins 12 of its writers to
 * CPU 0. Each parked request kept its io_uring ring entry, and a queue
 * has 8: on 9628630 root's stat of another file from CPU 0 waited 8.5 s,
 * until the revocation. Now at most half a queue's entries wait (one uid
 * half of those): the writers past that get EAGAIN at once, as if
 * O_NONBLOCK (the break goes on), and root's stat from CPU 0 is answered.
 * Over /dev/fuse nothing holds a ring: they all park, within the uid's
 * share, and the stat is answered too.
 */
MDFS_LEASE_TEST(multiuser, parked_breakers_leave_their_queue_free,
		"allow_other,lease_break_time=20")
{
	struct crowd *c = mdfs_shared(sizeof(*c));
	struct lease_holder h = { .a = mdfs_agent_start(ATTACKER, ATTACKER) };
	struct prober *pr;
	int parked, again = 0;

	user_file(fs, "own", ATTACKER, 0644, SIZE, 'o');
	lease_file(fs, "innocent", SIZE, 'i');
	lease_hold(fs, &h, "own", 0, 0);
	/* the test's own requests from CPU 1: the prober alone is on 0 */
	pin_other_cpu();
	crowd_start(fs, c, "own", CROWD, 4096, true);
	parked = crowd_settle(fs, c);
	/* the innocent stat from the same CPU */
	pr = mdfs_shared(sizeof(*pr));
	snprintf(pr->path, sizeof(pr->path), "%s",
		 mdfs_mpath(fs, "innocent"));
	pr->last_ms = mdfs_now_ms();
	pr->pid = mdfs_fork_as(-1, -1, pinned_prober, pr);
	for (int k = 0; k < 10; k++) {
		usleep(100 * 1000);
		prober_assert_alive(pr, "with the writers parked");
	}
	cr_assert_gt(pr->answers, 0, "no stat from CPU 0 was answered");
	prober_stop(pr);
	for (int i = 0; i < c->n; i++) {
		if (!c->ret[i])
			continue;
		cr_assert_eq(c->ret[i], -EAGAIN, "writer %d back with %d, "
			     "expected EAGAIN (no room to wait)", i, c->ret[i]);
		again++;
	}
	cr_assert_eq(lease_stat(fs, "breakers_over_share"), again);
	if (strstr(fs->opts, "io_uring=on"))
		cr_assert_gt(again, 0, "all %d writers parked on CPU 0's "
			     "queue", parked);
	/* the break went on; the parked writes run when the holder goes */
	cr_assert_eq(lease_stat(fs, "breaks_active"), 1);
	LOP_OK(h.a, op_unlease(h.fd, 0));
	for (int i = 0; i < c->n; i++)
		cr_assert_eq(mdfs_wait_child(c->pid[i]), 0);
	for (int i = 0; i < c->n; i++)
		parked -= c->ret[i] == 4096;
	cr_assert_eq(parked, 0, "parked writes that did not complete");
	lease_stop_clean(fs);
}

/* VmRSS of the daemon, in KiB */
static long long daemon_rss_kib(struct mdfs_fs *fs)
{
	char path[64], line[256];
	long long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", mdfs_daemon_pid(fs));
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

#define PAYLOAD (1 << 20)
#define PAYLOADS 150

/*
 * Finding 5: 300 parked 1 MiB writes took the daemon from 13 to 320 MB
 * of RSS on 9628630, all charged to root's daemon. A uid's parked writes
 * may keep 64 MiB of payload (and 64 requests; the daemon 256 MiB and
 * 1024): past that a writer gets EAGAIN at once, and the daemon grows by
 * no more than the share (and what libfuse's own buffers take).
 */
MDFS_LEASE_TEST(multiuser, parked_payloads_are_bounded,
		"allow_other,lease_break_time=20")
{
	struct crowd *c = mdfs_shared(sizeof(*c));
	struct lease_holder h = { .a = mdfs_agent_start(ATTACKER, ATTACKER) };
	long long before, grown;
	int parked, again = 0;

	/* writes inside the file: FUSE runs extending ones one at a time */
	user_file(fs, "own", ATTACKER, 0666, 2 * PAYLOAD, 'o');
	lease_hold(fs, &h, "own", 0, 0);
	before = daemon_rss_kib(fs);
	crowd_start(fs, c, "own", PAYLOADS, PAYLOAD, false);
	parked = crowd_settle(fs, c);
	grown = daemon_rss_kib(fs) - before;
	for (int i = 0; i < c->n; i++)
		again += c->ret[i] == -EAGAIN;
	cr_assert_eq(again + parked, PAYLOADS, "writers back with another "
		     "answer than EAGAIN");
	cr_assert_lt(grown, (64 + 32) << 10, "the daemon grew by %lld KiB "
		     "with %d writes of 1 MiB parked", grown, parked);
	cr_assert_gt(again, 0, "all %d writes of 1 MiB parked", parked);
	cr_assert_eq(lease_stat(fs, "breakers_over_share"), again);
	LOP_OK(h.a, op_unlease(h.fd, 0));
	for (int i = 0; i < c->n; i++)
		cr_assert_eq(mdfs_wait_child(c->pid[i]), 0);
	for (int i = 0; i < c->n; i++)
		parked -= c->ret[i] == PAYLOAD;
	cr_assert_eq(parked, 0, "parked writes that did not complete");
	lease_stop_clean(fs);
}

/* ---- finding 3: ALLOCATE ------------------------------------------------ */

#define RECORD 4096
#define RECORDS 2048

/* The records a writer has written and been told so */
struct records {
	char path[PATH_MAX];
	volatile int acked[RECORDS];
	volatile int done;
	volatile int started;
};

static int record_writer(void *arg)
{
	struct records *r = arg;
	char buf[RECORD];

	/* from the end down, towards a fill that goes up: the hole it found
	 * gets records ahead of it */
	for (int k = 0; k < RECORDS; k++) {
		int i = RECORDS - 1 - k, fd;

		fd = open(r->path, O_RDWR);
		if (fd < 0)
			return 1;
		memset(buf, 'A' + i % 26, sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), (off_t)i * RECORD) == RECORD)
			r->acked[i] = 1;
		close(fd);
		r->started = k + 1;
	}
	r->done = 1;
	return 0;
}

/*
 * Finding 3: while uid 1001 writes 4 KiB records into the holes of a
 * sparse file (a fresh open for each), the owner takes an ALLOCATE lease.
 * On 9628630 the fill found the holes, then wrote zeros over records
 * written meanwhile (402 of 1024 lost on ext4). Now the lease request
 * keeps writers out while it fills (new opens are mediated, their writes
 * wait) and allocates holes with fallocate(), which never touches data:
 * every acknowledged record is in the backing file.
 */
/* One race of a record writer and an ALLOCATE lease: records lost */
static int allocate_race(struct mdfs_fs *fs, const char *rel)
{
	struct records *r = mdfs_shared(sizeof(*r));
	struct mdfs_agent *owner = mdfs_agent_start(ATTACKER, ATTACKER);
	long long end, id;
	char *back;
	size_t len;
	pid_t w;
	int fd, lost = 0;

	lease_hole_file(fs, rel, (off_t)RECORDS * RECORD);
	cr_assert_eq(chown(mdfs_bpath(fs, "%s", rel), ATTACKER, ATTACKER), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "%s", rel), 0666), 0);
	snprintf(r->path, sizeof(r->path), "%s", mdfs_mpath(fs, "%s", rel));
	fd = LOP_OK(owner, op_open(r->path, O_RDWR));
	w = mdfs_fork_as(VICTIM, VICTIM, record_writer, r);
	for (end = mdfs_now_ms() + HANG_MS; r->started < RECORDS / 8;)
		cr_assert_lt(mdfs_now_ms(), end, "the writer does not start");
	/* the fill races the writer: EAGAIN (writers waited) is an answer */
	id = lop_do(owner, op_lease(fd, MAPDIRECT_LEASE_ALLOCATE, 0));
	cr_assert(id > 0 || id == -EAGAIN, "ALLOCATE: %s",
		  strerror((int)-id));
	if (id > 0)
		LOP_OK(owner, op_unlease(fd, id));
	cr_assert_eq(mdfs_wait_child_ms(w, 20000), 0, "the writer failed");
	back = mdfs_read_file(mdfs_bpath(fs, "%s", rel), &len);
	cr_assert_eq(len, (size_t)RECORDS * RECORD);
	for (int i = 0; i < RECORDS; i++) {
		const char *rec = back + (size_t)i * RECORD;

		cr_assert(r->acked[i], "record %d was never acknowledged", i);
		if (rec[0] != 'A' + i % 26 || rec[RECORD - 1] != 'A' + i % 26)
			lost++;
	}
	free(back);
	LOP_OK(owner, op_close(fd));
	return lost;
}

/*
 * Finding 3: while uid 1001 writes 4 KiB records into the holes of a
 * sparse file (a fresh open for each), the owner takes an ALLOCATE lease.
 * On 9628630 the fill found the holes, then wrote zeros over records
 * written meanwhile (402 of 1024 lost on ext4; 16-28 of 2048 here, in
 * most runs). Now the lease request keeps writers out while it fills
 * (new opens are mediated, their writes wait) and allocates holes with
 * fallocate(), which never touches data: every acknowledged record is in
 * the backing file. Three races, each on a file of its own.
 */
MDFS_LEASE_TEST_EXT4(multiuser, allocate_never_zeroes_acknowledged_data,
		     "allow_other,lease_break_time=1")
{
	long long start = mdfs_now_ms();

	/* a slow machine (TCG, loaded) runs fewer than 3, never none */
	for (int k = 0; k < 3 && (!k || mdfs_now_ms() - start < 10000); k++) {
		char rel[16];
		int lost;

		snprintf(rel, sizeof(rel), "sparse%d", k);
		lost = allocate_race(fs, rel);
		cr_assert_eq(lost, 0, "race %d: %d of %d acknowledged records "
			     "lost (zeros over data) to an ALLOCATE lease", k,
			     lost, RECORDS);
	}
	lease_stop_clean(fs);
}

static int open_ro_allocate(void *arg)
{
	const char *path = arg;
	struct mapdirect_lease l = {
		.size = sizeof(l), .flags = MAPDIRECT_LEASE_ALLOCATE,
	};
	int fd = open(path, O_RDONLY), r;

	if (fd < 0)
		return 1;
	r = ioctl(fd, MAPDIRECT_IOC_LEASE, &l) ? errno : 0;
	close(fd);
	return r;
}

/*
 * Finding 3: ALLOCATE wrote as root: into a 0444 file its owner opened
 * read-only. It needs a file open for writing (EBADF, as a write would
 * get), and the file keeps its holes.
 */
MDFS_LEASE_TEST_EXT4(multiuser, allocate_needs_a_writable_file, "allow_other")
{
	struct stat before, after;

	lease_hole_file(fs, "ro", 64 << 10);
	cr_assert_eq(chown(mdfs_bpath(fs, "ro"), ATTACKER, ATTACKER), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "ro"), 0444), 0);
	before = mdfs_lstat(mdfs_bpath(fs, "ro"));
	cr_assert_eq(mdfs_run_as(ATTACKER, ATTACKER, open_ro_allocate,
				 (void *)mdfs_mpath(fs, "ro")), EBADF,
		     "ALLOCATE through an O_RDONLY file of a 0444 file");
	after = mdfs_lstat(mdfs_bpath(fs, "ro"));
	cr_assert_eq(after.st_blocks, before.st_blocks, "ALLOCATE wrote into "
		     "a file open read-only: %lld blocks, %lld before",
		     (long long)after.st_blocks, (long long)before.st_blocks);
}

/* Fill the filesystem as the caller until ENOSPC: @return bytes written */
static int fill_up(void *arg)
{
	static char buf[1 << 20];
	const char *path = arg;
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		return 1;
	memset(buf, 'f', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	/* what is left of the last MiB, 4 KiB at a time */
	while (write(fd, buf, 4096) > 0)
		;
	fsync(fd);
	close(fd);
	return errno == ENOSPC ? 0 : 2;
}

struct alloc_try {
	char path[PATH_MAX];
	int err;
};

static int allocate_as_caller(void *arg)
{
	struct alloc_try *t = arg;
	struct mapdirect_lease l = {
		.size = sizeof(l), .flags = MAPDIRECT_LEASE_ALLOCATE,
	};
	int fd = open(t->path, O_RDWR);

	if (fd < 0)
		return t->err = errno, 1;
	t->err = ioctl(fd, MAPDIRECT_IOC_LEASE, &l) ? errno : 0;
	close(fd);
	return 0;
}

/* The victim's 1 MiB writes through the mount, until an error: its errno */
static int write_through(void *arg)
{
	static char buf[1 << 20];
	int fd = open(arg, O_WRONLY | O_CREAT, 0644), err = 0;

	if (fd < 0)
		return errno;
	while (!err)
		if (write(fd, buf, sizeof(buf)) < 0)
			err = errno;
	close(fd);
	return err;
}

/*
 * Finding 3: the fill ran as root, so an unprivileged owner's ALLOCATE
 * could take the blocks ext4 keeps for root (resuid 0), and one that
 * failed with ENOSPC left the filesystem full. Now it runs as the caller:
 * with only root's blocks free it fails with ENOSPC, and gives back what
 * it allocated. The caller's own writes through the mount (passthrough,
 * done by the kernel with the credentials the daemon registered the
 * backing file with: no longer root's) cannot take them either. Not under
 * mediate=all: the daemon writes those itself, as root (README). Quotas,
 * which root's CAP_SYS_RESOURCE would bypass the same way, need quota
 * tools this suite does not have.
 */
MDFS_LEASE_TEST_NOMOUNT(multiuser, allocate_acts_as_the_caller)
{
	/* 30 % of the blocks are root's: room to see them taken */
	static const char *const reserve[] = { "-m", "30", NULL };
	struct alloc_try *t = mdfs_shared(sizeof(*t));
	struct statvfs before, after;
	struct stat sb, sa;
	int err;

	mdfs_mount_ext4_mkfs(fs, reserve, "allow_other");
	cr_assert_eq(chmod(fs->backing, 0777), 0);
	/* filled by the caller in BACKING itself: the kernel's own rules */
	cr_assert_eq(mdfs_run_as(ATTACKER, ATTACKER, fill_up,
				 (void *)mdfs_bpath(fs, "filler")), 0,
		     "uid %d could not fill the filesystem", ATTACKER);
	cr_assert_eq(statvfs(fs->backing, &before), 0);
	cr_assert_geq(before.f_bfree, before.f_blocks / 4,
		      "uid %d took root's blocks in BACKING: cannot test",
		      ATTACKER);
	if (!mdfs_mediate_all(fs)) {
		err = mdfs_run_as(ATTACKER, ATTACKER, write_through,
				  (void *)mdfs_mpath(fs, "more"));
		cr_assert_eq(err, ENOSPC, "uid %d writing through the mount: "
			     "%s, expected ENOSPC", ATTACKER, strerror(err));
		cr_assert_eq(statvfs(fs->backing, &after), 0);
		cr_assert_geq(after.f_bfree + 16, before.f_bfree, "uid %d's "
			      "writes through the mount took %llu of root's "
			      "blocks", ATTACKER, (unsigned long long)
			      (before.f_bfree - after.f_bfree));
	}
	/* holes that half of root's blocks would fill */
	lease_hole_file(fs, "big", (off_t)(before.f_bfree / 2) *
					   (off_t)before.f_frsize);
	cr_assert_eq(chown(mdfs_bpath(fs, "big"), ATTACKER, ATTACKER), 0);
	sb = mdfs_lstat(mdfs_bpath(fs, "big"));
	snprintf(t->path, sizeof(t->path), "%s", mdfs_mpath(fs, "big"));
	cr_assert_eq(mdfs_run_as(ATTACKER, ATTACKER, allocate_as_caller, t), 0);
	cr_assert_eq(t->err, ENOSPC, "ALLOCATE by uid %d with only root's "
		     "blocks free: %s, expected ENOSPC", ATTACKER,
		     strerror(t->err));
	cr_assert_eq(statvfs(fs->backing, &after), 0);
	sa = mdfs_lstat(mdfs_bpath(fs, "big"));
	cr_assert_eq(sa.st_blocks, sb.st_blocks, "the failed ALLOCATE kept "
		     "%lld blocks", (long long)(sa.st_blocks - sb.st_blocks));
	cr_assert_geq(after.f_bfree + 16, before.f_bfree, "the failed ALLOCATE "
		      "left %llu free blocks of %llu",
		      (unsigned long long)after.f_bfree,
		      (unsigned long long)before.f_bfree);
}

/* ---- finding 4: a holder that re-leases after every break -------------- */

/* In an agent: getxattr user.mapdirect.eligible of the path in @buf */
static long eligible_in_agent(void *buf)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s", (char *)buf);
	n = getxattr(path, "user.mapdirect.eligible", buf, 255);
	((char *)buf)[n > 0 ? n : 0] = '\0';
	return n;
}

/* user.mapdirect.eligible as agent @a's process reads it (a static) */
static const char *agent_eligible(struct mdfs_agent *a, const char *path)
{
	static char buf[MDFS_AGENT_BUF];
	int err;

	snprintf(buf, sizeof(buf), "%s", path);
	cr_assert_gt(mdfs_agent_call(a, eligible_in_agent, buf, sizeof(buf),
				     &err), 0, "getxattr eligible: %s",
		     strerror(err));
	return buf;
}

/*
 * Finding 4: uid 1000 leases its file (mode 0666) and takes the lease
 * again after each revocation; uid 1001's every write then waits a whole
 * lease_break_time, for ever. Now a user's lease is refused (EAGAIN,
 * and user.mapdirect.eligible names the writer) while a file through
 * which another user waited for a break is open (README "Layout leases"):
 * the victim's next writes run at once, no break starts; once it closes
 * the file, the lease is granted again.
 */
MDFS_LEASE_TEST(multiuser, releasing_holder_cannot_starve_a_writer,
		"allow_other,lease_break_time=0.3,revoke=none")
{
	struct mdfs_agent *v = mdfs_agent_start(VICTIM, VICTIM);
	struct lease_holder h = { .a = mdfs_agent_start(ATTACKER, ATTACKER) };
	char want[64];
	long long breaks;
	int vfd, fd2, obs;

	user_file(fs, "f", ATTACKER, 0666, SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	vfd = LOP_OK(v, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	/* the first write waits for the revocation: the holder ignores it */
	cr_assert_eq(lop_do(v, op_pwrite(vfd, 0, 'v', 100)), 100);
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, HANG_MS);
	cr_assert_eq(lease_stat(fs, "leases_revoked"), 1);
	/* the holder comes back at once: refused while the writer is open */
	fd2 = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(h.a, op_lease(fd2, 0, 0)), -EAGAIN,
		     "uid %d leased again beside uid %d's writer", ATTACKER,
		     VICTIM);
	snprintf(want, sizeof(want), "no: open for writing by pid %d\n",
		 v->pid);
	cr_assert_str_eq(agent_eligible(h.a, mdfs_mpath(fs, "f")), want,
			 "user.mapdirect.eligible, as the holder sees it");
	breaks = lease_stat(fs, "breaks_started");
	for (int k = 0; k < 5; k++)
		cr_assert_eq(lop_do(v, op_pwrite(vfd, 100 * k, 'w', 100)),
			     100);
	cr_assert_eq(lease_stat(fs, "breaks_started"), breaks,
		     "the victim's writes started breaks again");
	LOP_OK(v, op_close(vfd));
	cr_assert_geq(lease_retry(h.a, fd2, 0, 0, HANG_MS), 1,
		      "no lease once the writer closed");
	LOP_OK(h.a, op_close(fd2));
	LOP_OK(h.a, op_close(h.fd));
	close(obs);
}

/* ---- the daemon's file descriptors --------------------------------------- */

/* Open @path read-only until an error; then hold them until told */
struct hoard {
	char path[PATH_MAX];
	int opened, err;
	volatile int full, release;
};

static int hoard_opens(void *arg)
{
	struct hoard *h = arg;
	struct rlimit rl;
	int fd;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (;;) {
		fd = open(h->path, O_RDONLY);
		if (fd < 0)
			break;
		h->opened++;
	}
	h->err = errno;
	h->full = 1;
	while (!h->release)
		usleep(1000);
	return 0;
}

/*
 * One user cannot take every file descriptor of the daemon: each open
 * file holds a backing fd in the daemon, and on 9628630 uid 1000 opening
 * its file until it failed left the daemon none, so that root's open
 * failed too. A uid may hold an eighth of the daemon's RLIMIT_NOFILE in
 * open files and dirs: past that it gets EMFILE, and root's opens work.
 */
MDFS_LEASE_TEST(multiuser, open_files_leave_the_daemon_fds, "allow_other")
{
	struct hoard *h = mdfs_shared(sizeof(*h));
	struct rlimit rl;
	long long end;
	pid_t p;
	int fd;

	user_file(fs, "mine", ATTACKER, 0644, 4096, 'm');
	lease_file(fs, "root", 4096, 'r');
	snprintf(h->path, sizeof(h->path), "%s", mdfs_mpath(fs, "mine"));
	cr_assert_eq(prlimit(mdfs_daemon_pid(fs), RLIMIT_NOFILE, NULL, &rl), 0);
	p = mdfs_fork_as(ATTACKER, ATTACKER, hoard_opens, h);
	for (end = mdfs_now_ms() + 20000; !h->full;) {
		cr_assert_lt(mdfs_now_ms(), end, "the hoarder never stopped");
		usleep(10 * 1000);
	}
	fd = open(mdfs_mpath(fs, "root"), O_RDONLY);
	cr_assert_geq(fd, 0, "root's open with uid %d holding %d files: %s",
		      ATTACKER, h->opened, strerror(errno));
	close(fd);
	cr_assert_eq(h->err, EMFILE, "uid %d's opens ended with %s after %d",
		     ATTACKER, strerror(h->err), h->opened);
	cr_assert_leq((rlim_t)h->opened, rl.rlim_cur / 8 + 64, "uid %d held "
		      "%d open files of the daemon's %llu", ATTACKER,
		      h->opened, (unsigned long long)rl.rlim_cur);
	h->release = 1;
	cr_assert_eq(mdfs_wait_child_ms(p, 20000), 0);
}

/* ---- every attack at once ---------------------------------------------- */

#define SIEGE_MS 3000		/* how long every attack runs at once */
#define SIEGE_MAX_MS 20000	/* ... or until each did what it is for */
#define SIEGE_LEASES 30		/* (f): on files with ~3 KB paths */
#define SIEGE_PAYLOADS 80	/* (c): 1 MiB writers, threads of a process */
#define DEEP_LEVELS 12
#define DEEP_NAME 240

enum siege_what { SG_WRITE, SG_PAYLOAD, SG_ALLOC, SG_XATTR, SG_IOCTL,
		  SG_CHURN, SG_N };

static const char *const siege_name[SG_N] = {
	"4 KiB writes", "1 MiB writes", "ALLOCATE leases", "listing xattr",
	"MAPDIRECT_IOC_LEASES walks", "create/open/close/unlink",
};

/* what the attacks got back, counted in the attacker's processes */
struct tally {
	volatile long ok, again, other;
	volatile int err;	/* the last other error */
};

struct siege {
	volatile int stop;
	volatile int held;	/* holders with their first lease */
	volatile int ready;	/* lister and writers set up */
	volatile long relet;	/* leases taken again after a revocation */
	struct tally t[SG_N];
	char mnt[PATH_MAX];
	char deep[PATH_MAX];	/* the lister's directory, in the mount */
};

struct siege_arg {
	struct siege *s;
	char path[PATH_MAX];
	enum siege_what what;
	size_t len;
	bool pin;
};

static void tally(struct siege *s, enum siege_what w, long r)
{
	struct tally *t = &s->t[w];

	if (r >= 0)
		__atomic_add_fetch(&t->ok, 1, __ATOMIC_RELAXED);
	else if (errno == EAGAIN)
		__atomic_add_fetch(&t->again, 1, __ATOMIC_RELAXED);
	else {
		__atomic_add_fetch(&t->other, 1, __ATOMIC_RELAXED);
		t->err = errno;
	}
}

/* The deep directory of the lister, @levels of DEEP_NAME bytes, in @buf */
static void deep_rel(char *buf, size_t len, int levels)
{
	size_t n = (size_t)snprintf(buf, len, "list");

	for (int i = 0; i < levels && n + DEEP_NAME + 2 < len; i++) {
		n += (size_t)snprintf(buf + n, len - n, "/%02d", i);
		memset(buf + n, 'd', DEEP_NAME - 2);
		n += DEEP_NAME - 2;
		buf[n] = '\0';
	}
}

/*
 * (a)-(d): a holder that ignores breaks (and revoke=signal's SIGBUS) and
 * takes its lease again as soon as it was revoked
 */
static int siege_holder(void *arg)
{
	struct siege_arg *a = arg;
	struct siege *s = a->s;
	bool held = false;
	long taken = 0;
	int fd;

	signal(SIGBUS, SIG_IGN);
	/* read-only: a writable open of its own would stand in its way */
	fd = open(a->path, O_RDONLY);
	if (fd < 0)
		return 1;
	while (!s->stop) {
		struct mapdirect_lease l = { .size = sizeof(l) };
		struct mapdirect_lease_info in = { .size = sizeof(in) };

		if (!held && !ioctl(fd, MAPDIRECT_IOC_LEASE, &l)) {
			held = true;
			if (!taken++)
				__atomic_add_fetch(&s->held, 1,
						   __ATOMIC_SEQ_CST);
			else
				__atomic_add_fetch(&s->relet, 1,
						   __ATOMIC_RELAXED);
			continue;
		}
		if (held && !ioctl(fd, MAPDIRECT_IOC_GETLEASE, &in) &&
		    !in.lease_id) {
			held = false;	/* revoked */
			continue;
		}
		usleep(1000);
	}
	close(fd);
	return 0;
}

/* A writer on a leased file until told to stop: parked, or EAGAIN */
static void *siege_write_loop(void *arg)
{
	struct siege_arg *a = arg;
	struct siege *s = a->s;
	char *buf = malloc(a->len);
	int fd = open(a->path, O_RDWR);

	__atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST);
	if (fd < 0 || !buf) {
		tally(s, a->what, -1);
		free(buf);
		return NULL;
	}
	memset(buf, 'x', a->len);
	while (!s->stop) {
		/* a short write is a split one with EAGAIN after a part */
		ssize_t n = pwrite(fd, buf, a->len, 0);

		tally(s, a->what, n);
		if (n < 0 && errno == EAGAIN)
			usleep(1000);
	}
	close(fd);
	free(buf);
	return NULL;
}

static int siege_writer(void *arg)
{
	if (((struct siege_arg *)arg)->pin)
		pin_cpu0();
	siege_write_loop(arg);
	return 0;
}

/* (c): SIEGE_PAYLOADS writers of 1 MiB, threads of one process */
static int siege_payloads(void *arg)
{
	pthread_t t[SIEGE_PAYLOADS];

	for (int i = 0; i < SIEGE_PAYLOADS; i++)
		if (pthread_create(&t[i], NULL, siege_write_loop, arg))
			return 1;
	for (int i = 0; i < SIEGE_PAYLOADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}

/* (e): ALLOCATE leases on fresh sparse files */
static int siege_allocate(void *arg)
{
	struct siege_arg *a = arg;
	struct siege *s = a->s;
	char path[PATH_MAX + 16];

	__atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST);
	for (int k = 0; !s->stop; k++) {
		struct mapdirect_lease l = {
			.size = sizeof(l), .flags = MAPDIRECT_LEASE_ALLOCATE,
		};
		struct mapdirect_unlease u = { .size = sizeof(u) };
		int fd;

		snprintf(path, sizeof(path), "%s/%d", a->path, k);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			tally(s, SG_ALLOC, -1);
			continue;
		}
		if (ftruncate(fd, SIZE))
			tally(s, SG_ALLOC, -1);
		else if (ioctl(fd, MAPDIRECT_IOC_LEASE, &l))
			tally(s, SG_ALLOC, -1);
		else
			tally(s, SG_ALLOC,
			      ioctl(fd, MAPDIRECT_IOC_UNLEASE, &u));
		close(fd);
		unlink(path);
	}
	return 0;
}

/* A whole MAPDIRECT_IOC_LEASES walk of the mount, from cursor 0 */
static int leases_walk(int root, struct mapdirect_leases *a)
{
	uint64_t cursor = 0;

	do {
		memset(a, 0, sizeof(*a));
		a->size = sizeof(*a);
		a->cursor = cursor;
		if (ioctl(root, MAPDIRECT_IOC_LEASES, a))
			return -1;
		cursor = a->cursor;
	} while (!(a->out_flags & MAPDIRECT_LEASES_END));
	return 0;
}

/* (f): the mount-wide listing, both ways, while holding many leases */
static int siege_lister(void *arg)
{
	struct siege_arg *a = arg;
	struct siege *s = a->s;
	static struct mapdirect_leases walk;
	static char buf[1 << 16];
	char path[PATH_MAX + 16];
	int root;

	for (int i = 0; i < SIEGE_LEASES; i++) {
		struct mapdirect_lease l = { .size = sizeof(l) };
		int fd;

		snprintf(path, sizeof(path), "%s/f%02d", s->deep, i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return 1;
		/* the fd stays open, and the lease with it; EAGAIN: the
		 * attacker's own share of waiting requests is full */
		while (ioctl(fd, MAPDIRECT_IOC_LEASE, &l))
			if (errno != EAGAIN || s->stop)
				return 1;
			else
				usleep(1000);
	}
	root = open(s->mnt, O_RDONLY | O_DIRECTORY);
	if (root < 0)
		return 2;
	__atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST);
	while (!s->stop) {
		tally(s, SG_XATTR, fgetxattr(root, "user.mapdirect.leases",
					     buf, sizeof(buf)));
		tally(s, SG_IOCTL, leases_walk(root, &walk));
	}
	return 0;
}

/* (g): create, open, close and unlink, many files of its own */
static int siege_churn(void *arg)
{
	struct siege_arg *a = arg;
	struct siege *s = a->s;
	char path[PATH_MAX + 16];

	__atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST);
	while (!s->stop) {
		for (int i = 0; i < 256 && !s->stop; i++) {
			int fd;

			snprintf(path, sizeof(path), "%s/%d", a->path, i);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || close(fd)) {
				tally(s, SG_CHURN, -1);
				continue;
			}
			fd = open(path, O_RDONLY);
			tally(s, SG_CHURN, fd < 0 || close(fd) ||
					   unlink(path) ? -1 : 0);
		}
	}
	return 0;
}

/* Every attack has done what it is for (the daemon's counters aside) */
/* an EAGAIN may be the lease's own answer: only the stat says "share" */
static bool siege_done(struct mdfs_fs *fs, const struct siege *s,
		       const struct storm *st)
{
	for (int w = 0; w < SG_N; w++)
		if (!s->t[w].ok)
			return false;
	return st->eintr > 0 && s->relet > 0 &&
	       lease_stat(fs, "breakers_over_share") > 0;
}

/* ---- the innocent user, on each CPU ---- */

#define LANES 64

/* uid 1001 on a file of its own: stat, read and write, from each CPU */
struct victim {
	char path[PATH_MAX];
	volatile int stop;
	int lanes;
	struct {
		int cpu;
		volatile long long last_ms;	/* the last answer */
		volatile long long worst_ms;	/* the longest operation */
		volatile long ops;
		volatile int err;
	} l[LANES];
};

struct lane_arg {
	struct victim *v;
	int i;
};

static void *victim_lane(void *arg)
{
	struct lane_arg *la = arg;
	struct victim *v = la->v;
	int i = la->i, fd;
	cpu_set_t one;
	char buf[4096];

	CPU_ZERO(&one);
	CPU_SET(v->l[i].cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	fd = open(v->path, O_RDWR);
	if (fd < 0) {
		v->l[i].err = errno;
		return NULL;
	}
	memset(buf, 'v', sizeof(buf));
	while (!v->stop) {
		for (int op = 0; op < 3; op++) {
			long long t0 = mdfs_now_ms(), t;
			struct statx stx;
			int r;

			/* AT_STATX_FORCE_SYNC: to the daemon, not the cache */
			r = op == 0 ? statx(AT_FDCWD, v->path,
					    AT_STATX_FORCE_SYNC,
					    STATX_BASIC_STATS, &stx) :
			    op == 1 ? (pread(fd, buf, sizeof(buf), 0) < 0) :
				      (pwrite(fd, buf, sizeof(buf), 0) < 0);
			t = mdfs_now_ms();
			if (r)
				v->l[i].err = errno;
			if (t - t0 > v->l[i].worst_ms)
				v->l[i].worst_ms = t - t0;
			v->l[i].last_ms = t;
			v->l[i].ops++;
		}
		usleep(2000);
	}
	close(fd);
	return NULL;
}

static int victim_main(void *arg)
{
	static struct lane_arg la[LANES];
	struct victim *v = arg;
	pthread_t t[LANES];

	for (int i = 0; i < v->lanes; i++) {
		la[i] = (struct lane_arg){ v, i };
		if (pthread_create(&t[i], NULL, victim_lane, &la[i]))
			return 1;
	}
	for (int i = 0; i < v->lanes; i++)
		pthread_join(t[i], NULL);
	return 0;
}

/* uid 1001's thread on each CPU got answers within the last HANG_MS */
static void victim_assert_alive(struct victim *v, const char *when)
{
	for (int i = 0; i < v->lanes; i++) {
		long long late = mdfs_now_ms() - v->l[i].last_ms;

		cr_assert_lt(late, HANG_MS, "%s: uid %d's stat/read/write of "
			     "its own file from CPU %d has not returned for "
			     "%lld ms (%ld answered before)", when, VICTIM,
			     v->l[i].cpu, late, v->l[i].ops);
		cr_assert_eq(v->l[i].err, 0, "%s: uid %d on CPU %d: %s", when,
			     VICTIM, v->l[i].cpu, strerror(v->l[i].err));
	}
}

/* Root reading the mount-wide listing in a loop: whole, or cut */
struct admin {
	char mnt[PATH_MAX];
	volatile int stop;
	volatile long long last_ms;	/* the last answer */
	volatile long reads, refused;
	volatile int err;		/* of the last refusal */
};

static int admin_main(void *arg)
{
	static char buf[1 << 16];
	struct admin *ad = arg;

	while (!ad->stop) {
		/* empty once every lease is gone */
		if (getxattr(ad->mnt, "user.mapdirect.leases", buf,
			     sizeof(buf)) >= 0) {
			ad->reads++;
		} else {
			ad->err = errno;
			ad->refused++;
		}
		ad->last_ms = mdfs_now_ms();
		usleep(10 * 1000);
	}
	return 0;
}

static void admin_assert_alive(struct admin *ad, const char *when)
{
	long long late = mdfs_now_ms() - ad->last_ms;

	cr_assert_lt(late, HANG_MS, "%s: root's read of the mount's "
		     "user.mapdirect.leases has not returned for %lld ms",
		     when, late);
}

/*
 * Issue 13, every finding at once: uid 1000 runs for 3 s (longer, up to
 * 20 s, until each attack has done its part), together, (a) a
 * holder that ignores breaks, 4 writers parked on it and a SIGUSR1 storm
 * at them; (b) 12 writers pinned to CPU 0 breaking another lease; (c) 80
 * writers of 1 MiB on a third (its payload share fills, the rest get
 * EAGAIN); (d) every holder re-leases as soon as it is revoked, one of
 * them broken by a writer of its own all along; (e) ALLOCATE leases on
 * fresh sparse files; (f) the mount-wide listing, xattr and
 * MAPDIRECT_IOC_LEASES, while it holds 30 leases on files with ~3 KB
 * paths; (g) create/open/close/unlink churn. Meanwhile root's stat of an
 * unrelated file, uid 1001's stat, read and write of its own from a
 * thread on each CPU, and root's reads of the listing must each be
 * answered within HANG_MS (a hang, not a speed, fails: the speed is
 * bench/hostile's), and every attacker must end once told to; root's
 * listing must never have been refused, and every attack must have
 * happened (counted). On 9628630 the storm deadlocked the io_uring
 * mounts (the innocents' requests never came back) and over /dev/fuse the
 * listing answered E2BIG.
 */
MDFS_LEASE_TEST(multiuser, everything_at_once_hangs_nobody,
		"allow_other,lease_break_time=2")
{
	static const char *const held[] = { "storm", "crowd", "payload",
					    "relapse" };
	static struct siege_arg ha[4], crowd, payload, relapse, alloc, list,
		churn;
	struct siege *s = mdfs_shared(sizeof(*s));
	struct storm *st = mdfs_shared(sizeof(*st));
	struct victim *v = mdfs_shared(sizeof(*v));
	struct admin *ad = mdfs_shared(sizeof(*ad));
	pid_t holders[4], writers[CROWD + 1], rest[4], sig, vp, adp;
	char deep[PATH_MAX];
	struct prober *pr;
	cpu_set_t cpus;
	long long start, end, answers;
	int nw = 0, nr = 0;

	/* the attacker's files, and the innocents' */
	for (int i = 0; i < 4; i++)
		user_file(fs, held[i], ATTACKER, 0644,
			  i == 2 ? 2 * PAYLOAD : SIZE, 'a');
	for (int k = 0; k <= DEEP_LEVELS; k++) {
		deep_rel(deep, sizeof(deep), k);
		cr_assert_eq(mkdir(mdfs_bpath(fs, "%s", deep), 0755), 0);
		cr_assert_eq(chown(mdfs_bpath(fs, "%s", deep), ATTACKER,
				   ATTACKER), 0);
	}
	for (int i = 0; i < SIEGE_LEASES; i++) {
		char rel[PATH_MAX];

		cr_assert_lt((size_t)snprintf(rel, sizeof(rel), "%s/f%02d",
					      deep, i), sizeof(rel));
		user_file(fs, rel, ATTACKER, 0644, 4096, 'l');
	}
	for (int i = 0; i < 2; i++) {
		const char *d = i ? "churn" : "alloc";

		cr_assert_eq(mkdir(mdfs_bpath(fs, "%s", d), 0755), 0);
		cr_assert_eq(chown(mdfs_bpath(fs, "%s", d), ATTACKER, ATTACKER),
			     0);
	}
	lease_file(fs, "innocent", SIZE, 'i');
	user_file(fs, "victim", VICTIM, 0644, SIZE, 'v');
	snprintf(s->mnt, sizeof(s->mnt), "%s", fs->mnt);
	snprintf(s->deep, sizeof(s->deep), "%s", mdfs_mpath(fs, "%s", deep));

	/* the innocents, from before the first attack */
	pr = prober_start(fs, "innocent");
	snprintf(v->path, sizeof(v->path), "%s", mdfs_mpath(fs, "victim"));
	cr_assert_eq(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	for (int c = 0; c < CPU_SETSIZE && v->lanes < LANES; c++)
		if (CPU_ISSET(c, &cpus)) {
			v->l[v->lanes].cpu = c;
			v->l[v->lanes++].last_ms = mdfs_now_ms();
		}
	vp = mdfs_fork_as(VICTIM, VICTIM, victim_main, v);
	snprintf(ad->mnt, sizeof(ad->mnt), "%s", fs->mnt);
	ad->last_ms = mdfs_now_ms();
	adp = mdfs_fork_as(-1, -1, admin_main, ad);

	/* leases first: every writer then opens a leased file, mediated */
	for (int i = 0; i < 4; i++) {
		ha[i].s = s;
		snprintf(ha[i].path, sizeof(ha[i].path), "%s",
			 mdfs_mpath(fs, "%s", held[i]));
		holders[i] = mdfs_fork_as(ATTACKER, ATTACKER, siege_holder,
					  &ha[i]);
	}
	list.s = s;
	rest[nr++] = mdfs_fork_as(ATTACKER, ATTACKER, siege_lister, &list);
	for (end = mdfs_now_ms() + HANG_MS; s->held < 4 || s->ready < 1;) {
		cr_assert_lt(mdfs_now_ms(), end, "%d of 4 holders leased, "
			     "lister %s", s->held, s->ready ? "ready" :
			     "not ready");
		usleep(1000);
	}

	/* (a) first: parked before the others fill the uid's share */
	snprintf(st->path, sizeof(st->path), "%s", ha[0].path);
	for (int i = 0; i < 4; i++)
		st->writers[i] = mdfs_fork_as(ATTACKER, ATTACKER, storm_writer,
					      st);
	for (end = mdfs_now_ms() + HANG_MS; st->ready < 4;) {
		cr_assert_lt(mdfs_now_ms(), end, "%d of 4 storm writers ready",
			     st->ready);
		usleep(1000);
	}
	sig = mdfs_fork_as(ATTACKER, ATTACKER, storm_signaller, st);
	for (end = mdfs_now_ms() + HANG_MS + 1000; !st->eintr;) {
		cr_assert_lt(mdfs_now_ms(), end, "(a): no parked write was "
			     "interrupted in %d ms of the storm", HANG_MS + 1000);
		prober_assert_alive(pr, "during the storm");
		victim_assert_alive(v, "during the storm");
		usleep(1000);
	}
	/* (b), (c), (d) */
	crowd = (struct siege_arg){ .s = s, .what = SG_WRITE, .len = 4096,
				    .pin = true };
	snprintf(crowd.path, sizeof(crowd.path), "%s", ha[1].path);
	for (int i = 0; i < CROWD; i++)
		writers[nw++] = mdfs_fork_as(ATTACKER, ATTACKER, siege_writer,
					     &crowd);
	payload = (struct siege_arg){ .s = s, .what = SG_PAYLOAD,
				      .len = PAYLOAD };
	snprintf(payload.path, sizeof(payload.path), "%s", ha[2].path);
	rest[nr++] = mdfs_fork_as(ATTACKER, ATTACKER, siege_payloads,
				  &payload);
	relapse = (struct siege_arg){ .s = s, .what = SG_WRITE, .len = 4096 };
	snprintf(relapse.path, sizeof(relapse.path), "%s", ha[3].path);
	writers[nw++] = mdfs_fork_as(ATTACKER, ATTACKER, siege_writer,
				     &relapse);
	/* (e), (g) */
	alloc.s = s;
	snprintf(alloc.path, sizeof(alloc.path), "%s", mdfs_mpath(fs, "alloc"));
	rest[nr++] = mdfs_fork_as(ATTACKER, ATTACKER, siege_allocate, &alloc);
	churn.s = s;
	snprintf(churn.path, sizeof(churn.path), "%s", mdfs_mpath(fs, "churn"));
	rest[nr++] = mdfs_fork_as(ATTACKER, ATTACKER, siege_churn, &churn);
	/* a mount that hangs shows in the innocents first */
	for (end = mdfs_now_ms() + HANG_MS + 1000;
	     s->ready < 1 + CROWD + SIEGE_PAYLOADS + 3;) {
		cr_assert_lt(mdfs_now_ms(), end, "attackers set up: %d of %d",
			     s->ready, 1 + CROWD + SIEGE_PAYLOADS + 3);
		prober_assert_alive(pr, "while the attackers set up");
		victim_assert_alive(v, "while the attackers set up");
		usleep(1000);
	}

	/* SIEGE_MS at least, until each attack did its part at most */
	start = mdfs_now_ms();
	while (mdfs_now_ms() < start + SIEGE_MS ||
	       (!siege_done(fs, s, st) && mdfs_now_ms() < start + SIEGE_MAX_MS)) {
		usleep(100 * 1000);
		prober_assert_alive(pr, "during the attacks");
		victim_assert_alive(v, "during the attacks");
		admin_assert_alive(ad, "during the attacks");
	}

	/* told to stop, every attacker ends, and nobody hangs meanwhile */
	answers = pr->answers;
	s->stop = st->stop = 1;
	for (end = mdfs_now_ms() + HANG_MS; pr->answers == answers;) {
		cr_assert_lt(mdfs_now_ms(), end, "root's stat of another file "
			     "has not been answered for %d ms after the "
			     "attacks", HANG_MS);
		usleep(1000);
	}
	cr_assert_eq(mdfs_wait_child(sig), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(mdfs_wait_child(holders[i]), 0, "holder %s",
			     held[i]);
		cr_assert_eq(mdfs_wait_child(st->writers[i]), 0,
			     "storm writer %d did not end", i);
	}
	for (int i = 0; i < nw; i++)
		cr_assert_eq(mdfs_wait_child(writers[i]), 0,
			     "writer %d did not end", i);
	for (int i = 0; i < nr; i++)
		cr_assert_eq(mdfs_wait_child(rest[i]), 0,
			     "attacker %d did not end", i);
	victim_assert_alive(v, "after the attacks");
	v->stop = 1;
	cr_assert_eq(mdfs_wait_child(vp), 0);
	admin_assert_alive(ad, "after the attacks");
	ad->stop = 1;
	cr_assert_eq(mdfs_wait_child(adp), 0);
	prober_assert_alive(pr, "after the attacks");
	prober_stop(pr);
	/* SPEC 4.4: a long listing is cut, never refused */
	cr_assert_eq(ad->refused, 0, "root's read of the mount's "
		     "user.mapdirect.leases was refused %ld times of %ld (the "
		     "last: %s): the attacker's leases were hidden from the "
		     "administrator", ad->refused, ad->refused + ad->reads,
		     strerror(ad->err));

	/* every attack happened */
	cr_assert_gt(st->eintr, 0, "(a): no parked write was interrupted");
	cr_assert_geq(lease_stat(fs, "leases_revoked"), 1, "(d): no lease "
		      "was revoked");
	cr_assert_gt(s->relet, 0, "(d): no holder leased again after a "
		     "revocation");
	/*
	 * Under TCG (the DAX guest, MDFS_GUEST) the 80 payload writers can be
	 * too slow to park past the share before the siege's bound, twice in
	 * CI at --jobs 2: there the hang checks above stand alone, and a line
	 * says the attack fell short. Everywhere else it must have happened.
	 */
	if (getenv("MDFS_GUEST") && !lease_stat(fs, "breakers_over_share"))
		cr_log_warn("(b), (c): no writer got past its share in %d ms "
			    "under TCG", SIEGE_MAX_MS);
	else
		cr_assert_gt(lease_stat(fs, "breakers_over_share"), 0,
			     "(b), (c): no writer was past its share");
	for (int w = 0; w < SG_N; w++)
		cr_assert_gt(s->t[w].ok, 0, "%s: none succeeded (%ld EAGAIN, "
			     "%ld other errors, the last %s)", siege_name[w],
			     s->t[w].again, s->t[w].other,
			     strerror(s->t[w].err));
	lease_stop_clean(fs);
}
