// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3: "open, fallocate, setattr, copy_file_range always go through the
 * daemon (the enforcement point); mmap passes straight through to the
 * backing file". Seen from the daemon's side: with -d libfuse logs every
 * request it receives ("opcode: NAME (n)") before it is answered, so once
 * a syscall returned, its request is in the log or never came.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Requests of opcode @op the daemon has received so far; "NAME*" counts
 * every opcode starting with NAME (COPY_FILE_RANGE and _64).
 */
static int requests(struct mdfs_fs *fs, const char *op)
{
	size_t oplen = strcspn(op, "*"), len;
	char pat[64], *log, *p;
	int n = 0;

	snprintf(pat, sizeof(pat), "opcode: %.*s%s", (int)oplen, op,
		 op[oplen] == '*' ? "" : " (");
	log = mdfs_read_file(fs->log, &len);
	for (p = log; (p = strstr(p, pat)); p += strlen(pat))
		n++;
	free(log);
	return n;
}

/* Assert that @call sends at least one @op request to the daemon */
#define assert_reaches_daemon(fs, op, call)				\
	do {								\
		int before_ = requests(fs, op);				\
		long r_ = (long)(call);					\
		cr_assert_geq(r_, 0, "%s: %s", #call, strerror(errno));	\
		cr_assert_gt(requests(fs, op), before_,			\
			     "%s sent no %s to the daemon", #call, op);	\
	} while (0)

MDFS_TEST_NOMOUNT(enforcement, breakers_reach_the_daemon)
{
	char buf[64 << 10];
	loff_t oi = 0, oo = 0;
	int fd = -1, out = -1;

	mdfs_fill(buf, sizeof(buf), 1);
	mdfs_write_file(mdfs_bpath(fs, "f"), buf, sizeof(buf));
	mdfs_start(fs, (const char *const[]){ "-d", NULL }, NULL);

	assert_reaches_daemon(fs, "OPEN",
			      fd = open(mdfs_mpath(fs, "f"), O_RDWR));
	assert_reaches_daemon(fs, "FALLOCATE",
			      fallocate(fd, 0, 0, sizeof(buf) * 2));
	assert_reaches_daemon(fs, "SETATTR", ftruncate(fd, sizeof(buf)));
	assert_reaches_daemon(fs, "SETATTR",
			      truncate(mdfs_mpath(fs, "f"), sizeof(buf) - 1));
	assert_reaches_daemon(fs, "CREATE",
			      out = open(mdfs_mpath(fs, "g"),
					 O_WRONLY | O_CREAT, 0644));
	assert_reaches_daemon(fs, "COPY_FILE_RANGE*",
			      copy_file_range(fd, &oi, out, &oo, 4096, 0));
	close(out);
	close(fd);
}

MDFS_TEST_NOMOUNT(enforcement, mmap_bypasses_the_daemon)
{
	char buf[256 << 10], *map;
	int fd, reads, writes;
	size_t i;
	volatile char sink = 0;

	mdfs_fill(buf, sizeof(buf), 2);
	mdfs_write_file(mdfs_bpath(fs, "f"), buf, sizeof(buf));
	mdfs_start(fs, (const char *const[]){ "-d", NULL }, NULL);
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open: %s", strerror(errno));
	map = mmap(NULL, sizeof(buf), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	cr_assert_neq(map, MAP_FAILED, "mmap: %s", strerror(errno));
	reads = requests(fs, "READ");
	writes = requests(fs, "WRITE");
	/* fault in every page, reading and storing */
	for (i = 0; i < sizeof(buf); i += 4096) {
		sink ^= map[i];
		map[i + 1] = 'm';
	}
	cr_assert_eq(msync(map, sizeof(buf), MS_SYNC), 0);
	cr_assert_eq(requests(fs, "READ"), reads,
		     "page faults of the mapping sent READs to the daemon");
	cr_assert_eq(requests(fs, "WRITE"), writes,
		     "stores through the mapping sent WRITEs to the daemon");
	cr_assert_eq(memcmp(map, buf, 1), 0);
	munmap(map, sizeof(buf));
	close(fd);
	(void)sink;
}
