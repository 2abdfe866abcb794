// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 containment: "Nothing outside BACKING is reachable through the
 * mount: the daemon never follows a symlink on a client's behalf, and
 * `..` at the root stays there."
 *
 * What can be tested against the daemon: the client's VFS resolves every
 * path itself (symlinks with absolute targets, "..", "mnt/.."), so what
 * the daemon is asked about is always one name in one directory it
 * serves. It must answer for that inode itself: lstat, readlink, times,
 * owner and xattrs of a symlink are the link's, never its target's (the
 * classic bug is a /proc/self/fd/N or path-based call that follows the
 * link in the daemon), and the root lists exactly BACKING's entries.
 * "..": the kernel never sends a lookup of ".." to a FUSE daemon; ".." of
 * the mount root is the mount point's parent, as on any mount, and that
 * is checked with BACKING placed elsewhere so the two parents differ.
 *
 * Changes through a link are tried on links to sentinel files outside
 * BACKING but inside the test's temp dir (one at tmp/etc/passwd), never
 * the machine's own files: a buggy daemon would change only the sentinel.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* atime left out: reads do not matter; ctime catches any change of
 * times, owner or mode */
static bool same_meta(const struct stat *a, const struct stat *b)
{
	return same_file(a, b) && a->st_mode == b->st_mode &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void assert_link_to(const char *path, const char *target)
{
	char got[PATH_MAX];
	struct stat st = mdfs_lstat(path);
	ssize_t n;

	cr_assert(S_ISLNK(st.st_mode), "%s: mode %o, not a symlink", path,
		  st.st_mode);
	n = readlink(path, got, sizeof(got) - 1);
	cr_assert_gt(n, 0, "readlink %s: %s", path, strerror(errno));
	got[n] = '\0';
	cr_assert_str_eq(got, target);
}

/*
 * An absolute link out of the mount, to a file laid out like the machine's
 * /etc/passwd but in the temp dir (issue 11: a test never risks the real
 * one): the daemon answers for the link, never for its target.
 */
MDFS_TEST(containment, link_to_etc_passwd_is_a_link, NULL)
{
	struct timespec ts[2] = {
		{ .tv_sec = 1000000000, .tv_nsec = 0 },
		{ .tv_sec = 1000000000, .tv_nsec = 0 },
	};
	struct stat before, after, l;
	char passwd[PATH_MAX];
	int fd;

	cr_assert_eq(mkdir(mdfs_tpath(fs, "etc"), 0755), 0);
	mdfs_pathf(passwd, "%s/etc/passwd", fs->tmp);
	mdfs_write_file(passwd, "root:x:0:0:root:/root:/bin/sh\n", 30);
	cr_assert_eq(lstat(passwd, &before), 0);
	cr_assert_eq(symlink(passwd, mdfs_bpath(fs, "passwd")), 0);
	assert_link_to(mdfs_mpath(fs, "passwd"), passwd);
	fd = open(mdfs_mpath(fs, "passwd"), O_PATH | O_NOFOLLOW | O_CLOEXEC);
	cr_assert_geq(fd, 0, "O_PATH|O_NOFOLLOW: %s", strerror(errno));
	cr_assert_eq(fstat(fd, &l), 0);
	cr_assert(S_ISLNK(l.st_mode), "O_PATH|O_NOFOLLOW fd is not a link");
	close(fd);

	cr_assert_eq(utimensat(AT_FDCWD, mdfs_mpath(fs, "passwd"), ts,
			       AT_SYMLINK_NOFOLLOW), 0,
		     "utimensat NOFOLLOW: %s", strerror(errno));
	cr_assert_eq(lstat(passwd, &after), 0);
	cr_assert(same_meta(&before, &after), "utimensat(AT_SYMLINK_NOFOLLOW) "
		  "through the mount changed the link's target");
	l = mdfs_lstat(mdfs_bpath(fs, "passwd"));
	cr_assert_eq(l.st_mtim.tv_sec, ts[1].tv_sec,
		     "the link's mtime did not change");

	cr_assert_eq(lchown(mdfs_mpath(fs, "passwd"), 4321, 4321), 0,
		     "lchown: %s", strerror(errno));
	cr_assert_eq(lstat(passwd, &after), 0);
	cr_assert(after.st_uid == before.st_uid && after.st_gid == before.st_gid,
		  "lchown through the mount changed the link's target to "
		  "%u:%u", after.st_uid, after.st_gid);
	l = mdfs_lstat(mdfs_bpath(fs, "passwd"));
	cr_assert(l.st_uid == 4321 && l.st_gid == 4321,
		  "the link's owner is %u:%u", l.st_uid, l.st_gid);
}

/* tmp/outside (a file with an xattr) and BACKING/escape -> it */
static void outside_and_link(struct mdfs_fs *fs, struct stat *before)
{
	const char *out = mdfs_tpath(fs, "outside");

	mdfs_write_file(out, "outside", 7);
	cr_assert_eq(setxattr(out, "trusted.secret", "leak", 4, 0), 0,
		     "setxattr on the sentinel: %s", strerror(errno));
	cr_assert_eq(symlink(out, mdfs_bpath(fs, "escape")), 0);
	cr_assert_eq(lstat(out, before), 0);
}

MDFS_TEST(containment, lchown_and_times_change_the_link, NULL)
{
	struct timespec ts[2] = {
		{ .tv_sec = 1111111111, .tv_nsec = 0 },
		{ .tv_sec = 1222222222, .tv_nsec = 0 },
	};
	struct stat before, after, l;

	outside_and_link(fs, &before);
	assert_link_to(mdfs_mpath(fs, "escape"), mdfs_tpath(fs, "outside"));
	cr_assert_eq(lchown(mdfs_mpath(fs, "escape"), 4321, 4321), 0,
		     "lchown: %s", strerror(errno));
	cr_assert_eq(utimensat(AT_FDCWD, mdfs_mpath(fs, "escape"), ts,
			       AT_SYMLINK_NOFOLLOW), 0,
		     "utimensat NOFOLLOW: %s", strerror(errno));
	cr_assert_eq(lstat(mdfs_tpath(fs, "outside"), &after), 0);
	cr_assert(same_meta(&before, &after),
		  "the file outside BACKING changed: owner %u:%u, mtime %ld",
		  after.st_uid, after.st_gid, (long)after.st_mtim.tv_sec);
	l = mdfs_lstat(mdfs_bpath(fs, "escape"));
	cr_assert(l.st_uid == 4321 && l.st_gid == 4321,
		  "the link's owner is %u:%u", l.st_uid, l.st_gid);
	cr_assert_eq(l.st_mtim.tv_sec, ts[1].tv_sec);
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* Linux cannot chmod a symlink: EOPNOTSUPP, never the target's mode */
MDFS_TEST(containment, lchmod_never_reaches_the_target, NULL)
{
	struct stat before, after;
	long r, rb;
	int e, eb;

	outside_and_link(fs, &before);
	errno = 0;
	rb = syscall(SYS_fchmodat2, AT_FDCWD, mdfs_bpath(fs, "escape"), 0600,
		     AT_SYMLINK_NOFOLLOW);
	eb = errno;
	errno = 0;
	r = syscall(SYS_fchmodat2, AT_FDCWD, mdfs_mpath(fs, "escape"), 0600,
		    AT_SYMLINK_NOFOLLOW);
	e = errno;
	cr_assert_eq(lstat(mdfs_tpath(fs, "outside"), &after), 0);
	cr_assert(same_meta(&before, &after), "fchmodat2(AT_SYMLINK_NOFOLLOW) "
		  "through the mount changed the target: mode %o",
		  after.st_mode & 07777);
	cr_assert(r == rb && e == eb, "fchmodat2(AT_SYMLINK_NOFOLLOW) on the "
		  "link: %ld (%s) through the mount, %ld (%s) on BACKING", r,
		  strerror(e), rb, strerror(eb));
}

MDFS_TEST(containment, link_xattrs_are_the_links, NULL)
{
	char buf[256];
	struct stat before;
	ssize_t n;

	outside_and_link(fs, &before);
	/* trusted.* reaches the daemon on a symlink (user.* would not) */
	n = lgetxattr(mdfs_mpath(fs, "escape"), "trusted.secret", buf,
		      sizeof(buf));
	cr_assert(n < 0 && errno == ENODATA,
		  "lgetxattr on the link read %zd bytes (%s): the target's "
		  "xattr leaked", n, n < 0 ? strerror(errno) : "value");
	n = llistxattr(mdfs_mpath(fs, "escape"), buf, sizeof(buf));
	cr_assert(n >= 0, "llistxattr: %s", strerror(errno));
	cr_assert_null(memmem(buf, (size_t)n, "trusted.secret", 14),
		       "llistxattr on the link lists the target's xattr");

	/*
	 * Whether the link itself takes it is xattr's business
	 * (symlink_xattrs_pass_through); here: never the target.
	 */
	lsetxattr(mdfs_mpath(fs, "escape"), "trusted.mark", "1", 1, 0);
	cr_assert(getxattr(mdfs_tpath(fs, "outside"), "trusted.mark", buf,
			   sizeof(buf)) < 0 && errno == ENODATA,
		  "lsetxattr through the mount set the target's xattr");
	lremovexattr(mdfs_mpath(fs, "escape"), "trusted.secret");
	cr_assert_eq(getxattr(mdfs_tpath(fs, "outside"), "trusted.secret", buf,
			      sizeof(buf)), 4,
		     "lremovexattr through the mount removed the target's");
}

MDFS_TEST(containment, hard_link_of_a_symlink_is_a_symlink, NULL)
{
	struct stat before;

	outside_and_link(fs, &before);
	cr_assert_eq(linkat(AT_FDCWD, mdfs_mpath(fs, "escape"), AT_FDCWD,
			    mdfs_mpath(fs, "hl"), 0), 0, "linkat: %s",
		     strerror(errno));
	assert_link_to(mdfs_bpath(fs, "hl"), mdfs_tpath(fs, "outside"));
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "hl")).st_ino,
		     mdfs_lstat(mdfs_bpath(fs, "escape")).st_ino);
}

MDFS_TEST(containment, root_lists_only_backing, NULL)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	/* siblings of BACKING in the temp dir */
	mdfs_write_file(mdfs_tpath(fs, "sentinel"), "s", 1);
	mdfs_write_file(mdfs_bpath(fs, "inside"), "i", 1);
	d = opendir(fs->mnt);
	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cr_assert_str_eq(de->d_name, "inside",
				 "the mount root lists \"%s\"", de->d_name);
		n++;
	}
	closedir(d);
	cr_assert_eq(n, 1);
	cr_assert(access(mdfs_mpath(fs, "sentinel"), F_OK) < 0 &&
		  errno == ENOENT, "a sibling of BACKING is visible");
	cr_assert(access(mdfs_mpath(fs, "backing"), F_OK) < 0 &&
		  errno == ENOENT, "BACKING's own name is visible in it");
}

/*
 * BACKING at tmp/outer/backing, the mount at tmp/mnt: ".." of the mount
 * root is tmp (the mount's parent), never tmp/outer (BACKING's parent).
 */
MDFS_TEST_NOMOUNT(containment, dotdot_at_root_is_the_mounts_parent)
{
	struct stat up, tmp, outer, st;
	int root, fd;

	cr_assert_eq(mkdir(mdfs_tpath(fs, "outer"), 0755), 0);
	mdfs_pathf(fs->backing, "%s/outer/backing", fs->tmp);
	cr_assert_eq(mkdir(fs->backing, 0755), 0);
	mdfs_write_file(mdfs_tpath(fs, "outer/sentinel"), "s", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "sub"), 0755), 0);
	cr_assert_eq(symlink("..", mdfs_bpath(fs, "sub/up")), 0);
	cr_assert_eq(symlink("../..", mdfs_bpath(fs, "sub/up2")), 0);
	mdfs_start(fs, NULL, NULL);

	cr_assert_eq(stat(fs->tmp, &tmp), 0);
	cr_assert_eq(stat(mdfs_tpath(fs, "outer"), &outer), 0);
	root = open(fs->mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(root, 0);

	fd = openat(root, "..", O_PATH | O_CLOEXEC);
	cr_assert_geq(fd, 0, "openat(root, \"..\"): %s", strerror(errno));
	cr_assert_eq(fstat(fd, &up), 0);
	close(fd);
	cr_assert(same_file(&up, &tmp), "\"..\" of the mount root is not "
		  "the mount point's parent");
	cr_assert_not(same_file(&up, &outer), "\"..\" of the mount root is "
		      "BACKING's parent");
	/* the sentinel next to BACKING is not reached by any ".." walk */
	cr_assert(faccessat(root, "../sentinel", F_OK, 0) < 0 &&
		  errno == ENOENT, "../sentinel reached BACKING's parent");
	cr_assert(faccessat(root, "sub/../../sentinel", F_OK, 0) < 0 &&
		  errno == ENOENT, "sub/../../sentinel reached BACKING's "
		  "parent");
	fd = openat(root, "sub/../..", O_PATH | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	cr_assert(same_file(&st, &tmp));

	/* symlinks to ".." chains: the daemon hands back the link ... */
	assert_link_to(mdfs_mpath(fs, "sub/up"), "..");
	assert_link_to(mdfs_mpath(fs, "sub/up2"), "../..");
	/* ... and the client's VFS resolves it like any other */
	cr_assert_eq(stat(mdfs_mpath(fs, "sub/up"), &st), 0);
	cr_assert_eq(stat(fs->mnt, &up), 0);
	cr_assert(same_file(&st, &up), "sub/up is not the mount root");
	cr_assert_eq(stat(mdfs_mpath(fs, "sub/up2"), &st), 0);
	cr_assert(same_file(&st, &tmp), "sub/up2 is not the mount's parent");
	cr_assert(faccessat(root, "sub/up2/sentinel", F_OK, 0) < 0 &&
		  errno == ENOENT, "sub/up2/sentinel reached BACKING's "
		  "parent");
	close(root);
}
