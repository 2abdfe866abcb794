// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The daemon's seccomp allow-list (sandbox=, README "Least privilege"), as
 * virtiofsd keeps its own in src/seccomp.rs. A call off the list traps:
 * the SIGSYS handler logs it and makes it fail with EPERM, so that a gap
 * shows as one line and an error, not as a dead mount.
 */
#include <errno.h>
#include <linux/fs.h>
#include <linux/fiemap.h>
#include <linux/fuse.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <ucontext.h>
#include <unistd.h>

#include "syscalls.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int sigsys_log_fd = -1;	/* datagram socket to /dev/log */

/*
 * The system calls of the daemon: glibc and pthreads, libfuse over both
 * transports (read/writev/splice on /dev/fuse; io_uring_setup/enter/
 * register, libnuma's mbind for the ring buffers), the filesystem
 * operations on backing files, the lease engine (epoll, timerfd, pidfd,
 * signals), /proc reads, syslog. Names the kernel or libseccomp does not
 * know on this architecture are skipped.
 */
static const char *const allowed[] = {
	/* I/O and descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "splice", "tee", "vmsplice",
	"pipe", "pipe2", "close", "close_range", "dup", "dup2", "dup3",
	"lseek", "_llseek", "fcntl", "fcntl64", "sendfile", "copy_file_range",
	"fsync", "fdatasync", "sync_file_range", "fallocate", "ftruncate",
	"truncate", "fadvise64", "readahead",
	/* files and directories (the *at family, and what glibc uses) */
	"open", "openat", "openat2", "creat", "stat", "fstat", "lstat",
	"newfstatat", "fstatat64", "statx", "statfs", "fstatfs", "access",
	"faccessat", "faccessat2", "getdents", "getdents64", "mkdir",
	"mkdirat", "mknod", "mknodat", "symlink", "symlinkat", "link",
	"linkat", "unlink", "unlinkat", "rmdir", "rename", "renameat",
	"renameat2", "readlink", "readlinkat", "chmod", "fchmod", "fchmodat",
	"fchmodat2", "chown", "fchown", "fchownat", "lchown", "utimensat",
	"futimesat", "utimes", "setxattr", "lsetxattr", "fsetxattr",
	"getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
	"flistxattr", "removexattr", "lremovexattr", "fremovexattr",
	"setxattrat", "getxattrat", "listxattrat", "removexattrat",
	"name_to_handle_at", "chdir", "fchdir", "getcwd", "umask",
	/* memory */
	"mmap", "mmap2", "munmap", "mprotect", "mremap", "madvise", "brk",
	"mbind", "get_mempolicy", "set_mempolicy", "membarrier", "mlock",
	"munlock",
	/* threads, time, scheduling */
	"futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq",
	"clone", "clone3", "exit", "exit_group", "set_tid_address",
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "getcpu",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time", "restart_syscall", "getrandom", "uname",
	"sysinfo", "getrlimit", "prlimit64", "getrusage",
	/* signals, processes (the lease engine: pidfds, break signals) */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait",
	"rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigpending",
	"sigaltstack", "kill", "tgkill", "tkill", "pidfd_open",
	"pidfd_send_signal", "wait4", "waitid", "getpid", "gettid", "getppid",
	/* event loops */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
	"pselect6", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"eventfd", "eventfd2", "signalfd", "signalfd4",
	/* fuse-over-io-uring */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* credentials per request (creds.c) */
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "setgroups", "setfsuid", "setfsgid", "capget", "capset",
	"prctl",
	/* syslog */
	"connect", "sendto", "sendmsg",	/* socket(AF_UNIX) below */
#if defined(__SANITIZE_ADDRESS__)
	/* ASan/LSan: the leak check stops the world with ptrace at exit */
	"ptrace", "mincore", "sched_getparam", "setrlimit",
	"process_vm_readv", "personality",
#endif
	NULL
};

/* the passthrough ioctls (Linux 6.9); Debian 12's linux/fuse.h predates them */
#ifndef FUSE_DEV_IOC_BACKING_OPEN
struct mdfs_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define FUSE_DEV_IOC_BACKING_OPEN \
	_IOW(FUSE_DEV_IOC_MAGIC, 1, struct mdfs_backing_map)
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)
#endif

/* ioctl: only these requests (FIEMAP and GETFLAGS on backing files) */
static const unsigned long allowed_ioctls[] = {
	FUSE_DEV_IOC_CLONE, FUSE_DEV_IOC_BACKING_OPEN,
	FUSE_DEV_IOC_BACKING_CLOSE, FS_IOC_FIEMAP, FS_IOC_GETFLAGS,
	FS_IOC_FSGETXATTR, FIONREAD, TCGETS,
};

/* async-signal-safe: append @s, or the decimal @v if @s is NULL */
static size_t put(char *buf, size_t len, size_t size, const char *s,
		  unsigned long v)
{
	char num[24], *p = num + sizeof(num);

	if (!s) {
		*--p = '\0';
		do
			*--p = (char)('0' + v % 10);
		while (v /= 10);
		s = p;
	}
	while (*s && len + 1 < size)
		buf[len++] = *s++;
	buf[len] = '\0';
	return len;
}

static void sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	char msg[128], line[192];
	size_t len = 0, mlen = 0;

	mlen = put(msg, mlen, sizeof(msg), "seccomp: system call ", 0);
	mlen = put(msg, mlen, sizeof(msg), NULL, (unsigned long)si->si_syscall);
	mlen = put(msg, mlen, sizeof(msg), " denied (EPERM): not on the "
		   "allow-list of fuse/syscalls.c\n", 0);
	/* "<27>" is LOG_DAEMON|LOG_ERR, what syslog(3) would send */
	len = put(line, len, sizeof(line), "<27>mapdirectfs[", 0);
	len = put(line, len, sizeof(line), NULL, (unsigned long)getpid());
	len = put(line, len, sizeof(line), "]: ", 0);
	len = put(line, len, sizeof(line), msg, 0);
	if (sigsys_log_fd >= 0)
		send(sigsys_log_fd, line, len - 1, MSG_DONTWAIT);
	if (write(STDERR_FILENO, "mapdirectfs: ", 13) < 0 ||
	    write(STDERR_FILENO, msg, mlen) < 0)
		(void)0;
	/* the call returns -EPERM to its caller */
#if defined(__x86_64__)
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
	((ucontext_t *)ctx)->uc_mcontext.regs[0] = (unsigned long)-EPERM;
#else
	_exit(1);
#endif
}

static void open_sigsys_log(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/dev/log");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return;
	}
	sigsys_log_fd = fd;
}

int mdfs_seccomp_load(void)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler,
				.sa_flags = SA_SIGINFO };
	scmp_filter_ctx f;
	int nr, err;

	open_sigsys_log();
	if (sigaction(SIGSYS, &sa, NULL))
		return -errno;
	f = seccomp_init(SCMP_ACT_TRAP);
	if (!f)
		return -ENOMEM;
	/*
	 * The kernel (5.11+, its seccomp action cache) skips the filter for
	 * calls whose verdict does not depend on their arguments: all here
	 * but ioctl. For ioctl, a binary tree keeps the program short.
	 */
	err = seccomp_attr_set(f, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (err)
		goto release;
	for (size_t i = 0; allowed[i]; i++) {
		nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		err = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
		if (err && err != -EDOM)
			goto release;
	}
	for (size_t i = 0; i < ARRAY_SIZE(allowed_ioctls); i++) {
		err = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ,
					       allowed_ioctls[i]));
		if (err)
			goto release;
	}
	/* syslog's socket, the only one the daemon opens */
	err = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			       SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (err)
		goto release;
	err = seccomp_load(f);
release:
	seccomp_release(f);
	return err;
}
