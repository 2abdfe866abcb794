// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dax_persist - a random 4 KiB store made durable, on real fsdax: the raw
 * DAX file against a file of a mapdirectfs mount of a dir on that fs
 * (bench/README.md, "DAX").
 *
 *   dax_persist --raw DIR --mount DIR [--size MIB] [--rounds N] [--ms MS]
 *               --backing DIR [--jbd2 FILE] [--json FILE]
 *               [--trace CASE [--ops N]]
 *
 * Makes DIR/dax_persist.raw (--raw: a dir on the DAX fs) and
 * DIR/dax_persist.mnt (--mount: a dir in the mount), --size MiB each
 * (default 256), written and fsynced, and maps them. One op is a memset of
 * 4 KiB at a random 4 KiB-aligned offset, then its persist:
 *   raw-flush      raw file, MAP_SHARED_VALIDATE|MAP_SYNC, pmem_persist()
 *   mount-flush    mount file, mapdirect_map_file(), mapdirect_persist()
 *                  (must be a CPU flush: mapdirect_map_userflush())
 *   mount-msync    the same mapping, msync(MS_SYNC) of the page
 *   raw-msync      raw file, plain MAP_SHARED, msync of the page
 *   rawsync-msync  raw file, MAP_SYNC mapping, msync of the page
 *   raw-msync-pte  raw file, plain MAP_SHARED at an address 4 KiB off a
 *                  2 MiB boundary (no PMD mapping possible), msync
 *   mount-msync-2m mount file mapped again with mmap(2) at a 2 MiB-aligned
 *                  address (as ext4 and xfs place their own DAX
 *                  mappings), under the same lease, msync
 *   same-msync     the mount file's backing file (--backing: the mount's
 *                  source dir), raw, plain MAP_SHARED, msync: the same
 *                  blocks as mount-msync, so the same extent alignment
 *   mount-msync-nohuge  the mount file mapped again, MADV_NOHUGEPAGE (no
 *                  2 MiB entries), msync
 * Every round runs each case for --ms (default 300), in a rotating order;
 * before its run an msync case msyncs the whole file (every op then meets
 * a clean, write-protected page) and a flush case writes every page (no
 * op faults), so that what ran before does not decide what an op costs.
 * Per case and round: ops/s, and per op the page faults (getrusage) and,
 * with --jbd2 (ext4's /proc/fs/jbd2/DEV/info), journal commits. Prints a
 * table and writes JSON (--json) with every sample and the per-round
 * ratios (median, min, max). --trace CASE runs N (20) ops of one case
 * with the kernel's tracer on and nothing else (bench/dax.sh sets it up).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libpmem.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"
#include "mapdirect.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

#define OP_SIZE 4096ul
#define ALIGN_2M (2ul << 20)
#define MAX_ROUNDS 64

enum persist { P_PMEM, P_MAPDIRECT, P_MSYNC };

struct pcase {
	const char *name;
	const char *what;
	char *addr;
	enum persist how;
	double ops[MAX_ROUNDS];		/* ops/s */
	double flt[MAX_ROUNDS];		/* page faults per op */
	double jbd[MAX_ROUNDS];		/* journal commits per op */
};

static struct mapdirect_map *mmap_mount;
static size_t file_size;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* transactions committed so far, from the first line of jbd2's info */
static long jbd2_count(const char *path)
{
	FILE *f;
	long n = -1;

	if (!path)
		return 0;
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld transactions", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static int open_filled(const char *dir, const char *name)
{
	char path[4096];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err = bench_fill_file(path, file_size);
	if (err)
		bench_die(-err, "fill %s", path);
	fd = open(path, O_RDWR);
	if (fd < 0)
		bench_die(errno, "open %s", path);
	return fd;
}

/* a mapping of @fd placed at a 2 MiB boundary plus @skew */
static char *map_at(int fd, int flags, size_t skew)
{
	char *hole, *want, *p;

	hole = mmap(NULL, file_size + 2 * ALIGN_2M, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED)
		bench_die(errno, "mmap reserve");
	want = (char *)(((uintptr_t)hole + ALIGN_2M - 1) & ~(ALIGN_2M - 1)) + skew;
	p = mmap(want, file_size, PROT_READ | PROT_WRITE, flags | MAP_FIXED,
		 fd, 0);
	if (p == MAP_FAILED)
		bench_die(errno, "mmap at %p", (void *)want);
	/* the rest of the reservation is not needed */
	if (want > hole)
		munmap(hole, want - hole);
	munmap(want + file_size, hole + file_size + 2 * ALIGN_2M -
	       (want + file_size));
	return p;
}

static void prefault(char *p)
{
	for (size_t off = 0; off < file_size; off += OP_SIZE)
		p[off]++;
}

static void run_case(struct pcase *c, int round, unsigned int ms,
		     const char *jbd2)
{
	uint64_t t0, t1, end, n = 0;
	long f0, j0;
	size_t pages = file_size / OP_SIZE;

	/*
	 * The same page state for every case and round, whatever ran before
	 * on the file: an msync case starts on a clean file (every page
	 * write-protected, so each op is a write fault plus the writeback of
	 * one page), a flush case on a mapping faulted writable (no fault).
	 */
	if (c->how == P_MSYNC) {
		if (msync(c->addr, file_size, MS_SYNC))
			bench_die(errno, "msync of the whole file");
	} else {
		prefault(c->addr);
	}
	f0 = faults();
	j0 = jbd2_count(jbd2);
	t0 = bench_now_ns();
	end = t0 + (uint64_t)ms * 1000000;
	do {
		for (int i = 0; i < 64; i++) {
			size_t off = (xorshift() % pages) * OP_SIZE;
			char *p = c->addr + off;

			memset(p, (int)n + i, OP_SIZE);
			switch (c->how) {
			case P_PMEM:
				pmem_persist(p, OP_SIZE);
				break;
			case P_MAPDIRECT:
				if (mapdirect_persist(mmap_mount, off, OP_SIZE))
					bench_die(0, "mapdirect_persist failed");
				break;
			case P_MSYNC:
				if (msync(p, OP_SIZE, MS_SYNC))
					bench_die(errno, "msync");
				break;
			}
		}
		n += 64;
		t1 = bench_now_ns();
	} while (t1 < end);
	c->ops[round] = n * 1e9 / (double)(t1 - t0);
	c->flt[round] = (double)(faults() - f0) / (double)n;
	c->jbd[round] = jbd2 ? (double)(jbd2_count(jbd2) - j0) / (double)n : -1;
}

static void tracing_on(int fd, bool on)
{
	if (pwrite(fd, on ? "1" : "0", 1, 0) != 1)
		bench_die(errno, "tracing_on");
}

/*
 * --trace CASE: after the case's preparation, @ops of its ops with the
 * kernel's tracer on (the caller set it up: function_graph on msync and
 * the fault handler, this process only), so that two cases' kernel paths
 * can be compared call by call
 */
static int trace_case(struct pcase *c, unsigned long ops)
{
	size_t pages = file_size / OP_SIZE;
	int fd;

	fd = open("/sys/kernel/tracing/tracing_on", O_WRONLY);
	if (fd < 0)
		bench_die(errno, "/sys/kernel/tracing/tracing_on");
	if (c->how == P_MSYNC) {
		if (msync(c->addr, file_size, MS_SYNC))
			bench_die(errno, "msync of the whole file");
	} else {
		prefault(c->addr);
	}
	tracing_on(fd, true);
	for (unsigned long n = 0; n < ops; n++) {
		size_t off = (xorshift() % pages) * OP_SIZE;
		char *p = c->addr + off;

		memset(p, (int)n, OP_SIZE);
		if (c->how == P_MSYNC && msync(p, OP_SIZE, MS_SYNC))
			bench_die(errno, "msync");
		else if (c->how == P_PMEM)
			pmem_persist(p, OP_SIZE);
		else if (c->how == P_MAPDIRECT &&
			 mapdirect_persist(mmap_mount, off, OP_SIZE))
			bench_die(0, "mapdirect_persist failed");
	}
	tracing_on(fd, false);
	close(fd);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n, double *min, double *max)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	if (min)
		*min = s[0];
	if (max)
		*max = s[n - 1];
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void json_array(FILE *f, const char *name, const double *v, int n)
{
	fprintf(f, "\"%s\": [", name);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.6g", i ? ", " : "", v[i]);
	fprintf(f, "]");
}

/* a per-round ratio of two cases, with the goal it is held to (0: none) */
struct ratio {
	const char *name;
	int num, den;
	double goal;
};

/* @r's per-round ratios into @v: their median, min and max */
static double ratio_median(const struct pcase *cases, const struct ratio *r,
			   int rounds, double *v, double *lo, double *hi)
{
	for (int k = 0; k < rounds; k++)
		v[k] = cases[r->num].ops[k] / cases[r->den].ops[k];
	return median(v, rounds, lo, hi);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "raw", required_argument, NULL, 'r' },
		{ "mount", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "ms", required_argument, NULL, 't' },
		{ "jbd2", required_argument, NULL, 'j' },
		{ "json", required_argument, NULL, 'o' },
		{ "backing", required_argument, NULL, 'b' },
		{ "trace", required_argument, NULL, 'T' },
		{ "ops", required_argument, NULL, 'N' },
		{ 0 }
	};
	const char *raw_dir = NULL, *mnt_dir = NULL, *jbd2 = NULL;
	const char *back_dir = NULL;
	const char *json = NULL, *trace = NULL;
	unsigned long trace_ops = 20;
	unsigned int ms = 300;
	int rounds = 5, raw_fd, mnt_fd, opt, err;
	size_t mib = 256;
	char *raw_sync, *raw_plain, *raw_pte, *mnt_2m, *mnt_4k, *same;
	char path[4096];
	int same_fd;
	FILE *f;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': raw_dir = optarg; break;
		case 'm': mnt_dir = optarg; break;
		case 's': mib = strtoul(optarg, NULL, 0); break;
		case 'n': rounds = atoi(optarg); break;
		case 't': ms = strtoul(optarg, NULL, 0); break;
		case 'j': jbd2 = optarg; break;
		case 'o': json = optarg; break;
		case 'b': back_dir = optarg; break;
		case 'T': trace = optarg; break;
		case 'N': trace_ops = strtoul(optarg, NULL, 0); break;
		default: bench_die(0, "bad argument");
		}
	}
	if (!raw_dir || !mnt_dir || !back_dir || !mib || rounds < 1 || rounds > MAX_ROUNDS)
		bench_die(0, "usage: --raw DIR --mount DIR --backing DIR [--size MIB] "
			  "[--rounds 1..%d] [--ms MS] [--jbd2 FILE] [--json FILE]",
			  MAX_ROUNDS);
	if (jbd2 && jbd2_count(jbd2) < 0)
		bench_die(0, "cannot read a transaction count from %s", jbd2);
	file_size = mib << 20;

	raw_fd = open_filled(raw_dir, "dax_persist.raw");
	mnt_fd = open_filled(mnt_dir, "dax_persist.mnt");

	raw_sync = mmap(NULL, file_size, PROT_READ | PROT_WRITE,
			MAP_SHARED_VALIDATE | MAP_SYNC, raw_fd, 0);
	if (raw_sync == MAP_FAILED)
		bench_die(errno, "MAP_SYNC of the raw file (is it DAX?)");
	raw_plain = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 raw_fd, 0);
	if (raw_plain == MAP_FAILED)
		bench_die(errno, "mmap of the raw file");
	raw_pte = map_at(raw_fd, MAP_SHARED, OP_SIZE);
	err = mapdirect_map_file(mnt_fd, 0, PROT_READ | PROT_WRITE, 0, 0,
				 &mmap_mount);
	if (err)
		bench_die(-err, "mapdirect_map_file");
	if (!mapdirect_map_userflush(mmap_mount))
		bench_die(0, "mapdirect_map_userflush() is false: persist would "
			  "be msync, not a CPU flush (no DAX? no io_uring?)");
	mnt_2m = map_at(mnt_fd, MAP_SHARED, 0);
	/* no 2 MiB entries: does a small msync get cheaper? */
	mnt_4k = map_at(mnt_fd, MAP_SHARED, 0);
	if (madvise(mnt_4k, file_size, MADV_NOHUGEPAGE))
		bench_die(errno, "madvise MADV_NOHUGEPAGE");
	/* the mount file's own backing file, raw: the same blocks */
	snprintf(path, sizeof(path), "%s/dax_persist.mnt", back_dir);
	same_fd = open(path, O_RDWR);
	if (same_fd < 0)
		bench_die(errno, "open %s", path);
	same = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    same_fd, 0);
	if (same == MAP_FAILED)
		bench_die(errno, "mmap of %s", path);

	struct pcase cases[] = {
		{ "raw-flush", "raw fsdax, MAP_SYNC + pmem_persist", raw_sync, P_PMEM },
		{ "mount-flush", "mount, lease, mapdirect_persist (CPU flush)",
		  mapdirect_map_addr(mmap_mount), P_MAPDIRECT },
		{ "mount-msync", "mount, lease, msync of the 4 KiB",
		  mapdirect_map_addr(mmap_mount), P_MSYNC },
		{ "raw-msync", "raw fsdax, MAP_SHARED + msync", raw_plain, P_MSYNC },
		{ "rawsync-msync", "raw fsdax, MAP_SYNC + msync", raw_sync, P_MSYNC },
		{ "raw-msync-pte", "raw, MAP_SHARED 4 KiB off 2 MiB + msync",
		  raw_pte, P_MSYNC },
		{ "mount-msync-2m", "mount, mmap at 2 MiB + msync", mnt_2m, P_MSYNC },
		{ "same-msync", "raw, the mount file's backing file + msync",
		  same, P_MSYNC },
		{ "mount-msync-nohuge", "mount, mmap + MADV_NOHUGEPAGE + msync",
		  mnt_4k, P_MSYNC },
	};
	const int ncases = sizeof(cases) / sizeof(cases[0]);
	const struct ratio ratios[] = {
		{ "mount-flush/raw-flush", 1, 0, 0.9 },
		{ "mount-flush/mount-msync", 1, 2, 20 },
		{ "mount-msync/raw-msync", 2, 3, 0 },
		{ "mount-msync/rawsync-msync", 2, 4, 0 },
		{ "rawsync-msync/raw-msync", 4, 3, 0 },
		{ "raw-msync-pte/raw-msync", 5, 3, 0 },
		{ "mount-msync-2m/raw-msync", 6, 3, 0 },
		{ "mount-msync-2m/mount-msync", 6, 2, 0 },
		{ "mount-msync/same-msync", 2, 7, 0 },
		{ "same-msync/raw-msync", 7, 3, 0 },
		{ "mount-msync-nohuge/mount-msync", 8, 2, 0 },
	};
	const int nratios = sizeof(ratios) / sizeof(ratios[0]);

	if (trace) {
		for (int c = 0; c < ncases; c++)
			if (!strcmp(cases[c].name, trace))
				return trace_case(&cases[c], trace_ops);
		bench_die(0, "--trace: no case %s", trace);
	}

	printf("dax_persist: %zu MiB files, %d rounds x %u ms per case, "
	       "userflush=%d\n", mib, rounds, ms,
	       mapdirect_map_userflush(mmap_mount));
	for (int c = 0; c < ncases; c++)
		printf("  %-18s mapped at %p (%s 2 MiB boundary)\n",
		       cases[c].name, (void *)cases[c].addr,
		       ((uintptr_t)cases[c].addr & (ALIGN_2M - 1)) ? "off a" : "on a");

	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < ncases; k++)
			run_case(&cases[(k + r) % ncases], r, ms, jbd2);

	printf("\n%-18s %-44s %12s %20s %8s %8s\n", "case", "what",
	       "ops/s", "[min-max]", "flt/op", "jbd2/op");
	for (int c = 0; c < ncases; c++) {
		double lo, hi, m = median(cases[c].ops, rounds, &lo, &hi);

		printf("%-18s %-44s %12.0f %9.0f-%-10.0f %8.3f %8.3f\n",
		       cases[c].name, cases[c].what, m, lo, hi,
		       median(cases[c].flt, rounds, NULL, NULL),
		       median(cases[c].jbd, rounds, NULL, NULL));
	}
	printf("\n%-31s %8s %18s %8s\n", "ratio (per round)", "median",
	       "[min-max]", "goal");
	for (int i = 0; i < nratios; i++) {
		double v[MAX_ROUNDS], lo, hi;
		double m = ratio_median(cases, &ratios[i], rounds, v, &lo, &hi);
		if (ratios[i].goal)
			printf("%-31s %8.2f %8.2f-%-9.2f >= %g: %s\n",
			       ratios[i].name, m, lo, hi, ratios[i].goal,
			       m >= ratios[i].goal ? "met" : "MISSED");
		else
			printf("%-31s %8.2f %8.2f-%-9.2f\n", ratios[i].name,
			       m, lo, hi);
	}

	if (json) {
		f = fopen(json, "w");
		if (!f)
			bench_die(errno, "%s", json);
		fprintf(f, "{\"size_mib\": %zu, \"rounds\": %d, \"ms\": %u, "
			"\"op\": \"memset 4 KiB at a random 4 KiB-aligned offset + persist\", "
			"\"userflush\": %s, \"cases\": {",
			mib, rounds, ms,
			mapdirect_map_userflush(mmap_mount) ? "true" : "false");
		for (int c = 0; c < ncases; c++) {
			fprintf(f, "%s\"%s\": {\"what\": \"%s\", "
				"\"aligned_2m\": %s, ", c ? ", " : "",
				cases[c].name, cases[c].what,
				((uintptr_t)cases[c].addr & (ALIGN_2M - 1)) ?
				"false" : "true");
			json_array(f, "ops_per_s", cases[c].ops, rounds);
			fprintf(f, ", ");
			json_array(f, "faults_per_op", cases[c].flt, rounds);
			fprintf(f, ", ");
			json_array(f, "jbd2_commits_per_op", cases[c].jbd, rounds);
			fprintf(f, "}");
		}
		fprintf(f, "}, \"ratios\": {");
		for (int i = 0; i < nratios; i++) {
			double v[MAX_ROUNDS], lo, hi;
			double m = ratio_median(cases, &ratios[i], rounds, v, &lo, &hi);
			fprintf(f, "%s\"%s\": {\"median\": %.4f, \"min\": %.4f, "
				"\"max\": %.4f, ", i ? ", " : "",
				ratios[i].name, m, lo, hi);
			json_array(f, "per_round", v, rounds);
			if (ratios[i].goal)
				fprintf(f, ", \"goal\": %g, \"met\": %s",
					ratios[i].goal,
					m >= ratios[i].goal ? "true" : "false");
			fprintf(f, "}");
		}
		fprintf(f, "}}\n");
		fclose(f);
	}

	munmap(same, file_size);
	munmap(mnt_4k, file_size);
	close(same_fd);
	munmap(mnt_2m, file_size);
	munmap(raw_pte, file_size);
	munmap(raw_plain, file_size);
	munmap(raw_sync, file_size);
	mapdirect_unmap(mmap_mount);
	close(mnt_fd);
	close(raw_fd);
	return 0;
}
