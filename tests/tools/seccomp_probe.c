// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * LD_PRELOAD into the daemon under test (tests/integration/test_privs.c):
 * when $MDFS_SECCOMP_PROBE names a file, every fstatvfs() (the daemon's
 * statfs handler) first makes a system call that is not on the daemon's
 * seccomp allow-list, getpgid(2), and writes "NR ERRNO" of it to that file
 * (ERRNO 0: it went through). A harmless call: it only reads.
 */
/* both names, not one redirected to the other */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int fstatvfs(int fd, struct statvfs *buf);
int fstatvfs64(int fd, struct statvfs64 *buf);

static void probe(void)
{
	const char *out = getenv("MDFS_SECCOMP_PROBE");
	long r;
	int e, fd;

	if (!out)
		return;
	r = syscall(SYS_getpgid, 0);
	e = r < 0 ? errno : 0;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	dprintf(fd, "%d %d\n", (int)SYS_getpgid, e);
	close(fd);
}

int fstatvfs(int fd, struct statvfs *buf)
{
	int (*real)(int, struct statvfs *) =
		(int (*)(int, struct statvfs *))dlsym(RTLD_NEXT, "fstatvfs");

	probe();
	return real(fd, buf);
}

int fstatvfs64(int fd, struct statvfs64 *buf)
{
	int (*real)(int, struct statvfs64 *) =
		(int (*)(int, struct statvfs64 *))dlsym(RTLD_NEXT,
							 "fstatvfs64");

	probe();
	return real(fd, buf);
}
