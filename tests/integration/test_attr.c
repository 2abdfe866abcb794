// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 getattr/setattr and statfs map 1:1 onto BACKING: mode, owner,
 * times set through the mount are the backing file's, statfs reports
 * the backing filesystem.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

MDFS_TEST(attr, statfs_is_backing_fs, NULL)
{
	struct statvfs m, b;

	cr_assert_eq(statvfs(fs->mnt, &m), 0, "statvfs: %s", strerror(errno));
	cr_assert_eq(statvfs(fs->backing, &b), 0);
	cr_assert_eq(m.f_frsize, b.f_frsize, "f_frsize %lu, backing %lu",
		     m.f_frsize, b.f_frsize);
	cr_assert_eq(m.f_blocks, b.f_blocks, "f_blocks %ju, backing %ju",
		     (uintmax_t)m.f_blocks, (uintmax_t)b.f_blocks);
	cr_assert_eq(m.f_files, b.f_files, "f_files %ju, backing %ju",
		     (uintmax_t)m.f_files, (uintmax_t)b.f_files);
	cr_assert_eq(m.f_namemax, b.f_namemax);
}

MDFS_TEST_EXT4(attr, statfs_is_backing_fs_on_ext4, NULL)
{
	struct statvfs m, b;

	cr_assert_eq(statvfs(fs->mnt, &m), 0, "statvfs: %s", strerror(errno));
	cr_assert_eq(statvfs(fs->backing, &b), 0);
	cr_assert_eq(m.f_blocks * m.f_frsize, b.f_blocks * b.f_frsize,
		     "size %ju, backing %ju",
		     (uintmax_t)(m.f_blocks * m.f_frsize),
		     (uintmax_t)(b.f_blocks * b.f_frsize));
	cr_assert_eq(m.f_blocks, b.f_blocks);
	cr_assert_eq(m.f_files, b.f_files);
}

static bool same_ts(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

MDFS_TEST(attr, utimensat_sets_backing_times, NULL)
{
	struct timespec ts[2] = {
		{ .tv_sec = 1000000000, .tv_nsec = 123456789 },
		{ .tv_sec = 1200000000, .tv_nsec = 987654321 },
	};
	struct timespec before, later[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_sec = 1300000000, .tv_nsec = 5 },
	};
	struct stat b, m;
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	cr_assert_eq(utimensat(AT_FDCWD, mdfs_mpath(fs, "f"), ts, 0), 0,
		     "utimensat: %s", strerror(errno));
	b = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert(same_ts(b.st_atim, ts[0]), "backing atime %ld.%09ld",
		  (long)b.st_atim.tv_sec, b.st_atim.tv_nsec);
	cr_assert(same_ts(b.st_mtim, ts[1]), "backing mtime %ld.%09ld",
		  (long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec);
	m = mdfs_lstat(mdfs_mpath(fs, "f"));
	cr_assert(same_ts(m.st_mtim, ts[1]), "mtime through the mount");

	/* UTIME_OMIT keeps atime */
	cr_assert_eq(utimensat(AT_FDCWD, mdfs_mpath(fs, "f"), later, 0), 0);
	b = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert(same_ts(b.st_atim, ts[0]), "UTIME_OMIT changed atime");
	cr_assert(same_ts(b.st_mtim, later[1]));

	/* futimens with UTIME_NOW: the clock's now, not 1970 or 2001 */
	clock_gettime(CLOCK_REALTIME, &before);
	fd = open(mdfs_mpath(fs, "f"), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(futimens(fd, NULL), 0, "futimens: %s", strerror(errno));
	close(fd);
	b = mdfs_lstat(mdfs_bpath(fs, "f"));
	/* coarse clocks: allow for a tick before "before" */
	cr_assert_geq(b.st_mtim.tv_sec, before.tv_sec - 1,
		      "UTIME_NOW gave mtime %ld, now is %ld",
		      (long)b.st_mtim.tv_sec, (long)before.tv_sec);
	cr_assert_leq(b.st_mtim.tv_sec, time(NULL) + 1);
}

MDFS_TEST(attr, chmod_sets_backing_mode, NULL)
{
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	cr_assert_eq(chmod(mdfs_mpath(fs, "f"), 0604), 0, "chmod: %s",
		     strerror(errno));
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "f")).st_mode & 07777, 0604);
	fd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fchmod(fd, 0640), 0, "fchmod: %s", strerror(errno));
	close(fd);
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "f")).st_mode & 07777, 0640);
	cr_assert_eq(chmod(mdfs_mpath(fs, "d"), 01730), 0);
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "d")).st_mode & 07777, 01730);
	cr_assert_eq(mdfs_lstat(mdfs_mpath(fs, "d")).st_mode & 07777, 01730);
}

MDFS_TEST(attr, chown_as_root_sets_backing_owner, NULL)
{
	struct stat st;
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	cr_assert_eq(symlink("f", mdfs_bpath(fs, "l")), 0);
	cr_assert_eq(chown(mdfs_mpath(fs, "f"), 1234, 5678), 0, "chown: %s",
		     strerror(errno));
	st = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert(st.st_uid == 1234 && st.st_gid == 5678,
		  "backing owner %u:%u", st.st_uid, st.st_gid);
	st = mdfs_lstat(mdfs_mpath(fs, "f"));
	cr_assert(st.st_uid == 1234 && st.st_gid == 5678,
		  "owner through the mount %u:%u", st.st_uid, st.st_gid);

	/* -1 keeps that id */
	fd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fchown(fd, (uid_t)-1, 42), 0, "fchown: %s",
		     strerror(errno));
	close(fd);
	st = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert(st.st_uid == 1234 && st.st_gid == 42, "backing owner %u:%u",
		  st.st_uid, st.st_gid);

	/* lchown changes the link, not its target */
	cr_assert_eq(lchown(mdfs_mpath(fs, "l"), 77, 88), 0, "lchown: %s",
		     strerror(errno));
	st = mdfs_lstat(mdfs_bpath(fs, "l"));
	cr_assert(st.st_uid == 77 && st.st_gid == 88,
		  "backing link owner %u:%u", st.st_uid, st.st_gid);
	st = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert(st.st_uid == 1234 && st.st_gid == 42,
		  "lchown changed the target: %u:%u", st.st_uid, st.st_gid);
}

static void assert_same_stat(struct mdfs_fs *fs, const char *rel)
{
	struct stat m = mdfs_lstat(mdfs_mpath(fs, "%s", rel));
	struct stat b = mdfs_lstat(mdfs_bpath(fs, "%s", rel));

	cr_assert_eq(m.st_mode, b.st_mode, "\"%s\": st_mode %o, backing %o",
		     rel, m.st_mode, b.st_mode);
	cr_assert_eq(m.st_nlink, b.st_nlink, "\"%s\": st_nlink %ju, "
		     "backing %ju", rel, (uintmax_t)m.st_nlink,
		     (uintmax_t)b.st_nlink);
	cr_assert(m.st_uid == b.st_uid && m.st_gid == b.st_gid,
		  "\"%s\": owner %u:%u, backing %u:%u", rel, m.st_uid,
		  m.st_gid, b.st_uid, b.st_gid);
	cr_assert_eq(m.st_size, b.st_size, "\"%s\": st_size %lld, backing "
		     "%lld", rel, (long long)m.st_size, (long long)b.st_size);
	cr_assert_eq(m.st_blocks, b.st_blocks, "\"%s\": st_blocks %lld, "
		     "backing %lld", rel, (long long)m.st_blocks,
		     (long long)b.st_blocks);
	cr_assert(same_ts(m.st_mtim, b.st_mtim), "\"%s\": mtime differs", rel);
	cr_assert(same_ts(m.st_ctim, b.st_ctim), "\"%s\": ctime differs", rel);
}

MDFS_TEST(attr, getattr_matches_backing, NULL)
{
	static const char *const names[] = {
		"", "file", "dir", "dir/sub", "link", "fifo", "sparse",
	};
	char buf[10000];
	size_t i;
	int fd;

	mdfs_fill(buf, sizeof(buf), 1);
	mdfs_write_file(mdfs_bpath(fs, "file"), buf, sizeof(buf));
	cr_assert_eq(mkdir(mdfs_bpath(fs, "dir"), 0750), 0);
	cr_assert_eq(symlink("file", mdfs_bpath(fs, "link")), 0);
	cr_assert_eq(mkfifo(mdfs_bpath(fs, "fifo"), 0600), 0);
	fd = open(mdfs_bpath(fs, "sparse"), O_CREAT | O_WRONLY | O_CLOEXEC,
		  0644);
	cr_assert_geq(fd, 0);
	mdfs_pwrite_all(fd, "end", 3, 3 << 20);
	close(fd);
	/* made through the mount: the parent's nlink grows */
	cr_assert_eq(mkdir(mdfs_mpath(fs, "dir/sub"), 0700), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_same_stat(fs, names[i]);
}

MDFS_TEST(attr, mount_root_attrs_are_backings, NULL)
{
	cr_assert_eq(chmod(fs->mnt, 0751), 0, "chmod of the mount root: %s",
		     strerror(errno));
	cr_assert_eq(mdfs_lstat(fs->backing).st_mode & 07777, 0751);
	cr_assert_eq(chown(fs->mnt, 0, 4242), 0, "chown of the mount root: %s",
		     strerror(errno));
	cr_assert_eq(mdfs_lstat(fs->backing).st_gid, 4242);
	assert_same_stat(fs, "");
	/* others must still get in for later tests of this temp dir */
	cr_assert_eq(chmod(fs->mnt, 0755), 0);
}
