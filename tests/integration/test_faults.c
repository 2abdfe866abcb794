// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Faults (SPEC 3, 4): the daemon killed in the middle of writes and of a
 * break loses no acknowledged byte, the mount point is recoverable and a
 * new mount over the same backing works; a full or read-only backing gives
 * its own errors through the mount and leaves lease state intact.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BLK 4096

/* Block @i of the write log: its number, repeated. */
static void fill_block(unsigned char *b, uint32_t i)
{
	for (size_t k = 0; k < BLK; k += sizeof(i))
		memcpy(b + k, &i, sizeof(i));
}

/*
 * Child: write blocks 0, 1, 2... through the mount and report each one
 * acknowledged (write returned BLK) on @ackfd, until a write fails.
 */
static void writer(const char *path, int ackfd)
{
	unsigned char b[BLK];
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		_exit(1);
	/* bounded: without the daemon, passthrough writes still succeed */
	for (uint32_t i = 0; i < 2000; i++) {
		fill_block(b, i);
		if (pwrite(fd, b, BLK, (off_t)i * BLK) != BLK)
			_exit(0);
		if (write(ackfd, &i, sizeof(i)) != sizeof(i))
			_exit(2);
	}
	_exit(0);
}

/* Read acknowledgements until @want or EOF; @return the highest + 1. */
static uint32_t read_acks(int fd, uint32_t want)
{
	uint32_t i, n = 0;

	while (n < want && read(fd, &i, sizeof(i)) == sizeof(i))
		n = i + 1;
	return n;
}

static void assert_blocks_in_backing(struct mdfs_fs *fs, uint32_t acked)
{
	unsigned char want[BLK], got[BLK];
	int fd = open(mdfs_bpath(fs, "log"), O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "backing log: %s", strerror(errno));
	for (uint32_t i = 0; i < acked; i++) {
		fill_block(want, i);
		cr_assert_eq(pread(fd, got, BLK, (off_t)i * BLK), BLK,
			     "acknowledged block %u missing from BACKING", i);
		cr_assert_eq(memcmp(want, got, BLK), 0,
			     "acknowledged block %u differs in BACKING", i);
	}
	close(fd);
}

/* After the daemon died: detach the dead mount, mount again, read back. */
static void remount_works(struct mdfs_fs *fs, const char *opts)
{
	struct stat st;

	/* the dead mount answers ENOTCONN until it is detached */
	cr_assert_eq(umount2(fs->mnt, MNT_DETACH), 0, "lazy unmount: %s",
		     strerror(errno));
	mdfs_start(fs, NULL, opts);
	cr_assert_eq(stat(mdfs_mpath(fs, "log"), &st), 0, "%s", strerror(errno));
	mdfs_assert_same_file(mdfs_mpath(fs, "log"), mdfs_bpath(fs, "log"));
}

static void killed_mid_writes(struct mdfs_fs *fs, const char *opts)
{
	char path[PATH_MAX];
	uint32_t acked;
	int ack[2], st;
	pid_t pid;

	mdfs_start(fs, NULL, opts);
	cr_assert_eq(pipe2(ack, O_CLOEXEC), 0);
	snprintf(path, sizeof(path), "%s", mdfs_mpath(fs, "log"));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ack[0]);
		writer(path, ack[1]);
	}
	close(ack[1]);
	acked = read_acks(ack[0], 300);
	cr_assert_geq(acked, 300, "the writer stopped early (%u)", acked);
	st = mdfs_stop(fs, SIGKILL);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* every block the writer heard back about, up to its last one */
	acked = read_acks(ack[0], UINT32_MAX);
	close(ack[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	assert_blocks_in_backing(fs, acked);
	remount_works(fs, opts);
}

/* SPEC 3: mediated writes are the daemon's pwrite before its reply */
MDFS_TEST_NOMOUNT(faults, daemon_killed_mid_mediated_writes)
{
	killed_mid_writes(fs, "mediate=all");
}

/* under mediate=leased no-lease writes bypass the daemon altogether */
MDFS_TEST_NOMOUNT(faults, daemon_killed_mid_unmediated_writes)
{
	killed_mid_writes(fs, "mediate=leased");
}

static bool readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/*
 * SPEC 4.3: the daemon dies while a breaker is parked: the breaker gets an
 * error, not a success, and its bytes are not in BACKING; the holder's
 * mapping, which is the backing file's, still works; a new mount starts
 * with no lease and grants one.
 */
MDFS_TEST_NOMOUNT(faults, daemon_killed_mid_break)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_lease_info info = { .size = sizeof(info) };
	int hold[2], go[2], res[2], hfd, fd, st, err;
	unsigned char data[2 * BLK];
	char *map, path[PATH_MAX];
	pid_t holder, breaker;

	memset(data, 'a', sizeof(data));
	mdfs_write_file(mdfs_bpath(fs, "f"), data, sizeof(data));
	mdfs_start(fs, NULL, "lease_break_time=30");
	/* children only make system calls: fork of a threaded process */
	snprintf(path, sizeof(path), "%s", mdfs_mpath(fs, "f"));
	/* one pipe a direction: holder -> test, test -> holder */
	cr_assert_eq(pipe2(hold, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(res, O_CLOEXEC), 0);

	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		hfd = open(path, O_RDWR | O_CLOEXEC);
		if (hfd < 0 || ioctl(hfd, MAPDIRECT_IOC_LEASE, &l))
			_exit(1);
		map = mmap(NULL, sizeof(data), PROT_READ, MAP_SHARED, hfd, 0);
		if (map == MAP_FAILED || write(hold[1], "L", 1) != 1)
			_exit(2);
		/* wait for the test, then prove the mapping still reads */
		if (read(go[0], &st, 1) != 1)
			_exit(3);
		_exit(map[0] == 'a' && map[BLK] == 'a' ? 0 : 4);
	}
	cr_assert(readable_within(hold[0], MDFS_WAIT_MS), "holder got no lease");
	cr_assert_eq(read(hold[0], &st, 1), 1);

	breaker = fork();
	cr_assert_geq(breaker, 0);
	if (breaker == 0) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		err = fd < 0 ? errno :
		      pwrite(fd, "BBBB", 4, BLK) == 4 ? 0 : errno;
		_exit(write(res[1], &err, sizeof(err)) == sizeof(err) ? 0 : 1);
	}
	/* parked: no answer while the holder holds */
	cr_assert_not(readable_within(res[0], 200), "the breaker did not wait");
	st = mdfs_stop(fs, SIGKILL);
	cr_assert(WIFSIGNALED(st));
	cr_assert(readable_within(res[0], MDFS_WAIT_MS),
		  "the breaker is still blocked after the daemon died");
	cr_assert_eq(read(res[0], &err, sizeof(err)), sizeof(err));
	cr_assert_neq(err, 0, "the parked write succeeded without a daemon");
	cr_assert_eq(mdfs_wait_child(breaker), 0);

	/* not acknowledged, not written */
	{
		char b[4];
		int bfd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);

		cr_assert_eq(pread(bfd, b, 4, BLK), 4);
		cr_assert_eq(memcmp(b, "aaaa", 4), 0, "unacknowledged bytes "
			     "reached BACKING");
		close(bfd);
	}
	cr_assert_eq(write(go[1], "x", 1), 1);
	cr_assert_eq(mdfs_wait_child(holder), 0,
		     "the holder's mapping did not survive the daemon");

	cr_assert_eq(umount2(fs->mnt, MNT_DETACH), 0);
	mdfs_start(fs, NULL, "lease_break_time=30");
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ioctl(fd, MAPDIRECT_IOC_GETLEASE, &info), 0);
	cr_assert_eq(info.state, MAPDIRECT_STATE_NONE);
	l = (struct mapdirect_lease){ .size = sizeof(l) };
	cr_assert_eq(ioctl(fd, MAPDIRECT_IOC_LEASE, &l), 0, "%s",
		     strerror(errno));
	close(fd);
}

static char *xattr(struct mdfs_fs *fs, const char *name, const char *file)
{
	static char buf[4096];
	ssize_t n = getxattr(file ? mdfs_mpath(fs, "%s", file) : fs->mnt,
			     name, buf, sizeof(buf) - 1);

	cr_assert_geq(n, 0, "%s: %s", name, strerror(errno));
	buf[n] = '\0';
	return buf;
}

/*
 * A full backing (a 1 MiB tmpfs): ENOSPC comes through, the lease on
 * another file is untouched, its counters add up, and nothing is parked.
 */
static void enospc(struct mdfs_fs *fs, const char *opts)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_unlease u = { .size = sizeof(u) };
	static unsigned char big[64 * 1024];
	unsigned char data[BLK];
	int hfd, fd, i, werr = 0;
	char o[128];

	cr_assert_eq(mount("tmpfs", fs->backing, "tmpfs", 0, "size=1m"), 0,
		     "%s", strerror(errno));
	memset(data, 'h', sizeof(data));
	mdfs_write_file(mdfs_bpath(fs, "held"), data, sizeof(data));
	snprintf(o, sizeof(o), "lease_break_time=30,%s", opts);
	mdfs_start(fs, NULL, o);
	hfd = open(mdfs_mpath(fs, "held"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(hfd, 0);
	cr_assert_eq(ioctl(hfd, MAPDIRECT_IOC_LEASE, &l), 0, "%s",
		     strerror(errno));

	fd = open(mdfs_mpath(fs, "big"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	for (i = 0; i < 64; i++) {
		if (write(fd, big, sizeof(big)) < 0) {
			werr = errno;
			break;
		}
	}
	cr_assert_eq(werr, ENOSPC, "write error %s, expected ENOSPC",
		     strerror(werr));
	close(fd);
	cr_assert_str_eq(xattr(fs, "user.mapdirect.state", "held"), "held\n");
	cr_assert(strstr(xattr(fs, "user.mapdirect.stats", NULL),
			 "leases_active=1\n"));
	cr_assert(strstr(xattr(fs, "user.mapdirect.stats", NULL),
			 "parked_now=0\n"));
	cr_assert_eq(ioctl(hfd, MAPDIRECT_IOC_UNLEASE, &u), 0);
	cr_assert(strstr(xattr(fs, "user.mapdirect.stats", NULL),
			 "leases_active=0\n"));
	close(hfd);
}

MDFS_TEST_NOMOUNT(faults, enospc_unmediated_leases_intact)
{
	enospc(fs, "mediate=leased");
}

MDFS_TEST_NOMOUNT(faults, enospc_mediated_leases_intact)
{
	enospc(fs, "mediate=all");
}

/* A read-only backing: EROFS comes through; reads and leases work. */
MDFS_TEST_NOMOUNT(faults, read_only_backing_gives_erofs)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	unsigned char data[BLK];
	int fd;

	memset(data, 'r', sizeof(data));
	mdfs_write_file(mdfs_bpath(fs, "f"), data, sizeof(data));
	cr_assert_eq(mount(fs->backing, fs->backing, NULL, MS_BIND, NULL), 0);
	cr_assert_eq(mount(NULL, fs->backing, NULL,
			   MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
	mdfs_start(fs, NULL, NULL);
	errno = 0;
	cr_assert_lt(open(mdfs_mpath(fs, "f"), O_WRONLY | O_CLOEXEC), 0);
	cr_assert_eq(errno, EROFS, "open for writing: %s", strerror(errno));
	errno = 0;
	cr_assert_lt(open(mdfs_mpath(fs, "new"), O_WRONLY | O_CREAT | O_CLOEXEC,
			  0644), 0);
	cr_assert_eq(errno, EROFS, "create: %s", strerror(errno));
	cr_assert_neq(mkdir(mdfs_mpath(fs, "d"), 0755), 0);
	cr_assert_eq(errno, EROFS);
	fd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ioctl(fd, MAPDIRECT_IOC_LEASE, &l), 0,
		     "a lease on a read-only file: %s", strerror(errno));
	cr_assert_str_eq(xattr(fs, "user.mapdirect.state", "f"), "held\n");
	close(fd);
	mdfs_assert_same_file(mdfs_mpath(fs, "f"), mdfs_bpath(fs, "f"));
}
