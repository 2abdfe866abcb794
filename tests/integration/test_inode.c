// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 inode numbers: the inode numbers seen through the mount are the
 * backing files' own, and they are stable (remount, rename).
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void assert_same_ino(struct mdfs_fs *fs, const char *rel)
{
	struct stat m = mdfs_lstat(mdfs_mpath(fs, "%s", rel));
	struct stat b = mdfs_lstat(mdfs_bpath(fs, "%s", rel));

	cr_assert_eq(m.st_ino, b.st_ino,
		     "\"%s\": st_ino %ju through the mount, %ju in BACKING",
		     rel, (uintmax_t)m.st_ino, (uintmax_t)b.st_ino);
}

static void populate_backing(struct mdfs_fs *fs)
{
	mdfs_write_file(mdfs_bpath(fs, "file"), "x", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "dir"), 0755), 0);
	mdfs_write_file(mdfs_bpath(fs, "dir/nested"), "y", 1);
	cr_assert_eq(symlink("file", mdfs_bpath(fs, "link")), 0);
	cr_assert_eq(mkfifo(mdfs_bpath(fs, "fifo"), 0644), 0);
}

MDFS_TEST(inode, st_ino_is_backing_ino, NULL)
{
	static const char *const names[] = {
		"", "file", "dir", "dir/nested", "link", "fifo", "made",
	};
	size_t i;
	int fd;

	populate_backing(fs);
	/* and one made through the mount */
	fd = open(mdfs_mpath(fs, "made"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "create: %s", strerror(errno));
	close(fd);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_same_ino(fs, names[i]);
}

MDFS_TEST(inode, readdir_d_ino_is_backing_ino, NULL)
{
	struct dirent *de;
	DIR *d;
	int seen = 0;

	populate_backing(fs);
	d = opendir(fs->mnt);
	cr_assert_not_null(d, "opendir: %s", strerror(errno));
	while ((de = readdir(d))) {
		struct stat b;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		b = mdfs_lstat(mdfs_bpath(fs, "%s", de->d_name));
		cr_assert_eq(de->d_ino, b.st_ino,
			     "\"%s\": d_ino %ju, backing st_ino %ju",
			     de->d_name, (uintmax_t)de->d_ino,
			     (uintmax_t)b.st_ino);
		seen++;
	}
	closedir(d);
	cr_assert_eq(seen, 4);
}

MDFS_TEST(inode, st_ino_stable_across_remount, NULL)
{
	static const char *const names[] = { "", "file", "dir", "link" };
	ino_t before[4];
	size_t i;

	populate_backing(fs);
	for (i = 0; i < 4; i++)
		before[i] = mdfs_lstat(mdfs_mpath(fs, "%s", names[i])).st_ino;
	/* its exit status is options' business (sigterm_unmounts_...) */
	mdfs_stop(fs, SIGTERM);
	cr_assert_not(mdfs_mountinfo(fs->mnt, NULL, 0, NULL, 0));
	mdfs_start(fs, NULL, NULL);
	for (i = 0; i < 4; i++) {
		ino_t now = mdfs_lstat(mdfs_mpath(fs, "%s", names[i])).st_ino;

		cr_assert_eq(now, before[i],
			     "\"%s\": st_ino %ju before remount, %ju after",
			     names[i], (uintmax_t)before[i], (uintmax_t)now);
		assert_same_ino(fs, names[i]);
	}
}

MDFS_TEST(inode, st_ino_stable_after_rename, NULL)
{
	struct stat st;
	ino_t ino, dino;
	int fd;

	cr_assert_eq(mkdir(mdfs_mpath(fs, "d"), 0755), 0);
	fd = open(mdfs_mpath(fs, "f"), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "create: %s", strerror(errno));
	ino = mdfs_lstat(mdfs_mpath(fs, "f")).st_ino;
	dino = mdfs_lstat(mdfs_mpath(fs, "d")).st_ino;

	cr_assert_eq(rename(mdfs_mpath(fs, "f"), mdfs_mpath(fs, "d/g")), 0,
		     "rename: %s", strerror(errno));
	cr_assert_eq(mdfs_lstat(mdfs_mpath(fs, "d/g")).st_ino, ino);
	assert_same_ino(fs, "d/g");
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_ino, ino, "open file changed inode number");

	cr_assert_eq(rename(mdfs_mpath(fs, "d"), mdfs_mpath(fs, "e")), 0,
		     "rename dir: %s", strerror(errno));
	cr_assert_eq(mdfs_lstat(mdfs_mpath(fs, "e")).st_ino, dino);
	cr_assert_eq(mdfs_lstat(mdfs_mpath(fs, "e/g")).st_ino, ino);
	assert_same_ino(fs, "e");
	assert_same_ino(fs, "e/g");
	close(fd);
}
