// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 file locks: flock() and fcntl() POSIX locks on files in the
 * mount conflict between processes as on a local filesystem, and F_GETLK
 * names the holder's pid.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* What the child saw, in shared memory */
struct lock_probe {
	const char *path;
	int op;			/* flock operation, or fcntl lock type */
	off_t start, len;
	int ret, err;		/* of flock() / F_SETLK */
	struct flock getlk;	/* F_GETLK result */
	pid_t parent;
};

static int child_flock(void *arg)
{
	struct lock_probe *p = arg;
	int fd = open(p->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 1;
	errno = 0;
	p->ret = flock(fd, p->op);
	p->err = errno;
	close(fd);
	return 0;
}

static int child_posix(void *arg)
{
	struct lock_probe *p = arg;
	struct flock fl = {
		.l_type = (short)p->op,
		.l_whence = SEEK_SET,
		.l_start = p->start,
		.l_len = p->len,
	};
	int fd = open(p->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 1;
	p->parent = getppid();
	p->getlk = fl;
	if (fcntl(fd, F_GETLK, &p->getlk) < 0)
		return 2;
	errno = 0;
	p->ret = fcntl(fd, F_SETLK, &fl);
	p->err = errno;
	close(fd);
	return 0;
}

static void probe_flock(struct lock_probe *p, int op)
{
	p->op = op;
	p->ret = -2;
	cr_assert_eq(mdfs_run_child(child_flock, p), 0, "child failed");
}

MDFS_TEST(locks, flock_conflicts_across_processes, NULL)
{
	struct lock_probe *p = mdfs_shared(sizeof(*p));
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	p->path = mdfs_mpath(fs, "f");
	fd = open(p->path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);

	cr_assert_eq(flock(fd, LOCK_EX), 0, "flock: %s", strerror(errno));
	probe_flock(p, LOCK_EX | LOCK_NB);
	cr_assert(p->ret == -1 && p->err == EWOULDBLOCK,
		  "second LOCK_EX|LOCK_NB: %d (%s), expected EWOULDBLOCK",
		  p->ret, strerror(p->err));
	probe_flock(p, LOCK_SH | LOCK_NB);
	cr_assert(p->ret == -1 && p->err == EWOULDBLOCK,
		  "LOCK_SH|LOCK_NB under LOCK_EX: %d (%s)", p->ret,
		  strerror(p->err));

	/* shared locks share */
	cr_assert_eq(flock(fd, LOCK_SH), 0);
	probe_flock(p, LOCK_SH | LOCK_NB);
	cr_assert_eq(p->ret, 0, "LOCK_SH|LOCK_NB under LOCK_SH: %s",
		     strerror(p->err));
	probe_flock(p, LOCK_EX | LOCK_NB);
	cr_assert(p->ret == -1 && p->err == EWOULDBLOCK,
		  "LOCK_EX|LOCK_NB under LOCK_SH: %d (%s)", p->ret,
		  strerror(p->err));

	cr_assert_eq(flock(fd, LOCK_UN), 0);
	probe_flock(p, LOCK_EX | LOCK_NB);
	cr_assert_eq(p->ret, 0, "LOCK_EX|LOCK_NB after unlock: %s",
		     strerror(p->err));
	close(fd);
}

MDFS_TEST(locks, posix_lock_conflict_names_holder, NULL)
{
	struct lock_probe *p = mdfs_shared(sizeof(*p));
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 100,
	};
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	p->path = mdfs_mpath(fs, "f");
	fd = open(p->path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_SETLK, &fl), 0, "F_SETLK: %s",
		     strerror(errno));

	p->op = F_WRLCK;
	p->start = 50;
	p->len = 10;
	cr_assert_eq(mdfs_run_child(child_posix, p), 0, "child failed");
	cr_assert_eq(p->getlk.l_type, F_WRLCK,
		     "F_GETLK l_type %d, expected F_WRLCK (%d)",
		     p->getlk.l_type, F_WRLCK);
	cr_assert_eq(p->getlk.l_pid, getpid(),
		     "F_GETLK l_pid %d, the holder is %d", p->getlk.l_pid,
		     getpid());
	cr_assert(p->getlk.l_start == 0 && p->getlk.l_len == 100,
		  "F_GETLK range %lld+%lld, expected 0+100",
		  (long long)p->getlk.l_start, (long long)p->getlk.l_len);
	cr_assert(p->ret == -1 && (p->err == EAGAIN || p->err == EACCES),
		  "conflicting F_SETLK: %d (%s)", p->ret, strerror(p->err));

	/* outside the locked range there is no conflict */
	p->start = 100;
	p->len = 10;
	cr_assert_eq(mdfs_run_child(child_posix, p), 0, "child failed");
	cr_assert_eq(p->getlk.l_type, F_UNLCK);
	cr_assert_eq(p->ret, 0, "F_SETLK past the range: %s",
		     strerror(p->err));

	/* read locks share, a write lock conflicts with them */
	fl.l_type = F_RDLCK;
	cr_assert_eq(fcntl(fd, F_SETLK, &fl), 0);
	p->op = F_RDLCK;
	p->start = 0;
	cr_assert_eq(mdfs_run_child(child_posix, p), 0, "child failed");
	cr_assert_eq(p->ret, 0, "F_RDLCK under F_RDLCK: %s", strerror(p->err));
	p->op = F_WRLCK;
	cr_assert_eq(mdfs_run_child(child_posix, p), 0, "child failed");
	cr_assert(p->ret == -1 && (p->err == EAGAIN || p->err == EACCES),
		  "F_WRLCK under F_RDLCK: %d (%s)", p->ret, strerror(p->err));

	fl.l_type = F_UNLCK;
	cr_assert_eq(fcntl(fd, F_SETLK, &fl), 0);
	cr_assert_eq(mdfs_run_child(child_posix, p), 0, "child failed");
	cr_assert_eq(p->getlk.l_type, F_UNLCK, "lock still there after "
		     "F_UNLCK");
	cr_assert_eq(p->ret, 0, "F_SETLK after unlock: %s", strerror(p->err));
	close(fd);
}
