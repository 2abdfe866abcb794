// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lease_scale - what leases cost as they grow in number (bench/README.md).
 *
 *   lease_scale --mount MNT --pid DAEMONPID --count N [--layout one|files]
 *               [--hold fd|map] [--backing DIR] [--reps R] [--joins J]
 *               [--writes W] [--per-holder K]
 *
 * N leases in the mount MNT (best with mediate=all and a long
 * lease_break_time), taken by holder processes of at most K leases each:
 *   one     N open files of one file, MNT/scale/one.dat (1 MiB)
 *   files   one open file each of N files, MNT/scale/files/dDDD/fNNNNNN
 *           (4 KiB each; created in --backing DIR when given, faster)
 *   fd      each lease keeps its open file, registered for POLLPRI with
 *           epoll: the daemon keeps a poll handle per lease
 *   map     (one only) the holder maps the file once, then opens, leases
 *           and closes it N times: every lease lives on in the mapping
 *           (SPEC 4.2). For N beyond what the daemon's RLIMIT_NOFILE lets
 *           it keep open (it holds a backing fd per open file)
 * Each of R repetitions measures:
 *   mem       daemon RssAnon at the start, after the opens, after the
 *             leases, after the poll registrations, at the end
 *   acquire   mean time of one MAPDIRECT_IOC_LEASE
 *   write     4 KiB pwrites (W) on a file without a lease (mediated under
 *             mediate=all), while the leases are held ("held") and while
 *             the leased file is breaking ("breaking")
 *   start     an O_NONBLOCK pwrite on the leased file (one.dat, or the
 *             first of the files) starts the break: the call (EAGAIN),
 *             "notified" until the lease told last (the oldest) polls
 *             POLLPRI (fd), and "cpu", the daemon's CPU time meanwhile;
 *             across files, the call is the median of 16 such starts, on
 *             the first 16 files
 *   join      J more O_NONBLOCK pwrites on the breaking file (EAGAIN)
 *   end       fd: the holders unlease everything (time per unlease); map:
 *             the holders are killed; then until the file has no lease
 * One JSON object on stdout; times in microseconds, memory in kB and B.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "mapdirect.h"

#define ONE_SIZE (1u << 20)
#define SMALL_SIZE 4096u
#define MAX_REPS 64
#define EXTRA_STARTS 15		/* more break starts across files */

enum layout { L_ONE, L_FILES };
enum hold { H_FD, H_MAP };

/* what the holders write for the parent to read */
struct shared {
	uint64_t t_marker;	/* the oldest lease's POLLPRI, ns */
};

struct reply {
	int err;
	int what;		/* the step that failed */
	double secs;		/* time the command took */
};

struct holder {
	pid_t pid;
	int cmd_w, rep_r;
	int first, n;		/* lease indexes [first, first + n) */
};

static struct {
	const char *mount, *backing;
	pid_t daemon;
	enum layout layout;
	enum hold hold;
	int count, reps, joins, writes, per_holder;
} o = {
	.layout = L_ONE, .hold = H_FD, .reps = 1, .joins = 1000,
	.writes = 2000, .count = -1,
};

static struct holder *holders;
static int nholders;
static struct shared *shm;

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* the path of lease @i's file, under @base (the mount or the backing) */
static void lease_path(const char *base, int i, char *buf, size_t len)
{
	if (o.layout == L_ONE)
		snprintf(buf, len, "%s/scale/one.dat", base);
	else
		snprintf(buf, len, "%s/scale/files/d%03d/f%06d", base,
			 i / 1000, i);
}

static void kill_holders(void)
{
	for (int i = 0; i < nholders; i++)
		if (holders[i].pid > 0)
			kill(holders[i].pid, SIGKILL);
}

static void on_signal(int sig)
{
	kill_holders();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- holder ---- */

struct marker_arg {
	int fd;
};

static void *marker_main(void *arg)
{
	struct pollfd pfd = { .fd = ((struct marker_arg *)arg)->fd,
			      .events = POLLPRI };

	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	__atomic_store_n(&shm->t_marker, bench_now_ns(), __ATOMIC_SEQ_CST);
	return NULL;
}

static void holder_main(const struct holder *h, int cmd_r, int rep_w)
{
	static struct marker_arg marg;
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_unlease u = { .size = sizeof(u) };
	int *fds = calloc((size_t)h->n, sizeof(int));
	char path[4096];
	void *map = NULL;
	int epfd = -1;
	char cmd;

	if (!fds)
		_exit(1);
	while (read(cmd_r, &cmd, 1) == 1) {
		struct reply r = { 0 };
		uint64_t t0 = bench_now_ns();

		r.what = cmd;
		switch (cmd) {
		case 'O':	/* open (fd) or map (map) */
			if (o.hold == H_MAP) {
				int fd;

				lease_path(o.mount, 0, path, sizeof(path));
				fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0) {
					r.err = errno;
					break;
				}
				map = mmap(NULL, ONE_SIZE, PROT_READ,
					   MAP_SHARED, fd, 0);
				if (map == MAP_FAILED)
					r.err = errno;
				else
					(void)*(volatile char *)map;
				close(fd);
				break;
			}
			for (int i = 0; i < h->n && !r.err; i++) {
				lease_path(o.mount, h->first + i, path,
					   sizeof(path));
				fds[i] = open(path, O_RDONLY | O_CLOEXEC);
				if (fds[i] < 0)
					r.err = errno;
			}
			break;
		case 'L':	/* lease everything */
			for (int i = 0; i < h->n && !r.err; i++) {
				int fd = fds[i];

				if (o.hold == H_MAP) {
					lease_path(o.mount, 0, path,
						   sizeof(path));
					fd = open(path, O_RDONLY | O_CLOEXEC);
					if (fd < 0) {
						r.err = errno;
						break;
					}
				}
				if (ioctl(fd, MAPDIRECT_IOC_LEASE, &l))
					r.err = errno;
				if (o.hold == H_MAP)
					close(fd);
			}
			break;
		case 'P':	/* poll handles; the first holder's marker */
			epfd = epoll_create1(EPOLL_CLOEXEC);
			if (epfd < 0) {
				r.err = errno;
				break;
			}
			for (int i = 0; i < h->n && !r.err; i++) {
				struct epoll_event ev = { .events = EPOLLPRI };

				ev.data.u32 = (uint32_t)i;
				if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev))
					r.err = errno;
			}
			if (!r.err && h->first == 0) {
				pthread_t t;

				marg.fd = fds[0];
				r.err = pthread_create(&t, NULL, marker_main,
						       &marg);
				if (!r.err)
					pthread_detach(t);
				/* let it reach the daemon and sleep */
				sleep_us(20000);
			}
			break;
		case 'U':	/* unlease everything */
			for (int i = 0; i < h->n && !r.err; i++)
				if (ioctl(fds[i], MAPDIRECT_IOC_UNLEASE, &u))
					r.err = errno;
			break;
		case 'X':
			_exit(0);
		default:
			r.err = EINVAL;
		}
		r.secs = (double)(bench_now_ns() - t0) / 1e9;
		if (write(rep_w, &r, sizeof(r)) != sizeof(r))
			_exit(1);
	}
	_exit(0);
}

/* Send @cmd to holder @i and wait for its answer; @return its time. */
static double command(int i, char cmd)
{
	struct reply r;

	if (write(holders[i].cmd_w, &cmd, 1) != 1)
		bench_die(errno, "holder %d: command %c", i, cmd);
	if (read(holders[i].rep_r, &r, sizeof(r)) != sizeof(r))
		bench_die(0, "holder %d died on command %c", i, cmd);
	if (r.err)
		bench_die(r.err, "holder %d: command %c", i, cmd);
	return r.secs;
}

static double command_all(char cmd)
{
	double secs = 0;

	for (int i = 0; i < nholders; i++)
		secs += command(i, cmd);
	return secs;
}

static void start_holders(void)
{
	int per = o.per_holder;

	nholders = (o.count + per - 1) / per;
	holders = calloc((size_t)nholders, sizeof(*holders));
	if (!holders)
		bench_die(ENOMEM, "calloc");
	for (int i = 0; i < nholders; i++) {
		struct holder *h = &holders[i];
		int cmd[2], rep[2];

		h->first = i * per;
		h->n = o.count - h->first < per ? o.count - h->first : per;
		if (pipe2(cmd, O_CLOEXEC) || pipe2(rep, O_CLOEXEC))
			bench_die(errno, "pipe");
		h->pid = fork();
		if (h->pid < 0)
			bench_die(errno, "fork");
		if (h->pid == 0) {
			close(cmd[1]);
			close(rep[0]);
			holder_main(h, cmd[0], rep[1]);
		}
		close(cmd[0]);
		close(rep[1]);
		h->cmd_w = cmd[1];
		h->rep_r = rep[0];
	}
}

static void reap_holders(void)
{
	for (int i = 0; i < nholders; i++) {
		close(holders[i].cmd_w);
		close(holders[i].rep_r);
		if (holders[i].pid > 0)
			waitpid(holders[i].pid, NULL, 0);
		holders[i].pid = 0;
	}
	free(holders);
	holders = NULL;
	nholders = 0;
}

/* ---- the measuring side ---- */

static void make_dirs(const char *base)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/scale", base);
	if (mkdir(path, 0755) && errno != EEXIST)
		bench_die(errno, "mkdir %s", path);
	if (o.layout != L_FILES)
		return;
	snprintf(path, sizeof(path), "%s/scale/files", base);
	if (mkdir(path, 0755) && errno != EEXIST)
		bench_die(errno, "mkdir %s", path);
	for (int d = 0; d <= (o.count - 1) / 1000; d++) {
		snprintf(path, sizeof(path), "%s/scale/files/d%03d", base, d);
		if (mkdir(path, 0755) && errno != EEXIST)
			bench_die(errno, "mkdir %s", path);
	}
}

static void ensure_file(const char *path, size_t size)
{
	struct stat st;
	int err;

	if (!stat(path, &st) && (size_t)st.st_size == size)
		return;
	err = bench_fill_file(path, size);
	if (err)
		bench_die(-err, "create %s", path);
}

static void prepare_files(void)
{
	const char *base = o.backing ? o.backing : o.mount;
	char path[4096];

	make_dirs(base);
	snprintf(path, sizeof(path), "%s/scale/nolease.dat", base);
	ensure_file(path, ONE_SIZE);
	if (o.layout == L_ONE) {
		lease_path(base, 0, path, sizeof(path));
		ensure_file(path, ONE_SIZE);
		return;
	}
	for (int i = 0; i < o.count; i++) {
		lease_path(base, i, path, sizeof(path));
		ensure_file(path, SMALL_SIZE);
	}
}

static long daemon_nofile(void)
{
	char path[64], line[256];
	long soft = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)o.daemon);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Max open files %ld", &soft) == 1)
			break;
	fclose(f);
	return soft;
}

/* @n 4 KiB pwrites at random offsets, latency of each in @out (us) */
static void write_probe(int fd, int n, double *out)
{
	static char buf[4096];
	unsigned int seed = 1;

	memset(buf, 0x3c, sizeof(buf));
	for (int i = 0; i < n; i++) {
		off_t off = (off_t)(rand_r(&seed) % (ONE_SIZE / 4096)) * 4096;
		uint64_t t0 = bench_now_ns();

		if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
			bench_die(errno, "pwrite to the file without a lease");
		out[i] = (double)(bench_now_ns() - t0) / 1e3;
	}
}

static uint32_t lease_state(int fd, uint32_t *holders_out)
{
	struct mapdirect_lease_info info = { .size = sizeof(info) };

	if (ioctl(fd, MAPDIRECT_IOC_GETLEASE, &info))
		bench_die(errno, "MAPDIRECT_IOC_GETLEASE");
	if (holders_out)
		*holders_out = info.holders;
	return info.state;
}

struct rep {
	long kb_base, kb_open, kb_lease, kb_poll, kb_end;
	double acquire_us, start_us, notified_us, cpu_us, unlease_us, end_us;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(const struct rep *r, int n, size_t field)
{
	double v[MAX_REPS];

	for (int i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&r[i] + field);
	qsort(v, (size_t)n, sizeof(v[0]), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long rss_kb(void)
{
	long kb = bench_proc_kb(o.daemon, "RssAnon");

	if (kb < 0)
		bench_die(0, "daemon pid %d: no /proc/PID/status",
			  (int)o.daemon);
	return kb;
}

/*
 * Across files, a break concerns one lease: start one on each of the next
 * files too (as many as there are, up to EXTRA_STARTS) and keep the median
 * of every start's time. The open files stay open until the rep ends.
 */
static void more_starts(struct rep *r, int *xfd)
{
	double v[EXTRA_STARTS + 1];
	char path[4096];
	int k = 0;

	v[k++] = r->start_us;
	for (int i = 0; i < EXTRA_STARTS; i++) {
		uint64_t t0;
		ssize_t n;

		xfd[i] = -1;
		if (i + 1 >= o.count)
			continue;
		lease_path(o.mount, i + 1, path, sizeof(path));
		xfd[i] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (xfd[i] < 0)
			bench_die(errno, "open %s", path);
		t0 = bench_now_ns();
		n = pwrite(xfd[i], "x", 1, 0);
		v[k++] = (double)(bench_now_ns() - t0) / 1e3;
		if (n >= 0 || errno != EAGAIN)
			bench_die(n >= 0 ? 0 : errno,
				  "%s: O_NONBLOCK pwrite: want EAGAIN", path);
	}
	qsort(v, (size_t)k, sizeof(v[0]), cmp_d);
	r->start_us = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static void one_rep(struct rep *r, double *join, double *w_held,
		    double *w_break)
{
	static double warm[500];

	char target[4096], path[4096];
	uint32_t state, nheld;
	uint64_t t0, t1, c0, c1, t_end0;
	int wfd, bfd, xfd[EXTRA_STARTS];
	ssize_t n;

	memset(r, 0, sizeof(*r));
	__atomic_store_n(&shm->t_marker, 0, __ATOMIC_SEQ_CST);
	snprintf(path, sizeof(path), "%s/scale/nolease.dat", o.mount);
	wfd = open(path, O_RDWR | O_CLOEXEC);
	if (wfd < 0)
		bench_die(errno, "open %s", path);
	lease_path(o.mount, 0, target, sizeof(target));
	/* warm the daemon's threads up before the baseline */
	write_probe(wfd, 500, warm);
	for (int i = 0; i < 200; i++) {
		int fd = open(target, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			bench_die(errno, "open %s", target);
		close(fd);
	}
	sleep_us(200000);
	r->kb_base = rss_kb();

	start_holders();
	command_all('O');
	sleep_us(100000);
	r->kb_open = rss_kb();
	r->acquire_us = command_all('L') * 1e6 / o.count;
	sleep_us(100000);	/* map: the releases of the closes are async */
	r->kb_lease = rss_kb();
	if (o.hold == H_FD) {
		command_all('P');
		sleep_us(100000);
	}
	r->kb_poll = rss_kb();

	write_probe(wfd, o.writes, w_held);

	/* opened while leased: mediated whatever the mount's mode */
	bfd = open(target, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (bfd < 0)
		bench_die(errno, "open %s", target);
	state = lease_state(bfd, &nheld);
	if (state != MAPDIRECT_STATE_HELD)
		bench_die(0, "%s: state %u before the break, want held", target,
			  state);
	c0 = bench_proc_cpu_ns(o.daemon);
	t0 = bench_now_ns();
	n = pwrite(bfd, "x", 1, 0);
	t1 = bench_now_ns();
	if (n >= 0 || errno != EAGAIN)
		bench_die(n >= 0 ? 0 : errno,
			  "the break's O_NONBLOCK pwrite: want EAGAIN, got %zd",
			  n);
	r->start_us = (double)(t1 - t0) / 1e3;
	if (o.hold == H_FD) {
		uint64_t tm = 0;

		for (int i = 0; i < 1200000 && !tm; i++) {
			tm = __atomic_load_n(&shm->t_marker, __ATOMIC_SEQ_CST);
			if (!tm)
				sleep_us(50);
		}
		if (!tm)
			bench_die(0, "the oldest holder was never told");
		r->notified_us = (double)(tm - t0) / 1e3;
	}
	sleep_us(20000);
	c1 = bench_proc_cpu_ns(o.daemon);
	r->cpu_us = (double)(c1 - c0) / 1e3;
	if (o.layout == L_FILES)
		more_starts(r, xfd);

	for (int i = 0; i < o.joins; i++) {
		uint64_t a = bench_now_ns();

		n = pwrite(bfd, "x", 1, 0);
		join[i] = (double)(bench_now_ns() - a) / 1e3;
		if (n >= 0 || errno != EAGAIN)
			bench_die(n >= 0 ? 0 : errno,
				  "joining O_NONBLOCK pwrite: want EAGAIN");
	}
	write_probe(wfd, o.writes, w_break);
	state = lease_state(bfd, NULL);
	if (state != MAPDIRECT_STATE_BREAKING)
		bench_die(0, "%s: state %u during the break, want breaking",
			  target, state);

	t_end0 = bench_now_ns();
	if (o.hold == H_FD) {
		r->unlease_us = command_all('U') * 1e6 / o.count;
	} else {
		kill_holders();
	}
	while (lease_state(bfd, NULL) != MAPDIRECT_STATE_NONE) {
		if (bench_now_ns() - t_end0 > 120000000000ull)
			bench_die(0, "%s: the break never ended", target);
		sleep_us(100);
	}
	r->end_us = (double)(bench_now_ns() - t_end0) / 1e3;
	if (o.hold == H_FD)
		for (int i = 0; i < nholders; i++)
			if (write(holders[i].cmd_w, "X", 1) != 1)
				bench_die(errno, "holder %d: exit", i);
	reap_holders();
	for (int i = 0; o.layout == L_FILES && i < EXTRA_STARTS; i++)
		if (xfd[i] >= 0)
			close(xfd[i]);
	close(bfd);
	close(wfd);
	sleep_us(300000);	/* releases are async */
	r->kb_end = rss_kb();
}

static void usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: lease_scale --mount MNT --pid DAEMONPID --count N "
		"[--layout one|files] [--hold fd|map] [--backing DIR] "
		"[--reps R] [--joins J] [--writes W] [--per-holder K]\n");
	exit(rc);
}

static void json_rep(const struct rep *r, bool last)
{
	printf("  {\"kb\": {\"base\": %ld, \"open\": %ld, \"lease\": %ld, "
	       "\"poll\": %ld, \"end\": %ld}, \"acquire_us\": %.3f, "
	       "\"start_us\": %.3f, \"notified_us\": %.3f, \"cpu_us\": %.3f, "
	       "\"unlease_us\": %.3f, \"end_us\": %.3f}%s\n",
	       r->kb_base, r->kb_open, r->kb_lease, r->kb_poll, r->kb_end,
	       r->acquire_us, r->start_us, r->notified_us, r->cpu_us,
	       r->unlease_us, r->end_us, last ? "" : ",");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mount", required_argument, NULL, 'm' },
		{ "backing", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "layout", required_argument, NULL, 'l' },
		{ "hold", required_argument, NULL, 'H' },
		{ "reps", required_argument, NULL, 'r' },
		{ "joins", required_argument, NULL, 'j' },
		{ "writes", required_argument, NULL, 'w' },
		{ "per-holder", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rep reps[MAX_REPS];
	double *join, *w_held, *w_break;
	struct bstats st_join, st_held, st_break;
	long nofile, need;
	int c, file_leases;
	uint64_t t_start = bench_now_ns();

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.mount = optarg;
			break;
		case 'b':
			o.backing = optarg;
			break;
		case 'p':
			o.daemon = (pid_t)atoi(optarg);
			break;
		case 'n':
			o.count = atoi(optarg);
			break;
		case 'r':
			o.reps = atoi(optarg);
			break;
		case 'j':
			o.joins = atoi(optarg);
			break;
		case 'w':
			o.writes = atoi(optarg);
			break;
		case 'k':
			o.per_holder = atoi(optarg);
			break;
		case 'l':
			if (!strcmp(optarg, "one"))
				o.layout = L_ONE;
			else if (!strcmp(optarg, "files"))
				o.layout = L_FILES;
			else
				usage(2);
			break;
		case 'H':
			if (!strcmp(optarg, "fd"))
				o.hold = H_FD;
			else if (!strcmp(optarg, "map"))
				o.hold = H_MAP;
			else
				usage(2);
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (!o.mount || o.daemon <= 0 || o.count < 1 || o.reps < 1 ||
	    o.reps > MAX_REPS || o.joins < 1 || o.writes < 1 ||
	    o.per_holder < 0)
		usage(2);
	if (o.layout == L_FILES && o.hold == H_MAP)
		bench_die(0, "--hold map is for --layout one only");

	nofile = bench_raise_nofile();
	if (!o.per_holder)
		o.per_holder = o.hold == H_MAP ? o.count :
			       (int)(nofile - 256 < 16000 ? nofile - 256 :
							    16000);
	if (o.per_holder < 1)
		bench_die(0, "RLIMIT_NOFILE %ld is too small", nofile);
	/* the daemon keeps a backing fd per open file, and an O_PATH fd per
	 * inode: what it must hold at once */
	need = o.hold == H_MAP ? 64 :
	       o.layout == L_ONE ? o.count + 64 : 2L * o.count + 64;
	file_leases = o.layout == L_ONE ? o.count : 1;
	if (daemon_nofile() > 0 && need > daemon_nofile()) {
		printf("{\"layout\": \"%s\", \"hold\": \"%s\", \"n\": %d, "
		       "\"skipped\": \"the daemon would need %ld open files, "
		       "its RLIMIT_NOFILE is %ld\"}\n",
		       o.layout == L_ONE ? "one" : "files",
		       o.hold == H_FD ? "fd" : "map", o.count, need,
		       daemon_nofile());
		return 0;
	}

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	join = calloc((size_t)o.joins * (size_t)o.reps, sizeof(double));
	w_held = calloc((size_t)o.writes * (size_t)o.reps, sizeof(double));
	w_break = calloc((size_t)o.writes * (size_t)o.reps, sizeof(double));
	if (shm == MAP_FAILED || !join || !w_held || !w_break)
		bench_die(ENOMEM, "allocating");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	prepare_files();

	for (int i = 0; i < o.reps; i++) {
		one_rep(&reps[i], join + (size_t)i * (size_t)o.joins,
			w_held + (size_t)i * (size_t)o.writes,
			w_break + (size_t)i * (size_t)o.writes);
		fprintf(stderr,
			"lease_scale: %s/%s n=%d rep %d: start %.1f us, "
			"notified %.1f us, acquire %.1f us/lease, "
			"RssAnon %ld -> %ld -> %ld -> %ld kB\n",
			o.layout == L_ONE ? "one" : "files",
			o.hold == H_FD ? "fd" : "map", o.count, i + 1,
			reps[i].start_us, reps[i].notified_us,
			reps[i].acquire_us, reps[i].kb_base, reps[i].kb_open,
			reps[i].kb_lease, reps[i].kb_end);
	}
	bench_stats(join, (size_t)o.joins * (size_t)o.reps, &st_join);
	bench_stats(w_held, (size_t)o.writes * (size_t)o.reps, &st_held);
	bench_stats(w_break, (size_t)o.writes * (size_t)o.reps, &st_break);

#define MED(f) median_of(reps, o.reps, offsetof(struct rep, f))
	/* memory from the first repetition only: a fresh daemon (later
	 * ones reuse what the earlier ones freed) */
#define MEM(a, b) ((double)(reps[0].b - reps[0].a) * 1024.0 / o.count)
	printf("{\"layout\": \"%s\", \"hold\": \"%s\", \"n\": %d, "
	       "\"file_leases\": %d, \"holders\": %d, \"reps\": %d, "
	       "\"daemon_nofile\": %ld, \"elapsed_s\": %.3f,\n",
	       o.layout == L_ONE ? "one" : "files",
	       o.hold == H_FD ? "fd" : "map", o.count, file_leases,
	       (o.count + o.per_holder - 1) / o.per_holder, o.reps,
	       daemon_nofile(), (double)(bench_now_ns() - t_start) / 1e9);
	printf(" \"mem_per_open_B\": %.1f, \"mem_per_lease_B\": %.1f, "
	       "\"mem_per_poll_B\": %.1f, \"mem_left_B\": %.1f,\n",
	       MEM(kb_base, kb_open), MEM(kb_open, kb_lease),
	       MEM(kb_lease, kb_poll), MEM(kb_base, kb_end));
	printf(" \"acquire_us\": %.3f, \"start_us\": %.3f, "
	       "\"start_per_lease_us\": %.4f, \"notified_us\": %.3f, "
	       "\"notified_per_lease_us\": %.4f, \"cpu_us\": %.3f, "
	       "\"cpu_per_lease_us\": %.4f, \"unlease_us\": %.3f, "
	       "\"end_us\": %.3f,\n",
	       MED(acquire_us), MED(start_us), MED(start_us) / file_leases,
	       MED(notified_us), MED(notified_us) / file_leases, MED(cpu_us),
	       MED(cpu_us) / file_leases, MED(unlease_us), MED(end_us));
	printf(" ");
	bench_json_stats(stdout, "join_us", &st_join);
	printf(",\n ");
	bench_json_stats(stdout, "write_held_us", &st_held);
	printf(",\n ");
	bench_json_stats(stdout, "write_breaking_us", &st_break);
	printf(",\n \"rep\": [\n");
	for (int i = 0; i < o.reps; i++)
		json_rep(&reps[i], i == o.reps - 1);
	printf(" ]}\n");
	return fflush(stdout) ? 1 : 0;
}
