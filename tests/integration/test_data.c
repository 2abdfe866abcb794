// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 data: BACKING is the only place data lives. What was written
 * through the mount is in the backing file, byte for byte, as soon as the
 * write returned (checked while the file is still open: no flush or
 * release has happened); reads through the mount return the backing's
 * bytes.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int open_m(struct mdfs_fs *fs, const char *rel, int flags)
{
	const char *p = mdfs_mpath(fs, "%s", rel);
	int fd = open(p, flags | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
	return fd;
}

static off_t backing_size(struct mdfs_fs *fs, const char *rel)
{
	return mdfs_lstat(mdfs_bpath(fs, "%s", rel)).st_size;
}

MDFS_TEST(data, write_is_in_backing_when_write_returns, NULL)
{
	size_t len = 1 << 20;
	char *buf = malloc(len);
	int fd;

	mdfs_fill(buf, len, 1);
	fd = open_m(fs, "f", O_WRONLY | O_CREAT | O_TRUNC);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len, "write: %s",
		     strerror(errno));
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), buf, len);
	close(fd);
	free(buf);
}

MDFS_TEST(data, pwrite_at_offsets, NULL)
{
	static const struct {
		off_t off;
		size_t len;
	} w[] = {
		{ 0, 100 },
		{ 4096 + 17, 5000 },
		{ (1 << 20) + 3, 777 },	/* leaves a gap of zeros */
		{ 10, 20 },		/* overwrites inside the first */
		{ 4095, 2 },		/* straddles a page boundary */
	};
	size_t size = (1 << 20) + 3 + 777, i;
	char *want = calloc(1, size), *chunk = malloc(8192);
	int fd, bfd;

	fd = open_m(fs, "f", O_RDWR | O_CREAT | O_TRUNC);
	bfd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(bfd, 0, "open backing: %s", strerror(errno));
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		char *got = malloc(w[i].len);

		mdfs_fill(chunk, w[i].len, 10 + (unsigned int)i);
		memcpy(want + w[i].off, chunk, w[i].len);
		cr_assert_eq(pwrite(fd, chunk, w[i].len, w[i].off),
			     (ssize_t)w[i].len, "pwrite at %lld: %s",
			     (long long)w[i].off, strerror(errno));
		cr_assert_eq(pread(bfd, got, w[i].len, w[i].off),
			     (ssize_t)w[i].len, "backing pread at %lld",
			     (long long)w[i].off);
		cr_assert_eq(memcmp(got, chunk, w[i].len), 0,
			     "backing differs after pwrite at %lld",
			     (long long)w[i].off);
		free(got);
	}
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), want, size);
	close(bfd);
	close(fd);
	free(chunk);
	free(want);
}

MDFS_TEST(data, writev_lands_in_order, NULL)
{
	char big[70000], want[6 + sizeof(big) + 2];
	struct iovec iov[3] = {
		{ .iov_base = "hello ", .iov_len = 6 },
		{ .iov_base = big, .iov_len = sizeof(big) },
		{ .iov_base = "!\n", .iov_len = 2 },
	};
	int fd;

	mdfs_fill(big, sizeof(big), 3);
	memcpy(want, "hello ", 6);
	memcpy(want + 6, big, sizeof(big));
	memcpy(want + 6 + sizeof(big), "!\n", 2);
	fd = open_m(fs, "f", O_WRONLY | O_CREAT | O_TRUNC);
	cr_assert_eq(writev(fd, iov, 3), (ssize_t)sizeof(want), "writev: %s",
		     strerror(errno));
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), want, sizeof(want));
	close(fd);
}

MDFS_TEST(data, o_append_appends_to_backing_end, NULL)
{
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "0123456789", 10);
	fd = open_m(fs, "f", O_WRONLY | O_APPEND);
	cr_assert_eq(write(fd, "abc", 3), 3, "write: %s", strerror(errno));
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), "0123456789abc", 13);
	/* the file offset does not matter with O_APPEND */
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	cr_assert_eq(write(fd, "def", 3), 3, "write: %s", strerror(errno));
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), "0123456789abcdef", 16);
	/* Linux: pwrite on an O_APPEND file appends too */
	cr_assert_eq(pwrite(fd, "XY", 2, 0), 2, "pwrite: %s", strerror(errno));
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), "0123456789abcdefXY", 18);
	close(fd);
}

MDFS_TEST(data, large_8mib_write, NULL)
{
	size_t len = 8 << 20;
	char *buf = malloc(len);
	int fd;

	mdfs_fill(buf, len, 8);
	fd = open_m(fs, "big", O_WRONLY | O_CREAT | O_TRUNC);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len, "write 8 MiB: %s",
		     strerror(errno));
	mdfs_assert_file_is(mdfs_bpath(fs, "big"), buf, len);
	close(fd);
	mdfs_assert_file_is(mdfs_mpath(fs, "big"), buf, len);
	free(buf);
}

MDFS_TEST(data, reads_return_backing_bytes, NULL)
{
	size_t len = (3 << 20) + 123;
	char *buf = malloc(len), got[4096];
	int fd;

	mdfs_fill(buf, len, 4);
	mdfs_write_file(mdfs_bpath(fs, "f"), buf, len);
	mdfs_assert_file_is(mdfs_mpath(fs, "f"), buf, len);

	fd = open_m(fs, "f", O_RDONLY);
	cr_assert_eq(pread(fd, got, sizeof(got), (1 << 20) + 5),
		     (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, buf + (1 << 20) + 5, sizeof(got)), 0);
	/* short read at the end, then EOF */
	cr_assert_eq(pread(fd, got, 100, (off_t)len - 10), 10);
	cr_assert_eq(memcmp(got, buf + len - 10, 10), 0);
	cr_assert_eq(pread(fd, got, 100, (off_t)len), 0);
	close(fd);
	free(buf);
}

MDFS_TEST(data, reads_see_later_backing_writes, NULL)
{
	char a[8192], b[8192], got[8192];
	int fd, bfd;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	mdfs_write_file(mdfs_bpath(fs, "f"), a, sizeof(a));
	fd = open_m(fs, "f", O_RDONLY);
	cr_assert_eq(pread(fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, a, sizeof(a)), 0);
	/* same size: no attribute change the kernel must notice */
	bfd = open(mdfs_bpath(fs, "f"), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(bfd, 0);
	mdfs_pwrite_all(bfd, b, sizeof(b), 0);
	close(bfd);
	cr_assert_eq(pread(fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	cr_assert_eq(memcmp(got, b, sizeof(b)), 0,
		     "read through the mount returned stale data");
	close(fd);
}

MDFS_TEST(data, truncate_and_ftruncate, NULL)
{
	char buf[10000], zero[4900] = { 0 };
	char *got;
	size_t n;
	struct stat st;
	int fd;

	mdfs_fill(buf, sizeof(buf), 5);
	mdfs_write_file(mdfs_mpath(fs, "f"), buf, sizeof(buf));

	cr_assert_eq(truncate(mdfs_mpath(fs, "f"), 100), 0, "truncate: %s",
		     strerror(errno));
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), buf, 100);

	fd = open_m(fs, "f", O_RDWR);
	cr_assert_eq(ftruncate(fd, 5000), 0, "ftruncate: %s", strerror(errno));
	cr_assert_eq(backing_size(fs, "f"), 5000);
	got = mdfs_read_file(mdfs_bpath(fs, "f"), &n);
	cr_assert_eq(n, 5000);
	cr_assert_eq(memcmp(got, buf, 100), 0);
	cr_assert_eq(memcmp(got + 100, zero, 4900), 0,
		     "extension by ftruncate is not zeros");
	free(got);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 5000);

	cr_assert_eq(ftruncate(fd, 0), 0, "ftruncate 0: %s", strerror(errno));
	cr_assert_eq(backing_size(fs, "f"), 0);
	close(fd);
}

MDFS_TEST(data, open_o_trunc_empties_backing, NULL)
{
	char buf[5000];
	int fd;

	mdfs_fill(buf, sizeof(buf), 6);
	mdfs_write_file(mdfs_bpath(fs, "f"), buf, sizeof(buf));
	fd = open_m(fs, "f", O_WRONLY | O_TRUNC);
	cr_assert_eq(backing_size(fs, "f"), 0);
	close(fd);
}

MDFS_TEST(data, fsync_and_fdatasync_succeed, NULL)
{
	int fd, dfd;

	fd = open_m(fs, "f", O_RDWR | O_CREAT);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(fsync(fd), 0, "fsync: %s", strerror(errno));
	cr_assert_eq(fdatasync(fd), 0, "fdatasync: %s", strerror(errno));
	close(fd);
	dfd = open_m(fs, "", O_RDONLY | O_DIRECTORY);
	cr_assert_eq(fsync(dfd), 0, "fsync dir: %s", strerror(errno));
	close(dfd);
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), "x", 1);
}

MDFS_TEST(data, o_direct_io, NULL)
{
	size_t len = 256 << 10;
	char *buf, *got;
	int fd;

	/* O_DIRECT wants aligned buffers, offsets and sizes */
	cr_assert_eq(posix_memalign((void **)&buf, 4096, len), 0);
	cr_assert_eq(posix_memalign((void **)&got, 4096, len), 0);
	mdfs_fill(buf, len, 7);
	fd = open_m(fs, "f", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT);
	cr_assert_eq(pwrite(fd, buf, len, 4096), (ssize_t)len,
		     "O_DIRECT pwrite: %s", strerror(errno));
	cr_assert_eq(pread(fd, got, len, 4096), (ssize_t)len,
		     "O_DIRECT pread: %s", strerror(errno));
	cr_assert_eq(memcmp(got, buf, len), 0, "O_DIRECT read back differs");
	close(fd);
	cr_assert_eq(backing_size(fs, "f"), 4096 + (off_t)len);
	fd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pread(fd, got, len, 4096), (ssize_t)len);
	cr_assert_eq(memcmp(got, buf, len), 0, "backing differs");
	close(fd);
	free(got);
	free(buf);
}

MDFS_TEST(data, offsets_past_4gib, NULL)
{
	const off_t off = (5LL << 30) + 7;
	char got[11];
	int fd, bfd;

	fd = open_m(fs, "f", O_RDWR | O_CREAT | O_TRUNC);
	cr_assert_eq(pwrite(fd, "far away!\n", 10, off), 10,
		     "pwrite at 5 GiB: %s", strerror(errno));
	cr_assert_eq(backing_size(fs, "f"), off + 10);
	bfd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pread(bfd, got, 10, off), 10);
	cr_assert_eq(memcmp(got, "far away!\n", 10), 0);
	close(bfd);
	cr_assert_eq(pread(fd, got, 11, off), 10, "pread at 5 GiB: %s",
		     strerror(errno));
	cr_assert_eq(memcmp(got, "far away!\n", 10), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_END), off + 10);
	close(fd);
}

/* Writers in parallel: each its own fd and region of one file */
#define WRITERS 4
#define REGION (2 << 20)
#define CHUNK (64 << 10)

struct writer {
	const char *path;
	int n;
};

static int write_region(void *arg)
{
	const struct writer *w = arg;
	char *buf = malloc(REGION);
	int fd = open(w->path, O_WRONLY | O_CLOEXEC);
	off_t o;

	if (!buf || fd < 0)
		return 1;
	mdfs_fill(buf, REGION, 100 + (unsigned int)w->n);
	/* interleave with the others in small pieces */
	for (o = 0; o < REGION; o += CHUNK)
		if (pwrite(fd, buf + o, CHUNK, (off_t)w->n * REGION + o) !=
		    CHUNK)
			return 2;
	close(fd);
	free(buf);
	return 0;
}

MDFS_TEST(data, parallel_writers, NULL)
{
	struct writer w[WRITERS];
	char *want = malloc((size_t)WRITERS * REGION);
	pid_t pid[WRITERS];
	int i;

	mdfs_write_file(mdfs_mpath(fs, "f"), "", 0);
	for (i = 0; i < WRITERS; i++) {
		w[i].path = mdfs_mpath(fs, "f");
		w[i].n = i;
		mdfs_fill(want + (size_t)i * REGION, REGION, 100 + (unsigned)i);
		pid[i] = mdfs_fork_as((uid_t)-1, (gid_t)-1, write_region,
				      &w[i]);
	}
	for (i = 0; i < WRITERS; i++)
		cr_assert_eq(mdfs_wait_child(pid[i]), 0, "writer %d failed", i);
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), want,
			    (size_t)WRITERS * REGION);
	free(want);
}
