// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bad input at the system-call level (SPEC 2-4): random ioctls in and
 * around the 'M' space with random bytes, random and hostile xattr names
 * and sizes, long names, "..", symlink loops and tricks, thrown at a real
 * mount from a fixed seed. The daemon must answer every call with an
 * error or a success, keep serving, stay inside BACKING, and keep its
 * lease counters consistent. MDFS_FUZZ_SEED / MDFS_FUZZ_OPS change the run.
 * The calls are made by a child chroot()ed into the mount (issue 11): the
 * links the loop makes point out of the mount, and the caller's own kernel
 * follows them; jailed, it stays beneath the mount and still probes the
 * daemon with them.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* the kinds of call one_op() makes, a bit each */
enum {
	K_IOCTL = 1 << 0,
	K_GETXATTR = 1 << 1,
	K_SETXATTR = 1 << 2,
	K_LISTXATTR = 1 << 3,
	K_OPEN = 1 << 4,	/* open (O_CREAT, O_TRUNC) and pwrite */
	K_STAT = 1 << 5,
	K_RENAME = 1 << 6,
	K_MKDIR = 1 << 7,	/* mkdir or unlink/rmdir */
	K_SYMLINK = 1 << 8,
	K_ALL = (1 << 9) - 1,
};

/*
 * One run of the loop, shared with the jailed child that makes the calls
 * (mdfs_fork_jailed: its "/" is the mount, so no symlink or ".." it meets
 * takes it out; issue 11). In: the run; out: how it ended.
 */
struct fuzz {
	uint64_t rng;
	int ops;
	unsigned int kinds;
	const char *const *names;	/* the tricks random_rel() picks */
	size_t nnames;
	char target[3][PATH_MAX];	/* what new symlinks point at */
	/* out */
	int failed_op;			/* -1: none */
	char why[256];
};

static uint32_t rnd(struct fuzz *fz)
{
	fz->rng ^= fz->rng >> 12;
	fz->rng ^= fz->rng << 25;
	fz->rng ^= fz->rng >> 27;
	return (uint32_t)((fz->rng * 2685821657736338717ULL) >> 32);
}

static void random_bytes(struct fuzz *fz, void *p, size_t n)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)rnd(fz);
}

/* Names of the general loop: ordinary, dotted, through symlinks; "abs"
 * and "up" are links out of the mount (an absolute target, "..") */
static const char *const tricks[] = {
	"f", "d", "l", "loop1", ".", "d/..", "d/./../f", "l/../f", "l/f",
	"nosuch/x", "f/x", "d//f", "abs", "d/.", "abs/x", "up/x", "up",
};

/*
 * A name relative to the mount root: a trick, a long name, or "d/N". The
 * caller's kernel resolves every symlink and ".." on the way: only the
 * jail keeps that beneath the mount.
 */
static const char *random_rel(struct fuzz *fz, char *buf, size_t len)
{
	uint32_t k = rnd(fz) % 8;

	if (k < 5) {
		snprintf(buf, len, "%s", fz->names[rnd(fz) % fz->nnames]);
	} else if (k < 7) {
		size_t n = 1 + rnd(fz) % (NAME_MAX + 8);

		memset(buf, 'n', n < len - 1 ? n : len - 1);
		buf[n < len - 1 ? n : len - 1] = '\0';
	} else {
		snprintf(buf, len, "d/%u", rnd(fz) % 4);
	}
	return buf;
}

static void random_xattr_name(struct fuzz *fz, char *buf, size_t len)
{
	static const char *const names[] = {
		"user.mapdirect.state", "user.mapdirect.leases",
		"user.mapdirect.eligible", "user.mapdirect.dax",
		"user.mapdirect.stats", "user.mapdirect.config",
		"user.mapdirect.device", "user.mapdirect.", "user.mapdirect",
		"user.mapdirect.nope", "user.x", "trusted.t", "security.s",
		"system.posix_acl_access", "bogus", "", "user.",
	};
	uint32_t k = rnd(fz) % 4;

	if (k < 3) {
		snprintf(buf, len, "%s", names[rnd(fz) % (sizeof(names) /
							sizeof(names[0]))]);
	} else {
		size_t n = 5 + rnd(fz) % 300;

		memcpy(buf, "user.", 5);
		memset(buf + 5, 'x', (n < len - 1 ? n : len - 1) - 5);
		buf[n < len - 1 ? n : len - 1] = '\0';
	}
}

/* One call of a kind in fz->kinds; paths are relative to the jail's "/" */
static void one_op(struct fuzz *fz, int dfd)
{
	char rel[NAME_MAX + 64], rel2[NAME_MAX + 64], xname[512];
	static unsigned char buf[4096];
	struct stat st;
	unsigned int kind;
	int fd;

	do
		kind = 1U << (rnd(fz) % 9);
	while (!(fz->kinds & kind));
	switch (kind) {
	case K_IOCTL: {
		/* an ioctl near ours: random nr, size, direction, bytes */
		unsigned int dir = rnd(fz) % 4, nr = rnd(fz) % 8;
		unsigned int size = rnd(fz) % 2 ? 56 : rnd(fz) % 200;
		unsigned long cmd = _IOC(dir, 'M', nr, size);

		fd = openat(dfd, "f", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		random_bytes(fz, buf, sizeof(buf));
		if (rnd(fz) % 2)	/* now and then a well-sized lease struct */
			((struct mapdirect_lease *)buf)->size = 56;
		ioctl(fd, cmd, buf);
		close(fd);
		break;
	}
	case K_GETXATTR:
		random_xattr_name(fz, xname, sizeof(xname));
		getxattr(random_rel(fz, rel, sizeof(rel)), xname, buf,
			 rnd(fz) % 2 ? 0 : rnd(fz) % sizeof(buf));
		break;
	case K_SETXATTR:
		random_xattr_name(fz, xname, sizeof(xname));
		random_bytes(fz, buf, 64);
		setxattr(random_rel(fz, rel, sizeof(rel)), xname, buf,
			 rnd(fz) % 64, rnd(fz) % 4);
		break;
	case K_LISTXATTR:
		listxattr(random_rel(fz, rel, sizeof(rel)), (char *)buf,
			  rnd(fz) % 2 ? 0 : rnd(fz) % 128);
		break;
	case K_OPEN:
		fd = openat(dfd, random_rel(fz, rel, sizeof(rel)),
			    (int)(rnd(fz) % 2 ? O_RDONLY : O_RDWR | O_CREAT) |
				    O_CLOEXEC | (rnd(fz) % 4 ? 0 : O_TRUNC),
			    0644);
		if (fd >= 0) {
			random_bytes(fz, buf, 512);
			if (pwrite(fd, buf, 1 + rnd(fz) % 512,
				   (off_t)(rnd(fz) % 65536)) < 0)
				(void)errno;
			close(fd);
		}
		break;
	case K_STAT:
		fstatat(dfd, random_rel(fz, rel, sizeof(rel)), &st,
			rnd(fz) % 2 ? AT_SYMLINK_NOFOLLOW : 0);
		break;
	case K_RENAME:
		renameat(dfd, random_rel(fz, rel, sizeof(rel)), dfd,
			 random_rel(fz, rel2, sizeof(rel2)));
		break;
	case K_MKDIR:
		if (rnd(fz) % 2)
			mkdirat(dfd, random_rel(fz, rel, sizeof(rel)), 0755);
		else
			unlinkat(dfd, random_rel(fz, rel, sizeof(rel)),
				 rnd(fz) % 2 ? AT_REMOVEDIR : 0);
		break;
	default:
		symlinkat(fz->target[rnd(fz) % 3], dfd,
			  random_rel(fz, rel, sizeof(rel)));
		break;
	}
}

/* The loop, in the jailed child, whose cwd is the mount's root (and
 * its "/"): 0, or 1 with fz->why */
static int fuzz_loop(void *arg)
{
	struct fuzz *fz = arg;
	struct stat st;
	int dfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	fz->failed_op = -1;
	if (dfd < 0) {
		snprintf(fz->why, sizeof(fz->why), "open / in the jail: %s",
			 strerror(errno));
		return 1;
	}
	for (int i = 0; i < fz->ops; i++) {
		one_op(fz, dfd);
		if (i % 250 == 0 && stat(".", &st)) {
			fz->failed_op = i;
			snprintf(fz->why, sizeof(fz->why), "the mount stopped "
				 "answering: %s", strerror(errno));
			return 1;
		}
	}
	close(dfd);
	return 0;
}

/* Run @fz in a child jailed in the mount, asserting it ran through. */
static void fuzz_run_jailed(struct mdfs_fs *fs, struct fuzz *fz)
{
	unsigned long long seed = fz->rng;
	int st;

	fz->why[0] = '\0';
	fz->failed_op = -1;
	st = mdfs_wait_child_ms(mdfs_fork_jailed(fs, -1, -1, fuzz_loop, fz),
				(int)(MDFS_TEST_TIMEOUT * 1000) - 5000);
	cr_assert(st != MDFS_CHILD_SETUP_FAILED, "could not jail the child "
		  "in %s", fs->mnt);
	cr_assert_eq(st, 0, "seed %#llx, op %d: %s", seed, fz->failed_op,
		     st == -1 ? "the loop died or hung" : fz->why);
}

static unsigned long long stat_of(const char *stats, const char *key)
{
	const char *p = strstr(stats, key);

	cr_assert_not_null(p, "no %s in the stats:\n%s", key, stats);
	return strtoull(p + strlen(key), NULL, 10);
}

/* The links out of the mount that the loops start with, and the targets
 * of the links they make: outside the mount, inside the temp dir. */
static void links_out(struct mdfs_fs *fs, struct fuzz *fz, const char *abs)
{
	cr_assert_eq(symlink(abs, mdfs_bpath(fs, "abs")), 0);
	cr_assert_eq(symlink("..", mdfs_bpath(fs, "up")), 0);
	snprintf(fz->target[0], sizeof(fz->target[0]), "%s", abs);
	snprintf(fz->target[1], sizeof(fz->target[1]), "..");
	snprintf(fz->target[2], sizeof(fz->target[2]), "../%s",
		 strrchr(abs, '/') + 1);
}

MDFS_TEST(fuzz_mount, hostile_calls_keep_the_daemon_serving,
	  "lease_break_time=0.05")
{
	const char *seed = getenv("MDFS_FUZZ_SEED");
	const char *ops = getenv("MDFS_FUZZ_OPS");
	struct fuzz *fz = mdfs_shared(sizeof(*fz));
	char stats[4096], sentinel[PATH_MAX];
	unsigned char data[8192];
	ssize_t len;

	fz->rng = seed ? strtoull(seed, NULL, 0) : 0x6d6170646972ULL;
	fz->ops = ops ? atoi(ops) : 3000;
	fz->kinds = K_ALL;
	fz->names = tricks;
	fz->nnames = sizeof(tricks) / sizeof(tricks[0]);
	memset(data, 'f', sizeof(data));
	mdfs_write_file(mdfs_bpath(fs, "f"), data, sizeof(data));
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	cr_assert_eq(symlink("loop2", mdfs_bpath(fs, "loop1")), 0);
	cr_assert_eq(symlink("loop1", mdfs_bpath(fs, "loop2")), 0);
	cr_assert_eq(symlink("d", mdfs_bpath(fs, "l")), 0);
	/* next to BACKING, never to be touched through the mount */
	snprintf(sentinel, sizeof(sentinel), "%s", mdfs_tpath(fs, "x"));
	mdfs_write_file(sentinel, "outside", 7);
	links_out(fs, fz, sentinel);

	fuzz_run_jailed(fs, fz);
	/* still serving: a write and a read through the mount */
	mdfs_write_file(mdfs_mpath(fs, "after"), data, sizeof(data));
	mdfs_assert_same_file(mdfs_mpath(fs, "after"), mdfs_bpath(fs, "after"));
	/* nothing escaped BACKING */
	{
		size_t got;
		char *back = mdfs_read_file(sentinel, &got);

		cr_assert(got == 7 && !memcmp(back, "outside", 7),
			  "the file next to BACKING changed");
		free(back);
	}
	/* the counters add up: nothing lost, nothing counted twice */
	len = getxattr(fs->mnt, "user.mapdirect.stats", stats, sizeof(stats) - 1);
	cr_assert_gt(len, 0);
	stats[len] = '\0';
	cr_assert_eq(stat_of(stats, "leases_granted="),
		     stat_of(stats, "leases_active=") +
			     stat_of(stats, "leases_unleased=") +
			     stat_of(stats, "leases_released=") +
			     stat_of(stats, "leases_exited=") +
			     stat_of(stats, "leases_revoked="), "%s", stats);
	cr_assert_eq(stat_of(stats, "parked_total="),
		     stat_of(stats, "parked_now=") +
			     stat_of(stats, "parked_run=") +
			     stat_of(stats, "parked_interrupted="), "%s", stats);
	cr_assert_eq(stat_of(stats, "breaks_started="),
		     stat_of(stats, "breaks_resolved=") +
			     stat_of(stats, "breaks_active="), "%s", stats);
	cr_assert_eq(stat_of(stats, "parked_now="), 0, "%s", stats);
}

/*
 * Issue 11: the loop once truncated the machine's /etc/passwd and made
 * files in "/" through links it had made in the mount. The open/write
 * path of the loop, over links to a canary outside the mount (an absolute
 * target, "..", "../canary"), for several seeds: the canary is untouched.
 * Only names without ".." of their own, so that even a loop that ran
 * unjailed could climb no higher than the temp dir.
 */
MDFS_TEST(fuzz_mount, links_out_of_the_mount_leave_the_canary_alone, NULL)
{
	static const char *const names[] = {
		"abs", "up/canary", "up", "d", "f", "d/0", "d/canary",
	};
	struct fuzz *fz = mdfs_shared(sizeof(*fz));
	char canary[PATH_MAX];

	mdfs_pathf(canary, "%s/canary", fs->tmp);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	links_out(fs, fz, canary);
	for (uint64_t seed = 1; seed <= 4; seed++) {
		fz->rng = seed;
		fz->ops = 1500;
		fz->kinds = K_OPEN | K_SYMLINK | K_MKDIR;
		fz->names = names;
		fz->nnames = sizeof(names) / sizeof(names[0]);
		fuzz_run_jailed(fs, fz);
		mdfs_assert_world_intact(fs);
	}
	/* the links were followed, beneath the mount: "up/canary" is the
	 * mount root's own canary, made by the loop */
	cr_assert_eq(access(mdfs_bpath(fs, "canary"), F_OK), 0,
		     "the loop never wrote through \"up\"");
}
