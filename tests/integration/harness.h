/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness.h - fixtures for the mapdirectfs integration tests
 *
 * Every test gets its own temp dir $MDFS_TMPDIR/mdfs-test.XXXXXX
 * (MDFS_TMPDIR defaults to /tmp; make test-dax points it at a DAX
 * filesystem: mdfs_tmpdir()) holding backing/, mnt/, the daemon's log and
 * a canary file no test may touch, and a
 * mapdirectfs daemon serving backing/ on mnt/. Teardown (the Criterion .fini) unmounts, reaps the daemon and
 * removes the temp dir; a guard process does the same if the test process
 * dies without running .fini (crash, Criterion timeout, SIGKILL), so no
 * mount, daemon, loop device or temp dir outlives a test.
 */
#ifndef MDFS_HARNESS_H
#define MDFS_HARNESS_H

#include <criterion/criterion.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mapdirect.h"

/* Criterion timeout of one test, in seconds */
#define MDFS_TEST_TIMEOUT 30.0
/* bound on every wait of the harness: mount, daemon exit, child exit */
#define MDFS_WAIT_MS 10000
/* a child run by mdfs_run_as() could not take the requested credentials */
#define MDFS_CHILD_SETUP_FAILED 125

enum mdfs_kind {
	MDFS_DIR,	/* BACKING is a plain directory in the temp dir */
	MDFS_EXT4,	/* BACKING is an ext4 image on a loop device */
	MDFS_NOMOUNT,	/* temp dir only; the test starts daemons itself */
};

struct mdfs_fs {
	char tmp[PATH_MAX];	/* realpath of the temp dir, "" before setup */
	char backing[PATH_MAX];	/* BACKING given to the daemon */
	char mnt[PATH_MAX];	/* MOUNTPOINT given to the daemon */
	char log[PATH_MAX];	/* daemon stdout+stderr, appended per start */
	const char *transport;	/* "io_uring=off" / "io_uring=on" or NULL */
	const char *mediate;	/* "mediate=all", appended to every start's
				 * options, or NULL (the default mode) */
	char opts[2048];	/* -o of the last start, "" before one */
	/* argv the daemon is started under ("unshare", "--pid", ...,
	 * NULL), looked up in PATH; NULL: none. fs->pid is then the
	 * wrapper's: mdfs_daemon_pid() finds the daemon's */
	const char *const *wrapper;
	pid_t pid;		/* running daemon, 0 if none */
	int pidfd;		/* pidfd of the last daemon, -1 if none */
	bool ext4;		/* backing is a loop-mounted ext4 image */
	pid_t guard_pid;	/* guard process, 0 if none */
	int guard_fd;		/* our end of the guard's socket */
};

/* the fixture of the current test (each test runs in its own process) */
extern struct mdfs_fs mdfs_fixture;

/* Result of mdfs_run_daemon() */
struct mdfs_result {
	int status;		/* wait status */
	char out[4096];		/* stdout, NUL-terminated, truncated */
	char err[4096];		/* stderr, NUL-terminated, truncated */
};

/*
 * A test file may give its tests a Criterion .init, run before the fixture
 * makes anything (so it can skip them cleanly): #define MDFS_TEST_INIT to
 * the function before including this header.
 */
#ifndef MDFS_TEST_INIT
#define MDFS_TEST_INIT NULL
#endif

/* One Criterion test of a body: the fixture, then @body(fs) */
#define MDFS_TEST_REG_(csuite, name, transport, mediate, kind, opts, body) \
	Test(csuite, name, .init = MDFS_TEST_INIT,			\
	     .fini = mdfs_fixture_fini, .timeout = MDFS_TEST_TIMEOUT)	\
	{								\
		mdfs_fixture_run_mode(transport, mediate, kind, opts,	\
				      body);				\
	}

/*
 * MDFS_TEST_KIND - register one test body twice, once per FUSE transport
 *
 * suite_devfuse::name mounts with io_uring=off, suite_uring::name with
 * io_uring=on (skipped where the kernel has fuse-over-io-uring disabled).
 * @kind says what to mount (enum mdfs_kind), @opts are extra -o options
 * (a string or NULL). The body that follows sees the mounted fixture as
 * "fs".
 */
#define MDFS_TEST_KIND(suite, name, kind, opts)				\
	static void suite##__##name(struct mdfs_fs *fs);		\
	MDFS_TEST_REG_(suite##_devfuse, name, "io_uring=off", NULL,	\
		       kind, opts, suite##__##name)			\
	MDFS_TEST_REG_(suite##_uring, name, "io_uring=on", NULL,	\
		       kind, opts, suite##__##name)			\
	static void suite##__##name(struct mdfs_fs *fs)

/*
 * MDFS_TEST_MODES_KIND - MDFS_TEST_KIND, and the same again under
 * mediate=all (SPEC 3.1): suite_devfuse::name and suite_uring::name run
 * in the default mode (mediate=leased), suite_devfuse_all::name and
 * suite_uring_all::name with ",mediate=all" appended to the options of
 * every daemon the fixture or the body starts. The body asks
 * mdfs_mediate_all(fs) where the two modes differ.
 */
#define MDFS_TEST_MODES_KIND(suite, name, kind, opts)			\
	static void suite##__##name(struct mdfs_fs *fs);		\
	MDFS_TEST_REG_(suite##_devfuse, name, "io_uring=off", NULL,	\
		       kind, opts, suite##__##name)			\
	MDFS_TEST_REG_(suite##_uring, name, "io_uring=on", NULL,	\
		       kind, opts, suite##__##name)			\
	MDFS_TEST_REG_(suite##_devfuse_all, name, "io_uring=off",	\
		       "mediate=all", kind, opts, suite##__##name)	\
	MDFS_TEST_REG_(suite##_uring_all, name, "io_uring=on",		\
		       "mediate=all", kind, opts, suite##__##name)	\
	static void suite##__##name(struct mdfs_fs *fs)

/* a directory BACKING */
#define MDFS_TEST(suite, name, opts) \
	MDFS_TEST_KIND(suite, name, MDFS_DIR, opts)
/* an ext4 image BACKING (FIEMAP, SEEK_HOLE, punched holes) */
#define MDFS_TEST_EXT4(suite, name, opts) \
	MDFS_TEST_KIND(suite, name, MDFS_EXT4, opts)
/* only the temp dir: the body starts (and may fail to start) daemons */
#define MDFS_TEST_NOMOUNT(suite, name) \
	MDFS_TEST_KIND(suite, name, MDFS_NOMOUNT, NULL)

/* The same, over both transports and in both mediate= modes (SPEC 3.1):
 * the layout-lease suites (test_lease_*.c) */
#define MDFS_LEASE_TEST(suite, name, opts) \
	MDFS_TEST_MODES_KIND(suite, name, MDFS_DIR, opts)
#define MDFS_LEASE_TEST_EXT4(suite, name, opts) \
	MDFS_TEST_MODES_KIND(suite, name, MDFS_EXT4, opts)
#define MDFS_LEASE_TEST_NOMOUNT(suite, name) \
	MDFS_TEST_MODES_KIND(suite, name, MDFS_NOMOUNT, NULL)

void mdfs_fixture_fini(void);
void mdfs_fixture_run(const char *transport, enum mdfs_kind kind,
		      const char *opts, void (*body)(struct mdfs_fs *fs));
/* ... with @mediate ("mediate=all" or NULL) appended to every start */
void mdfs_fixture_run_mode(const char *transport, const char *mediate,
			   enum mdfs_kind kind, const char *opts,
			   void (*body)(struct mdfs_fs *fs));
/*
 * The daemon of @fs mediates every writable open (SPEC 3.1 mediate=all):
 * the last mediate= of the options it was started with (before a start:
 * of those it will be started with); false for the default, leased.
 */
bool mdfs_mediate_all(const struct mdfs_fs *fs);

/* fuse-over-io-uring is enabled in the kernel */
bool mdfs_uring_enabled(void);
/* the daemon binary: $MDFS_BIN, else the one meson built */
const char *mdfs_bin(void);
/*
 * Where the tests' temp dirs are made: $MDFS_TMPDIR, else /tmp. The
 * filesystem there is every MDFS_DIR test's BACKING, so running the suite
 * with it on a DAX filesystem runs it on DAX (scripts/test-dax.sh).
 */
const char *mdfs_tmpdir(void);

/* Make the temp dir with backing/ and mnt/ (0755) and start the guard. */
void mdfs_setup(struct mdfs_fs *fs);
/* mdfs_setup(), then mount fs->backing on fs->mnt with -o transport,opts */
void mdfs_mount(struct mdfs_fs *fs, const char *opts);
/* the same over an ext4 image loop-mounted on backing/ */
void mdfs_mount_ext4(struct mdfs_fs *fs, const char *opts);
/* ... made with @mkfs_extra (NULL-terminated) added to mkfs.ext4's args */
void mdfs_mount_ext4_mkfs(struct mdfs_fs *fs, const char *const mkfs_extra[],
			  const char *opts);
/*
 * Start the daemon on the fixture's (possibly changed) backing and mnt
 * and wait until the mount is in /proc/self/mountinfo; fails the test with
 * the daemon's log if it exits first or does not mount in MDFS_WAIT_MS.
 * @flags: extra command line flags such as "-s", NULL-terminated, or NULL.
 * The options are fs->transport, @opts and fs->mediate, in this order.
 */
void mdfs_start(struct mdfs_fs *fs, const char *const flags[],
		const char *opts);
/*
 * Send @sig (0: none, it was sent already) to the daemon and wait for it
 * (and its wrapper) to exit (fails the test after MDFS_WAIT_MS). Leaves
 * the mount as the daemon left it.
 * @return the daemon's wait status
 */
int mdfs_stop(struct mdfs_fs *fs, int sig);
/* The daemon itself: fs->pid, or the wrapper's one child (0: none) */
pid_t mdfs_daemon_pid(const struct mdfs_fs *fs);
/* The last @len-1 bytes of @path (a daemon's log), for failure messages */
const char *mdfs_file_tail(const char *path, char *buf, size_t len);
/*
 * Tear everything down: lazy unmount, SIGTERM then SIGKILL the daemon,
 * lazy unmount of an ext4 backing, rm -rf of the temp dir. Idempotent.
 */
void mdfs_umount(struct mdfs_fs *fs);

/*
 * Run the daemon with @args (after the binary name, NULL-terminated) in
 * the fixture's temp dir, expecting it to exit without mounting: capture
 * its exit status, stdout and stderr. Fails the test if it runs longer
 * than MDFS_WAIT_MS or if anything gets mounted under the temp dir.
 */
void mdfs_run_daemon(struct mdfs_fs *fs, const char *const args[],
		     struct mdfs_result *res);

/*
 * Find the mount on @mountpoint in /proc/self/mountinfo (the last one if
 * stacked); @fstype and @source, if not NULL, get its fields.
 * @return true if mounted
 */
bool mdfs_mountinfo(const char *mountpoint, char *fstype, size_t fstype_len,
		    char *source, size_t source_len);
/* @mountpoint is mounted with fstype fuse.mapdirectfs */
bool mdfs_is_mounted(const char *mountpoint);

/*
 * Run @fn(@arg) in a forked child as @uid/@gid with no supplementary
 * groups. @fn must not use Criterion asserts: it reports by its return
 * value (0..255; MDFS_CHILD_SETUP_FAILED is taken).
 * @return the child's exit status, or -1 if it was killed by a signal
 * (or ran longer than MDFS_WAIT_MS)
 */
int mdfs_run_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg);
/* the same, keeping the caller's credentials */
int mdfs_run_child(int (*fn)(void *), void *arg);
/* mdfs_run_as() in two halves, to run several children at once */
pid_t mdfs_fork_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg);
int mdfs_wait_child(pid_t pid);
/* ... waiting up to @ms instead of MDFS_WAIT_MS */
int mdfs_wait_child_ms(pid_t pid, int ms);

/*
 * Hostile paths (issue 11). The test process's own kernel follows every
 * symlink it meets in a path, exactly as for any filesystem: a link made
 * in the mount that points outside it (an absolute target, "../..") leads
 * an open, write, rename or unlink of the test itself out of its temp
 * dir, to the machine's /etc/passwd once. Code that goes through names a
 * test made into symlinks therefore either
 * - runs jailed: mdfs_fork_jailed() forks a child chroot()ed into fs->mnt
 *   (before it drops to @uid/@gid, -1: ours) with no fd of ours, so that
 *   every path it resolves, through any link or "..", stays beneath the
 *   mount while it still probes the daemon with them; reap it with
 *   mdfs_wait_child*(); or
 * - opens with mdfs_openat_beneath(): openat2() of @rel resolved as if
 *   @rootfd were "/" (RESOLVE_IN_ROOT), magic links refused; -1 and errno.
 */
pid_t mdfs_fork_jailed(struct mdfs_fs *fs, uid_t uid, gid_t gid,
		       int (*fn)(void *), void *arg);
int mdfs_openat_beneath(int rootfd, const char *rel, int flags, mode_t mode);
/*
 * Fail the test if the canary that mdfs_setup() plants in fs->tmp, beside
 * BACKING and MOUNTPOINT, was changed. The fixture checks it after every
 * body, and teardown reports to $MDFS_WORLD_LOG (scripts/run-tests.sh)
 * what a crashed test left changed.
 */
void mdfs_assert_world_intact(struct mdfs_fs *fs);

/*
 * Agents: long-lived children that run functions of this test on request,
 * one at a time, so that a test can drive several processes (lease
 * holders, breakers) step by step and see which of them is blocked.
 * An agent is forked from the test process (the same code and addresses),
 * closes every inherited fd but its two pipes, gets SIGKILL when the test
 * process dies, and is killed and reaped by the fixture's teardown even
 * when an assertion ends the test early. Its signal mask is empty and its
 * dispositions the defaults; it dumps no core.
 */
#define MDFS_AGENT_BUF 2048
#define MDFS_MAX_AGENTS 16

/*
 * Runs in the agent on a copy of the request's buffer (MDFS_AGENT_BUF
 * bytes, also the reply's); errno after it returns goes back with the
 * result. It must not use Criterion asserts.
 */
typedef long (*mdfs_agent_fn)(void *buf);

struct mdfs_agent {
	pid_t pid;
	int pidfd;
	int req;		/* our end of the request pipe */
	int rep;		/* our end of the reply pipe */
	bool busy;		/* a request is out, its reply not read yet */
	bool reaped;		/* exited and waited for: see status */
	int status;		/* wait status once reaped */
};

/* Start an agent as @uid/@gid (no supplementary groups); -1: ours. */
struct mdfs_agent *mdfs_agent_start(uid_t uid, gid_t gid);
/* Hand @fn a copy of @len bytes of @in; does not wait. */
void mdfs_agent_send(struct mdfs_agent *a, mdfs_agent_fn fn, const void *in,
		     size_t len);
/* The reply to the request out, or the agent's end, came within @ms. */
bool mdfs_agent_replied(struct mdfs_agent *a, int ms);
/*
 * Wait (up to MDFS_WAIT_MS) for the reply; fails the test if the agent
 * dies or does not answer. @err gets the errno, @out the first @len bytes
 * of the buffer (either may be NULL).
 * @return what the function returned
 */
long mdfs_agent_recv(struct mdfs_agent *a, int *err, void *out, size_t len);
/* send, then recv into @buf (in and out) */
long mdfs_agent_call(struct mdfs_agent *a, mdfs_agent_fn fn, void *buf,
		     size_t len, int *err);
/* Send @sig to the agent. */
void mdfs_agent_kill(struct mdfs_agent *a, int sig);
/*
 * Wait up to @ms for the agent to end and reap it (without killing it).
 * @return its wait status, or -1 if it is still running
 */
int mdfs_agent_wait_exit(struct mdfs_agent *a, int ms);
/* "exit 3", "signal 7 (Bus error)"; -1: "still running, killed" */
const char *mdfs_describe_status(int st, char *buf, size_t len);

/*
 * Layout-lease helpers, in test_lease_util.c (SPEC 4): one operation per
 * struct lop, run in this process (agent NULL) or in an agent.
 */
enum lop_code {
	LOP_OPEN = 1,	/* path, a = flags, b = mode: fd */
	LOP_CLOSE,	/* fd */
	LOP_LEASE,	/* fd, a = flags, b = signal: lease id */
	LOP_UNLEASE,	/* fd, a = lease id */
	LOP_GETLEASE,	/* fd: 0, out info */
	LOP_MMAP,	/* fd, a = length: the address */
	LOP_MUNMAP,	/* a = address, b = length */
	LOP_LOAD,	/* a = address, b = offset: the byte */
	LOP_STORE,	/* a = address, b = offset, c = byte */
	LOP_POLL,	/* fd, a = events, b = timeout ms: revents, 0 */
	LOP_SIGBLOCK,	/* a = signal: block it */
	LOP_SIGHANDLER,	/* a = signal: a no-op handler, no SA_RESTART */
	LOP_SIGWAIT,	/* a = signal, b = timeout ms: signo, out si_* */
	LOP_SIGPENDING,	/* a = signal: 1 if pending, else 0 */
	LOP_PWRITE,	/* fd, a = offset, b = byte, c = length: bytes */
	LOP_WRITE,	/* fd, b = byte, c = length: bytes */
	LOP_WRITEV,	/* fd, b = byte, c = length (two iovecs): bytes */
	LOP_PREAD,	/* fd, a = offset, c = length: bytes, out byte */
	LOP_FALLOCATE,	/* fd, a = mode, b = offset, c = length */
	LOP_FTRUNCATE,	/* fd, a = size */
	LOP_TRUNCATE,	/* path, a = size */
	LOP_COPY,	/* fd2 -> fd, a = off in fd2, b = off in fd, c = len */
	LOP_SETFL,	/* fd, a = F_SETFL flags */
	LOP_DUP,	/* fd: a new fd on the same open file */
	LOP_EPOLLPRI,	/* fd, b = timeout ms: epoll events, 0 */
	LOP_SELECTPRI,	/* fd, b = timeout ms: 1 if in exceptfds, 0 */
	LOP_EXIT,	/* _exit(a) (agents only) */
};

struct lop {
	enum lop_code code;
	int fd, fd2;
	long long a, b, c;
	char path[256];
	/* out */
	long long ret;		/* result, or -errno */
	long long ms;		/* how long the call took */
	int byte;		/* LOP_PREAD: first byte read */
	int sig_no, sig_code, sig_value;	/* LOP_SIGWAIT */
	struct mapdirect_lease_info info;	/* LOP_GETLEASE; LOP_LEASE:
						 * out_flags */
};

/* Run @o in @a (NULL: here), fill its out fields. @return o->ret */
long long lop_run(struct mdfs_agent *a, struct lop *o);
/* lop_run of a copy */
long long lop_do(struct mdfs_agent *a, struct lop o);
/* lop_run in halves: send to the agent, then wait for its result */
void lop_send(struct mdfs_agent *a, const struct lop *o);
long long lop_recv(struct mdfs_agent *a, struct lop *o);

/* Assert that @o succeeds (ret >= 0) in @a; its result. */
#define LOP_OK(a, o)							\
	({								\
		long long r_ = lop_do(a, o);				\
		cr_assert_geq(r_, 0, "%s in %s: %s", #o,		\
			      (a) ? "agent" : "test process",		\
			      strerror((int)-r_));			\
		r_;							\
	})

struct lop op_open(const char *path, int flags);
struct lop op_close(int fd);
struct lop op_lease(int fd, unsigned int flags, unsigned int sig);
struct lop op_unlease(int fd, unsigned long long id);
struct lop op_mmap(int fd, size_t len);
struct lop op_munmap(long long addr, size_t len);
struct lop op_load(long long addr, size_t off);
struct lop op_store(long long addr, size_t off, int byte);
struct lop op_pollpri(int fd, int ms);
struct lop op_sigblock(int sig);
struct lop op_sighandler(int sig);
struct lop op_sigwait(int sig, int ms);
struct lop op_sigpending(int sig);
struct lop op_pwrite(int fd, off_t off, int byte, size_t len);
struct lop op_write(int fd, int byte, size_t len);
struct lop op_writev(int fd, int byte, size_t len);
struct lop op_pread(int fd, off_t off, size_t len);
struct lop op_fallocate(int fd, int mode, off_t off, off_t len);
struct lop op_ftruncate(int fd, off_t size);
struct lop op_truncate(const char *path, off_t size);
struct lop op_copy(int fd_in, off_t off_in, int fd_out, off_t off_out,
		   size_t len);
struct lop op_setfl(int fd, int flags);
struct lop op_dup(int fd);
struct lop op_epollpri(int fd, int ms);
struct lop op_selectpri(int fd, int ms);
struct lop op_exit(int code);

/* The first hole of the backing file @rel at or after 0 (its size: none) */
off_t lease_backing_hole(struct mdfs_fs *fs, const char *rel);
/* Any FIEMAP extent of the backing file @rel flagged @flag? */
bool lease_extent_flag(struct mdfs_fs *fs, const char *rel, unsigned int flag);
/* MAPDIRECT_IOC_GETLEASE on @fd in @a (NULL: here), asserting success */
void lease_info(struct mdfs_agent *a, int fd, struct mapdirect_lease_info *i);
/*
 * Poll GETLEASE on @fd (this process) for up to @ms until the file's
 * state is @state and, unless @holders < 0, it has @holders leases.
 * @return whether it got there; @last (may be NULL) the last answer
 */
bool lease_wait(int fd, unsigned int state, int holders, int ms,
		struct mapdirect_lease_info *last);
/* lease_wait() that fails the test with what it saw last */
#define assert_lease_becomes(fd, st_, nh_, ms)				\
	do {								\
		struct mapdirect_lease_info li_;			\
		cr_assert(lease_wait(fd, st_, nh_, ms, &li_),		\
			  "lease state %u holders %u after %d ms, "	\
			  "expected state %u holders %d", li_.state,	\
			  li_.holders, (int)(ms), (unsigned int)(st_),	\
			  (int)(nh_));					\
	} while (0)
/*
 * The agent's request (a struct lop) is still unanswered after @ms: it is
 * blocked. Else fails the test with what it returned.
 */
void lease_assert_blocked(struct mdfs_agent *a, int ms, const char *what);
/*
 * With the daemon started with -d, libfuse logs each request as it takes
 * it, before it is handled ("opcode: WRITE (16), ..., pid: N"): the number
 * of @op requests (from @pid, if > 0) in the log so far.
 */
int lease_log_count(struct mdfs_fs *fs, const char *op, pid_t pid);
/* Wait up to @ms for lease_log_count() to reach @n, failing the test */
void lease_log_wait(struct mdfs_fs *fs, const char *op, pid_t pid, int n,
		    int ms);
/* A holder: an agent with a file open O_RDWR and leased through it */
struct lease_holder {
	struct mdfs_agent *a;	/* started by lease_hold() if NULL */
	int fd;
	long long id;
};

/* Open @rel in @h's agent and lease it; @sig (if not 0) is blocked there */
void lease_hold(struct mdfs_fs *fs, struct lease_holder *h, const char *rel,
		unsigned int flags, int sig);
/* The holder's leased fd polls POLLPRI within @ms */
void lease_assert_pollpri(struct lease_holder *h, int ms);
/* ... or does not, now */
void lease_assert_no_pollpri(struct lease_holder *h);
/* A fully written backing file @rel of @len bytes of @byte: leasable */
void lease_file(struct mdfs_fs *fs, const char *rel, size_t len, int byte);
/* a file of @len bytes that is one hole, made in BACKING */
void lease_hole_file(struct mdfs_fs *fs, const char *rel, off_t len);
/* An O_RDONLY fd on @rel in the mount, in this process, for GETLEASE */
int lease_obs(struct mdfs_fs *fs, const char *rel);
/* Assert that the backing file @rel holds @len bytes of @byte at @off */
void lease_assert_backing(struct mdfs_fs *fs, const char *rel, off_t off,
			  size_t len, int byte);
off_t lease_backing_size(struct mdfs_fs *fs, const char *rel);
/*
 * SIGTERM the daemon and assert it exits 0 and unmounts (SPEC 2). Under
 * ASan this is where the daemon's leaks and errors show (run-tests.sh
 * makes them fail its exit): the message carries the log's tail.
 */
void lease_stop_clean(struct mdfs_fs *fs);
/* getxattr @name of @path, asserting; a static string */
const char *lease_xattr(const char *path, const char *name);
/* The value of @key in the mount's user.mapdirect.stats, asserting */
long long lease_stat(struct mdfs_fs *fs, const char *key);
/*
 * LEASE on @fd in @a, retried on EAGAIN for up to @ms: for a lease that
 * waits for a close(2), whose RELEASE the kernel sends in the background.
 * @return the last result (lease id or -errno)
 */
long long lease_retry(struct mdfs_agent *a, int fd, unsigned int flags,
		      unsigned int sig, int ms);
/*
 * SPEC 3.1: user.mapdirect.eligible of @rel says a process that holds no
 * lease, @pid, has it open for writing, unmediated
 */
void lease_assert_eligible_writer(struct mdfs_fs *fs, const char *rel,
				  pid_t pid);
/* Milliseconds of CLOCK_MONOTONIC */
long long mdfs_now_ms(void);
/* Wait up to @ms for the process behind @pidfd to exit: true if it did */
bool mdfs_pidfd_wait(int pidfd, int ms);

/*
 * Paths: mdfs_bpath(fs, "d/%d", i) is fs->backing/d/<i>, mdfs_mpath() the
 * same under fs->mnt, mdfs_tpath() under fs->tmp. The result lives in a
 * ring of 32 static buffers: use it before 32 more calls.
 */
const char *mdfs_bpath(const struct mdfs_fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *mdfs_mpath(const struct mdfs_fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *mdfs_tpath(const struct mdfs_fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* snprintf() into a PATH_MAX buffer, failing the test if it is too long */
void mdfs_pathf(char *dst, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Deterministic pseudo-random bytes, different per @seed */
void mdfs_fill(void *buf, size_t len, unsigned int seed);
/* Create/truncate @path (mode 0644) and write @len bytes, asserting */
void mdfs_write_file(const char *path, const void *buf, size_t len);
/* Read all of @path into a malloc()ed buffer (NUL-terminated) */
void *mdfs_read_file(const char *path, size_t *len);
/* Assert that @a and @b have the same size and bytes */
void mdfs_assert_same_file(const char *a, const char *b);
/* Assert that @path holds exactly @len bytes equal to @buf */
void mdfs_assert_file_is(const char *path, const void *buf, size_t len);
/* Write all of @buf at @off with pwrite(), asserting */
void mdfs_pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* lstat() that asserts success */
struct stat mdfs_lstat(const char *path);
/* Zeroed MAP_SHARED anonymous memory, to get results out of a child */
void *mdfs_shared(size_t len);
/* Run a command (argv[0] looked up in PATH), asserting exit status 0 */
void mdfs_cmd(struct mdfs_fs *fs, const char *const argv[]);

#endif /* MDFS_HARNESS_H */
