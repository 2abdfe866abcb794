/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the lease benchmarks (bench/README.md). */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Summary of a sample set; all in the samples' unit. */
struct bstats {
	size_t n;
	double min, p50, p90, p99, p999, max, mean;
};

/* bench_now_ns - CLOCK_MONOTONIC in ns (comparable across processes) */
uint64_t bench_now_ns(void);

/* bench_die - print "PROG: message" (and errno's text if @err) and exit 1 */
void bench_die(int err, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* bench_stats - sort @v in place and summarise it (nearest-rank percentiles) */
void bench_stats(double *v, size_t n, struct bstats *st);

/* bench_json_stats - "name": {n, min, p50, ..., mean} (no trailing comma) */
void bench_json_stats(FILE *f, const char *name, const struct bstats *st);

/* bench_proc_kb - a "Key:   N kB" line of /proc/PID/status, or -1 */
long bench_proc_kb(pid_t pid, const char *key);

/* bench_proc_cpu_ns - CPU time of every thread of @pid (schedstat), ns */
uint64_t bench_proc_cpu_ns(pid_t pid);

/*
 * bench_fill_file - create @path (or reuse it) with @size bytes of data,
 * written (never a hole: leases want fully allocated files) and fsynced.
 * @return 0 or -errno.
 */
int bench_fill_file(const char *path, size_t size);

/* bench_raise_nofile - RLIMIT_NOFILE up to 1 << 20, else to the hard cap */
long bench_raise_nofile(void);

#endif
