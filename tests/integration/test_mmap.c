// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 mmap: "mmap passes straight through to the backing file: the
 * mapping holds the backing file's own pages". A MAP_SHARED mapping of a
 * file in the mount shows the backing inode in /proc/self/maps, a store
 * through it is in the backing file at once (no msync), and a write into
 * the backing file is seen through it.
 */
#include "harness.h"
#include "dax_truth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAP_LEN (64 << 10)

struct maps_entry {
	unsigned int major, minor;
	unsigned long long ino;
	char path[PATH_MAX];
};

/* The /proc/self/maps line of the mapping that contains @addr */
static bool maps_lookup(const void *addr, struct maps_entry *e)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[PATH_MAX + 256];
	bool found = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		int pos = 0;

		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %llu %n", &start, &end,
			   &e->major, &e->minor, &e->ino, &pos) < 5)
			continue;
		if ((uintptr_t)addr < start || (uintptr_t)addr >= end)
			continue;
		snprintf(e->path, sizeof(e->path), "%s", line + pos);
		e->path[strcspn(e->path, "\n")] = '\0';
		found = true;
		break;
	}
	fclose(f);
	return found;
}

/* Backing file "f" with MAP_LEN bytes of @seed, its fd in *bfd */
static char *map_file(struct mdfs_fs *fs, unsigned int seed, int *bfd,
		      int *mfd)
{
	char *buf = malloc(MAP_LEN), *map;

	mdfs_fill(buf, MAP_LEN, seed);
	mdfs_write_file(mdfs_bpath(fs, "f"), buf, MAP_LEN);
	free(buf);
	*bfd = open(mdfs_bpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(*bfd, 0);
	*mfd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(*mfd, 0, "open through mount: %s", strerror(errno));
	map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, *mfd, 0);
	cr_assert_neq(map, MAP_FAILED, "mmap: %s", strerror(errno));
	return map;
}

MDFS_TEST(mmap, maps_line_shows_backing_inode, NULL)
{
	struct maps_entry e;
	struct stat mst, bst;
	int bfd, mfd;
	char *map = map_file(fs, 1, &bfd, &mfd);

	cr_assert_eq(fstat(mfd, &mst), 0);
	cr_assert_eq(fstat(bfd, &bst), 0);
	cr_assert(maps_lookup(map, &e), "no /proc/self/maps line for %p",
		  (void *)map);
	cr_assert_eq(e.ino, (unsigned long long)bst.st_ino,
		     "maps line \"%s\": inode %llu, backing inode %ju",
		     e.path, e.ino, (uintmax_t)bst.st_ino);
	cr_assert(e.major == major(mst.st_dev) && e.minor == minor(mst.st_dev),
		  "maps line \"%s\": device %x:%x, the mount's is %x:%x",
		  e.path, e.major, e.minor, major(mst.st_dev),
		  minor(mst.st_dev));
	munmap(map, MAP_LEN);
	close(mfd);
	close(bfd);
}

MDFS_TEST(mmap, store_through_mapping_is_in_backing_at_once, NULL)
{
	char pat[3000], got[3000];
	int bfd, mfd;
	char *map = map_file(fs, 2, &bfd, &mfd);

	mdfs_fill(pat, sizeof(pat), 20);
	memcpy(map + 5000, pat, sizeof(pat));
	memcpy(map + MAP_LEN - sizeof(pat), pat, sizeof(pat));
	/* no msync: the mapping is the backing file's page cache */
	cr_assert_eq(pread(bfd, got, sizeof(got), 5000), (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, pat, sizeof(pat)), 0,
		     "store through the mapping not in the backing file");
	cr_assert_eq(pread(bfd, got, sizeof(got), MAP_LEN - sizeof(pat)),
		     (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, pat, sizeof(pat)), 0,
		     "store in the last page not in the backing file");
	/* read(2) through the mount agrees */
	cr_assert_eq(pread(mfd, got, sizeof(got), 5000), (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, pat, sizeof(pat)), 0,
		     "read through the mount misses the store");
	munmap(map, MAP_LEN);
	close(mfd);
	close(bfd);
}

MDFS_TEST(mmap, backing_write_is_seen_through_mapping, NULL)
{
	static const char msg[] = "written into the backing file";
	int bfd, mfd;
	char *map = map_file(fs, 3, &bfd, &mfd);

	mdfs_pwrite_all(bfd, msg, sizeof(msg), 8192 + 7);
	cr_assert_eq(memcmp(map + 8192 + 7, msg, sizeof(msg)), 0,
		     "backing write not visible through the mapping");
	munmap(map, MAP_LEN);
	close(mfd);
	close(bfd);
}

MDFS_TEST(mmap, mapping_outlives_close, NULL)
{
	static const char msg[] = "after close";
	char got[sizeof(msg)];
	int bfd, mfd;
	char *map = map_file(fs, 4, &bfd, &mfd);

	/* release comes at close(), the mapping must stay usable */
	close(mfd);
	memcpy(map + 100, msg, sizeof(msg));
	cr_assert_eq(pread(bfd, got, sizeof(got), 100), (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, msg, sizeof(msg)), 0);
	munmap(map, MAP_LEN);
	close(bfd);
}

MDFS_TEST(mmap, private_store_stays_private, NULL)
{
	char *buf = malloc(MAP_LEN), *map;
	int mfd;

	mdfs_fill(buf, MAP_LEN, 5);
	mdfs_write_file(mdfs_bpath(fs, "f"), buf, MAP_LEN);
	mfd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(mfd, 0, "open: %s", strerror(errno));
	map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	cr_assert_neq(map, MAP_FAILED, "mmap: %s", strerror(errno));
	cr_assert_eq(memcmp(map, buf, MAP_LEN), 0, "mapping shows other bytes");
	memset(map, 0, 4096);
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), buf, MAP_LEN);
	munmap(map, MAP_LEN);
	close(mfd);
	free(buf);
}

/* -- where the pages are (issue 12) --------------------------------- */

#define PAGES_LEN (2 << 20)	/* a PMD's worth: DAX maps it huge */
#define PAGE_LEN 4096

static const char *where_name(int w)
{
	return w == TRUTH_PMEM ? "Persistent Memory" :
	       w == TRUTH_RAM ? "System RAM" : strerror(-w);
}

/* where a mapping of BACKING's pages must be, and that PFNs can be seen */
static int expected_where(struct mdfs_fs *fs, const char *rel)
{
	int w = truth_file_pages_where(mdfs_bpath(fs, "%s", rel), PAGE_LEN);

	if (w == -EPERM)
		cr_skip_test("PFNs are hidden from this process (not root)");
	cr_assert(w == TRUTH_PMEM || w == TRUTH_RAM, "backing %s: %s", rel,
		  where_name(w));
	cr_assert_eq(w, mdfs_file_is_dax(mdfs_bpath(fs, "%s", rel)) ?
		     TRUTH_PMEM : TRUTH_RAM);
	return w;
}

/*
 * The point of the project: a mapping of a mount file is the backing
 * file's own pages, on DAX the media. Every touched page's PFN is in
 * /proc/iomem's "Persistent Memory" on a DAX backing and in "System RAM"
 * otherwise, with and without a lease, and a store through it is in the
 * backing file at once.
 */
static void mapping_is_where_backing_is(struct mdfs_fs *fs)
{
	int want, fd, w;
	char *map;
	uint64_t id;

	lease_file(fs, "f", PAGES_LEN, 'm');
	want = expected_where(fs, "f");
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	map = mmap(NULL, PAGES_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(map, MAP_FAILED, "mmap: %s", strerror(errno));
	w = truth_pages_where(map, PAGES_LEN);
	cr_assert_eq(w, want, "mount mapping without a lease: %s, the "
		     "backing's pages: %s", where_name(w), where_name(want));
	munmap(map, PAGES_LEN);

	cr_assert_eq(mapdirect_lease(fd, 0, 0, &id), 0);
	map = mmap(NULL, PAGES_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(map, MAP_FAILED, "mmap: %s", strerror(errno));
	w = truth_pages_where(map, PAGES_LEN);
	cr_assert_eq(w, want, "leased mapping: %s, the backing's pages: %s",
		     where_name(w), where_name(want));
	memset(map + PAGES_LEN - PAGE_LEN, 'S', PAGE_LEN);
	lease_assert_backing(fs, "f", PAGES_LEN - PAGE_LEN, PAGE_LEN, 'S');
	munmap(map, PAGES_LEN);
	cr_assert_eq(mapdirect_unlease(fd), 0);
	close(fd);
}

MDFS_TEST(mmap, pages_are_the_backing_files, NULL)
{
	mapping_is_where_backing_is(fs);
}

/* a loop ext4 image is never DAX: its half is System RAM, everywhere */
MDFS_TEST_EXT4(mmap, pages_are_the_backing_files_ext4_image, NULL)
{
	mapping_is_where_backing_is(fs);
}

