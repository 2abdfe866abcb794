/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness.h - fixtures for the mapdirectfs integration tests
 *
 * Every test gets its own temp dir /tmp/mdfs-test.XXXXXX holding backing/,
 * mnt/ and the daemon's log, and a mapdirectfs daemon serving backing/ on
 * mnt/. Teardown (the Criterion .fini) unmounts, reaps the daemon and
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
	Test(suite##_devfuse, name, .fini = mdfs_fixture_fini,		\
	     .timeout = MDFS_TEST_TIMEOUT)				\
	{								\
		mdfs_fixture_run("io_uring=off", kind, opts,		\
				 suite##__##name);			\
	}								\
	Test(suite##_uring, name, .fini = mdfs_fixture_fini,		\
	     .timeout = MDFS_TEST_TIMEOUT)				\
	{								\
		mdfs_fixture_run("io_uring=on", kind, opts,		\
				 suite##__##name);			\
	}								\
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

void mdfs_fixture_fini(void);
void mdfs_fixture_run(const char *transport, enum mdfs_kind kind,
		      const char *opts, void (*body)(struct mdfs_fs *fs));

/* fuse-over-io-uring is enabled in the kernel */
bool mdfs_uring_enabled(void);
/* the daemon binary: $MDFS_BIN, else the one meson built */
const char *mdfs_bin(void);

/* Make the temp dir with backing/ and mnt/ (0755) and start the guard. */
void mdfs_setup(struct mdfs_fs *fs);
/* mdfs_setup(), then mount fs->backing on fs->mnt with -o transport,opts */
void mdfs_mount(struct mdfs_fs *fs, const char *opts);
/* the same over an ext4 image loop-mounted on backing/ */
void mdfs_mount_ext4(struct mdfs_fs *fs, const char *opts);
/*
 * Start the daemon on the fixture's (possibly changed) backing and mnt
 * and wait until the mount is in /proc/self/mountinfo; fails the test with
 * the daemon's log if it exits first or does not mount in MDFS_WAIT_MS.
 * @flags: extra command line flags such as "-s", NULL-terminated, or NULL.
 */
void mdfs_start(struct mdfs_fs *fs, const char *const flags[],
		const char *opts);
/*
 * Send @sig to the daemon and wait for it to exit (fails the test after
 * MDFS_WAIT_MS). Leaves the mount as the daemon left it.
 * @return the daemon's wait status
 */
int mdfs_stop(struct mdfs_fs *fs, int sig);
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
