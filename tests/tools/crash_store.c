// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * crash_store.c - the two halves of the crash test of "flush from
 * userspace under a lease" (scripts/test-dax.sh, issue 12).
 *
 *   crash_store store [-n] MOUNTFILE INFO [MIB]
 *	creates MOUNTFILE sparse (ftruncate, fsync: it exists, all hole),
 *	takes an ALLOCATE lease and maps it (libmapdirect), insists that
 *	persist is a CPU cache flush, stores a seeded pattern in every 4 KiB
 *	block and persists each block, writes what check needs to INFO
 *	(fsync'ed), then crashes the machine at once (sysrq b: no sync, no
 *	unmount, no unlease); -n: stays mapped and leased until killed, for
 *	a caller that stores on another filesystem and crashes later. Only
 *	the grant's fsync can have made the filled blocks findable after
 *	the crash.
 *   crash_store check BACKINGFILE INFO
 *	after the reboot, on the DAX filesystem itself: the file is there
 *	with its size, every stored block holds its pattern, and FIEMAP
 *	shows no hole and no unwritten extent. Prints one line saying what
 *	it found; exits 0 only if all of that holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "mapdirect.h"

#define BLOCK	4096u

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* block @b's pattern: never all zeros, different for every block and seed */
static void pattern(uint64_t seed, uint64_t b, uint64_t *w)
{
	for (unsigned int i = 0; i < BLOCK / 8; i++)
		w[i] = mix(seed ^ (b << 20) ^ i) | 1;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "crash_store: %s: %s\n", what, strerror(err));
	return 2;
}

static int store(const char *path, const char *info, unsigned long mib,
		 bool crash)
{
	size_t size = (size_t)mib << 20, nblocks = size / BLOCK;
	struct mapdirect_map *m;
	uint64_t seed;
	uint8_t *p;
	FILE *f;
	int fd, ret;

	seed = mix((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return fail(path, errno);
	/* the file and its size durable first: the crash may take only
	 * what the lease's grant was to make durable */
	if (ftruncate(fd, (off_t)size) || fsync(fd))
		return fail("ftruncate+fsync", errno);
	ret = mapdirect_map_file(fd, 0, PROT_READ | PROT_WRITE,
				 MAPDIRECT_LEASE_ALLOCATE, 0, &m);
	if (ret)
		return fail("mapdirect_map_file", -ret);
	if (!mapdirect_map_userflush(m)) {
		fprintf(stderr, "crash_store: the lease did not grant "
			"USERFLUSH: persist would msync, so the crash would "
			"prove nothing about a flush from userspace\n");
		return 3;
	}
	p = mapdirect_map_addr(m);
	for (size_t b = 0; b < nblocks; b++) {
		pattern(seed, b, (uint64_t *)(p + b * BLOCK));
		ret = mapdirect_persist(m, b * BLOCK, BLOCK);
		if (ret)
			return fail("mapdirect_persist", -ret);
	}
	/* still a CPU flush after the last store: no break came */
	if (!mapdirect_map_userflush(m)) {
		fprintf(stderr, "crash_store: USERFLUSH was lost while "
			"storing (a break?)\n");
		return 3;
	}
	f = fopen(info, "w");
	if (!f)
		return fail(info, errno);
	fprintf(f, "size=%zu\nseed=%" PRIu64 "\nblocks=%zu\n", size, seed,
		nblocks);
	if (fflush(f) || fsync(fileno(f)) || fclose(f))
		return fail(info, errno);
	printf("crash_store: %zu blocks of 4 KiB stored in %s and persisted "
	       "by CPU flush under a USERFLUSH lease%s\n", nblocks, path,
	       crash ? "; crashing now" : "");
	fflush(stdout);
	/* the lease and mapping stay; the caller crashes the machine */
	while (!crash)
		pause();
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0 || write(fd, "b", 1) != 1)
		return fail("/proc/sysrq-trigger", errno);
	pause();
	return 2;
}

/* FIEMAP over [0, size): bytes in holes and in unwritten extents */
static int extents(int fd, uint64_t size, uint64_t *hole, uint64_t *unwr,
		   unsigned int *nunwr)
{
	enum { N = 256 };
	struct fiemap *fm;
	uint64_t pos = 0;
	bool last = false;

	fm = calloc(1, sizeof(*fm) + N * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	*hole = *unwr = 0;
	*nunwr = 0;
	while (!last && pos < size) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = pos;
		fm->fm_length = size - pos;
		fm->fm_extent_count = N;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			free(fm);
			return -errno;
		}
		if (!fm->fm_mapped_extents)
			break;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];
			uint64_t s = e->fe_logical, end = s + e->fe_length;

			if (end > size)
				end = size;
			if (s >= size)
				break;
			if (s > pos)
				*hole += s - pos;
			if (e->fe_flags & FIEMAP_EXTENT_UNWRITTEN) {
				*unwr += end - s;
				(*nunwr)++;
			}
			if (end > pos)
				pos = end;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
	}
	if (pos < size)
		*hole += size - pos;
	free(fm);
	return 0;
}

static int check(const char *path, const char *infopath)
{
	uint64_t size = 0, seed = 0, hole, unwr, want[BLOCK / 8];
	size_t nblocks = 0, intact = 0, zero = 0;
	unsigned int nunwr;
	uint8_t buf[BLOCK];
	struct stat st;
	char line[256];
	bool ok = true;
	FILE *f;
	int fd, ret;

	f = fopen(infopath, "r");
	if (!f)
		return fail(infopath, errno);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "size=%" SCNu64, &size);
		sscanf(line, "seed=%" SCNu64, &seed);
		sscanf(line, "blocks=%zu", &nblocks);
	}
	fclose(f);
	if (!size || nblocks != size / BLOCK) {
		fprintf(stderr, "crash_store: %s: no size or blocks\n",
			infopath);
		return 2;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("0/%zu blocks intact: %s missing (%s)\n", nblocks, path,
		       strerror(errno));
		return 1;
	}
	if (fstat(fd, &st))
		return fail(path, errno);
	for (size_t b = 0; b < nblocks; b++) {
		ssize_t got = pread(fd, buf, BLOCK, (off_t)(b * BLOCK));
		bool zeros = true;

		if (got < 0)
			return fail("pread", errno);
		if (got == BLOCK) {
			pattern(seed, b, want);
			if (!memcmp(buf, want, BLOCK)) {
				intact++;
				continue;
			}
		}
		for (ssize_t i = 0; i < got && zeros; i++)
			zeros = !buf[i];
		zero += zeros;
	}
	ret = extents(fd, size, &hole, &unwr, &nunwr);
	close(fd);
	if (ret)
		return fail("FS_IOC_FIEMAP", -ret);
	printf("%zu/%zu blocks intact", intact, nblocks);
	if (intact < nblocks) {
		printf(" (%zu lost: %zu read as zeros)", nblocks - intact,
		       zero);
		ok = false;
	}
	if ((uint64_t)st.st_size != size) {
		printf(", file size %lld not %" PRIu64, (long long)st.st_size,
		       size);
		ok = false;
	}
	if (hole) {
		printf(", %" PRIu64 " KiB in holes", hole >> 10);
		ok = false;
	}
	if (unwr) {
		printf(", %" PRIu64 " KiB in %u unwritten extents", unwr >> 10,
		       nunwr);
		ok = false;
	}
	if (ok)
		printf(", no hole, no unwritten extent");
	printf("\n");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "store")) {
		bool crash = strcmp(argv[2], "-n");
		int a = crash ? 2 : 3;

		if (argc == a + 2 || argc == a + 3)
			return store(argv[a], argv[a + 1],
				     argc == a + 3 ?
				     strtoul(argv[a + 2], NULL, 0) : 8, crash);
	}
	if (argc == 4 && !strcmp(argv[1], "check"))
		return check(argv[2], argv[3]);
	fprintf(stderr, "usage: crash_store store [-n] MOUNTFILE INFO [MIB]\n"
		"       crash_store check BACKINGFILE INFO\n");
	return 2;
}
