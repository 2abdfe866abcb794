// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * seccomp_cost: what the daemon's seccomp filter (fuse/syscalls.c, the very
 * code the daemon loads) adds to one system call. Each round forks two
 * children, one bare and one under the filter (in alternating order), that
 * time a loop of getppid(2) (a bare syscall), pread(2) of one byte (the
 * data path's kind of call) and ioctl(FIONREAD) (the one call whose
 * verdict depends on its arguments, so the filter program runs). Prints
 * JSON: per call, the ns of each round with and without the filter.
 *
 *   seccomp_cost [--rounds N] [--calls N]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syscalls.h"

enum { GETPPID, PREAD, IOCTL, NCALLS };
static const char *const names[NCALLS] = { "getppid", "pread", "ioctl" };

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void child(bool filter, long calls, int fd, int out)
{
	double ns[NCALLS], t;
	char b;
	int v;

	if (filter && mdfs_seccomp_load())
		_exit(1);
	t = now_ns();
	for (long i = 0; i < calls; i++)
		getppid();
	ns[GETPPID] = (now_ns() - t) / (double)calls;
	t = now_ns();
	for (long i = 0; i < calls; i++)
		if (pread(fd, &b, 1, 0) != 1)
			_exit(2);
	ns[PREAD] = (now_ns() - t) / (double)calls;
	t = now_ns();
	for (long i = 0; i < calls; i++)
		if (ioctl(fd, FIONREAD, &v))
			_exit(3);
	ns[IOCTL] = (now_ns() - t) / (double)calls;
	_exit(write(out, ns, sizeof(ns)) == sizeof(ns) ? 0 : 4);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "calls", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	long rounds = 10, calls = 1000000;
	double (*res)[2][NCALLS];
	int fd, p[2], o, st;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'r')
			rounds = strtol(optarg, NULL, 10);
		else if (o == 'c')
			calls = strtol(optarg, NULL, 10);
		else
			return 2;
	}
	res = calloc((size_t)rounds, sizeof(*res));
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (!res || fd < 0 || pipe(p))
		return 1;
	for (long r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			/* alternate which goes first: drift hits both */
			bool filter = (k + r) % 2;
			pid_t pid = fork();

			if (pid == 0)
				child(filter, calls, fd, p[1]);
			if (pid < 0 || waitpid(pid, &st, 0) != pid ||
			    !WIFEXITED(st) || WEXITSTATUS(st) ||
			    read(p[0], res[r][filter], sizeof(res[r][0])) !=
				    sizeof(res[r][0])) {
				fprintf(stderr, "seccomp_cost: child failed\n");
				return 1;
			}
		}
	}
	printf("{\"rounds\": %ld, \"calls_per_round\": %ld, \"ns\": {", rounds,
	       calls);
	for (int c = 0; c < NCALLS; c++) {
		printf("%s\"%s\": {", c ? ", " : "", names[c]);
		for (int f = 0; f < 2; f++) {
			printf("%s\"%s\": [", f ? ", " : "",
			       f ? "filter" : "none");
			for (long r = 0; r < rounds; r++)
				printf("%s%.1f", r ? ", " : "", res[r][f][c]);
			printf("]");
		}
		printf("}");
	}
	printf("}}\n");
	return 0;
}
