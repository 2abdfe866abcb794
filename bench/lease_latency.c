// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lease_latency - how soon a lease holder hears of a break, and how long a
 * cooperative break holds up the breaker (bench/README.md).
 *
 *   lease_latency --file PATH [--count N] [--warmup N] [--gap-us US]
 *                 [--no-mmap] [--samples FILE]
 *
 * PATH is a file in a mapdirectfs mount; it is created with 1 MiB of data.
 * A holder process opens it, then, once per break: takes a lease, maps the
 * file and touches it, says "ready", and polls its fd for POLLPRI; told,
 * it unmaps and unleases. The breaker (this process) waits --gap-us after
 * "ready" (the holder's poll must be registered with the daemon), then
 * pwrites 4 KiB through its own open file, opened after the first lease,
 * so mediated. Per break:
 *   notify     breaker's pwrite called -> holder's poll returned POLLPRI
 *   roundtrip  breaker's pwrite called -> that pwrite returned
 *   holder     holder's poll returned -> its munmap + unlease returned
 * One JSON object on stdout (microseconds); --samples writes one line per
 * break: "notify roundtrip holder".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "mapdirect.h"

#define FILE_SIZE (1u << 20)

static pid_t holder_pid;

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int take_lease(int fd)
{
	struct mapdirect_lease l = { .size = sizeof(l) };

	/* the previous break may still be settling: EAGAIN for a moment */
	for (int i = 0; i < 5000; i++) {
		if (!ioctl(fd, MAPDIRECT_IOC_LEASE, &l))
			return 0;
		if (errno != EAGAIN)
			return -errno;
		sleep_us(100);
	}
	return -EAGAIN;
}

/* The holder: lease, map, ready, wait for the break, unmap, unlease. */
static void holder(const char *path, int total, bool use_mmap, int ready_w,
		   uint64_t *t_notified, uint64_t *t_unleased)
{
	struct mapdirect_unlease u = { .size = sizeof(u) };
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		bench_die(errno, "holder: open %s", path);
	for (int i = 0; i < total; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		volatile char *p = NULL;
		char c = 'r';
		int err;

		err = take_lease(fd);
		if (err)
			bench_die(-err, "holder: lease %d", i);
		if (use_mmap) {
			p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				bench_die(errno, "holder: mmap");
			(void)p[0];
		}
		if (write(ready_w, &c, 1) != 1)
			bench_die(errno, "holder: ready pipe");
		for (;;) {
			int n = poll(&pfd, 1, 120000);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				bench_die(n ? errno : ETIMEDOUT,
					  "holder: poll for the break %d", i);
			break;
		}
		t_notified[i] = bench_now_ns();
		if (!(pfd.revents & POLLPRI))
			bench_die(0, "holder: poll returned %#x, no POLLPRI",
				  pfd.revents);
		if (p && munmap((void *)p, FILE_SIZE))
			bench_die(errno, "holder: munmap");
		if (ioctl(fd, MAPDIRECT_IOC_UNLEASE, &u))
			bench_die(errno, "holder: unlease %d", i);
		t_unleased[i] = bench_now_ns();
	}
	close(fd);
	_exit(0);
}

static void on_alarm(int sig)
{
	static const char msg[] = "lease_latency: timed out\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	if (holder_pid > 0)
		kill(holder_pid, SIGKILL);
	_exit(1);
}

static void usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: lease_latency --file PATH [--count N] [--warmup N] "
		"[--gap-us US] [--no-mmap] [--samples FILE]\n");
	exit(rc);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "no-mmap", no_argument, NULL, 'M' },
		{ "samples", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL, *samples = NULL;
	int count = 2000, warmup = 50, total, ready[2], fd = -1, status;
	long gap_us = 1000;
	bool use_mmap = true;
	uint64_t *t_notified, *t_unleased, *t_call, *t_ret, t_start;
	double *notify, *rtt, *hold;
	struct bstats st_notify, st_rtt, st_hold;
	char buf[4096];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 'g':
			gap_us = atol(optarg);
			break;
		case 'M':
			use_mmap = false;
			break;
		case 's':
			samples = optarg;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (!path || count < 1 || warmup < 0 || gap_us < 0)
		usage(2);
	total = count + warmup;

	c = bench_fill_file(path, FILE_SIZE);
	if (c)
		bench_die(-c, "create %s", path);
	/* the holder writes its times here; fork shares the mapping */
	t_notified = mmap(NULL, 2 * (size_t)total * sizeof(uint64_t),
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1, 0);
	if (t_notified == MAP_FAILED)
		bench_die(errno, "mmap");
	t_unleased = t_notified + total;
	t_call = calloc((size_t)total, sizeof(*t_call));
	t_ret = calloc((size_t)total, sizeof(*t_ret));
	notify = calloc((size_t)count, sizeof(*notify));
	rtt = calloc((size_t)count, sizeof(*rtt));
	hold = calloc((size_t)count, sizeof(*hold));
	if (!t_call || !t_ret || !notify || !rtt || !hold)
		bench_die(ENOMEM, "calloc");
	if (pipe2(ready, O_CLOEXEC))
		bench_die(errno, "pipe");

	signal(SIGALRM, on_alarm);
	alarm((unsigned int)(120 + total / 50));
	holder_pid = fork();
	if (holder_pid < 0)
		bench_die(errno, "fork");
	if (holder_pid == 0) {
		close(ready[0]);
		holder(path, total, use_mmap, ready[1], t_notified,
		       t_unleased);
	}
	close(ready[1]);

	memset(buf, 0xa5, sizeof(buf));
	t_start = bench_now_ns();
	for (int i = 0; i < total; i++) {
		ssize_t n;
		char r;

		if (read(ready[0], &r, 1) != 1)
			bench_die(0, "holder gone before break %d", i);
		if (fd < 0) {
			/* opened while leased: mediated under mediate=leased */
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				bench_die(errno, "open %s", path);
		}
		sleep_us(gap_us);
		t_call[i] = bench_now_ns();
		n = pwrite(fd, buf, sizeof(buf), (off_t)((i % 256) * 4096));
		t_ret[i] = bench_now_ns();
		if (n != (ssize_t)sizeof(buf))
			bench_die(n < 0 ? errno : EIO, "breaker pwrite %d", i);
	}
	if (waitpid(holder_pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		bench_die(0, "holder failed");
	holder_pid = 0;
	alarm(0);
	close(fd);

	for (int i = 0; i < count; i++) {
		int k = i + warmup;

		notify[i] = (double)(int64_t)(t_notified[k] - t_call[k]) / 1e3;
		rtt[i] = (double)(t_ret[k] - t_call[k]) / 1e3;
		hold[i] = (double)(t_unleased[k] - t_notified[k]) / 1e3;
	}
	if (samples) {
		FILE *f = fopen(samples, "we");

		if (!f)
			bench_die(errno, "%s", samples);
		for (int i = 0; i < count; i++)
			fprintf(f, "%.3f %.3f %.3f\n", notify[i], rtt[i],
				hold[i]);
		if (fclose(f))
			bench_die(errno, "%s", samples);
	}
	bench_stats(notify, (size_t)count, &st_notify);
	bench_stats(rtt, (size_t)count, &st_rtt);
	bench_stats(hold, (size_t)count, &st_hold);
	printf("{\"count\": %d, \"warmup\": %d, \"gap_us\": %ld, "
	       "\"mmap\": %s, \"elapsed_s\": %.3f, \"unit\": \"us\",\n ",
	       count, warmup, gap_us, use_mmap ? "true" : "false",
	       (double)(bench_now_ns() - t_start) / 1e9);
	bench_json_stats(stdout, "notify", &st_notify);
	printf(",\n ");
	bench_json_stats(stdout, "roundtrip", &st_rtt);
	printf(",\n ");
	bench_json_stats(stdout, "holder", &st_hold);
	printf("}\n");
	return fflush(stdout) ? 1 : 0;
}
