// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 fallocate, copy_file_range and lseek SEEK_DATA/SEEK_HOLE map 1:1
 * onto BACKING. Holes need a filesystem that keeps them the same way every
 * time: these run over an ext4 image (MDFS_TEST_EXT4).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024
#define MIB (1024 * 1024)

static int open_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	return fd;
}

MDFS_TEST(alloc, fallocate_extends_backing, NULL)
{
	struct stat st;
	int fd;

	fd = open_path(mdfs_mpath(fs, "f"), O_RDWR | O_CREAT);
	cr_assert_eq(fallocate(fd, 0, 0, MIB), 0, "fallocate: %s",
		     strerror(errno));
	st = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert_eq(st.st_size, MIB, "backing size %lld",
		     (long long)st.st_size);
	cr_assert_geq(st.st_blocks * 512, MIB, "backing has %lld blocks",
		      (long long)st.st_blocks);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, MIB, "size through the mount %lld",
		     (long long)st.st_size);

	/* KEEP_SIZE past EOF allocates without growing */
	cr_assert_eq(fallocate(fd, FALLOC_FL_KEEP_SIZE, MIB, MIB), 0,
		     "fallocate KEEP_SIZE: %s", strerror(errno));
	st = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert_eq(st.st_size, MIB);
	cr_assert_geq(st.st_blocks * 512, 2 * MIB, "backing has %lld blocks",
		      (long long)st.st_blocks);
	close(fd);
}

/* Backing file "f": @len random bytes of @seed, written and synced */
static char *backing_data_file(struct mdfs_fs *fs, size_t len,
			       unsigned int seed)
{
	char *buf = malloc(len);
	int fd;

	mdfs_fill(buf, len, seed);
	fd = open_path(mdfs_bpath(fs, "f"), O_RDWR | O_CREAT | O_TRUNC);
	mdfs_pwrite_all(fd, buf, len, 0);
	cr_assert_eq(fsync(fd), 0);
	close(fd);
	return buf;
}

MDFS_TEST_EXT4(alloc, punch_hole_makes_hole_in_backing, NULL)
{
	char *buf = backing_data_file(fs, MIB, 1);
	int fd, bfd;

	fd = open_path(mdfs_mpath(fs, "f"), O_RDWR);
	cr_assert_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       256 * KIB, 256 * KIB), 0,
		     "punch hole: %s", strerror(errno));
	close(fd);
	bfd = open_path(mdfs_bpath(fs, "f"), O_RDONLY);
	cr_assert_eq(lseek(bfd, 0, SEEK_HOLE), 256 * KIB,
		     "backing SEEK_HOLE from 0: %lld",
		     (long long)lseek(bfd, 0, SEEK_HOLE));
	cr_assert_eq(lseek(bfd, 256 * KIB, SEEK_DATA), 512 * KIB,
		     "backing SEEK_DATA from 256K: %lld",
		     (long long)lseek(bfd, 256 * KIB, SEEK_DATA));
	close(bfd);
	memset(buf + 256 * KIB, 0, 256 * KIB);
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), buf, MIB);
	mdfs_assert_file_is(mdfs_mpath(fs, "f"), buf, MIB);
	free(buf);
}

MDFS_TEST_EXT4(alloc, zero_range_zeroes_backing, NULL)
{
	char *buf = backing_data_file(fs, MIB, 2);
	int fd;

	fd = open_path(mdfs_mpath(fs, "f"), O_RDWR);
	cr_assert_eq(fallocate(fd, FALLOC_FL_ZERO_RANGE, 100 * KIB + 3,
			       50 * KIB), 0,
		     "zero range: %s", strerror(errno));
	close(fd);
	memset(buf + 100 * KIB + 3, 0, 50 * KIB);
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), buf, MIB);
	free(buf);
}

/* copy_file_range() until @len bytes went, or fail */
static void copy_all(int in, loff_t *off_in, int out, loff_t *off_out,
		     size_t len)
{
	while (len > 0) {
		ssize_t n = copy_file_range(in, off_in, out, off_out, len, 0);

		cr_assert_gt(n, 0, "copy_file_range: %zd (%s), %zu left", n,
			     n < 0 ? strerror(errno) : "EOF", len);
		len -= (size_t)n;
	}
}

MDFS_TEST(alloc, copy_file_range_lands_in_backing, NULL)
{
	size_t len = MIB + 5;
	char *buf = malloc(len), *want = calloc(1, 6000);
	loff_t oi = 5000, oo = 100;
	int in, out;

	mdfs_fill(buf, len, 3);
	mdfs_write_file(mdfs_mpath(fs, "a"), buf, len);
	in = open_path(mdfs_mpath(fs, "a"), O_RDONLY);
	out = open_path(mdfs_mpath(fs, "b"), O_WRONLY | O_CREAT | O_TRUNC);
	copy_all(in, NULL, out, NULL, len);
	close(out);
	mdfs_assert_file_is(mdfs_bpath(fs, "b"), buf, len);

	/* explicit offsets, into a hole of a new file */
	out = open_path(mdfs_mpath(fs, "c"), O_WRONLY | O_CREAT | O_TRUNC);
	copy_all(in, &oi, out, &oo, 1000);
	cr_assert_eq(oi, 6000);
	cr_assert_eq(oo, 1100);
	close(out);
	memcpy(want + 100, buf + 5000, 1000);
	mdfs_assert_file_is(mdfs_bpath(fs, "c"), want, 1100);
	close(in);
	free(buf);
	free(want);
}

MDFS_TEST_EXT4(alloc, seek_data_hole_match_backing, NULL)
{
	static const off_t offs[] = {
		0, 1, 64 * KIB - 1, 64 * KIB, 100 * KIB, MIB - 1, MIB,
		MIB + 64 * KIB - 1, MIB + 64 * KIB, 3 * MIB, 4 * MIB - 1,
		4 * MIB, 5 * MIB,
	};
	static const int whence[] = { SEEK_DATA, SEEK_HOLE };
	char data[64 * KIB];
	size_t i, w;
	int bfd, mfd;

	/* data [0,64K) and [1M,1M+64K), holes elsewhere up to 4M */
	mdfs_fill(data, sizeof(data), 4);
	bfd = open_path(mdfs_bpath(fs, "sparse"), O_RDWR | O_CREAT | O_TRUNC);
	mdfs_pwrite_all(bfd, data, sizeof(data), 0);
	mdfs_pwrite_all(bfd, data, sizeof(data), MIB);
	cr_assert_eq(ftruncate(bfd, 4 * MIB), 0);
	cr_assert_eq(fsync(bfd), 0);
	mfd = open_path(mdfs_mpath(fs, "sparse"), O_RDONLY);
	/* the backing itself must have holes, or this proves nothing */
	cr_assert_eq(lseek(bfd, 0, SEEK_HOLE), 64 * KIB);

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (w = 0; w < 2; w++) {
			off_t rb, rm;
			int eb, em;

			errno = 0;
			rb = lseek(bfd, offs[i], whence[w]);
			eb = errno;
			errno = 0;
			rm = lseek(mfd, offs[i], whence[w]);
			em = errno;
			cr_assert(rm == rb && (rb != -1 || em == eb),
				  "lseek(%lld, %s): %lld (%s) through the "
				  "mount, %lld (%s) on the backing file",
				  (long long)offs[i],
				  whence[w] == SEEK_DATA ? "SEEK_DATA" :
				  "SEEK_HOLE", (long long)rm,
				  rm < 0 ? strerror(em) : "ok",
				  (long long)rb, rb < 0 ? strerror(eb) : "ok");
		}
	}
	close(mfd);
	close(bfd);
}
