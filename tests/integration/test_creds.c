// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 credentials: what a caller creates through the mount is owned by
 * its uid/gid; permission checks are the kernel's (default_permissions).
 * The callers are forked children running as uid/gid 1000, which need not
 * exist in /etc/passwd; the mounts use allow_other so they may enter.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER 1000

/* errno of each step a child takes, in shared memory */
struct steps {
	const struct mdfs_fs *fs;
	int err[16];
};

/* Record the errno of a step: 0 on success */
#define STEP(s, i, call) ((s)->err[i] = (call) < 0 ? errno : 0)

static int user_creates(void *arg)
{
	struct steps *s = arg;
	const struct mdfs_fs *fs = s->fs;
	int fd = open(mdfs_mpath(fs, "shared/f"), O_CREAT | O_WRONLY, 0644);

	s->err[0] = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	STEP(s, 1, mkdir(mdfs_mpath(fs, "shared/d"), 0755));
	STEP(s, 2, symlink("f", mdfs_mpath(fs, "shared/l")));
	STEP(s, 3, mkfifo(mdfs_mpath(fs, "shared/p"), 0644));
	/* inside its own new directory too */
	STEP(s, 4, mknod(mdfs_mpath(fs, "shared/d/r"), S_IFREG | 0600, 0));
	return 0;
}

MDFS_TEST(creds, created_entries_owned_by_caller, "allow_other")
{
	static const char *const names[] = {
		"shared/f", "shared/d", "shared/l", "shared/p", "shared/d/r",
	};
	struct steps *s = mdfs_shared(sizeof(*s));
	size_t i;

	cr_assert_eq(mkdir(mdfs_bpath(fs, "shared"), 0777), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "shared"), 0777), 0);
	s->fs = fs;
	cr_assert_eq(mdfs_run_as(USER, USER, user_creates, s), 0);
	for (i = 0; i < 5; i++) {
		struct stat b, m;

		cr_assert_eq(s->err[i], 0, "uid %d creating %s: %s", USER,
			     names[i], strerror(s->err[i]));
		b = mdfs_lstat(mdfs_bpath(fs, "%s", names[i]));
		cr_assert(b.st_uid == USER && b.st_gid == USER,
			  "backing %s owned by %u:%u, expected %d:%d",
			  names[i], b.st_uid, b.st_gid, USER, USER);
		m = mdfs_lstat(mdfs_mpath(fs, "%s", names[i]));
		cr_assert(m.st_uid == USER && m.st_gid == USER,
			  "%s owned by %u:%u through the mount", names[i],
			  m.st_uid, m.st_gid);
	}
}

static int user_is_refused(void *arg)
{
	struct steps *s = arg;
	const struct mdfs_fs *fs = s->fs;
	int fd;

	fd = open(mdfs_mpath(fs, "pub"), O_RDONLY);
	s->err[0] = fd < 0 ? errno : 0;	/* sanity: may read pub */
	if (fd >= 0)
		close(fd);
	STEP(s, 1, open(mdfs_mpath(fs, "secret"), O_RDONLY));
	STEP(s, 2, open(mdfs_mpath(fs, "rootdir/new"), O_CREAT | O_WRONLY,
			0644));
	STEP(s, 3, mkdir(mdfs_mpath(fs, "rootdir/newdir"), 0755));
	STEP(s, 4, open(mdfs_mpath(fs, "pub"), O_WRONLY));
	STEP(s, 5, unlink(mdfs_mpath(fs, "rootdir/x")));
	STEP(s, 6, chmod(mdfs_mpath(fs, "pub"), 0666));
	STEP(s, 7, chown(mdfs_mpath(fs, "pub"), USER, USER));
	STEP(s, 8, truncate(mdfs_mpath(fs, "pub"), 0));
	return 0;
}

MDFS_TEST(creds, other_uid_is_refused, "allow_other")
{
	static const struct {
		const char *what;
		int err;
	} want[] = {
		{ "open 0644 file for read", 0 },
		{ "open 0600 root file for read", EACCES },
		{ "create in 0755 root dir", EACCES },
		{ "mkdir in 0755 root dir", EACCES },
		{ "open 0644 root file for write", EACCES },
		{ "unlink in 0755 root dir", EACCES },
		{ "chmod root's file", EPERM },
		{ "chown root's file", EPERM },
		{ "truncate 0644 root file", EACCES },
	};
	struct steps *s = mdfs_shared(sizeof(*s));
	size_t i;

	mdfs_write_file(mdfs_bpath(fs, "secret"), "s", 1);
	cr_assert_eq(chmod(mdfs_bpath(fs, "secret"), 0600), 0);
	mdfs_write_file(mdfs_bpath(fs, "pub"), "p", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "rootdir"), 0755), 0);
	mdfs_write_file(mdfs_bpath(fs, "rootdir/x"), "x", 1);
	s->fs = fs;
	cr_assert_eq(mdfs_run_as(USER, USER, user_is_refused, s), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(s->err[i], want[i].err,
			     "uid %d, %s: errno %d (%s), expected %d (%s)",
			     USER, want[i].what, s->err[i],
			     strerror(s->err[i]), want[i].err,
			     strerror(want[i].err));
	/* and nothing happened in BACKING */
	cr_assert_neq(access(mdfs_bpath(fs, "rootdir/new"), F_OK), 0);
	cr_assert_neq(access(mdfs_bpath(fs, "rootdir/newdir"), F_OK), 0);
	cr_assert_eq(access(mdfs_bpath(fs, "rootdir/x"), F_OK), 0);
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "pub")).st_mode & 07777, 0644);
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "pub")).st_size, 1);
}

static int user_in_sticky_dir(void *arg)
{
	struct steps *s = arg;
	const struct mdfs_fs *fs = s->fs;
	int fd;

	STEP(s, 0, unlink(mdfs_mpath(fs, "tmp/rootfile")));
	STEP(s, 1, rename(mdfs_mpath(fs, "tmp/rootfile"),
			  mdfs_mpath(fs, "tmp/mine")));
	fd = open(mdfs_mpath(fs, "tmp/own"), O_CREAT | O_WRONLY, 0644);
	s->err[2] = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	STEP(s, 3, unlink(mdfs_mpath(fs, "tmp/own")));
	return 0;
}

MDFS_TEST(creds, sticky_dir_protects_others_files, "allow_other")
{
	struct steps *s = mdfs_shared(sizeof(*s));

	cr_assert_eq(mkdir(mdfs_bpath(fs, "tmp"), 0777), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "tmp"), 01777), 0);
	mdfs_write_file(mdfs_bpath(fs, "tmp/rootfile"), "r", 1);
	cr_assert_eq(chmod(mdfs_bpath(fs, "tmp/rootfile"), 0666), 0);
	s->fs = fs;
	cr_assert_eq(mdfs_run_as(USER, USER, user_in_sticky_dir, s), 0);
	cr_assert_eq(s->err[0], EPERM, "unlink of root's file in a sticky "
		     "dir: %s", strerror(s->err[0]));
	cr_assert_eq(s->err[1], EPERM, "rename of root's file in a sticky "
		     "dir: %s", strerror(s->err[1]));
	cr_assert_eq(s->err[2], 0, "create own file: %s", strerror(s->err[2]));
	cr_assert_eq(s->err[3], 0, "unlink own file: %s", strerror(s->err[3]));
	cr_assert_eq(access(mdfs_bpath(fs, "tmp/rootfile"), F_OK), 0);
}

/*
 * A write by an unprivileged user clears setuid (and setgid with group
 * exec) in the backing file, whatever the open mode (FUSE-NOTES: the
 * daemon must do it itself where the kernel asks it to).
 */
struct suid_case {
	const char *path;
	int flags;
};

static int user_writes(void *arg)
{
	const struct suid_case *c = arg;
	int fd = open(c->path, c->flags);

	if (fd < 0)
		return 1;
	if (!(c->flags & O_TRUNC) && write(fd, "w", 1) != 1)
		return 2;
	close(fd);
	return 0;
}

static void suid_cleared_by_user_writes(struct mdfs_fs *fs)
{
	static const struct {
		const char *what;
		int flags;
	} modes[] = {
		{ "O_WRONLY", O_WRONLY },
		{ "O_RDWR", O_RDWR },
		{ "O_APPEND", O_WRONLY | O_APPEND },
		{ "O_TRUNC", O_WRONLY | O_TRUNC },
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct suid_case c = {
			.path = mdfs_mpath(fs, "suid%zu", i),
			.flags = modes[i].flags,
		};
		const char *b = mdfs_bpath(fs, "suid%zu", i);
		mode_t mode;
		int r;

		mdfs_write_file(b, "data", 4);
		cr_assert_eq(chmod(b, 06777), 0);
		r = mdfs_run_as(USER, USER, user_writes, &c);
		cr_assert_eq(r, 0, "%s: uid %d could not write (step %d)",
			     modes[i].what, USER, r);
		mode = mdfs_lstat(b).st_mode & 07777;
		cr_assert_eq(mode, 0777,
			     "%s write by uid %d: backing mode %o, expected "
			     "setuid/setgid cleared (0777)", modes[i].what,
			     USER, mode);
	}
}

MDFS_TEST(creds, write_clears_setuid, "allow_other")
{
	suid_cleared_by_user_writes(fs);
}

MDFS_TEST(creds, write_clears_setuid_mediated, "allow_other,mediate=all")
{
	suid_cleared_by_user_writes(fs);
}

static int user_with_umask(void *arg)
{
	struct steps *s = arg;
	const struct mdfs_fs *fs = s->fs;
	int fd;

	umask(027);
	fd = open(mdfs_mpath(fs, "shared/f"), O_CREAT | O_WRONLY, 0666);
	s->err[0] = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	STEP(s, 1, mkdir(mdfs_mpath(fs, "shared/d"), 0777));
	STEP(s, 2, mkfifo(mdfs_mpath(fs, "shared/p"), 0666));
	return 0;
}

MDFS_TEST(creds, callers_umask_applies, "allow_other")
{
	static const struct {
		const char *name;
		mode_t mode;
	} want[] = {
		{ "shared/f", 0640 },
		{ "shared/d", 0750 },
		{ "shared/p", 0640 },
	};
	struct steps *s = mdfs_shared(sizeof(*s));
	size_t i;

	cr_assert_eq(mkdir(mdfs_bpath(fs, "shared"), 0777), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "shared"), 0777), 0);
	s->fs = fs;
	cr_assert_eq(mdfs_run_as(USER, USER, user_with_umask, s), 0);
	for (i = 0; i < 3; i++) {
		mode_t mode;

		cr_assert_eq(s->err[i], 0, "creating %s: %s", want[i].name,
			     strerror(s->err[i]));
		mode = mdfs_lstat(mdfs_bpath(fs, "%s", want[i].name)).st_mode &
		       07777;
		cr_assert_eq(mode, want[i].mode, "%s with umask 027: backing "
			     "mode %o, expected %o", want[i].name, mode,
			     want[i].mode);
	}
}

MDFS_TEST(creds, setgid_dir_passes_its_group, "allow_other")
{
	struct steps *s = mdfs_shared(sizeof(*s));
	struct stat f, d;

	cr_assert_eq(mkdir(mdfs_bpath(fs, "shared"), 0777), 0);
	cr_assert_eq(chown(mdfs_bpath(fs, "shared"), 0, 4242), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "shared"), 02777), 0);
	s->fs = fs;
	cr_assert_eq(mdfs_run_as(USER, USER, user_creates, s), 0);
	cr_assert_eq(s->err[0], 0, "create: %s", strerror(s->err[0]));
	cr_assert_eq(s->err[1], 0, "mkdir: %s", strerror(s->err[1]));
	f = mdfs_lstat(mdfs_bpath(fs, "shared/f"));
	cr_assert(f.st_uid == USER && f.st_gid == 4242,
		  "file in a setgid dir owned by %u:%u, expected %d:4242",
		  f.st_uid, f.st_gid, USER);
	d = mdfs_lstat(mdfs_bpath(fs, "shared/d"));
	cr_assert(d.st_gid == 4242 && (d.st_mode & S_ISGID),
		  "dir in a setgid dir: group %u, mode %o", d.st_gid,
		  d.st_mode & 07777);
}

static int user_sets_times(void *arg)
{
	struct steps *s = arg;
	const struct mdfs_fs *fs = s->fs;
	struct timespec ts[2] = { { .tv_sec = 1 }, { .tv_sec = 2 } };

	STEP(s, 0, utimensat(AT_FDCWD, mdfs_mpath(fs, "rw"), NULL, 0));
	STEP(s, 1, utimensat(AT_FDCWD, mdfs_mpath(fs, "rw"), ts, 0));
	STEP(s, 2, utimensat(AT_FDCWD, mdfs_mpath(fs, "ro"), NULL, 0));
	STEP(s, 3, truncate(mdfs_mpath(fs, "rw"), 1));
	return 0;
}

/* times: "now" needs write permission, explicit times ownership */
MDFS_TEST(creds, times_and_truncate_by_non_owner, "allow_other")
{
	struct steps *s = mdfs_shared(sizeof(*s));

	mdfs_write_file(mdfs_bpath(fs, "rw"), "rw", 2);
	cr_assert_eq(chmod(mdfs_bpath(fs, "rw"), 0666), 0);
	mdfs_write_file(mdfs_bpath(fs, "ro"), "ro", 2);
	s->fs = fs;
	cr_assert_eq(mdfs_run_as(USER, USER, user_sets_times, s), 0);
	cr_assert_eq(s->err[0], 0, "UTIME_NOW on a 0666 file: %s",
		     strerror(s->err[0]));
	cr_assert_eq(s->err[1], EPERM, "explicit times on another's file: "
		     "%s", strerror(s->err[1]));
	cr_assert_eq(s->err[2], EACCES, "UTIME_NOW on a 0644 file: %s",
		     strerror(s->err[2]));
	cr_assert_eq(s->err[3], 0, "truncate of a 0666 file: %s",
		     strerror(s->err[3]));
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "rw")).st_size, 1);
	cr_assert_neq(mdfs_lstat(mdfs_bpath(fs, "rw")).st_mtim.tv_sec, 2);
}
