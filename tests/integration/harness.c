// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * harness.c - fixtures for the mapdirectfs integration tests
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MDFS_BIN
#error "MDFS_BIN (path of the built daemon) must be defined by the build"
#endif

struct mdfs_fs mdfs_fixture;

/* pidfds we hand to the guard, so it can kill daemons we started */
#define GUARD_MAX_PIDFDS 32

enum guard_msg { GUARD_PIDFD = 1, GUARD_DONE = 2 };

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait up to @ms for the process behind @pidfd to exit: true if it did */
static bool pidfd_wait(int pidfd, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		long long left = end - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return true;
		if (r == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

/* SIGTERM, then SIGKILL after MDFS_WAIT_MS; no-op if it is gone already */
static void pidfd_terminate(int pidfd)
{
	if (pidfd_signal(pidfd, SIGTERM) < 0)
		return;
	if (pidfd_wait(pidfd, MDFS_WAIT_MS))
		return;
	pidfd_signal(pidfd, SIGKILL);
	pidfd_wait(pidfd, MDFS_WAIT_MS);
}

/* -------------------------------------------------------------------- */
/* /proc/self/mountinfo                                                  */

/* Undo the kernel's octal escaping of ' ', '\t', '\n', '\\' in place */
static void unescape_octal(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* Calls @fn for each mount until it returns true */
static void mountinfo_each(bool (*fn)(const char *mp, const char *type,
				      const char *src, void *arg),
			   void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	cr_assert_not_null(f, "open /proc/self/mountinfo: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char *field[64], *save = NULL, *tok;
		int n = 0, dash = -1;

		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, " ", &save); tok && n < 64;
		     tok = strtok_r(NULL, " ", &save)) {
			/* the separator follows the optional fields */
			if (dash < 0 && n >= 6 && strcmp(tok, "-") == 0)
				dash = n;
			field[n++] = tok;
		}
		if (dash < 0 || dash + 2 >= n)
			continue;
		unescape_octal(field[4]);
		unescape_octal(field[dash + 2]);
		if (fn(field[4], field[dash + 1], field[dash + 2], arg))
			break;
	}
	free(line);
	fclose(f);
}

struct find_mount {
	const char *mountpoint;
	char *fstype, *source;
	size_t fstype_len, source_len;
	bool found;
};

static bool match_mountpoint(const char *mp, const char *type,
			     const char *src, void *arg)
{
	struct find_mount *fm = arg;

	if (strcmp(mp, fm->mountpoint) != 0)
		return false;
	/* keep going: the last one is on top */
	fm->found = true;
	if (fm->fstype)
		snprintf(fm->fstype, fm->fstype_len, "%s", type);
	if (fm->source)
		snprintf(fm->source, fm->source_len, "%s", src);
	return false;
}

bool mdfs_mountinfo(const char *mountpoint, char *fstype, size_t fstype_len,
		    char *source, size_t source_len)
{
	struct find_mount fm = {
		.mountpoint = mountpoint,
		.fstype = fstype,
		.fstype_len = fstype_len,
		.source = source,
		.source_len = source_len,
	};

	mountinfo_each(match_mountpoint, &fm);
	return fm.found;
}

bool mdfs_is_mounted(const char *mountpoint)
{
	char type[64];

	if (!mdfs_mountinfo(mountpoint, type, sizeof(type), NULL, 0))
		return false;
	return strcmp(type, "fuse.mapdirectfs") == 0;
}

struct under {
	const char *dir;
	bool fuse_only;
	int n;
	char mp[16][PATH_MAX];
};

static bool collect_under(const char *mp, const char *type, const char *src,
			  void *arg)
{
	struct under *u = arg;
	size_t len = strlen(u->dir);

	if (strncmp(mp, u->dir, len) != 0 || mp[len] != '/')
		return false;
	if (u->fuse_only && strncmp(type, "fuse", 4) != 0)
		return false;
	if (u->n < 16)
		snprintf(u->mp[u->n++], PATH_MAX, "%s", mp);
	return false;
}

/* Mounts below @dir (only FUSE ones if @fuse_only), in mountinfo order */
static int mounts_under(const char *dir, bool fuse_only, struct under *u)
{
	u->dir = dir;
	u->fuse_only = fuse_only;
	u->n = 0;
	mountinfo_each(collect_under, u);
	return u->n;
}

/* -------------------------------------------------------------------- */
/* the canary beside BACKING and MOUNTPOINT (issue 11)                   */

/*
 * Every temp dir holds "canary": a file no test may touch, with a fixed
 * text and mtime, so that any process (the test's own, the guard) can
 * tell whether something climbed out of the mount and wrote there.
 */
#define CANARY_NAME "canary"
#define CANARY_TEXT "mapdirectfs test canary: nothing may change this file\n"
#define CANARY_MTIME 1000000000

static void canary_plant(const char *tmp)
{
	struct timespec ts[2] = { { CANARY_MTIME, 0 }, { CANARY_MTIME, 0 } };
	char path[PATH_MAX];
	int fd;

	mdfs_pathf(path, "%s/" CANARY_NAME, tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0444);
	cr_assert_geq(fd, 0, "plant %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, CANARY_TEXT, strlen(CANARY_TEXT)),
		     (ssize_t)strlen(CANARY_TEXT), "write %s: %s", path,
		     strerror(errno));
	cr_assert_eq(futimens(fd, ts), 0, "futimens %s: %s", path,
		     strerror(errno));
	close(fd);
}

/* NULL while the canary of @tmp is as planted, else what changed */
static const char *canary_changed(const char *tmp, char *buf, size_t len)
{
	char path[PATH_MAX], text[sizeof(CANARY_TEXT) + 1];
	struct stat st;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/" CANARY_NAME, tmp);
	if (lstat(path, &st)) {
		snprintf(buf, len, "%s: %s", path, strerror(errno));
		return buf;
	}
	if (!S_ISREG(st.st_mode) || st.st_mtim.tv_sec != CANARY_MTIME ||
	    st.st_size != (off_t)strlen(CANARY_TEXT)) {
		snprintf(buf, len, "%s: mode %o, %lld bytes, mtime %lld", path,
			 st.st_mode, (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec);
		return buf;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, text, sizeof(text), 0);
		close(fd);
	}
	if (n != (ssize_t)strlen(CANARY_TEXT) || memcmp(text, CANARY_TEXT, n)) {
		snprintf(buf, len, "%s: its text changed", path);
		return buf;
	}
	return NULL;
}

/*
 * At teardown, where no assert can fail the test any more (a .fini, the
 * guard): tell stderr and $MDFS_WORLD_LOG, which scripts/run-tests.sh
 * reads after the run and fails on.
 */
static void canary_report(const char *tmp)
{
	const char *log = getenv("MDFS_WORLD_LOG");
	const struct criterion_test *t = criterion_current_test;
	char why[PATH_MAX + 128];
	int fd;

	/* gone: the runner's cleanup came first and looked itself */
	if (access(tmp, F_OK) || !canary_changed(tmp, why, sizeof(why)))
		return;
	fprintf(stderr, "mdfs harness: %s::%s changed the world outside its "
		"mount: %s\n", t ? t->category : "?", t ? t->name : "?", why);
	if (!log)
		return;
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	dprintf(fd, "%s::%s: %s\n", t ? t->category : "?", t ? t->name : "?",
		why);
	close(fd);
}

/*
 * A system call the daemon's seccomp filter denied (fuse/syscalls.c logs
 * each one) is a gap in the allow-list, whatever the test saw: report it
 * the same way, so that the whole run fails.
 */
static void seccomp_report(const char *tmp)
{
	const char *log = getenv("MDFS_WORLD_LOG");
	const struct criterion_test *t = criterion_current_test;
	char path[PATH_MAX], line[512];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/daemon.log", tmp);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "seccomp: system call"))
			continue;
		fprintf(stderr, "mdfs harness: %s::%s: %s",
			t ? t->category : "?", t ? t->name : "?", line);
		fd = log ? open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				0644) : -1;
		if (fd >= 0) {
			dprintf(fd, "%s::%s: the daemon's %s",
				t ? t->category : "?", t ? t->name : "?", line);
			close(fd);
		}
		break;
	}
	fclose(f);
}

/* -------------------------------------------------------------------- */
/* teardown, shared by .fini and the guard                               */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Lazily unmount everything below @dir, the most recent mount first */
static void detach_all_under(const char *dir)
{
	static struct under u;
	int pass, i;

	/* stacked mounts need several passes */
	for (pass = 0; pass < 8 && mounts_under(dir, false, &u) > 0; pass++)
		for (i = u.n - 1; i >= 0; i--)
			umount2(u.mp[i], MNT_DETACH | UMOUNT_NOFOLLOW);
}

/*
 * Detach the mounts first (the daemon cannot then be asked anything new),
 * then stop the daemons, and remove the temp dir without crossing into a
 * mount that might still be there (FTW_MOUNT).
 */
static void teardown(const char *tmp, const int *pidfds, int n)
{
	int i;

	if (!tmp[0])
		return;
	detach_all_under(tmp);
	for (i = 0; i < n; i++)
		pidfd_terminate(pidfds[i]);
	detach_all_under(tmp);
	canary_report(tmp);
	seccomp_report(tmp);
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* -------------------------------------------------------------------- */
/* the guard process                                                     */

static void guard_main(const char *tmp, int sock)
{
	int pidfds[GUARD_MAX_PIDFDS], n = 0;

	/* outlive the test process and its process group's signals */
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* hold nothing of the test process (Criterion's pipes, files) */
	if (dup2(sock, 3) < 0)
		_exit(1);
	sock = 3;
	close_range(4, ~0U, 0);
	close(STDIN_FILENO);
	open("/dev/null", O_RDONLY);

	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		int type = 0;
		struct iovec iov = {
			.iov_base = &type,
			.iov_len = sizeof(type),
		};
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf,
			.msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *c;
		ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* the test process is gone: clean up */
		if (type == GUARD_DONE)
			_exit(0);
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int fd;

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			if (n < GUARD_MAX_PIDFDS)
				pidfds[n++] = fd;
			else
				close(fd);
		}
	}
	/* last resort if a teardown step hangs */
	alarm(60);
	teardown(tmp, pidfds, n);
	_exit(0);
}

/*
 * A child of the test must not hold the guard's socket: the guard takes
 * its EOF as "the test is gone, tear down", and a child blocked in a hung
 * mount (a writer parked in a deadlocked daemon) would never let it come.
 */
static void guard_forget_in_child(void)
{
	if (mdfs_fixture.guard_fd >= 0)
		close(mdfs_fixture.guard_fd);
	mdfs_fixture.guard_fd = -1;
	mdfs_fixture.guard_pid = 0;
}

static void guard_start(struct mdfs_fs *fs)
{
	static bool atfork;
	int sv[2];
	pid_t pid;

	if (!atfork && !pthread_atfork(NULL, NULL, guard_forget_in_child))
		atfork = true;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
		     0, "socketpair: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		guard_main(fs->tmp, sv[1]);
	}
	close(sv[1]);
	fs->guard_pid = pid;
	fs->guard_fd = sv[0];
}

static void guard_send(struct mdfs_fs *fs, int type, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &type, .iov_len = sizeof(type) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fs->guard_pid <= 0)
		return;
	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	while (sendmsg(fs->guard_fd, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* -------------------------------------------------------------------- */
/* processes                                                             */

/*
 * Wait up to @ms for child @pid (with @pidfd) and reap it.
 * @return its wait status, or -1 if it had to be killed
 */
static int reap_bounded(pid_t pid, int pidfd, int ms)
{
	int st = -1;
	bool exited = pidfd_wait(pidfd, ms);

	if (!exited) {
		pidfd_signal(pidfd, SIGKILL);
		pidfd_wait(pidfd, MDFS_WAIT_MS);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return exited ? st : -1;
}

/*
 * Fork and exec @argv with stdin from /dev/null and stdout/stderr appended
 * to @out/@err; the child gets SIGTERM when the test process dies.
 */
static pid_t spawn(const char *const argv[], const char *out, const char *err,
		   bool path_lookup, int *pidfd)
{
	int outfd, errfd, nullfd;
	pid_t parent = getpid(), pid;

	outfd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cr_assert_geq(outfd, 0, "open %s: %s", out, strerror(errno));
	errfd = open(err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cr_assert_geq(errfd, 0, "open %s: %s", err, strerror(errno));
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(nullfd, 0, "open /dev/null: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t none;

		/* a crashed test process must not leak a daemon or mount */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(nullfd, 0) < 0 || dup2(outfd, 1) < 0 ||
		    dup2(errfd, 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		if (path_lookup)
			execvp(argv[0], (char *const *)argv);
		else
			execv(argv[0], (char *const *)argv);
		dprintf(2, "mdfs harness: exec %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(outfd);
	close(errfd);
	close(nullfd);
	*pidfd = pidfd_open(pid);
	cr_assert_geq(*pidfd, 0, "pidfd_open: %s", strerror(errno));
	return pid;
}

/* "exit 3", "signal 9 (Killed)" */
static const char *describe_status(int st, char *buf, size_t len)
{
	if (st == -1)
		snprintf(buf, len, "still running, killed");
	else if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", st);
	return buf;
}

/* The last @len-1 bytes of @path, for failure messages */
const char *mdfs_file_tail(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)len - 1)
		lseek(fd, size - (off_t)(len - 1), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/*
 * Children of the test (mdfs_fork_as, agents) still to be reaped: the
 * teardown kills and reaps them, whatever ended the test.
 */
#define MAX_CHILDREN 64
static pid_t children[MAX_CHILDREN];

static void child_add(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (!children[i]) {
			children[i] = pid;
			return;
		}
	}
}

static void child_del(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/*
 * SIGKILL every child still listed, then (@reap) reap them. A child
 * blocked in a request the daemon holds dies only once the daemon answers
 * or goes: kill before the teardown stops the daemon, reap after it.
 */
static void children_end(bool reap)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		int fd;

		if (!children[i])
			continue;
		if (!reap) {
			kill(children[i], SIGKILL);
			continue;
		}
		fd = pidfd_open(children[i]);
		if (fd >= 0) {
			reap_bounded(children[i], fd, MDFS_WAIT_MS);
			close(fd);
		} else {
			waitpid(children[i], NULL, WNOHANG);
		}
		children[i] = 0;
	}
}

/*
 * Fork a child that runs @fn(@arg) as @uid/@gid (-1: ours); with @root,
 * chroot()ed there first with no fd of ours left, so that nothing it
 * resolves leaves @root (issue 11).
 */
static pid_t fork_child(const char *root, uid_t uid, gid_t gid,
			int (*fn)(void *), void *arg)
{
	pid_t pid, parent = getpid();

	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (root) {
			/* an fd of a dir outside would be a way out */
			close_range(3, ~0U, 0);
			if (chroot(root) || chdir("/"))
				_exit(MDFS_CHILD_SETUP_FAILED);
		}
		if (uid != (uid_t)-1) {
			if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
				_exit(MDFS_CHILD_SETUP_FAILED);
			if (geteuid() != uid || getegid() != gid)
				_exit(MDFS_CHILD_SETUP_FAILED);
			/* a change of uid cleared it: a test killed by its
			 * timeout would leave this child running */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(MDFS_CHILD_SETUP_FAILED);
		}
		_exit(fn(arg) & 0xff);
	}
	child_add(pid);
	return pid;
}

pid_t mdfs_fork_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	return fork_child(NULL, uid, gid, fn, arg);
}

pid_t mdfs_fork_jailed(struct mdfs_fs *fs, uid_t uid, gid_t gid,
		       int (*fn)(void *), void *arg)
{
	cr_assert(mdfs_is_mounted(fs->mnt), "no mount to jail a child in");
	return fork_child(fs->mnt, uid, gid, fn, arg);
}

int mdfs_wait_child(pid_t pid)
{
	return mdfs_wait_child_ms(pid, MDFS_WAIT_MS);
}

int mdfs_wait_child_ms(pid_t pid, int ms)
{
	int pidfd = pidfd_open(pid), st;

	cr_assert_geq(pidfd, 0, "pidfd_open: %s", strerror(errno));
	st = reap_bounded(pid, pidfd, ms);
	close(pidfd);
	child_del(pid);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int mdfs_run_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	return mdfs_wait_child(mdfs_fork_as(uid, gid, fn, arg));
}

int mdfs_run_child(int (*fn)(void *), void *arg)
{
	return mdfs_run_as((uid_t)-1, (gid_t)-1, fn, arg);
}

void mdfs_cmd(struct mdfs_fs *fs, const char *const argv[])
{
	char log[PATH_MAX], tail[2048], how[64];
	int pidfd, st;
	pid_t pid;

	mdfs_pathf(log, "%s/cmd.log", fs->tmp);
	unlink(log);
	pid = spawn(argv, log, log, true, &pidfd);
	st = reap_bounded(pid, pidfd, MDFS_WAIT_MS);
	close(pidfd);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "command %s failed (%s):\n%s", argv[0],
		  describe_status(st, how, sizeof(how)),
		  mdfs_file_tail(log, tail, sizeof(tail)));
}

/* -------------------------------------------------------------------- */
/* agents                                                                */

/* the buffers hold structs of the tests: align them for any */
struct agent_req {
	mdfs_agent_fn fn;
	_Alignas(16) char buf[MDFS_AGENT_BUF];
};

struct agent_rep {
	long ret;
	int err;
	_Alignas(16) char buf[MDFS_AGENT_BUF];
};

/* a pipe write of up to PIPE_BUF bytes is never split */
_Static_assert(sizeof(struct agent_req) <= PIPE_BUF, "agent request");
_Static_assert(sizeof(struct agent_rep) <= PIPE_BUF, "agent reply");

static struct mdfs_agent agents[MDFS_MAX_AGENTS];
static int nagents;

static void agents_forget(void)
{
	for (int i = 0; i < nagents; i++) {
		if (agents[i].pidfd >= 0)
			close(agents[i].pidfd);
		close(agents[i].req);
		close(agents[i].rep);
	}
	memset(agents, 0, sizeof(agents));
	nagents = 0;
}

/* @return false at end of file or on an error */
static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static __attribute__((noreturn)) void agent_main(int req, int rep)
{
	static struct agent_req rq;
	static struct agent_rep rp;
	struct rlimit nocore = { 0, 0 };
	sigset_t none;
	int sig;

	/* fds 3 and 4 are the pipes; nothing else of the test's is kept */
	req = fcntl(req, F_DUPFD, 64);
	rep = fcntl(rep, F_DUPFD, 65);
	if (req < 0 || rep < 0 || dup2(req, 3) != 3 || dup2(rep, 4) != 4)
		_exit(MDFS_CHILD_SETUP_FAILED);
	close_range(5, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	setrlimit(RLIMIT_CORE, &nocore);
	for (;;) {
		if (!read_full(3, &rq, sizeof(rq)))
			_exit(0);
		memcpy(rp.buf, rq.buf, sizeof(rp.buf));
		errno = 0;
		rp.ret = rq.fn(rp.buf);
		rp.err = errno;
		if (!write_full(4, &rp, sizeof(rp)))
			_exit(0);
	}
}

struct mdfs_agent *mdfs_agent_start(uid_t uid, gid_t gid)
{
	struct mdfs_agent *a;
	int req[2], rep[2];
	pid_t pid;

	cr_assert_lt(nagents, MDFS_MAX_AGENTS, "too many agents");
	cr_assert_eq(pipe2(req, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
	cr_assert_eq(pipe2(rep, O_CLOEXEC), 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (uid != (uid_t)-1) {
			if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
				_exit(MDFS_CHILD_SETUP_FAILED);
		}
		agent_main(req[0], rep[1]);
	}
	child_add(pid);
	close(req[0]);
	close(rep[1]);
	a = &agents[nagents++];
	a->pid = pid;
	a->req = req[1];
	a->rep = rep[0];
	a->busy = false;
	a->reaped = false;
	a->pidfd = pidfd_open(pid);
	cr_assert_geq(a->pidfd, 0, "pidfd_open: %s", strerror(errno));
	return a;
}

void mdfs_agent_send(struct mdfs_agent *a, mdfs_agent_fn fn, const void *in,
		     size_t len)
{
	static struct agent_req rq;

	cr_assert(!a->busy, "agent %d: a request is still out", a->pid);
	cr_assert(!a->reaped, "agent %d is gone", a->pid);
	cr_assert_leq(len, sizeof(rq.buf));
	memset(&rq, 0, sizeof(rq));
	rq.fn = fn;
	memcpy(rq.buf, in, len);
	cr_assert(write_full(a->req, &rq, sizeof(rq)),
		  "agent %d: request: %s", a->pid, strerror(errno));
	a->busy = true;
}

bool mdfs_agent_replied(struct mdfs_agent *a, int ms)
{
	struct pollfd p = { .fd = a->rep, .events = POLLIN };
	long long end = now_ms() + ms;

	for (;;) {
		long long left = end - now_ms();
		int r = poll(&p, 1, left > 0 ? (int)left : 0);

		if (r >= 0 || errno != EINTR)
			return r > 0;
	}
}

const char *mdfs_describe_status(int st, char *buf, size_t len)
{
	return describe_status(st, buf, len);
}

int mdfs_agent_wait_exit(struct mdfs_agent *a, int ms)
{
	if (a->reaped)
		return a->status;
	if (!pidfd_wait(a->pidfd, ms))
		return -1;
	while (waitpid(a->pid, &a->status, 0) < 0 && errno == EINTR)
		;
	a->reaped = true;
	child_del(a->pid);
	return a->status;
}

long mdfs_agent_recv(struct mdfs_agent *a, int *err, void *out, size_t len)
{
	static struct agent_rep rp;
	char how[64];

	cr_assert(a->busy, "agent %d: no request out", a->pid);
	if (!mdfs_agent_replied(a, MDFS_WAIT_MS))
		cr_assert_fail("agent %d did not answer within %d ms", a->pid,
			       MDFS_WAIT_MS);
	if (!read_full(a->rep, &rp, sizeof(rp))) {
		int st = mdfs_agent_wait_exit(a, MDFS_WAIT_MS);

		cr_assert_fail("agent %d died before answering (%s)", a->pid,
			       describe_status(st, how, sizeof(how)));
	}
	a->busy = false;
	if (err)
		*err = rp.err;
	cr_assert_leq(len, sizeof(rp.buf));
	if (out)
		memcpy(out, rp.buf, len);
	return rp.ret;
}

long mdfs_agent_call(struct mdfs_agent *a, mdfs_agent_fn fn, void *buf,
		     size_t len, int *err)
{
	mdfs_agent_send(a, fn, buf, len);
	return mdfs_agent_recv(a, err, buf, len);
}

void mdfs_agent_kill(struct mdfs_agent *a, int sig)
{
	if (!a->reaped)
		pidfd_signal(a->pidfd, sig);
}

long long mdfs_now_ms(void)
{
	return now_ms();
}

bool mdfs_pidfd_wait(int pidfd, int ms)
{
	return pidfd_wait(pidfd, ms);
}

/* -------------------------------------------------------------------- */
/* fixture                                                               */

bool mdfs_uring_enabled(void)
{
	char c = 0;
	int fd = open("/sys/module/fuse/parameters/enable_uring",
		      O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' || c == '1';
}

const char *mdfs_bin(void)
{
	const char *env = getenv("MDFS_BIN");

	return env && *env ? env : MDFS_BIN;
}

static void make_dir(const char *path)
{
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s",
		  path, strerror(errno));
	/* uid 1000 must be able to reach the mount (mdfs_run_as) */
	cr_assert_eq(chmod(path, 0755), 0, "chmod %s: %s", path,
		     strerror(errno));
}

/*
 * Which test run owns this dir (scripts/run-tests.sh exports MDFS_RUN_ID):
 * its cleanup then leaves the dirs of another run in progress alone.
 */
static void write_run_id(struct mdfs_fs *fs)
{
	const char *id = getenv("MDFS_RUN_ID");
	char path[PATH_MAX];
	FILE *f;

	if (!id)
		return;
	mdfs_pathf(path, "%s/run.id", fs->tmp);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%s\n", id);
	fclose(f);
}

const char *mdfs_tmpdir(void)
{
	const char *env = getenv("MDFS_TMPDIR");

	return env && *env ? env : "/tmp";
}

void mdfs_setup(struct mdfs_fs *fs)
{
	char tmpl[PATH_MAX];

	if (fs->tmp[0])
		return;
	fs->pid = 0;
	fs->pidfd = -1;
	fs->guard_pid = 0;
	fs->guard_fd = -1;
	mdfs_pathf(tmpl, "%s/mdfs-test.XXXXXX", mdfs_tmpdir());
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl,
			   strerror(errno));
	cr_assert_not_null(realpath(tmpl, fs->tmp), "realpath %s: %s", tmpl,
			   strerror(errno));
	guard_start(fs);
	make_dir(fs->tmp);
	canary_plant(fs->tmp);
	mdfs_pathf(fs->backing, "%s/backing", fs->tmp);
	mdfs_pathf(fs->mnt, "%s/mnt", fs->tmp);
	mdfs_pathf(fs->log, "%s/daemon.log", fs->tmp);
	make_dir(fs->backing);
	make_dir(fs->mnt);
	write_run_id(fs);
}

static void wait_mounted(struct mdfs_fs *fs)
{
	long long end = now_ms() + MDFS_WAIT_MS;
	char tail[4096], how[64];

	for (;;) {
		struct pollfd p = { .fd = fs->pidfd, .events = POLLIN };
		int st;

		if (mdfs_is_mounted(fs->mnt))
			return;
		if (poll(&p, 1, 5) > 0) {
			while (waitpid(fs->pid, &st, 0) < 0 && errno == EINTR)
				;
			fs->pid = 0;
			close(fs->pidfd);
			fs->pidfd = -1;
			cr_assert_fail("daemon exited (%s) before mounting %s "
				       "on %s; its log:\n%s",
				       describe_status(st, how, sizeof(how)),
				       fs->backing, fs->mnt,
				       mdfs_file_tail(fs->log, tail, sizeof(tail)));
		}
		if (now_ms() > end)
			cr_assert_fail("%s not mounted (fuse.mapdirectfs) "
				       "after %d ms; daemon log:\n%s",
				       fs->mnt, MDFS_WAIT_MS,
				       mdfs_file_tail(fs->log, tail, sizeof(tail)));
	}
}

/* for scripts/cleanup-test-mounts.sh, should the guard be gone too */
static void write_pidfile(struct mdfs_fs *fs)
{
	char path[PATH_MAX];
	FILE *f;

	mdfs_pathf(path, "%s/daemon.pid", fs->tmp);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%d\n", (int)fs->pid);
	fclose(f);
}

/* Append ",@opt" (or "@opt" to an empty @dst) if @opt is not empty */
static void opt_append(char *dst, size_t len, const char *opt)
{
	size_t n = strlen(dst);

	if (!opt || !*opt)
		return;
	cr_assert_lt(n + 1 + strlen(opt), len, "options too long: %s,%s", dst,
		     opt);
	snprintf(dst + n, len - n, "%s%s", n ? "," : "", opt);
}

bool mdfs_mediate_all(const struct mdfs_fs *fs)
{
	const char *s = fs->opts[0] ? fs->opts : fs->mediate, *val = NULL;

	/* the daemon takes the last one, as for any -o option */
	for (const char *p = s; p && *p; p = strchr(p, ',') ?
					 strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, "mediate=", 8))
			val = p + 8;
	return val && !strncmp(val, "all", 3) && (val[3] == ',' || !val[3]);
}

void mdfs_start(struct mdfs_fs *fs, const char *const flags[],
		const char *opts)
{
	const char *argv[32];
	char optstr[2048];
	int n = 0;

	cr_assert_eq(fs->pid, 0, "a daemon is already running");
	cr_assert(access(mdfs_bin(), X_OK) == 0,
		  "daemon binary %s: %s (build it, or set MDFS_BIN)",
		  mdfs_bin(), strerror(errno));
	snprintf(optstr, sizeof(optstr), "%s", fs->transport ? fs->transport :
		 "");
	opt_append(optstr, sizeof(optstr), opts);
	opt_append(optstr, sizeof(optstr), fs->mediate);
	snprintf(fs->opts, sizeof(fs->opts), "%s", optstr);
	while (fs->wrapper && fs->wrapper[n] && n < 8) {
		argv[n] = fs->wrapper[n];
		n++;
	}
	argv[n++] = mdfs_bin();
	argv[n++] = "-f";
	while (flags && *flags && n < 24)
		argv[n++] = *flags++;
	if (optstr[0]) {
		argv[n++] = "-o";
		argv[n++] = optstr;
	}
	argv[n++] = fs->backing;
	argv[n++] = fs->mnt;
	argv[n] = NULL;
	fs->pid = spawn(argv, fs->log, fs->log, fs->wrapper != NULL,
			&fs->pidfd);
	guard_send(fs, GUARD_PIDFD, fs->pidfd);
	write_pidfile(fs);
	wait_mounted(fs);
}

void mdfs_mount(struct mdfs_fs *fs, const char *opts)
{
	mdfs_setup(fs);
	mdfs_start(fs, NULL, opts);
}

void mdfs_mount_ext4(struct mdfs_fs *fs, const char *opts)
{
	mdfs_mount_ext4_mkfs(fs, NULL, opts);
}

void mdfs_mount_ext4_mkfs(struct mdfs_fs *fs, const char *const mkfs_extra[],
			  const char *opts)
{
	const char *argv[16] = { "mkfs.ext4", "-q", "-F", "-b", "4096" };
	char image[PATH_MAX];
	int fd, n = 5;

	mdfs_setup(fs);
	mdfs_pathf(image, "%s/ext4.img", fs->tmp);
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "create %s: %s", image, strerror(errno));
	cr_assert_eq(ftruncate(fd, 64 << 20), 0, "truncate %s: %s", image,
		     strerror(errno));
	close(fd);
	while (mkfs_extra && *mkfs_extra && n < 14)
		argv[n++] = *mkfs_extra++;
	argv[n++] = image;
	argv[n] = NULL;
	mdfs_cmd(fs, argv);
	/* mount(8) sets up the loop device with autoclear */
	fs->ext4 = true;
	mdfs_cmd(fs, (const char *const[]){ "mount", "-o", "loop", image,
					    fs->backing, NULL });
	cr_assert_eq(chmod(fs->backing, 0755), 0, "chmod %s: %s", fs->backing,
		     strerror(errno));
	mdfs_start(fs, NULL, opts);
}

int mdfs_stop(struct mdfs_fs *fs, int sig)
{
	char tail[4096];
	int st;

	cr_assert_gt(fs->pid, 0, "no daemon running");
	if (sig && fs->wrapper)
		cr_assert_eq(kill(mdfs_daemon_pid(fs), sig), 0,
			     "signal daemon: %s", strerror(errno));
	else if (sig)
		cr_assert_eq(pidfd_signal(fs->pidfd, sig), 0,
			     "signal daemon: %s", strerror(errno));
	/* on failure, mdfs_umount() kills it */
	cr_assert(pidfd_wait(fs->pidfd, MDFS_WAIT_MS),
		  "daemon still running %d ms after signal %d; log:\n%s",
		  MDFS_WAIT_MS, sig, mdfs_file_tail(fs->log, tail, sizeof(tail)));
	while (waitpid(fs->pid, &st, 0) < 0 && errno == EINTR)
		;
	fs->pid = 0;
	close(fs->pidfd);
	fs->pidfd = -1;
	return st;
}

pid_t mdfs_daemon_pid(const struct mdfs_fs *fs)
{
	char path[64];
	FILE *f;
	int pid = 0;

	if (!fs->wrapper || fs->pid <= 0)
		return fs->pid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", fs->pid,
		 fs->pid);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

void mdfs_umount(struct mdfs_fs *fs)
{
	int pidfds[1], n = 0;

	children_end(false);
	if (fs->pid > 0)
		pidfds[n++] = fs->pidfd;
	teardown(fs->tmp, pidfds, n);
	children_end(true);
	agents_forget();
	if (fs->pid > 0) {
		while (waitpid(fs->pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(fs->pidfd);
		fs->pid = 0;
		fs->pidfd = -1;
	}
	if (fs->guard_pid > 0) {
		int gfd = pidfd_open(fs->guard_pid);

		guard_send(fs, GUARD_DONE, -1);
		close(fs->guard_fd);
		if (gfd >= 0) {
			reap_bounded(fs->guard_pid, gfd, MDFS_WAIT_MS);
			close(gfd);
		}
		fs->guard_pid = 0;
		fs->guard_fd = -1;
	}
	fs->tmp[0] = '\0';
	fs->opts[0] = '\0';
	fs->ext4 = false;
	fs->wrapper = NULL;
}

void mdfs_fixture_fini(void)
{
	mdfs_umount(&mdfs_fixture);
}

void mdfs_fixture_run(const char *transport, enum mdfs_kind kind,
		      const char *opts, void (*body)(struct mdfs_fs *fs))
{
	mdfs_fixture_run_mode(transport, NULL, kind, opts, body);
}

void mdfs_fixture_run_mode(const char *transport, const char *mediate,
			   enum mdfs_kind kind, const char *opts,
			   void (*body)(struct mdfs_fs *fs))
{
	struct mdfs_fs *fs = &mdfs_fixture;

	/* STYLE 18: skip, not fail, where FUSE mounts cannot work at all */
	if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0)
		cr_skip_test("needs root and /dev/fuse (mounts, loop devices, "
			     "uid 1000 children)");
	if (strcmp(transport, "io_uring=on") == 0 && !mdfs_uring_enabled())
		cr_skip_test("fuse-over-io-uring is disabled "
			     "(/sys/module/fuse/parameters/enable_uring is "
			     "not Y; as root: echo 1 > it to run the _uring "
			     "suites)");
	/* modes in tests are exact */
	umask(022);
	fs->transport = transport;
	fs->mediate = mediate;
	fs->opts[0] = '\0';
	switch (kind) {
	case MDFS_DIR:
		mdfs_mount(fs, opts);
		break;
	case MDFS_EXT4:
		mdfs_mount_ext4(fs, opts);
		break;
	case MDFS_NOMOUNT:
		mdfs_setup(fs);
		break;
	}
	body(fs);
	mdfs_assert_world_intact(fs);
}

void mdfs_assert_world_intact(struct mdfs_fs *fs)
{
	char why[PATH_MAX + 128];

	cr_assert_null(canary_changed(fs->tmp, why, sizeof(why)),
		       "something outside the mount was changed: %s", why);
}

int mdfs_openat_beneath(int rootfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(unsigned int)flags,
		.mode = flags & (O_CREAT | O_TMPFILE) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

void mdfs_run_daemon(struct mdfs_fs *fs, const char *const args[],
		     struct mdfs_result *res)
{
	char out[PATH_MAX], err[PATH_MAX], how[64];
	const char *argv[32];
	static struct under u;
	bool mounted = false, exited = false;
	long long end;
	int n = 0, pidfd, i;
	pid_t pid;

	cr_assert(access(mdfs_bin(), X_OK) == 0,
		  "daemon binary %s: %s (build it, or set MDFS_BIN)",
		  mdfs_bin(), strerror(errno));
	argv[n++] = mdfs_bin();
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	mdfs_pathf(out, "%s/run.out", fs->tmp);
	mdfs_pathf(err, "%s/run.err", fs->tmp);
	unlink(out);
	unlink(err);
	pid = spawn(argv, out, err, false, &pidfd);
	guard_send(fs, GUARD_PIDFD, pidfd);

	/* until it exits, mounts something, or the bound passes */
	end = now_ms() + MDFS_WAIT_MS;
	for (;;) {
		if (mounts_under(fs->tmp, true, &u) > 0) {
			mounted = true;
			break;
		}
		if (pidfd_wait(pidfd, 5)) {
			exited = true;
			break;
		}
		if (now_ms() > end)
			break;
	}
	if (!exited)
		pidfd_terminate(pidfd);
	while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
		;
	close(pidfd);
	if (!exited)
		res->status = -1;
	/* it may have left a mount behind when it exited */
	if (mounts_under(fs->tmp, true, &u) > 0)
		mounted = true;
	for (i = u.n - 1; i >= 0; i--)
		umount2(u.mp[i], MNT_DETACH | UMOUNT_NOFOLLOW);
	mdfs_file_tail(out, res->out, sizeof(res->out));
	mdfs_file_tail(err, res->err, sizeof(res->err));
	cr_assert_not(mounted, "daemon mounted %s although it should fail "
		      "(%s); stderr:\n%s", u.n > 0 ? u.mp[0] : "something",
		      describe_status(res->status, how, sizeof(how)),
		      res->err);
	cr_assert(exited, "daemon still running %d ms after start; "
		  "stderr:\n%s", MDFS_WAIT_MS, res->err);
}

/* -------------------------------------------------------------------- */
/* paths and files                                                       */

static char *ring_buf(void)
{
	static char ring[32][PATH_MAX];
	static unsigned int next;

	return ring[next++ % 32];
}

void mdfs_pathf(char *dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, PATH_MAX, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && n < PATH_MAX, "path too long: %s...", dst);
}

static const char *join(const char *base, const char *fmt, va_list ap)
{
	char *buf = ring_buf(), rel[PATH_MAX];
	int n = vsnprintf(rel, sizeof(rel), fmt, ap);

	cr_assert(n >= 0 && n < PATH_MAX, "path too long: %s...", rel);
	if (rel[0])
		mdfs_pathf(buf, "%s/%s", base, rel);
	else
		mdfs_pathf(buf, "%s", base);
	return buf;
}

const char *mdfs_bpath(const struct mdfs_fs *fs, const char *fmt, ...)
{
	const char *p;
	va_list ap;

	va_start(ap, fmt);
	p = join(fs->backing, fmt, ap);
	va_end(ap);
	return p;
}

const char *mdfs_mpath(const struct mdfs_fs *fs, const char *fmt, ...)
{
	const char *p;
	va_list ap;

	va_start(ap, fmt);
	p = join(fs->mnt, fmt, ap);
	va_end(ap);
	return p;
}

const char *mdfs_tpath(const struct mdfs_fs *fs, const char *fmt, ...)
{
	const char *p;
	va_list ap;

	va_start(ap, fmt);
	p = join(fs->tmp, fmt, ap);
	va_end(ap);
	return p;
}

void mdfs_fill(void *buf, size_t len, unsigned int seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		/* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 24);
	}
}

void mdfs_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		cr_assert_gt(n, 0, "pwrite %zu bytes at %lld: %s", len,
			     (long long)off, n < 0 ? strerror(errno) : "0");
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

void mdfs_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
	mdfs_pwrite_all(fd, buf, len, 0);
	cr_assert_eq(close(fd), 0, "close %s: %s", path, strerror(errno));
}

void *mdfs_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *buf;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	buf = malloc(cap + 1);
	cr_assert_not_null(buf);
	for (;;) {
		ssize_t r;

		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		cr_assert_geq(r, 0, "read %s: %s", path, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static long long first_difference(const unsigned char *a,
				  const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long long)i;
	return -1;
}

void mdfs_assert_file_is(const char *path, const void *buf, size_t len)
{
	size_t n;
	unsigned char *got = mdfs_read_file(path, &n);
	long long diff;

	cr_assert_eq(n, len, "%s: %zu bytes, expected %zu", path, n, len);
	diff = first_difference(got, buf, len);
	cr_assert_eq(diff, -1, "%s: first wrong byte at %lld: 0x%02x, "
		     "expected 0x%02x", path, diff,
		     diff >= 0 ? got[diff] : 0,
		     diff >= 0 ? ((const unsigned char *)buf)[diff] : 0);
	free(got);
}

void mdfs_assert_same_file(const char *a, const char *b)
{
	size_t n;
	void *want = mdfs_read_file(b, &n);

	mdfs_assert_file_is(a, want, n);
	free(want);
}

struct stat mdfs_lstat(const char *path)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0, "lstat %s: %s", path,
		     strerror(errno));
	return st;
}

void *mdfs_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}
