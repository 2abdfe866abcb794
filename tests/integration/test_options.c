// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 2 mounting: bad command lines fail with exactly one stderr line
 * starting "mapdirectfs: ", a non-zero exit, and nothing mounted; valid
 * options mount; SIGTERM/SIGINT unmount and exit 0.
 */
#include "harness.h"

#include <stdlib.h>
#include "dax_truth.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void assert_one_line_error(const struct mdfs_result *r,
				  const char *what)
{
	const char *nl = strchr(r->err, '\n');

	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) != 0,
		  "%s: wait status 0x%x, expected a non-zero exit; stderr:\n%s",
		  what, r->status, r->err);
	cr_assert(strncmp(r->err, "mapdirectfs: ", 13) == 0,
		  "%s: stderr does not start with \"mapdirectfs: \":\n%s",
		  what, r->err);
	cr_assert(nl && nl[1] == '\0',
		  "%s: stderr is not exactly one line:\n%s", what, r->err);
}

/* Run the daemon on @backing @mnt with -o transport,@opt; expect failure */
static void expect_refusal(struct mdfs_fs *fs, const char *opt,
			   const char *backing, const char *mnt,
			   const char *what)
{
	struct mdfs_result r;
	char o[512];

	snprintf(o, sizeof(o), "%s%s%s", fs->transport, opt ? "," : "",
		 opt ? opt : "");
	mdfs_run_daemon(fs, (const char *const[]){ "-f", "-o", o, backing, mnt,
						   NULL }, &r);
	assert_one_line_error(&r, what);
}

#define BAD_OPTION(name, opt)						\
	MDFS_TEST_NOMOUNT(options, name)				\
	{								\
		expect_refusal(fs, opt, fs->backing, fs->mnt, opt);	\
	}

BAD_OPTION(unknown_option, "frobnicate")
BAD_OPTION(unknown_option_with_value, "frobnicate=1")
BAD_OPTION(malformed_lease_break_time, "lease_break_time=abc")
BAD_OPTION(empty_lease_break_time, "lease_break_time=")
BAD_OPTION(malformed_revoke, "revoke=maybe")
BAD_OPTION(malformed_dax, "dax=yes")
BAD_OPTION(malformed_io_uring, "io_uring=sometimes")
BAD_OPTION(malformed_passthrough, "passthrough=2")
BAD_OPTION(malformed_mediate, "mediate=x")
BAD_OPTION(malformed_sandbox, "sandbox=yes")
/* libfuse's numeric options (issue 13, finding 8): libfuse's "%u" took
 * every one of these silently, and io_uring_q_depth=0 mounted a
 * filesystem that never answered */
BAD_OPTION(max_threads_zero, "max_threads=0")
BAD_OPTION(max_threads_negative, "max_threads=-5")
BAD_OPTION(max_threads_overflow, "max_threads=99999999999")
BAD_OPTION(max_threads_too_many, "max_threads=1025")
BAD_OPTION(max_threads_trailing, "max_threads=8abc")
BAD_OPTION(max_threads_empty, "max_threads=")
BAD_OPTION(max_idle_threads_zero, "max_idle_threads=0")
BAD_OPTION(max_idle_threads_negative, "max_idle_threads=-2")
BAD_OPTION(max_idle_threads_overflow, "max_idle_threads=4294967296")
BAD_OPTION(io_uring_q_depth_zero, "io_uring_q_depth=0")
BAD_OPTION(io_uring_q_depth_negative, "io_uring_q_depth=-1")
BAD_OPTION(io_uring_q_depth_too_deep, "io_uring_q_depth=1025")
BAD_OPTION(max_read_zero, "max_read=0")
BAD_OPTION(max_read_small, "max_read=4095")
BAD_OPTION(max_read_huge, "max_read=99999999999")

/* libfuse reads the queue depth from the environment too */
MDFS_TEST_NOMOUNT(options, uring_queue_depth_env_zero)
{
	cr_assert_eq(setenv("FUSE_URING_QUEUE_DEPTH", "0", 1), 0);
	expect_refusal(fs, NULL, fs->backing, fs->mnt,
		       "FUSE_URING_QUEUE_DEPTH=0");
}

MDFS_TEST_NOMOUNT(options, missing_backing)
{
	expect_refusal(fs, NULL, mdfs_tpath(fs, "nonexistent"), fs->mnt,
		       "missing BACKING");
}

MDFS_TEST_NOMOUNT(options, backing_is_a_file)
{
	mdfs_write_file(mdfs_tpath(fs, "file"), "x", 1);
	expect_refusal(fs, NULL, mdfs_tpath(fs, "file"), fs->mnt,
		       "BACKING a regular file");
}

MDFS_TEST_NOMOUNT(options, mountpoint_inside_backing)
{
	cr_assert_eq(mkdir(mdfs_bpath(fs, "sub"), 0755), 0);
	expect_refusal(fs, NULL, fs->backing, mdfs_bpath(fs, "sub"),
		       "MOUNTPOINT inside BACKING");
	cr_assert_eq(mkdir(mdfs_bpath(fs, "sub/deeper"), 0755), 0);
	expect_refusal(fs, NULL, fs->backing, mdfs_bpath(fs, "sub/deeper"),
		       "MOUNTPOINT deep inside BACKING");
	expect_refusal(fs, NULL, fs->backing, fs->backing,
		       "MOUNTPOINT is BACKING");
}

/* io_uring=on: refused where the kernel has it off, mounts where on */
MDFS_TEST_NOMOUNT(options, io_uring_on_follows_kernel)
{
	fs->transport = NULL;
	if (!mdfs_uring_enabled()) {
		fs->transport = "io_uring=on";
		expect_refusal(fs, NULL, fs->backing, fs->mnt,
			       "io_uring=on with enable_uring=N");
		return;
	}
	mdfs_start(fs, NULL, "io_uring=on");
	cr_assert(mdfs_is_mounted(fs->mnt));
}

/* for a restart: the exit status is sigterm_unmounts_and_exits_0's */
static void stop_ok(struct mdfs_fs *fs)
{
	mdfs_stop(fs, SIGTERM);
	cr_assert_not(mdfs_mountinfo(fs->mnt, NULL, 0, NULL, 0),
		      "still mounted after SIGTERM");
}

static void assert_serves(struct mdfs_fs *fs)
{
	char type[64], source[PATH_MAX];

	cr_assert(mdfs_mountinfo(fs->mnt, type, sizeof(type), source,
				 sizeof(source)));
	cr_assert_str_eq(type, "fuse.mapdirectfs");
	cr_assert_str_eq(source, fs->backing,
			 "mountinfo source \"%s\", expected BACKING \"%s\"",
			 source, fs->backing);
	mdfs_write_file(mdfs_mpath(fs, "f"), "served", 6);
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), "served", 6);
}

/*
 * dax=require (SPEC 2) is met exactly where a new file in BACKING is DAX,
 * as the machine says (dax_truth.h): it mounts there, and is refused with
 * one line elsewhere (test_dax.c has both halves on a DAX machine).
 */
MDFS_TEST_NOMOUNT(options, dax_require_follows_backing)
{
	if (!mdfs_dir_is_dax(fs->backing)) {
		expect_refusal(fs, "dax=require", fs->backing, fs->mnt,
			       "dax=require on a backing that is not DAX");
		return;
	}
	mdfs_start(fs, NULL, "dax=require");
	cr_assert(strstr(lease_xattr(fs->mnt, "user.mapdirect.config"),
			 "\ndax_active=1\n"), "config: %s",
		  lease_xattr(fs->mnt, "user.mapdirect.config"));
	assert_serves(fs);
}

MDFS_TEST_NOMOUNT(options, valid_own_options_mount)
{
	mdfs_start(fs, NULL, "lease_break_time=0.5,revoke=kill,dax=off,"
		   "passthrough=on,mediate=all");
	assert_serves(fs);
}

MDFS_TEST_NOMOUNT(options, other_valid_values_mount)
{
	mdfs_start(fs, NULL, "lease_break_time=0,revoke=none,dax=auto,"
		   "passthrough=auto,mediate=leased");
	assert_serves(fs);
	/* the config xattr says what is in effect */
	cr_assert(strstr(lease_xattr(fs->mnt, "user.mapdirect.config"),
			 "\npassthrough_active=1\nmediate_active=leased\n"));
	stop_ok(fs);
	mdfs_start(fs, NULL, "lease_break_time=45,revoke=signal,"
		   "passthrough=off");
	assert_serves(fs);
	cr_assert(strstr(lease_xattr(fs->mnt, "user.mapdirect.config"),
			 "\npassthrough_active=0\nmediate_active=all\n"),
		  "config without passthrough: %s",
		  lease_xattr(fs->mnt, "user.mapdirect.config"));
}

MDFS_TEST_NOMOUNT(options, standard_fuse_options_work)
{
	mdfs_start(fs, (const char *const[]){ "-s", NULL },
		   "allow_other,default_permissions");
	assert_serves(fs);
	stop_ok(fs);
	mdfs_start(fs, (const char *const[]){ "-d", NULL }, NULL);
	assert_serves(fs);
}

static void stop_unmounts(struct mdfs_fs *fs, int sig)
{
	int fd, st;

	/* a file open through the mount must not keep it mounted */
	fd = open(mdfs_mpath(fs, "busy"), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	st = mdfs_stop(fs, sig);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "wait status 0x%x after signal %d, expected exit 0", st, sig);
	cr_assert_not(mdfs_mountinfo(fs->mnt, NULL, 0, NULL, 0),
		      "still mounted after the daemon exited");
	close(fd);
}

MDFS_TEST(options, sigterm_unmounts_and_exits_0, NULL)
{
	stop_unmounts(fs, SIGTERM);
}

MDFS_TEST(options, sigint_unmounts_and_exits_0, NULL)
{
	stop_unmounts(fs, SIGINT);
}

/* the bounds themselves are accepted, and the mount serves */
MDFS_TEST_NOMOUNT(options, numeric_fuse_options_at_bounds_mount)
{
	mdfs_start(fs, NULL, "max_threads=1,max_idle_threads=1,"
		   "io_uring_q_depth=1,max_read=4096");
	assert_serves(fs);
	stop_ok(fs);
	mdfs_start(fs, NULL, "max_threads=1024,max_idle_threads=-1,"
		   "io_uring_q_depth=1024,max_read=1048576");
	assert_serves(fs);
}

/*
 * SPEC 2: "A mount that succeeds prints nothing (as mount(8) and every
 * fuse3 filesystem)". In the background (no -f) the daemon's parent exits
 * 0 once INIT went through, having printed nothing; its messages go to
 * syslog from then on. The mount used to announce itself on stderr.
 */
MDFS_TEST_NOMOUNT(options, background_mount_prints_nothing)
{
	char log[PATH_MAX], *out;
	size_t len;

	mdfs_cmd(fs, (const char *const[]){ mdfs_bin(), "-o",
					    fs->transport, fs->backing,
					    fs->mnt, NULL });
	cr_assert(mdfs_is_mounted(fs->mnt), "not mounted after the parent "
		  "exited 0");
	mdfs_pathf(log, "%s/cmd.log", fs->tmp);
	out = mdfs_read_file(log, &len);
	cr_assert_eq(len, 0, "a mount that succeeded printed: %s", out);
	free(out);
	/* unmounted, the daemon ends by itself */
	mdfs_cmd(fs, (const char *const[]){ "umount", fs->mnt, NULL });
}
