// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mapdirectfs: option parsing, start-up checks, the session and its loop.
 * The operations live in ops_*.c; everything not FUSE lives in core/.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buildconf.h"
#include "caps.h"
#include "dax.h"
#include "log.h"
#include "mdfs.h"

struct mdfs mdfs = {
	.ready_fd = -1,
	.table_lock = PTHREAD_MUTEX_INITIALIZER,
	.timeout = 1.0,
	.root = { .fd = -1 },
};

static const struct fuse_lowlevel_ops mdfs_ops = {
	.init			= NULL,	/* set in main(): needs the session */
	.lookup			= mdfs_lookup,
	.forget			= mdfs_forget,
	.forget_multi		= mdfs_forget_multi,
	.getattr		= mdfs_getattr,
	.setattr		= mdfs_setattr,
	.readlink		= mdfs_readlink,
	.mknod			= mdfs_mknod,
	.mkdir			= mdfs_mkdir,
	.symlink		= mdfs_symlink,
	.link			= mdfs_link,
	.unlink			= mdfs_unlink,
	.rmdir			= mdfs_rmdir,
	.rename			= mdfs_rename,
	.statfs			= mdfs_statfs,
	.setxattr		= mdfs_setxattr,
	.getxattr		= mdfs_getxattr,
	.listxattr		= mdfs_listxattr,
	.removexattr		= mdfs_removexattr,
	.opendir		= mdfs_opendir,
	.readdir		= mdfs_readdir,
	.readdirplus		= mdfs_readdirplus,
	.releasedir		= mdfs_releasedir,
	.fsyncdir		= mdfs_fsyncdir,
	.open			= mdfs_open,
	.create			= mdfs_create,
	.read			= mdfs_read,
	.write_buf		= mdfs_write_buf,
	.flush			= mdfs_flush,
	.release		= mdfs_release,
	.fsync			= mdfs_fsync,
	.fallocate		= mdfs_fallocate,
	.copy_file_range	= mdfs_copy_file_range,
	.lseek			= mdfs_lseek,
	.ioctl			= mdfs_ioctl,
	.poll			= mdfs_poll,
};

/* ---- logging: one line, one prefix, stderr until daemonized ---- */

static bool log_to_syslog;

static void emit_line(int priority, const char *line)
{
	if (log_to_syslog)
		syslog(priority, "%s", line);
	else
		fprintf(stderr, "mapdirectfs: %s\n", line);
}

/* libfuse logs some lines in pieces: assemble them per thread. */
static void log_vprintf(int priority, const char *fmt, va_list ap)
{
	static __thread char line[1024];
	static __thread size_t len;
	char *nl;

	vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	len = strnlen(line, sizeof(line) - 1);
	while ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		emit_line(priority, line);
		len -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, len + 1);
	}
	if (len == sizeof(line) - 1) {
		emit_line(priority, line);
		len = 0;
		line[0] = '\0';
	}
}

static void fuse_log_sink(enum fuse_log_level level, const char *fmt,
			  va_list ap)
{
	if ((int)level > md_log_ctx.priority)
		return;
	log_vprintf((int)level, fmt, ap);
}

/* ---- options ---- */

enum { KEY_OURS, KEY_IO_URING_BARE, KEY_FUSE_NUM, KEY_HELP, KEY_VERSION };

struct cmdline {
	char *backing;
	int nonopts;
	bool bad;
};

static const struct fuse_opt mdfs_opts[] = {
	FUSE_OPT_KEY("lease_break_time=", KEY_OURS),
	FUSE_OPT_KEY("revoke=", KEY_OURS),
	FUSE_OPT_KEY("dax=", KEY_OURS),
	FUSE_OPT_KEY("io_uring=", KEY_OURS),
	FUSE_OPT_KEY("io_uring", KEY_IO_URING_BARE),
	FUSE_OPT_KEY("passthrough=", KEY_OURS),
	FUSE_OPT_KEY("mediate=", KEY_OURS),
	FUSE_OPT_KEY("sandbox=", KEY_OURS),
	/* libfuse's own, checked here and passed on (md_fuse_opt_check) */
	FUSE_OPT_KEY("max_threads=", KEY_FUSE_NUM),
	FUSE_OPT_KEY("max_idle_threads=", KEY_FUSE_NUM),
	FUSE_OPT_KEY("io_uring_q_depth=", KEY_FUSE_NUM),
	FUSE_OPT_KEY("max_read=", KEY_FUSE_NUM),
	FUSE_OPT_END
};

static const char *expected_values(const char *opt)
{
	if (!strncmp(opt, "lease_break_time=", 17))
		return "seconds from 0 to 86400, to the millisecond, e.g. 45 "
		       "or 0.5";
	if (!strncmp(opt, "revoke=", 7))
		return "signal|kill|none";
	if (!strncmp(opt, "dax=", 4))
		return "auto|require|off";
	if (!strncmp(opt, "mediate=", 8))
		return "leased|all";
	return "auto|on|off";
}

static unsigned int mount_max_read;	/* max_read=, 0 if not given */

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cmdline *cl = data;
	const char *expected;

	switch (key) {
	case KEY_OURS:
		if (md_config_set(&mdfs.cfg, arg)) {
			md_err("bad option '%s' (expected %s)\n", arg,
			       expected_values(arg));
			cl->bad = true;
			return -1;
		}
		return 0;
	case KEY_IO_URING_BARE:
		mdfs.cfg.io_uring = MD_ON;
		return 0;
	case KEY_FUSE_NUM:
		if (md_fuse_opt_check(arg, &expected)) {
			md_err("bad option '%s' (expected %s)\n", arg,
			       expected);
			cl->bad = true;
			return -1;
		}
		/* libfuse refuses an INIT whose conn->max_read differs from
		 * the mount's: mdfs_init() repeats it */
		if (!strncmp(arg, "max_read=", 9))
			mount_max_read = (unsigned int)strtoul(arg + 9, NULL,
							       10);
		return 1;	/* libfuse's: keep it */
	case FUSE_OPT_KEY_NONOPT:
		if (cl->nonopts++ == 0) {
			cl->backing = strdup(arg);
			return cl->backing ? 0 : -1;
		}
		if (cl->nonopts == 2)
			return 1;	/* the mount point, for libfuse */
		md_err("too many arguments: '%s'\n", arg);
		cl->bad = true;
		return -1;
	default:
		return 1;
	}
}

static void usage(const char *prog)
{
	printf("usage: %s [options] BACKING MOUNTPOINT\n\n"
	       "Mount a view of BACKING with layout leases (MAP_DIRECT).\n\n"
	       "mapdirectfs options (default first):\n"
	       "    -o lease_break_time=SECS  grace period of a lease break, 0 to"
	       " 86400,\n"
	       "                              to the ms (0 = revoke at once;"
	       " default\n"
	       "                              /proc/sys/fs/lease-break-time)\n"
	       "    -o revoke=signal|kill|none  what a holder gets after the"
	       " grace period\n"
	       "    -o dax=auto|require|off   require a DAX backing\n"
	       "    -o io_uring=auto|on|off   FUSE transport over io_uring"
	       " (libfuse's\n"
	       "                              -o io_uring below is io_uring=on)\n"
	       "    -o passthrough=auto|on|off  mmap maps the backing file\n"
	       "    -o mediate=leased|all     which writable opens the daemon"
	       " mediates\n"
	       "    -o sandbox=auto|on|off    confine the daemon: a mount"
	       " namespace with\n"
	       "                              only BACKING, a seccomp"
	       " allow-list (auto:\n"
	       "                              where it has CAP_SYS_ADMIN)\n\n"
	       "libfuse's numeric options are range-checked:\n"
	       "    -o max_threads=N          1 to 1024 (default 10)\n"
	       "    -o max_idle_threads=N     -1 (default: no limit) or 1 to"
	       " 1024\n"
	       "    -o io_uring_q_depth=N     1 to 1024 per CPU queue (default"
	       " 16; each entry\n"
	       "                              holds a ~1 MiB buffer; half of"
	       " them may\n"
	       "                              hold waiting breakers); also"
	       " from\n"
	       "                              $FUSE_URING_QUEUE_DEPTH\n"
	       "    -o max_read=BYTES         4096 to 1048576\n\n", prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* ---- start-up checks ---- */

/* libfuse also takes the io_uring queue depth from the environment */
static int check_fuse_env(void)
{
	const char *v = getenv("FUSE_URING_QUEUE_DEPTH");
	const char *expected = "an integer from 1 to 1024";
	char opt[64];

	if (!v)
		return 0;
	snprintf(opt, sizeof(opt), "io_uring_q_depth=%s", v);
	if (strlen(v) < 32 && !md_fuse_opt_check(opt, &expected))
		return 0;
	md_err("bad environment FUSE_URING_QUEUE_DEPTH='%s' (expected %s)\n",
	       v, expected);
	return -1;
}

static int read_sys_flag(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' || c == '1';
}

/* CAP_SYS_ADMIN is what FUSE_DEV_IOC_BACKING_OPEN asks of the daemon. */
static bool have_cap_sys_admin(void)
{
	return md_caps_self(CAP_SYS_ADMIN);
}

static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (n == 1)	/* outer is "/" */
		return true;
	return !strncmp(inner, outer, n) && (inner[n] == '/' || !inner[n]);
}

static int check_backing(const char *arg, int *fdp)
{
	char real[PATH_MAX];
	int fd, dax;

	if (!realpath(arg, real)) {
		md_err("BACKING '%s': %s\n", arg, strerror(errno));
		return -1;
	}
	fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		md_err("BACKING '%s': %s\n", arg, strerror(errno));
		return -1;
	}
	mdfs.backing = strdup(real);
	if (!mdfs.backing)
		goto close_fd;
	dax = md_dax_dir_probe(fd);
	mdfs.dax_active = dax == 1;
	if (mdfs.cfg.dax == MD_ON) {
		if (dax != 1) {
			md_err("dax=require: BACKING '%s' is not DAX (%s)\n",
			       real, dax < 0 ? strerror(-dax) :
			       "files created there are not accessed with DAX");
			goto close_fd;
		}
	}
	*fdp = fd;
	return 0;

close_fd:
	close(fd);
	return -1;
}

static int choose_transport(void)
{
	int on = read_sys_flag("/sys/module/fuse/parameters/enable_uring");

	if (mdfs.cfg.io_uring == MD_ON && on != 1) {
		md_err("io_uring=on: the kernel has fuse-over-io-uring %s "
		       "(/sys/module/fuse/parameters/enable_uring)\n",
		       on < 0 ? "missing" : "disabled");
		return -1;
	}
	mdfs.io_uring = mdfs.cfg.io_uring != MD_OFF && on == 1;
	return 0;
}

/*
 * Every inode the kernel knows and every open file holds a backing fd: a
 * mount with 100k leased files needs far more than the default soft limit.
 */
static void raise_fd_limit(void)
{
	unsigned long long nr_open = 0;
	struct rlimit rl;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	/* with CAP_SYS_RESOURCE the hard limit may go up to fs.nr_open */
	f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%llu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > rl.rlim_max && md_caps_self(CAP_SYS_RESOURCE))
		rl.rlim_max = (rlim_t)nr_open;
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		md_warn("cannot raise RLIMIT_NOFILE to %llu: %m\n",
			(unsigned long long)rl.rlim_max);
}

/* ---- readiness: the parent exits only once INIT went through ---- */

static void report_ready(char status)
{
	int devnull;

	if (mdfs.ready_fd < 0)
		return;
	if (write(mdfs.ready_fd, &status, 1) != 1)
		md_err("cannot report start-up status: %m\n");
	close(mdfs.ready_fd);
	mdfs.ready_fd = -1;
	if (status != '0')
		return;
	/* detached from here on: messages go to syslog */
	openlog("mapdirectfs", LOG_PID, LOG_DAEMON);
	log_to_syslog = true;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		close(devnull);
	}
}

/* Fork; the parent waits for the child's verdict and exits with it. */
static int daemonize_start(void)
{
	int pfd[2];
	char status = '1';
	pid_t pid;
	int wstatus;

	if (pipe2(pfd, O_CLOEXEC)) {
		md_err("pipe: %m\n");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		md_err("fork: %m\n");
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		mdfs.ready_fd = pfd[1];
		setsid();
		return 0;
	}
	close(pfd[1]);
	if (read(pfd[0], &status, 1) == 1 && status == '0')
		_exit(0);
	/* failed: wait until it has unmounted, so nothing stays mounted */
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	_exit(1);
}

static void *unmount_thread(void *arg)
{
	/* in the sandbox the mount is not in our namespace: ask outside */
	if (!mdfs_sandbox_unmount(false))
		umount2(mdfs.mountpoint, MNT_DETACH);
	return NULL;
}

/* A refusal found during INIT: unmount from aside, the loop then ends. */
static void init_fail(void)
{
	pthread_t t;

	mdfs.init_failed = true;
	fuse_session_exit(mdfs.se);
	if (pthread_create(&t, NULL, unmount_thread, NULL) == 0)
		pthread_detach(t);
}

static void mdfs_init(void *userdata, struct fuse_conn_info *conn)
{
	bool pt_allowed = mdfs.cfg.passthrough != MD_OFF;

	if (pt_allowed && have_cap_sys_admin() &&
	    fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH)) {
		mdfs.passthrough = true;
		conn->max_backing_stack_depth = 1;
	} else if (mdfs.cfg.passthrough == MD_ON) {
		md_err("passthrough=on: the kernel does not offer FUSE "
		       "passthrough\n");
		init_fail();
		return;
	} else if (pt_allowed) {
		md_warn("warning: FUSE passthrough unavailable: mediated mode, "
			"mmap maps the mount's page cache, not the backing "
			"file\n");
	}
	if (mdfs.io_uring && !(conn->capable_ext & FUSE_CAP_OVER_IO_URING)) {
		if (mdfs.cfg.io_uring == MD_ON) {
			md_err("io_uring=on: the kernel does not offer "
			       "fuse-over-io-uring\n");
			init_fail();
			return;
		}
		mdfs.io_uring = false;
	}
	/* libfuse 3.18 neither delivers nor frees interrupts of io_uring
	 * requests (each one leaks): have the kernel stop sending them;
	 * parked requests notice signals by polling instead (breakers.c) */
	if (mdfs.io_uring)
		conn->no_interrupt = 1;
	if (mount_max_read)
		conn->max_read = mount_max_read;
	/* mediated mode still lets MAP_SHARED work on direct-io files */
	fuse_set_feature_flag(conn, FUSE_CAP_DIRECT_IO_ALLOW_MMAP);
	fuse_set_feature_flag(conn, FUSE_CAP_ATOMIC_O_TRUNC);
	/* the daemon clears suid/sgid/caps where the kernel says so (privs.c
	 * and FUSE_SET_ATTR_KILL_SUID); in exchange passthrough writes do
	 * not ask for security.capability each time (FUSE-NOTES) */
	fuse_set_feature_flag(conn, FUSE_CAP_HANDLE_KILLPRIV_V2);
	/* read replies are spliced from the backing file (zero copy) */
	fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_WRITE);
	fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_MOVE);
	/* but requests are read(), not spliced from /dev/fuse: the kernel
	 * copies each one into fresh pages of a pipe, and libfuse reads the
	 * small ones out again. Measured here (fio psync, tmpfs, mediated):
	 * 4 KiB writes and reads 1.7x faster without, 1 MiB writes 1.1x */
	fuse_unset_feature_flag(conn, FUSE_CAP_SPLICE_READ);
	fuse_unset_feature_flag(conn, FUSE_CAP_WRITEBACK_CACHE);
	/* SPEC 2: a mount that succeeds prints nothing: in the background
	 * this goes to syslog, which report_ready() has switched to */
	report_ready('0');
	md_info("mounted %s on %s: passthrough %s, transport %s\n",
		mdfs.backing, mdfs.mountpoint, mdfs.passthrough ? "on" : "off",
		mdfs.io_uring ? "io_uring" : "/dev/fuse");
}

static void core_log_sink(int priority, const char *fmt, va_list ap)
{
	fuse_log_sink((enum fuse_log_level)priority, fmt, ap);
}

static int add_fsname(struct fuse_args *args)
{
	char *opt = NULL;
	int ret;

	if (fuse_opt_add_opt(&opt, "subtype=mapdirectfs,default_permissions,fsname=") ||
	    fuse_opt_add_opt_escaped(&opt, mdfs.backing)) {
		free(opt);
		return -1;
	}
	/* "fsname=" and the escaped path were joined by a comma: undo it */
	{
		char *c = strstr(opt, "fsname=,");

		memmove(c + 7, c + 8, strlen(c + 8) + 1);
	}
	ret = fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, opt);
	free(opt);
	return ret ? -1 : 0;
}

/*
 * The io_uring queue depth libfuse will use: -o io_uring_q_depth=N where
 * given, else ours (MDFS_URING_DEPTH, twice libfuse's 8: half of a queue
 * may hold parked breakers, share.c, and the rest must do for everything
 * else). @return 0, or -1 without memory.
 */
static int uring_depth(struct fuse_args *args)
{
	static const char key[] = "io_uring_q_depth=";
	char opt[64];

	for (int i = 1; i < args->argc; i++) {
		const char *a = args->argv[i];

		if (!strcmp(a, "-o") && i + 1 < args->argc)
			a = args->argv[++i];
		else if (!strncmp(a, "-o", 2))
			a += 2;
		else
			continue;
		/* the last one counts, as libfuse takes it */
		for (const char *p = a; p; p = strchr(p, ','), p = p ? p + 1 : p)
			if (!strncmp(p, key, sizeof(key) - 1))
				mdfs.uring_depth =
					(unsigned int)strtoul(p + sizeof(key) - 1,
							      NULL, 10);
	}
	if (mdfs.uring_depth)
		return 0;
	/* libfuse's default comes from the environment (checked above) */
	if (getenv("FUSE_URING_QUEUE_DEPTH")) {
		mdfs.uring_depth =
			(unsigned int)atoi(getenv("FUSE_URING_QUEUE_DEPTH"));
		return 0;
	}
	mdfs.uring_depth = MDFS_URING_DEPTH;
	snprintf(opt, sizeof(opt), "-o%s%d", key, MDFS_URING_DEPTH);
	return fuse_opt_add_arg(args, opt);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_lowlevel_ops ops = mdfs_ops;
	struct fuse_cmdline_opts opts = { 0 };
	struct fuse_loop_config *loop_cfg = NULL;
	struct cmdline cl = { 0 };
	int backing_fd = -1;
	int ret = 1;

	fuse_set_log_func(fuse_log_sink);
	md_log_init(core_log_sink, LOG_INFO);
	md_config_init(&mdfs.cfg);
	mdfs_creds_init();
	/* modes arrive with the caller's umask applied by the kernel */
	umask(0);
	raise_fd_limit();

	if (fuse_opt_parse(&args, &cl, mdfs_opts, opt_proc) == -1)
		goto free_args;
	if (fuse_parse_cmdline(&args, &opts) != 0 || check_fuse_env())
		goto free_args;
	/* the crash test's negative run (scripts/test-dax.sh): never for use */
	if (getenv("MDFS_TEST_NO_GRANT_SYNC")) {
		mdfs.no_grant_sync = true;
		md_warn("MDFS_TEST_NO_GRANT_SYNC: leases are granted without a "
			"durable block map; stores persisted by a CPU flush can "
			"be lost in a crash (a test switch)\n");
	}
	if (opts.show_help) {
		usage(argv[0]);
		ret = 0;
		goto free_args;
	}
	if (opts.show_version) {
		printf("mapdirectfs %s, libfuse %s\n", MDFS_VERSION,
		       fuse_pkgversion());
		ret = 0;
		goto free_args;
	}
	if (!cl.backing || !opts.mountpoint) {
		md_err("usage: mapdirectfs [options] BACKING MOUNTPOINT "
		       "(see --help)\n");
		goto free_args;
	}
	if (opts.debug)
		md_log_ctx.priority = LOG_DEBUG;
	mdfs.mountpoint = opts.mountpoint;
	if (check_backing(cl.backing, &backing_fd))
		goto free_args;
	if (path_within(mdfs.mountpoint, mdfs.backing)) {
		md_err("MOUNTPOINT '%s' is inside BACKING '%s'\n",
		       mdfs.mountpoint, mdfs.backing);
		goto free_args;
	}
	if (mdfs.cfg.passthrough == MD_ON && !have_cap_sys_admin()) {
		md_err("passthrough=on needs CAP_SYS_ADMIN\n");
		goto free_args;
	}
	if (choose_transport() || mdfs_sandbox_check())
		goto free_args;
	if (mdfs_root_init(backing_fd)) {
		md_err("BACKING '%s': %m\n", mdfs.backing);
		goto free_args;
	}
	backing_fd = -1;	/* the root inode owns it now */
	if (add_fsname(&args) ||
	    (mdfs.io_uring && (fuse_opt_add_arg(&args, "-oio_uring") ||
			       uring_depth(&args))) ||
	    mdfs_share_init()) {
		md_err("out of memory\n");
		goto free_args;
	}

	if (!opts.foreground && daemonize_start())
		goto free_args;

	/* before any thread: they all inherit the blocked signals */
	if (mdfs_lease_init()) {
		md_err("cannot set up the lease engine: %m\n");
		goto stop_leases;
	}
	ops.init = mdfs_init;
	mdfs.se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!mdfs.se)
		goto stop_leases;
	if (fuse_session_mount(mdfs.se, mdfs.mountpoint))
		goto destroy_session;
	/* single-threaded still: capabilities, namespace and filter are
	 * inherited by every thread from here on */
	if (mdfs_confine())
		goto unmount;
	if (mdfs_lease_start()) {
		md_err("cannot start the lease engine\n");
		goto unmount;
	}
	if (!opts.foreground && chdir("/"))
		md_warn("chdir /: %m\n");

	if (opts.singlethread) {
		ret = fuse_session_loop(mdfs.se);
	} else {
		loop_cfg = fuse_loop_cfg_create();
		if (!loop_cfg) {
			ret = 1;
			goto unmount;
		}
		fuse_loop_cfg_set_clone_fd(loop_cfg, opts.clone_fd);
		fuse_loop_cfg_set_max_threads(loop_cfg, opts.max_threads);
		fuse_loop_cfg_set_idle_threads(loop_cfg,
					       opts.max_idle_threads);
		ret = fuse_session_loop_mt(mdfs.se, loop_cfg);
		fuse_loop_cfg_destroy(loop_cfg);
	}
	/* the loop reports the signal that ended it: a clean exit */
	if (ret == SIGTERM || ret == SIGINT || ret == SIGHUP)
		ret = 0;
	if (mdfs.init_failed)
		ret = 1;
	else if (ret)
		md_err("session ended with error %d\n", ret);
unmount:
	mdfs_lease_stop();
	if (!mdfs_sandboxed())
		fuse_session_unmount(mdfs.se);
destroy_session:
	/* closing /dev/fuse first ends the connection: an unmount from
	 * outside then cannot wait on us */
	fuse_session_destroy(mdfs.se);
	mdfs_sandbox_unmount(true);
	mdfs_handles_free();
stop_leases:
	mdfs_lease_stop();
	report_ready('1');
free_args:
	mdfs_share_fini();
	mdfs_inode_table_destroy();
	if (backing_fd >= 0)
		close(backing_fd);
	free(cl.backing);
	free(mdfs.backing);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret ? 1 : 0;
}
