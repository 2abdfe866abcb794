// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hostile - an innocent user's latency while another uid attacks the mount
 * with everything issue 13 found, all at once (bench/README.md).
 *
 *   hostile --mount MNT [--pid DAEMONPID] [--rounds R] [--attack-s S]
 *           [--quiet-s S] [--attacker UID] [--innocent UID] [--leases N]
 *           [--payload-writers N] [--gap-us US] [--retry-us US]
 *           [--attacks abcdefgh] [--samples FILE]
 *
 * MNT is a mapdirectfs mount with allow_other; run as root (run.sh uses
 * mediate=all, so that the innocent's reads and writes reach the daemon,
 * and lease_break_time=1, so that breaks end in revocations within a
 * round). Everything happens under MNT/hostile/, removed at the end.
 *
 * The innocent (uid 1001) has a file of its own per CPU, no lease on it,
 * and a thread pinned to each CPU (libfuse has an io_uring queue per CPU)
 * that times, in a loop with --gap-us between iterations: a stat that
 * reaches the daemon (statx AT_STATX_FORCE_SYNC), a 4 KiB pread and a
 * 4 KiB pwrite at random offsets of its file.
 *
 * The attacker (uid 1000), every attack at once, on files of its own:
 *   (a) a holder that ignores breaks (and SIGBUS), 4 writers parked on its
 *       file and a fifth process sending them SIGUSR1 as fast as it can
 *   (b) 12 writers pinned to CPU 0 breaking another holder's lease: parked,
 *       or EAGAIN past their share
 *   (c) --payload-writers threads writing 1 MiB into a third leased file:
 *       parked until the uid's payload share is full, EAGAIN after that
 *   (d) every holder takes its lease again as soon as it was revoked, and
 *       one more holder is broken by a writer of its own all the time
 *   (e) ALLOCATE leases on fresh 1 MiB sparse files, in a loop
 *   (f) the mount-wide listing, the root's user.mapdirect.leases and a
 *       whole MAPDIRECT_IOC_LEASES walk, in a loop, while it holds
 *       --leases leases on files with ~3 KB paths
 *   (g) create/open/close/unlink of 256 files of its own, 2 processes
 * A writer refused with EAGAIN writes again after --retry-us (default
 * 1000): every share stays full, and the CPU a spinning attacker would
 * burn is the scheduler's to share, whether or not it uses the mount.
 * --attacks picks some of them; one more, not in the default set, is a
 * reference that attacks nothing:
 *   (h) --payload-writers threads writing 1 MiB into a file of its own
 *       that has no lease, as a heavy but honest user would
 *
 * Rounds interleave: quiet (the innocent alone), attacked (once every
 * attacker is set up), quiet, attacked... Each attacked round starts the
 * attackers afresh and ends by killing them; the next round waits until
 * the daemon has nothing parked.
 *
 * Output: a JSON object per line on stdout, one per phase and operation
 * ({"phase", "op", "stats": {n, p50, p99, max...}, "p99_per_round"}, in
 * microseconds), then one with what the attacks did and what the daemon
 * counted; a summary on stderr. --samples FILE: "phase op us" per sample.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "mapdirect.h"

#define FILE_SIZE (1u << 20)
#define PAYLOAD (1u << 20)
#define IO_SIZE 4096u
#define STORM_WRITERS 4
#define PINNED_WRITERS 12
#define CHURNERS 2
#define CHURN_FILES 256
#define PAYLOAD_THREADS 8	/* per payload writer process */
#define DEEP_LEVELS 12		/* (f): 12 directories of 240 bytes */
#define DEEP_NAME 240
#define MAX_LANES 64
#define MAX_KIDS 512
#define CAP (1u << 18)		/* samples per phase, op and lane */
#define MAX_STATS 64
#define LIST_BUF (256u << 10)

enum op { OP_STAT, OP_PREAD, OP_PWRITE, OP_N };
static const char *const op_name[OP_N] = { "stat", "pread", "pwrite" };

#define PH_IDLE (-1)
enum { PH_QUIET, PH_ATTACKED, PH_N };
static const char *const ph_name[PH_N] = { "quiet", "attacked" };

/* what each attack did: counted by its processes */
enum atk {
	A_HOLD,		/* (a)-(d) holders: leases taken */
	A_STORM,	/* (a) writes under the storm */
	A_SIGNAL,	/* (a) SIGUSR1 sent */
	A_PINNED,	/* (b) writes from CPU 0 */
	A_PAYLOAD,	/* (c) 1 MiB writes */
	A_RELEASE,	/* (d) writes against the re-leasing holder */
	A_ALLOC,	/* (e) ALLOCATE leases */
	A_LIST,		/* (f) listing reads */
	A_CHURN,	/* (g) create/open/close/unlink cycles */
	A_HEAVY,	/* (h) 1 MiB writes to a file without a lease */
	A_N,
};
static const char *const atk_name[A_N] = {
	"holders", "storm", "signals", "pinned", "payload", "relapse",
	"allocate", "listing", "churn", "heavy",
};

struct count {
	long ok, eintr, eagain, other;
	long part;		/* writes split by the kernel, a part done */
	long revoked;		/* holders: leases seen gone */
	long max_us;		/* the longest call */
	int last_err;
};

/* one innocent thread, on one CPU */
struct lane {
	int cpu;
	int gen_seen;		/* the control generation it last saw */
	uint32_t n[PH_N][OP_N];	/* samples taken */
	uint32_t dropped;	/* past CAP */
	int err, err_op;	/* the last failed operation */
};

/* shared by every process (MAP_SHARED) */
struct shm {
	int phase, gen, quit;	/* the innocent's: set by the parent */
	int innocent_ready;
	int stop;		/* the attackers' */
	int ready;		/* attackers set up */
	pid_t storm[STORM_WRITERS];
	struct count c[A_N];
	int nlanes;
	struct lane lane[MAX_LANES];
};

static struct {
	const char *mount;
	pid_t daemon;
	int rounds, leases, payload_writers;
	double attack_s, quiet_s;
	long gap_us, retry_us;
	uid_t attacker, innocent;
	const char *samples;
	const char *attacks;	/* which of (a)-(g) run */
} o = {
	.rounds = 3, .attack_s = 10, .quiet_s = 10, .leases = 200,
	.payload_writers = 96, .gap_us = 500, .retry_us = 1000,
	.attacker = 1000, .innocent = 1001, .attacks = "abcdefg",
};

static struct shm *shm;
static float *samples;		/* [PH_N][OP_N][nlanes][CAP] */
static int mntfd = -1;		/* the mount's root, the parent's */
static pid_t kids[MAX_KIDS];	/* attackers of this round */
static int nkids;
static int nholders;		/* kids[0..nholders) hold leases */
static pid_t innocent_pid;
static bool in_child;

/* ---- helpers ---- */

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_RELAXED)

static void count_err(enum atk a, int err)
{
	struct count *c = &shm->c[a];

	if (err == EINTR)
		ADD(c->eintr, 1);
	else if (err == EAGAIN)
		ADD(c->eagain, 1);
	else {
		ADD(c->other, 1);
		STORE(c->last_err, err);
	}
}

/* the call of attack @a that began at @t0 has returned */
static void count_time(enum atk a, uint64_t t0)
{
	long us = (long)((bench_now_ns() - t0) / 1000), old;

	old = LOAD(shm->c[a].max_us);
	while (us > old && !__atomic_compare_exchange_n(&shm->c[a].max_us, &old,
						       us, false,
						       __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

static void pin(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static float *slot(int ph, int op, int lane)
{
	return samples + (((size_t)ph * OP_N + (size_t)op) *
			  (size_t)shm->nlanes + (size_t)lane) * CAP;
}

static void kill_kids(void)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
}

/* errors, Ctrl-C: nothing we started outlives us */
static void kill_all(void)
{
	if (in_child)
		return;
	kill_kids();
	if (innocent_pid > 0)
		kill(innocent_pid, SIGKILL);
}

static void on_signal(int sig)
{
	kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Fork a process that runs @fn(@arg) as @uid (-1: root), in the mount,
 * on CPU @cpu (-1: any). It dies with us (PDEATHSIG) and never returns.
 */
static pid_t spawn(uid_t uid, int cpu, void (*fn)(void *), void *arg)
{
	pid_t pid;

	if (nkids == MAX_KIDS)
		bench_die(0, "more than %d attacker processes", MAX_KIDS);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die(errno, "fork");
	if (pid) {
		kids[nkids++] = pid;
		return pid;
	}
	in_child = true;
	nkids = 0;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (getppid() == 1)
		_exit(1);
	if (cpu >= 0)
		pin(cpu);
	if (uid != (uid_t)-1) {
		if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
			_exit(125);
	}
	/* our own open of the mount's root, as this uid */
	if (fchdir(mntfd))
		_exit(126);
	fn(arg);
	_exit(0);
}

/* ---- the innocent ---- */

static int innocent_op(int op, int fd, const char *path, unsigned int *seed,
		       char *buf)
{
	off_t off = (off_t)(rand_r(seed) % (FILE_SIZE / IO_SIZE)) * IO_SIZE;
	struct statx stx;

	switch (op) {
	case OP_STAT:
		/* through to the daemon, not the kernel's attribute cache */
		return statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC,
			     STATX_BASIC_STATS, &stx);
	case OP_PREAD:
		return pread(fd, buf, IO_SIZE, off) == IO_SIZE ? 0 : -1;
	default:
		return pwrite(fd, buf, IO_SIZE, off) == IO_SIZE ? 0 : -1;
	}
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	int li = (int)(l - shm->lane), fd;
	unsigned int seed = (unsigned int)li + 1;
	char path[64], buf[IO_SIZE];

	pin(l->cpu);
	snprintf(path, sizeof(path), "hostile/i/lane%d.dat", li);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		STORE(l->err, errno);
		return NULL;
	}
	memset(buf, 'i', sizeof(buf));
	while (!LOAD(shm->quit)) {
		int gen = LOAD(shm->gen), ph = LOAD(shm->phase);

		/* every sample of an earlier phase is in */
		STORE(l->gen_seen, gen);
		if (ph == PH_IDLE) {
			sleep_us(1000);
			continue;
		}
		for (int op = 0; op < OP_N; op++) {
			uint64_t t0 = bench_now_ns();
			int r = innocent_op(op, fd, path, &seed, buf);
			double us = (double)(bench_now_ns() - t0) / 1e3;
			uint32_t n = l->n[ph][op];

			if (r) {
				STORE(l->err, errno);
				STORE(l->err_op, op);
			}
			if (n < CAP) {
				slot(ph, op, li)[n] = (float)us;
				STORE(l->n[ph][op], n + 1);
			} else {
				ADD(l->dropped, 1);
			}
		}
		sleep_us(o.gap_us);
	}
	close(fd);
	return NULL;
}

static void innocent_main(void *arg)
{
	pthread_t t[MAX_LANES];
	char path[64];
	int err;

	for (int i = 0; i < shm->nlanes; i++) {
		snprintf(path, sizeof(path), "hostile/i/lane%d.dat", i);
		err = bench_fill_file(path, FILE_SIZE);
		if (err)
			bench_die(-err, "innocent: create %s", path);
	}
	for (int i = 0; i < shm->nlanes; i++)
		if (pthread_create(&t[i], NULL, lane_main, &shm->lane[i]))
			bench_die(0, "innocent: pthread_create");
	STORE(shm->innocent_ready, 1);
	for (int i = 0; i < shm->nlanes; i++)
		pthread_join(t[i], NULL);
}

/* Switch the innocent to @ph; wait until no operation of before runs. */
static void set_phase(int ph)
{
	uint64_t end = bench_now_ns() + 120000000000ull;
	int gen;

	STORE(shm->phase, ph);
	gen = __atomic_add_fetch(&shm->gen, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < shm->nlanes; i++)
		while (LOAD(shm->lane[i].gen_seen) != gen) {
			if (bench_now_ns() > end)
				bench_die(0, "the innocent's thread on CPU %d "
					  "has been in one operation for "
					  "120 s", shm->lane[i].cpu);
			sleep_us(1000);
		}
}

/* ---- the attacker ---- */

/*
 * (a)-(d): take a lease on @arg and hold it, ignoring breaks (and the
 * SIGBUS of revoke=signal); once it is gone, take it again at once.
 */
static void holder_main(void *arg)
{
	const char *path = arg;
	struct mapdirect_lease l = { .size = sizeof(l) };
	bool held = false, told = false;
	int fd;

	signal(SIGBUS, SIG_IGN);
	/* O_RDONLY: a writable open of its own would stand in its way */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bench_die(errno, "holder: open %s", path);
	while (!LOAD(shm->stop)) {
		struct mapdirect_lease_info in = { .size = sizeof(in) };

		if (!held) {
			l.lease_id = 0;
			l.out_flags = 0;
			if (!ioctl(fd, MAPDIRECT_IOC_LEASE, &l)) {
				held = true;
				ADD(shm->c[A_HOLD].ok, 1);
				if (!told) {
					told = true;
					ADD(shm->ready, 1);
				}
				continue;
			}
			count_err(A_HOLD, errno);
		} else if (!ioctl(fd, MAPDIRECT_IOC_GETLEASE, &in) &&
			   !in.lease_id) {
			held = false;
			ADD(shm->c[A_HOLD].revoked, 1);
			continue;
		}
		sleep_us(1000);
	}
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* A writer that breaks a lease on @arg for as long as the attack runs */
static void writer_loop(const char *path, enum atk a, size_t len)
{
	char *buf = malloc(len);
	int fd;

	if (!buf)
		bench_die(ENOMEM, "writer");
	memset(buf, 'a', len);
	do
		fd = open(path, O_RDWR | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		bench_die(errno, "writer: open %s", path);
	ADD(shm->ready, 1);
	while (!LOAD(shm->stop)) {
		uint64_t t0 = bench_now_ns();
		ssize_t n = pwrite(fd, buf, len, 0);

		count_time(a, t0);
		if (n == (ssize_t)len) {
			ADD(shm->c[a].ok, 1);
			continue;
		}
		if (n >= 0) {
			/* the parts after the first one were refused */
			ADD(shm->c[a].part, 1);
			continue;
		}
		count_err(a, errno);
		if (errno != EINTR && o.retry_us)
			sleep_us(o.retry_us);
	}
}

static void storm_writer_main(void *arg)
{
	/* no SA_RESTART: a parked write is interrupted */
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigaction(SIGUSR1, &sa, NULL);
	writer_loop(arg, A_STORM, IO_SIZE);
}

static void signaller_main(void *arg)
{
	(void)arg;
	while (!LOAD(shm->stop))
		for (int i = 0; i < STORM_WRITERS; i++)
			if (!kill(shm->storm[i], SIGUSR1))
				ADD(shm->c[A_SIGNAL].ok, 1);
}

static void pinned_main(void *arg)
{
	writer_loop(arg, A_PINNED, IO_SIZE);
}

static void relapse_writer_main(void *arg)
{
	writer_loop(arg, A_RELEASE, IO_SIZE);
}

/* what a process of 1 MiB writers writes, and as which attack */
struct payload {
	char *path;
	enum atk a;
};

static void *payload_thread(void *arg)
{
	const struct payload *p = arg;

	writer_loop(p->path, p->a, PAYLOAD);
	return NULL;
}

/* (c), (h): a process of PAYLOAD_THREADS 1 MiB writers */
static void payload_main(void *arg)
{
	pthread_t t[PAYLOAD_THREADS];

	for (int i = 0; i < PAYLOAD_THREADS; i++)
		if (pthread_create(&t[i], NULL, payload_thread, arg))
			bench_die(0, "payload: pthread_create");
	for (int i = 0; i < PAYLOAD_THREADS; i++)
		pthread_join(t[i], NULL);
}

/* (e): ALLOCATE leases on fresh sparse files */
static void allocate_main(void *arg)
{
	struct mapdirect_lease l = {
		.size = sizeof(l), .flags = MAPDIRECT_LEASE_ALLOCATE,
	};
	struct mapdirect_unlease u = { .size = sizeof(u) };
	char path[64];

	(void)arg;
	ADD(shm->ready, 1);
	for (long k = 0; !LOAD(shm->stop); k++) {
		uint64_t t0 = bench_now_ns();
		int fd;

		snprintf(path, sizeof(path), "hostile/a/alloc/%ld", k);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			count_err(A_ALLOC, errno);
			sleep_us(1000);
			continue;
		}
		if (ftruncate(fd, FILE_SIZE)) {
			count_err(A_ALLOC, errno);
		} else if (ioctl(fd, MAPDIRECT_IOC_LEASE, &l)) {
			count_err(A_ALLOC, errno);
		} else {
			ADD(shm->c[A_ALLOC].ok, 1);
			ioctl(fd, MAPDIRECT_IOC_UNLEASE, &u);
		}
		close(fd);
		unlink(path);
		count_time(A_ALLOC, t0);
		l.lease_id = 0;
		l.out_flags = 0;
	}
}

/* (f): the deep directory, ~3 KB of path under MNT */
static void deep_dir(char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "hostile/a/list");

	for (int i = 0; i < DEEP_LEVELS && n + DEEP_NAME + 2 < len; i++) {
		buf[n++] = '/';
		n += (size_t)snprintf(buf + n, len - n, "%02d", i);
		memset(buf + n, 'd', DEEP_NAME - 2);
		n += DEEP_NAME - 2;
		buf[n] = '\0';
	}
}

/* A whole MAPDIRECT_IOC_LEASES walk of the mount: 0 or -errno */
static int leases_walk(int root, struct mapdirect_leases *a)
{
	uint64_t cursor = 0;

	do {
		memset(a, 0, offsetof(struct mapdirect_leases, buf));
		a->size = sizeof(*a);
		a->cursor = cursor;
		if (ioctl(root, MAPDIRECT_IOC_LEASES, a))
			return -errno;
		cursor = a->cursor;
	} while (!(a->out_flags & MAPDIRECT_LEASES_END));
	return 0;
}

static void lister_main(void *arg)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_leases *a = malloc(sizeof(*a));
	char *buf = malloc(LIST_BUF), dir[4096], path[4200];
	int root, err;

	(void)arg;
	if (!a || !buf)
		bench_die(ENOMEM, "lister");
	deep_dir(dir, sizeof(dir));
	for (int i = 0; i < o.leases; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%04d", dir, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			bench_die(errno, "lister: open %s", path);
		if (ioctl(fd, MAPDIRECT_IOC_LEASE, &l))
			bench_die(errno, "lister: lease %s", path);
		l.lease_id = 0;
		l.out_flags = 0;
		/* the fd stays open: the lease with it */
	}
	root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		bench_die(errno, "lister: open the mount's root");
	ADD(shm->ready, 1);
	while (!LOAD(shm->stop)) {
		uint64_t t0 = bench_now_ns();
		ssize_t n = fgetxattr(root, "user.mapdirect.leases", buf,
				      LIST_BUF);

		count_time(A_LIST, t0);
		if (n < 0)
			count_err(A_LIST, errno);
		else
			ADD(shm->c[A_LIST].ok, 1);
		t0 = bench_now_ns();
		err = leases_walk(root, a);
		count_time(A_LIST, t0);
		if (err)
			count_err(A_LIST, -err);
		else
			ADD(shm->c[A_LIST].ok, 1);
	}
}

/* (g) */
static void churn_main(void *arg)
{
	long me = (long)arg;
	char path[64];

	ADD(shm->ready, 1);
	while (!LOAD(shm->stop)) {
		for (int i = 0; i < CHURN_FILES && !LOAD(shm->stop); i++) {
			uint64_t t0 = bench_now_ns();
			int fd;

			snprintf(path, sizeof(path), "hostile/a/churn%ld/%d",
				 me, i);
			fd = open(path,
				  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				  0644);
			if (fd < 0 || close(fd)) {
				count_err(A_CHURN, errno);
				continue;
			}
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || close(fd) || unlink(path)) {
				count_err(A_CHURN, errno);
				continue;
			}
			ADD(shm->c[A_CHURN].ok, 1);
			count_time(A_CHURN, t0);
		}
	}
}

/* The attacker's files, made once as the attacker */
static void setup_main(void *arg)
{
	static const char *const files[] = {
		"hostile/a/storm.dat", "hostile/a/pinned.dat",
		"hostile/a/relapse.dat",
	};
	char dir[4096], path[4200];
	size_t n;
	int err;

	(void)arg;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		err = bench_fill_file(files[i], FILE_SIZE);
		if (err)
			bench_die(-err, "create %s", files[i]);
	}
	/* room for writes of 1 MiB that do not extend it */
	err = bench_fill_file("hostile/a/payload.dat", 2 * PAYLOAD);
	if (!err)
		err = bench_fill_file("hostile/a/heavy.dat", 2 * PAYLOAD);
	if (err)
		bench_die(-err, "create hostile/a/payload.dat");
	mkdir("hostile/a/alloc", 0755);
	for (long k = 0; k < CHURNERS; k++) {
		snprintf(path, sizeof(path), "hostile/a/churn%ld", k);
		mkdir(path, 0755);
	}
	deep_dir(dir, sizeof(dir));
	/* every level of it, from hostile/a/list down */
	for (char *p = strchr(dir + strlen("hostile/a/"), '/');;
	     p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			bench_die(errno, "mkdir %.60s...", dir);
		if (!p)
			break;
		*p = '/';
	}
	n = strlen(dir);
	for (int i = 0; i < o.leases; i++) {
		snprintf(path, sizeof(path), "%s/f%04d", dir, i);
		err = bench_fill_file(path, IO_SIZE);
		if (err)
			bench_die(-err, "create %.60s.../f%04d (%zu bytes of "
				  "path)", dir, i, n);
	}
}

/* ---- the daemon's counters ---- */

struct dstats {
	int n;
	char key[MAX_STATS][48];
	long long val[MAX_STATS];
};

static void read_stats(struct dstats *s)
{
	char buf[8192], *line, *save = NULL;
	ssize_t len = fgetxattr(mntfd, "user.mapdirect.stats", buf,
				sizeof(buf) - 1);

	s->n = 0;
	if (len < 0)
		bench_die(errno, "%s: user.mapdirect.stats", o.mount);
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line && s->n < MAX_STATS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq || eq - line >= (long)sizeof(s->key[0]))
			continue;
		*eq = '\0';
		snprintf(s->key[s->n], sizeof(s->key[0]), "%s", line);
		s->val[s->n++] = atoll(eq + 1);
	}
}

static long long stat_of(const struct dstats *s, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->key[i], key))
			return s->val[i];
	return -1;
}

/* What a config key of the mount says, into @out */
static void config_of(const char *key, char *out, size_t len)
{
	char buf[4096], *p;
	size_t k = strlen(key);
	ssize_t n = fgetxattr(mntfd, "user.mapdirect.config", buf,
			      sizeof(buf) - 1);

	snprintf(out, len, "?");
	if (n < 0)
		bench_die(errno, "%s: not a mapdirectfs mount", o.mount);
	buf[n] = '\0';
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, k) && p[k] == '=') {
			snprintf(out, len, "%.*s",
				 (int)strcspn(p + k + 1, "\n"), p + k + 1);
			return;
		}
	}
}

/* ---- a round ---- */

static void wait_ready(int want, const char *what)
{
	uint64_t end = bench_now_ns() + 60000000000ull;

	while (LOAD(shm->ready) < want) {
		if (bench_now_ns() > end)
			bench_die(0, "%s: %d of %d set up after 60 s", what,
				  LOAD(shm->ready), want);
		for (int i = 0; i < nkids; i++) {
			int st;

			if (waitpid(kids[i], &st, WNOHANG) == kids[i]) {
				kids[i] = 0;
				bench_die(0, "%s: an attacker exited (%s %d) "
					  "before it was set up", what,
					  WIFEXITED(st) ? "status" : "signal",
					  WIFEXITED(st) ? WEXITSTATUS(st) :
					  WTERMSIG(st));
			}
		}
		sleep_us(2000);
	}
}

/* attack @c ('a'..'g') is on */
static bool on(char c)
{
	return strchr(o.attacks, c);
}

/* Spawn a holder of @path and count it as one to wait for */
static void holder(char *path, int *want)
{
	spawn(o.attacker, -1, holder_main, path);
	nholders++;
	(*want)++;
}

static void start_attack(void)
{
	static char storm[] = "hostile/a/storm.dat";
	static char pinned[] = "hostile/a/pinned.dat";
	static char payload[] = "hostile/a/payload.dat";
	static char relapse[] = "hostile/a/relapse.dat";
	static char heavy[] = "hostile/a/heavy.dat";
	static struct payload pc = { payload, A_PAYLOAD };
	static struct payload ph = { heavy, A_HEAVY };
	int procs = (o.payload_writers + PAYLOAD_THREADS - 1) / PAYLOAD_THREADS;
	int want = 0;

	STORE(shm->stop, 0);
	STORE(shm->ready, 0);
	nholders = 0;
	/* first the leases (the holders are kids[0..nholders)), so that
	 * every writer opens a leased file: mediated in either mode */
	if (on('a'))
		holder(storm, &want);
	if (on('b'))
		holder(pinned, &want);
	if (on('c'))
		holder(payload, &want);
	if (on('d'))
		holder(relapse, &want);
	if (on('f')) {
		spawn(o.attacker, -1, lister_main, NULL);
		want++;
	}
	wait_ready(want, "holders and lister");
	if (on('e')) {
		spawn(o.attacker, -1, allocate_main, NULL);
		want++;
	}
	for (long k = 0; on('g') && k < CHURNERS; k++, want++)
		spawn(o.attacker, -1, churn_main, (void *)k);
	for (int i = 0; on('a') && i < STORM_WRITERS; i++, want++)
		shm->storm[i] = spawn(o.attacker, -1, storm_writer_main, storm);
	for (int i = 0; on('b') && i < PINNED_WRITERS; i++, want++)
		spawn(o.attacker, 0, pinned_main, pinned);
	for (int i = 0; on('c') && i < procs; i++, want += PAYLOAD_THREADS)
		spawn(o.attacker, -1, payload_main, &pc);
	if (on('d')) {
		spawn(o.attacker, -1, relapse_writer_main, relapse);
		want++;
	}
	for (int i = 0; on('h') && i < procs; i++, want += PAYLOAD_THREADS)
		spawn(o.attacker, -1, payload_main, &ph);
	wait_ready(want, "attackers");
	if (on('a'))
		spawn(o.attacker, -1, signaller_main, NULL);
}

/* Kill every attacker and reap it; the daemon then has nothing parked */
static void stop_attack(void)
{
	uint64_t end = bench_now_ns() + 30000000000ull;
	struct dstats s;
	int left;

	STORE(shm->stop, 1);
	sleep_us(50000);
	/* holders first: their leases end, whatever is parked runs */
	for (int i = 0; i < nholders; i++)
		kill(kids[i], SIGKILL);
	kill_kids();
	do {
		left = 0;
		for (int i = 0; i < nkids; i++) {
			if (!kids[i])
				continue;
			if (waitpid(kids[i], NULL, WNOHANG) == kids[i])
				kids[i] = 0;
			else
				left++;
		}
		if (left)
			sleep_us(10000);
	} while (left && bench_now_ns() < end);
	if (left)
		bench_die(0, "%d attackers not gone 30 s after SIGKILL: "
			  "requests of theirs never answered", left);
	nkids = 0;
	do {
		read_stats(&s);
		if (stat_of(&s, "parked_now") == 0 &&
		    stat_of(&s, "leases_active") == 0)
			return;
		sleep_us(10000);
	} while (bench_now_ns() < end);
	bench_die(0, "the attackers are gone, and after 30 s the daemon "
		  "still has %lld requests parked and %lld leases",
		  stat_of(&s, "parked_now"), stat_of(&s, "leases_active"));
}

/* Run phase @ph for @secs; the daemon's peak RSS meanwhile into @rss */
static void run_phase(int ph, double secs, long *rss)
{
	uint64_t end = bench_now_ns() + (uint64_t)(secs * 1e9);

	set_phase(ph);
	while (bench_now_ns() < end) {
		if (o.daemon > 0) {
			long kb = bench_proc_kb(o.daemon, "VmRSS");

			if (kb > *rss)
				*rss = kb;
		}
		sleep_us(100000);
	}
	set_phase(PH_IDLE);
}

/* ---- results ---- */

/* the samples of [from, to) of each lane, into @v: how many */
static size_t gather(int ph, int op, const uint32_t *from,
		     const uint32_t *to, double *v)
{
	size_t n = 0;

	for (int l = 0; l < shm->nlanes; l++)
		for (uint32_t i = from[l]; i < to[l]; i++)
			v[n++] = slot(ph, op, l)[i];
	return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: hostile --mount MNT [--pid DAEMONPID] [--rounds R] "
		"[--attack-s S] [--quiet-s S] [--attacker UID] "
		"[--innocent UID] [--leases N] [--payload-writers N] "
		"[--gap-us US] [--retry-us US] [--attacks abcdefg] "
		"[--samples FILE]\n");
	exit(rc);
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mount", required_argument, NULL, 'm' },
		{ "pid", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "attack-s", required_argument, NULL, 'a' },
		{ "quiet-s", required_argument, NULL, 'q' },
		{ "attacker", required_argument, NULL, 'A' },
		{ "innocent", required_argument, NULL, 'I' },
		{ "leases", required_argument, NULL, 'l' },
		{ "payload-writers", required_argument, NULL, 'w' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "retry-us", required_argument, NULL, 'R' },
		{ "samples", required_argument, NULL, 's' },
		{ "attacks", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.mount = optarg;
			break;
		case 'p':
			o.daemon = (pid_t)atoi(optarg);
			break;
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 'a':
			o.attack_s = atof(optarg);
			break;
		case 'q':
			o.quiet_s = atof(optarg);
			break;
		case 'A':
			o.attacker = (uid_t)atol(optarg);
			break;
		case 'I':
			o.innocent = (uid_t)atol(optarg);
			break;
		case 'l':
			o.leases = atoi(optarg);
			break;
		case 'w':
			o.payload_writers = atoi(optarg);
			break;
		case 'g':
			o.gap_us = atol(optarg);
			break;
		case 'R':
			o.retry_us = atol(optarg);
			break;
		case 's':
			o.samples = optarg;
			break;
		case 'x':
			o.attacks = optarg;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (!o.mount || o.rounds < 1 || o.attack_s <= 0 || o.quiet_s <= 0 ||
	    o.leases < 1 || o.leases > 10000 || o.payload_writers < 1 ||
	    o.rounds > 64 || o.gap_us < 0 || o.retry_us < 0 || !o.attacker ||
	    !o.innocent || !*o.attacks ||
	    strspn(o.attacks, "abcdefgh") != strlen(o.attacks) ||
	    o.attacker == o.innocent)
		usage(2);
}

/* mkdir @rel under the mount, owned by @uid */
static void own_dir(const char *rel, uid_t uid)
{
	if (mkdirat(mntfd, rel, 0755) && errno != EEXIST)
		bench_die(errno, "mkdir %s/%s", o.mount, rel);
	if (fchownat(mntfd, rel, uid, uid, AT_SYMLINK_NOFOLLOW))
		bench_die(errno, "chown %s/%s", o.mount, rel);
}

static void print_results(const char *transport, const char *mediate,
			  uint32_t (*bound)[OP_N][MAX_LANES], const long *rss,
			  const struct dstats *d0, const struct dstats *d1,
			  double elapsed)
{
	struct bstats st[PH_N][OP_N];
	size_t cap = (size_t)shm->nlanes * CAP;
	double *v = malloc(cap * sizeof(*v));
	int k;

	if (!v)
		bench_die(ENOMEM, "results");
	/* bound[2 * r + ph][op]: each lane's sample count after round r */
	for (int ph = 0; ph < PH_N; ph++) {
		for (int op = 0; op < OP_N; op++) {
			static const uint32_t zero[MAX_LANES];
			const uint32_t *prev = zero;
			double p99[64], max[64];
			size_t n;

			printf("{\"transport\": \"%s\", \"mediate\": \"%s\", "
			       "\"attacks\": \"%s\", \"phase\": \"%s\", "
			       "\"op\": \"%s\", \"unit\": \"us\", "
			       "\"lanes\": %d, ", transport, mediate, o.attacks,
			       ph_name[ph], op_name[op], shm->nlanes);
			for (int r = 0; r < o.rounds && r < 64; r++) {
				struct bstats rs;
				const uint32_t *cur = bound[2 * r + ph][op];

				n = gather(ph, op, prev, cur, v);
				bench_stats(v, n, &rs);
				p99[r] = rs.p99;
				max[r] = rs.max;
				prev = cur;
			}
			printf("\"p99_per_round\": [");
			for (int r = 0; r < o.rounds && r < 64; r++)
				printf("%s%.1f", r ? ", " : "", p99[r]);
			printf("], \"max_per_round\": [");
			for (int r = 0; r < o.rounds && r < 64; r++)
				printf("%s%.1f", r ? ", " : "", max[r]);
			printf("], ");
			n = gather(ph, op, zero,
				   bound[2 * (o.rounds - 1) + ph][op], v);
			bench_stats(v, n, &st[ph][op]);
			bench_json_stats(stdout, "stats", &st[ph][op]);
			printf("}\n");
		}
	}
	free(v);

	printf("{\"transport\": \"%s\", \"mediate\": \"%s\", \"summary\": "
	       "true, \"rounds\": %d, \"attack_s\": %.1f, \"quiet_s\": %.1f, "
	       "\"lanes\": %d, \"cpus\": [",
	       transport, mediate, o.rounds, o.attack_s, o.quiet_s,
	       shm->nlanes);
	for (int l = 0; l < shm->nlanes; l++)
		printf("%s%d", l ? ", " : "", shm->lane[l].cpu);
	printf("], \"gap_us\": %ld, \"retry_us\": %ld, \"leases\": %d, "
	       "\"payload_writers\": %d, \"attacks\": \"%s\", "
	       "\"elapsed_s\": %.1f, \"attack\": {", o.gap_us, o.retry_us,
	       o.leases, o.payload_writers, o.attacks, elapsed);
	for (int a = 0; a < A_N; a++) {
		const struct count *c = &shm->c[a];

		printf("%s\"%s\": {\"ok\": %ld, \"eintr\": %ld, "
		       "\"eagain\": %ld, \"other\": %ld, \"part\": %ld, "
		       "\"max_us\": %ld", a ? ", " : "", atk_name[a], c->ok,
		       c->eintr, c->eagain, c->other, c->part, c->max_us);
		if (a == A_HOLD)
			printf(", \"revoked\": %ld", c->revoked);
		if (c->other)
			printf(", \"last_error\": \"%s\"",
			       strerror(c->last_err));
		printf("}");
	}
	/* the daemon's counters over the attacked rounds */
	printf("}, \"daemon_stats\": {");
	k = 0;
	for (int i = 0; i < d1->n; i++) {
		long long a = stat_of(d0, d1->key[i]);

		if (a < 0 || !strcmp(d1->key[i], "leases_active") ||
		    !strcmp(d1->key[i], "parked_now") ||
		    !strcmp(d1->key[i], "breaks_active"))
			continue;
		printf("%s\"%s\": %lld", k++ ? ", " : "", d1->key[i],
		       d1->val[i] - a);
	}
	printf("}, \"daemon_vmrss_kb\": {\"quiet\": %ld, \"attacked\": %ld}",
	       rss[PH_QUIET], rss[PH_ATTACKED]);
	printf(", \"innocent_errors\": [");
	k = 0;
	for (int l = 0; l < shm->nlanes; l++)
		if (shm->lane[l].err)
			printf("%s\"cpu %d: %s: %s\"", k++ ? ", " : "",
			       shm->lane[l].cpu, op_name[shm->lane[l].err_op],
			       strerror(shm->lane[l].err));
	printf("]}\n");

	fprintf(stderr, "hostile: %s, mediate=%s, %d round(s) of %.0f s "
		"quiet / %.0f s attacked, an innocent thread on each of %d "
		"CPUs (us):\n", transport, mediate, o.rounds, o.quiet_s,
		o.attack_s, shm->nlanes);
	fprintf(stderr, "  %-7s %28s   %28s\n", "", "quiet p50 / p99 / max (n)",
		"attacked p50 / p99 / max (n)");
	for (int op = 0; op < OP_N; op++) {
		const struct bstats *q = &st[PH_QUIET][op];
		const struct bstats *a = &st[PH_ATTACKED][op];

		fprintf(stderr, "  %-7s %6.0f / %6.0f / %7.0f (%zu)   "
			"%6.0f / %6.0f / %7.0f (%zu)\n", op_name[op], q->p50,
			q->p99, q->max, q->n, a->p50, a->p99, a->max, a->n);
	}
}

int main(int argc, char **argv)
{
	uint32_t (*bound)[OP_N][MAX_LANES];
	struct dstats d0, d1, before, after;
	char transport[32], mediate[32], top[4096];
	long rss[PH_N] = { 0, 0 };
	uint64_t t_start = bench_now_ns();
	cpu_set_t cpus;
	size_t bytes;
	int st;

	parse(argc, argv);
	if (geteuid())
		bench_die(0, "must run as root (it acts as two other uids)");
	mntfd = open(o.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mntfd < 0)
		bench_die(errno, "%s", o.mount);
	config_of("transport", transport, sizeof(transport));
	config_of("mediate_active", mediate, sizeof(mediate));

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		bench_die(errno, "mmap");
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		bench_die(errno, "sched_getaffinity");
	for (int c = 0; c < CPU_SETSIZE && shm->nlanes < MAX_LANES; c++)
		if (CPU_ISSET(c, &cpus))
			shm->lane[shm->nlanes++].cpu = c;
	if (!CPU_ISSET(0, &cpus))
		bench_die(0, "CPU 0 is not ours: the pinned writers need it");
	bytes = (size_t)PH_N * OP_N * (size_t)shm->nlanes * CAP *
		sizeof(float);
	samples = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	bound = calloc(2 * (size_t)o.rounds, sizeof(*bound));
	if (samples == MAP_FAILED || !bound)
		bench_die(ENOMEM, "samples");
	shm->phase = PH_IDLE;

	atexit(kill_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	own_dir("hostile", 0);
	own_dir("hostile/a", o.attacker);
	own_dir("hostile/i", o.innocent);
	spawn(o.attacker, -1, setup_main, NULL);
	if (waitpid(kids[0], &st, 0) != kids[0] || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		bench_die(0, "setting up the attacker's files failed");
	nkids = 0;
	innocent_pid = spawn(o.innocent, -1, innocent_main, NULL);
	nkids = 0;
	for (uint64_t end = bench_now_ns() + 60000000000ull;
	     !LOAD(shm->innocent_ready);) {
		if (bench_now_ns() > end ||
		    waitpid(innocent_pid, NULL, WNOHANG) == innocent_pid)
			bench_die(0, "the innocent did not start");
		sleep_us(2000);
	}
	/* warm up: the daemon's threads, the innocent's files */
	set_phase(PH_QUIET);
	sleep_us(300000);
	set_phase(PH_IDLE);
	for (int l = 0; l < shm->nlanes; l++)
		memset(shm->lane[l].n, 0, sizeof(shm->lane[l].n));
	memset(&d0, 0, sizeof(d0));
	memset(&d1, 0, sizeof(d1));

	for (int r = 0; r < o.rounds; r++) {
		fprintf(stderr, "hostile: %s round %d/%d: quiet %.0f s\n",
			transport, r + 1, o.rounds, o.quiet_s);
		run_phase(PH_QUIET, o.quiet_s, &rss[PH_QUIET]);
		for (int op = 0; op < OP_N; op++)
			for (int l = 0; l < shm->nlanes; l++)
				bound[2 * r + PH_QUIET][op][l] =
					shm->lane[l].n[PH_QUIET][op];
		fprintf(stderr, "hostile: %s round %d/%d: attacked %.0f s\n",
			transport, r + 1, o.rounds, o.attack_s);
		read_stats(&before);
		start_attack();
		run_phase(PH_ATTACKED, o.attack_s, &rss[PH_ATTACKED]);
		stop_attack();
		read_stats(&after);
		for (int op = 0; op < OP_N; op++)
			for (int l = 0; l < shm->nlanes; l++)
				bound[2 * r + PH_ATTACKED][op][l] =
					shm->lane[l].n[PH_ATTACKED][op];
		/* the counters of every attacked round, added up */
		for (int i = 0; i < after.n; i++) {
			long long b = stat_of(&before, after.key[i]);

			if (b < 0)
				continue;
			if (r == 0) {
				snprintf(d1.key[d1.n], sizeof(d1.key[0]), "%s",
					 after.key[i]);
				snprintf(d0.key[d0.n], sizeof(d0.key[0]), "%s",
					 after.key[i]);
				d0.val[d0.n++] = 0;
				d1.val[d1.n++] = after.val[i] - b;
			} else {
				for (int j = 0; j < d1.n; j++)
					if (!strcmp(d1.key[j], after.key[i]))
						d1.val[j] += after.val[i] - b;
			}
		}
	}
	STORE(shm->quit, 1);
	if (waitpid(innocent_pid, NULL, 0) != innocent_pid)
		bench_die(errno, "waitpid innocent");
	innocent_pid = 0;

	print_results(transport, mediate, bound, rss, &d0, &d1,
		      (double)(bench_now_ns() - t_start) / 1e9);
	if (o.samples) {
		FILE *f = fopen(o.samples, "we");
		static const uint32_t zero[MAX_LANES];
		double *v = malloc((size_t)shm->nlanes * CAP * sizeof(*v));

		if (!f || !v)
			bench_die(errno, "%s", o.samples);
		for (int ph = 0; ph < PH_N; ph++)
			for (int op = 0; op < OP_N; op++) {
				size_t n = gather(ph, op, zero,
						  bound[2 * (o.rounds - 1) +
							ph][op], v);

				for (size_t i = 0; i < n; i++)
					fprintf(f, "%s %s %.1f\n", ph_name[ph],
						op_name[op], v[i]);
			}
		free(v);
		if (fclose(f))
			bench_die(errno, "%s", o.samples);
	}
	/* ours only: MNT/hostile */
	snprintf(top, sizeof(top), "%s/hostile", o.mount);
	nftw(top, rm_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return fflush(stdout) ? 1 : 0;
}
