// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bad input at the system-call level (SPEC 2-4): random ioctls in and
 * around the 'M' space with random bytes, random and hostile xattr names
 * and sizes, long names, "..", symlink loops and tricks, thrown at a real
 * mount from a fixed seed. The daemon must answer every call with an
 * error or a success, keep serving, stay inside BACKING, and keep its
 * lease counters consistent. MDFS_FUZZ_SEED / MDFS_FUZZ_OPS change the run.
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

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ULL) >> 32);
}

static void random_bytes(void *p, size_t n)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)rnd();
}

/*
 * A name: ordinary, long, dotted, through symlinks. Nothing climbs above
 * the mount root: the caller's kernel resolves "..", it would just leave
 * the mount as in any filesystem, which is not what is tested here.
 */
static const char *random_rel(char *buf, size_t len)
{
	static const char *const tricks[] = {
		"f", "d", "l", "loop1", ".", "d/..", "d/./../f", "l/../f",
		"l/f", "nosuch/x", "f/x", "d//f", "abs", "d/.",
	};
	uint32_t k = rnd() % 8;

	if (k < 5) {
		snprintf(buf, len, "%s", tricks[rnd() % (sizeof(tricks) /
						       sizeof(tricks[0]))]);
	} else if (k < 7) {
		size_t n = 1 + rnd() % (NAME_MAX + 8);

		memset(buf, 'n', n < len - 1 ? n : len - 1);
		buf[n < len - 1 ? n : len - 1] = '\0';
	} else {
		snprintf(buf, len, "d/%u", rnd() % 4);
	}
	return buf;
}

static void random_xattr_name(char *buf, size_t len)
{
	static const char *const names[] = {
		"user.mapdirect.state", "user.mapdirect.leases",
		"user.mapdirect.eligible", "user.mapdirect.dax",
		"user.mapdirect.stats", "user.mapdirect.config",
		"user.mapdirect.device", "user.mapdirect.", "user.mapdirect",
		"user.mapdirect.nope", "user.x", "trusted.t", "security.s",
		"system.posix_acl_access", "bogus", "", "user.",
	};
	uint32_t k = rnd() % 4;

	if (k < 3) {
		snprintf(buf, len, "%s", names[rnd() % (sizeof(names) /
						      sizeof(names[0]))]);
	} else {
		size_t n = 5 + rnd() % 300;

		memcpy(buf, "user.", 5);
		memset(buf + 5, 'x', (n < len - 1 ? n : len - 1) - 5);
		buf[n < len - 1 ? n : len - 1] = '\0';
	}
}

static void one_op(struct mdfs_fs *fs, int dfd)
{
	char rel[NAME_MAX + 64], rel2[NAME_MAX + 64], xname[512];
	static unsigned char buf[4096];
	struct stat st;
	int fd;

	switch (rnd() % 9) {
	case 0: {
		/* an ioctl near ours: random nr, size, direction, bytes */
		unsigned int dir = rnd() % 4, nr = rnd() % 8;
		unsigned int size = rnd() % 2 ? 56 : rnd() % 200;
		unsigned long cmd = _IOC(dir, 'M', nr, size);

		fd = openat(dfd, "f", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		random_bytes(buf, sizeof(buf));
		if (rnd() % 2)	/* now and then a well-sized lease struct */
			((struct mapdirect_lease *)buf)->size = 56;
		ioctl(fd, cmd, buf);
		close(fd);
		break;
	}
	case 1:
		random_xattr_name(xname, sizeof(xname));
		getxattr(mdfs_mpath(fs, "%s", random_rel(rel, sizeof(rel))),
			 xname, buf, rnd() % 2 ? 0 : rnd() % sizeof(buf));
		break;
	case 2:
		random_xattr_name(xname, sizeof(xname));
		random_bytes(buf, 64);
		setxattr(mdfs_mpath(fs, "%s", random_rel(rel, sizeof(rel))),
			 xname, buf, rnd() % 64, rnd() % 4);
		break;
	case 3:
		listxattr(mdfs_mpath(fs, "%s", random_rel(rel, sizeof(rel))),
			  (char *)buf, rnd() % 2 ? 0 : rnd() % 128);
		break;
	case 4:
		fd = openat(dfd, random_rel(rel, sizeof(rel)),
			    (int)(rnd() % 2 ? O_RDONLY : O_RDWR | O_CREAT) |
				    O_CLOEXEC | (rnd() % 4 ? 0 : O_TRUNC),
			    0644);
		if (fd >= 0) {
			random_bytes(buf, 512);
			if (pwrite(fd, buf, 1 + rnd() % 512,
				   (off_t)(rnd() % 65536)) < 0)
				(void)errno;
			close(fd);
		}
		break;
	case 5:
		fstatat(dfd, random_rel(rel, sizeof(rel)), &st,
			rnd() % 2 ? AT_SYMLINK_NOFOLLOW : 0);
		break;
	case 6:
		renameat(dfd, random_rel(rel, sizeof(rel)), dfd,
			 random_rel(rel2, sizeof(rel2)));
		break;
	case 7:
		if (rnd() % 2)
			mkdirat(dfd, random_rel(rel, sizeof(rel)), 0755);
		else
			unlinkat(dfd, random_rel(rel, sizeof(rel)),
				 rnd() % 2 ? AT_REMOVEDIR : 0);
		break;
	default:
		symlinkat(rnd() % 2 ? "/etc/passwd" : "../../..", dfd,
			  random_rel(rel, sizeof(rel)));
		break;
	}
}

static unsigned long long stat_of(const char *stats, const char *key)
{
	const char *p = strstr(stats, key);

	cr_assert_not_null(p, "no %s in the stats:\n%s", key, stats);
	return strtoull(p + strlen(key), NULL, 10);
}

MDFS_TEST(fuzz_mount, hostile_calls_keep_the_daemon_serving,
	  "lease_break_time=0.05")
{
	const char *seed = getenv("MDFS_FUZZ_SEED");
	const char *ops = getenv("MDFS_FUZZ_OPS");
	int n = ops ? atoi(ops) : 3000;
	char stats[4096], sentinel[PATH_MAX];
	unsigned char data[8192];
	struct stat st;
	ssize_t len;
	int dfd;

	rng = seed ? strtoull(seed, NULL, 0) : 0x6d6170646972ULL;
	memset(data, 'f', sizeof(data));
	mdfs_write_file(mdfs_bpath(fs, "f"), data, sizeof(data));
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	cr_assert_eq(symlink("loop2", mdfs_bpath(fs, "loop1")), 0);
	cr_assert_eq(symlink("loop1", mdfs_bpath(fs, "loop2")), 0);
	cr_assert_eq(symlink("d", mdfs_bpath(fs, "l")), 0);
	/* next to BACKING, never to be touched through the mount */
	snprintf(sentinel, sizeof(sentinel), "%s", mdfs_tpath(fs, "x"));
	mdfs_write_file(sentinel, "outside", 7);
	dfd = open(fs->mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dfd, 0);

	for (int i = 0; i < n; i++) {
		one_op(fs, dfd);
		if (i % 250 == 0)
			cr_assert_eq(stat(fs->mnt, &st), 0,
				     "op %d (seed %#llx): the mount stopped "
				     "answering: %s", i,
				     (unsigned long long)rng, strerror(errno));
	}
	close(dfd);
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
