// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 5 mapdirect CLI: the built binary ($MAPDIRECT_BIN, else the one
 * meson built) run against real mounts. JSON output is parsed back with
 * json-c and checked key by key against what the files are; "hold" runs
 * in the background and is followed line by line through a pipe.
 */
#include "harness.h"
#include "dax_truth.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/securebits.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mapdirect.h"

#ifndef MAPDIRECT_BIN
#error "MAPDIRECT_BIN (path of the built CLI) must be defined by the build"
#endif

#define PAGE 4096

static const char *cli_bin(void)
{
	const char *env = getenv("MAPDIRECT_BIN");

	return env && *env ? env : MAPDIRECT_BIN;
}

/*
 * Fork and exec the CLI with @args (after its name, NULL-terminated),
 * stdin from /dev/null, stdout on @out, stderr on @err. The child dies
 * with the test process. @no_caps: still uid 0, but exec grants no
 * capabilities, so that permission checks apply (and the binary is
 * reachable wherever the tree is, unlike for another uid).
 */
static pid_t spawn_cli(const char *const args[], int out, int err,
		       bool no_caps, int *pidfd)
{
	const char *argv[32];
	pid_t parent = getpid(), pid;
	int n = 0, null;

	cr_assert(access(cli_bin(), X_OK) == 0, "CLI %s: %s (build it, or "
		  "set MAPDIRECT_BIN)", cli_bin(), strerror(errno));
	argv[n++] = cli_bin();
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(null, 0);
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		if (no_caps && prctl(PR_SET_SECUREBITS, SECBIT_NOROOT |
				     SECBIT_NOROOT_LOCKED))
			_exit(126);
		close_range(3, ~0U, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(null);
	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_geq(*pidfd, 0, "pidfd_open: %s", strerror(errno));
	return pid;
}

/* Reap @pid within MDFS_WAIT_MS, else kill it and fail the test. */
static int reap(pid_t pid, int pidfd, const char *what)
{
	bool done = mdfs_pidfd_wait(pidfd, MDFS_WAIT_MS);
	int st = 0;

	if (!done)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	close(pidfd);
	cr_assert(done, "%s still running after %d ms", what, MDFS_WAIT_MS);
	return st;
}

struct cli_res {
	int code;		/* exit code; -1 if killed by a signal */
	char out[16384];
	char err[4096];
};

static void slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/*
 * Run the CLI to its end (without capabilities if @no_caps). stdout goes
 * to @stdout_path if not NULL (and is not captured), else to a file read
 * into @r->out.
 */
static void cli_run_full(struct mdfs_fs *fs, bool no_caps,
			 const char *stdout_path, struct cli_res *r,
			 const char *const args[])
{
	char out[PATH_MAX], err[PATH_MAX];
	int ofd, efd, pidfd, st;
	pid_t pid;

	mdfs_pathf(out, "%s/cli.out", fs->tmp);
	mdfs_pathf(err, "%s/cli.err", fs->tmp);
	ofd = open(stdout_path ? stdout_path : out,
		   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	efd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(ofd >= 0 && efd >= 0, "open: %s", strerror(errno));
	pid = spawn_cli(args, ofd, efd, no_caps, &pidfd);
	close(ofd);
	close(efd);
	st = reap(pid, pidfd, "mapdirect");
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out[0] = '\0';
	if (!stdout_path)
		slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

#define cli_run(fs, r, ...)						\
	cli_run_full(fs, false, NULL, r,				\
		     (const char *const[]){ __VA_ARGS__, NULL })

/* Assert the exit code and the exact stderr of a run. */
static void assert_fails(const struct cli_res *r, int code, const char *err)
{
	cr_assert_eq(r->code, code, "exit %d, expected %d; stderr: %s",
		     r->code, code, r->err);
	if (err)
		cr_assert_str_eq(r->err, err);
}

/* -- JSON ------------------------------------------------------------- */

static struct json_object *parse(const char *text)
{
	enum json_tokener_error jerr;
	struct json_object *o = json_tokener_parse_verbose(text, &jerr);

	cr_assert_not_null(o, "not JSON (%s):\n%s",
			   json_tokener_error_desc(jerr), text);
	return o;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s",
		  key, json_object_to_json_string(o));
	return v;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	cr_assert(json_object_is_type(v, json_type_string),
		  "\"%s\" is not a string", key);
	return json_object_get_string(v);
}

static int64_t get_int(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	cr_assert(json_object_is_type(v, json_type_int),
		  "\"%s\" is not a number", key);
	return json_object_get_int64(v);
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	cr_assert(json_object_is_type(v, json_type_boolean),
		  "\"%s\" is not a boolean", key);
	return json_object_get_boolean(v);
}

static void assert_null(struct json_object *o, const char *key)
{
	cr_assert_null(get(o, key), "\"%s\" is not null", key);
}

static struct json_object *get_array(struct json_object *o, size_t len)
{
	cr_assert(json_object_is_type(o, json_type_array), "not an array: %s",
		  json_object_to_json_string(o));
	cr_assert_eq(json_object_array_length(o), len,
		     "%zu elements, expected %zu: %s",
		     json_object_array_length(o), len,
		     json_object_to_json_string(o));
	return o;
}

/* The object has exactly these keys (stable keys, mapdirect(1)). */
static void assert_keys(struct json_object *o, const char *const keys[])
{
	int n = 0;

	for (; keys[n]; n++)
		get(o, keys[n]);
	cr_assert_eq(json_object_object_length(o), n,
		     "keys other than the documented ones: %s",
		     json_object_to_json_string(o));
}

static const char *const lease_keys[] = {
	"id", "pid", "comm", "since", "signal", "state", "ms_left", "flags",
	"fd_open", NULL
};
static const char *const lease_path_keys[] = {
	"id", "pid", "comm", "since", "signal", "state", "ms_left", "flags",
	"fd_open", "dev", "ino", "path", NULL
};

/* -- files ------------------------------------------------------------ */

/* -- hold in the background ------------------------------------------- */

struct holder {
	pid_t pid;
	int pidfd;
	int out;		/* read end of its stdout+stderr */
	char buf[8192];
	size_t len;
	size_t seen;		/* how far hold_expect() has looked */
};

static void hold_start(struct holder *h, const char *const args[])
{
	int p[2];

	memset(h, 0, sizeof(*h));
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	h->pid = spawn_cli(args, p[1], p[1], false, &h->pidfd);
	close(p[1]);
	h->out = p[0];
}

/* Read what is there, waiting up to @ms for more. false at EOF. */
static bool hold_read(struct holder *h, int ms)
{
	struct pollfd p = { .fd = h->out, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return true;
	n = read(h->out, h->buf + h->len, sizeof(h->buf) - 1 - h->len);
	if (n <= 0)
		return false;
	h->len += (size_t)n;
	h->buf[h->len] = '\0';
	return true;
}

/* Wait (up to MDFS_WAIT_MS) for a line of hold with @what in it. */
static void hold_expect(struct holder *h, const char *what)
{
	long long end = mdfs_now_ms() + MDFS_WAIT_MS;
	char *at;

	for (;;) {
		at = strstr(h->buf + h->seen, what);
		if (at && strchr(at, '\n')) {
			h->seen = (size_t)(strchr(at, '\n') + 1 - h->buf);
			return;
		}
		cr_assert(mdfs_now_ms() < end && hold_read(h, 50),
			  "hold never printed \"%s\"; it printed:\n%s", what,
			  h->buf);
	}
}

/* Its exit code once it ended (all output read), or -1 if killed. */
static int hold_wait(struct holder *h)
{
	int st;

	st = reap(h->pid, h->pidfd, "mapdirect hold");
	while (hold_read(h, 0) && h->len < sizeof(h->buf) - 1)
		;
	close(h->out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* -- tests ------------------------------------------------------------ */

MDFS_TEST(cli, status_json_matches_files, NULL)
{
	static const char *const status_keys[] = {
		"path", "state", "holders", "ms_left", "eligible", "reason",
		"dax", "leases", NULL
	};
	struct json_object *doc, *o, *l;
	struct cli_res r;
	char comm[32], *c;
	uint64_t id;
	size_t len;
	int fd;

	lease_file(fs, "f", 2 * PAGE, 'f');
	lease_hole_file(fs, "s", 25 * PAGE);
	lease_file(fs, "h", PAGE, 'f');
	fd = open(mdfs_mpath(fs, "h"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mapdirect_lease(fd, 0, SIGUSR2, &id), 0);
	c = mdfs_read_file("/proc/self/comm", &len);
	snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(c, "\n"), c);
	free(c);

	cli_run(fs, &r, "status", "--json", mdfs_mpath(fs, "f"),
		mdfs_mpath(fs, "s"), mdfs_mpath(fs, "h"));
	assert_fails(&r, 0, "");
	doc = get_array(parse(r.out), 3);

	o = json_object_array_get_idx(doc, 0);
	assert_keys(o, status_keys);
	cr_assert_str_eq(get_str(o, "path"), mdfs_mpath(fs, "f"));
	cr_assert_str_eq(get_str(o, "state"), "none");
	cr_assert_eq(get_int(o, "holders"), 0);
	cr_assert_eq(get_int(o, "ms_left"), 0);
	cr_assert(get_bool(o, "eligible"));
	assert_null(o, "reason");
	cr_assert_eq(get_bool(o, "dax"), mdfs_file_is_dax(mdfs_bpath(fs, "f")));
	get_array(get(o, "leases"), 0);

	o = json_object_array_get_idx(doc, 1);
	assert_keys(o, status_keys);
	cr_assert_str_eq(get_str(o, "state"), "none");
	cr_assert_not(get_bool(o, "eligible"));
	cr_assert_str_eq(get_str(o, "reason"), "hole at 0+102400");
	/* all hole: no page to look at, statx and the mount decide */
	cr_assert_eq(get_bool(o, "dax"), mdfs_file_is_dax(mdfs_bpath(fs, "s")));

	o = json_object_array_get_idx(doc, 2);
	assert_keys(o, status_keys);
	cr_assert_str_eq(get_str(o, "state"), "held");
	cr_assert_eq(get_int(o, "holders"), 1);
	cr_assert(get_bool(o, "eligible"));
	l = json_object_array_get_idx(get_array(get(o, "leases"), 1), 0);
	assert_keys(l, lease_keys);
	cr_assert_eq(get_int(l, "id"), (int64_t)id);
	cr_assert_eq(get_int(l, "pid"), getpid());
	cr_assert_str_eq(get_str(l, "comm"), comm);
	cr_assert_eq(strlen(get_str(l, "since")), 24);
	cr_assert_eq(get_int(l, "signal"), SIGUSR2);
	cr_assert_str_eq(get_str(l, "state"), "held");
	cr_assert_eq(get_int(l, "ms_left"), 0);
	get_array(get(l, "flags"), 0);
	cr_assert(get_bool(l, "fd_open"));
	json_object_put(doc);

	/* the text form says the same */
	cli_run(fs, &r, "status", mdfs_mpath(fs, "h"), mdfs_mpath(fs, "s"));
	assert_fails(&r, 0, "");
	cr_assert(strstr(r.out, "state:    held\n") &&
		  strstr(r.out, "eligible: no: hole at 0+102400\n") &&
		  strstr(r.out, " signal=SIGUSR2 state=held "),
		  "status printed:\n%s", r.out);
	cr_assert_eq(mapdirect_unlease(fd), 0);
	close(fd);
}

MDFS_TEST(cli, leases_json_while_hold_runs, NULL)
{
	struct json_object *doc, *l;
	struct holder h;
	struct cli_res r;
	struct stat st;
	char pid[16], dev[16];

	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	lease_file(fs, "d/f", 4 * PAGE, 'f');
	hold_start(&h, (const char *const[]){ "hold", "--signal", "10",
					      mdfs_mpath(fs, "d/f"), NULL });
	hold_expect(&h, " leased id=");
	/* text names signals, whichever way they were given */
	cr_assert(strstr(h.buf, " flags=none signal=SIGUSR1\n"),
		  "hold printed:\n%s", h.buf);
	/* pmem and userflush where the backing file is DAX (issue 12) */
	cr_assert_geq(truth_statx_dax(mdfs_bpath(fs, "d/f")), 0);
	hold_expect(&h, truth_statx_dax(mdfs_bpath(fs, "d/f")) ?
		    " mapped len=16384 prot=read,write pmem=yes userflush=yes" :
		    " mapped len=16384 prot=read,write pmem=no userflush=no");

	cli_run(fs, &r, "leases", "--json", fs->mnt);
	assert_fails(&r, 0, "");
	doc = get_array(parse(r.out), 1);
	l = json_object_array_get_idx(doc, 0);
	assert_keys(l, lease_path_keys);
	cr_assert_eq(get_int(l, "pid"), h.pid);
	cr_assert_str_eq(get_str(l, "comm"), "mapdirect");
	cr_assert_str_eq(get_str(l, "path"), "d/f");
	/* and the file as stat(2) and /proc/locks name it (SPEC 4.4) */
	st = mdfs_lstat(mdfs_mpath(fs, "d/f"));
	snprintf(dev, sizeof(dev), "%02x:%02x", major(st.st_dev),
		 minor(st.st_dev));
	cr_assert_str_eq(get_str(l, "dev"), dev);
	cr_assert_eq(get_int(l, "ino"), (int64_t)st.st_ino);
	cr_assert_eq(get_int(l, "signal"), 10);
	cr_assert_str_eq(get_str(l, "state"), "held");
	get_array(get(l, "flags"), 0);
	cr_assert(get_bool(l, "fd_open"), "hold's map keeps the open file");
	json_object_put(doc);

	/* like /proc/locks: a line per lease */
	cli_run(fs, &r, "leases", fs->mnt);
	assert_fails(&r, 0, "");
	snprintf(pid, sizeof(pid), " %d ", (int)h.pid);
	cr_assert(strstr(r.out, pid) && strstr(r.out, " d/f\n") &&
		  strstr(r.out, " SIGUSR1 "), "leases printed:\n%s", r.out);

	/* SIGTERM releases and exits 0 */
	cr_assert_eq(kill(h.pid, SIGTERM), 0);
	cr_assert_eq(hold_wait(&h), 0, "hold printed:\n%s", h.buf);
	hold_expect(&h, " interrupted signal=SIGTERM");
	hold_expect(&h, " unmapped");
	hold_expect(&h, " released id=");

	cli_run(fs, &r, "leases", "--json", fs->mnt);
	assert_fails(&r, 0, "");
	json_object_put(get_array(parse(r.out), 0));
}

MDFS_TEST(cli, hold_releases_on_break, "lease_break_time=10")
{
	struct holder h;
	long long t0, took;
	char byte;
	int fd;

	lease_file(fs, "f", 2 * PAGE, 'f');
	hold_start(&h, (const char *const[]){ "hold", mdfs_mpath(fs, "f"),
					      NULL });
	hold_expect(&h, " mapped ");

	/* a breaker: parked until hold lets go, well before 10 s */
	fd = open(mdfs_mpath(fs, "f"), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	t0 = mdfs_now_ms();
	cr_assert_eq(pwrite(fd, "B", 1, 100), 1, "write: %s", strerror(errno));
	took = mdfs_now_ms() - t0;
	close(fd);
	cr_assert_lt(took, 5000, "the write waited %lld ms", took);

	cr_assert_eq(hold_wait(&h), 0, "hold printed:\n%s", h.buf);
	/* in this order */
	hold_expect(&h, " break started via=poll ms_left=");
	hold_expect(&h, " unmapped");
	hold_expect(&h, " released id=");
	fd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pread(fd, &byte, 1, 100), 1);
	cr_assert_eq(byte, 'B');
	close(fd);
}

MDFS_TEST(cli, hold_ignoring_a_break_is_revoked, "lease_break_time=0.3")
{
	struct holder h;
	int fd;

	lease_file(fs, "f", PAGE, 'f');
	hold_start(&h, (const char *const[]){ "hold", "--ignore-breaks",
					      "--signal", "RTMIN+2",
					      mdfs_mpath(fs, "f"), NULL });
	hold_expect(&h, " signal=SIGRTMIN+2\n");
	hold_expect(&h, " mapped ");
	fd = open(mdfs_mpath(fs, "f"), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	/* goes through once the grace period is over */
	cr_assert_eq(pwrite(fd, "R", 1, 0), 1, "write: %s", strerror(errno));
	close(fd);
	cr_assert_eq(hold_wait(&h), 4, "hold printed:\n%s", h.buf);
	/* the signal is queued when the break starts, long before revocation */
	cr_assert(strstr(h.buf, " break started via=signal "
			 "signal=SIGRTMIN+2\n"), "hold printed:\n%s", h.buf);
	hold_expect(&h, " break started via=poll");
	hold_expect(&h, " break ignored");
	hold_expect(&h, " revoked id=");
	cr_assert_null(strstr(h.buf, "released"), "hold printed:\n%s", h.buf);
}

MDFS_TEST(cli, errors_and_exit_codes, NULL)
{
	char want[PATH_MAX + 64];
	const char *plain = mdfs_tpath(fs, "plain");
	const char *missing = mdfs_mpath(fs, "missing");
	const char *secret = mdfs_mpath(fs, "secret");
	const char *f = mdfs_mpath(fs, "f");
	struct mapdirect_lease_info info;
	struct cli_res r;
	int fd;

	lease_file(fs, "f", PAGE, 'f');
	lease_hole_file(fs, "s", 4 * PAGE);
	/* someone else's, for us without CAP_DAC_OVERRIDE */
	lease_file(fs, "secret", PAGE, 'f');
	cr_assert_eq(chown(mdfs_bpath(fs, "secret"), 1000, 1000), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "secret"), 0600), 0);
	mdfs_write_file(plain, "x", 1);

	/* 3: not on a mapdirectfs mount */
	snprintf(want, sizeof(want),
		 "mapdirect: %s: not on a mapdirectfs mount\n", plain);
	cli_run(fs, &r, "status", plain);
	assert_fails(&r, 3, want);
	cr_assert_str_eq(r.out, "");
	cli_run(fs, &r, "hold", plain);
	assert_fails(&r, 3, want);
	snprintf(want, sizeof(want),
		 "mapdirect: %s: not on a mapdirectfs mount\n", fs->tmp);
	cli_run(fs, &r, "leases", fs->tmp);
	assert_fails(&r, 3, want);

	/* 1: an error on a path */
	snprintf(want, sizeof(want),
		 "mapdirect: %s: No such file or directory\n", missing);
	cli_run(fs, &r, "status", missing);
	assert_fails(&r, 1, want);
	/* the other paths are still reported */
	cli_run(fs, &r, "status", f, missing);
	assert_fails(&r, 1, want);
	cr_assert(strstr(r.out, f), "status printed:\n%s", r.out);
	snprintf(want, sizeof(want), "mapdirect: %s: Permission denied\n",
		 secret);
	cli_run_full(fs, true, NULL, &r,
		     (const char *const[]){ "status", secret, NULL });
	assert_fails(&r, 1, want);
	snprintf(want, sizeof(want), "mapdirect: %s: not eligible for a "
		 "lease: hole at 0+16384\n", mdfs_mpath(fs, "s"));
	cli_run(fs, &r, "hold", mdfs_mpath(fs, "s"));
	assert_fails(&r, 1, want);
	/* a real error outranks "not on mapdirectfs" */
	cli_run(fs, &r, "status", plain, missing);
	cr_assert_eq(r.code, 1);

	/* 2: usage */
	cli_run(fs, &r, "hold", "--signal", "999", f);
	assert_fails(&r, 2, "mapdirect: hold: bad signal '999' (see mapdirect "
		     "hold --help)\n");
	cli_run(fs, &r, "hold", "--signal", "KILL", f);
	assert_fails(&r, 2, NULL);
	cli_run(fs, &r, "hold", "--len", "12Q", f);
	assert_fails(&r, 2, NULL);
	cli_run(fs, &r, "hold", f, f);
	assert_fails(&r, 2, NULL);
	cli_run(fs, &r, "frob");
	assert_fails(&r, 2, "mapdirect: unknown command 'frob' (see mapdirect "
		     "--help)\n");
	cli_run(fs, &r, "status");
	assert_fails(&r, 2, NULL);
	cli_run(fs, &r, "status", "--frob", f);
	assert_fails(&r, 2, NULL);
	cli_run_full(fs, false, NULL, &r, (const char *const[]){ NULL });
	assert_fails(&r, 2, NULL);
	/* none of that took a lease */
	fd = open(f, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(mapdirect_getlease(fd, &info), 0);
	cr_assert_eq(info.holders, 0);
	close(fd);

	/* what could not be written is an error (ndctl's run_builtin) */
	cli_run_full(fs, false, "/dev/full", &r,
		     (const char *const[]){ "status", "--json", f, NULL });
	assert_fails(&r, 1, "mapdirect: write error on standard output: No "
		     "space left on device\n");
}

/* a FIFO is not "not on mapdirectfs", on the mount or off it */
MDFS_TEST(cli, not_a_regular_file, NULL)
{
	char want[PATH_MAX + 64];
	const char *fifo = mdfs_mpath(fs, "p");
	const char *plain_fifo = mdfs_tpath(fs, "q");
	struct cli_res r;

	cr_assert_eq(mkfifo(mdfs_bpath(fs, "p"), 0644), 0);
	cr_assert_eq(mkfifo(plain_fifo, 0644), 0);
	snprintf(want, sizeof(want), "mapdirect: %s: not a regular file\n",
		 fifo);
	cli_run(fs, &r, "hold", fifo);
	assert_fails(&r, 1, want);
	/* not even opened: O_RDONLY would wait for a writer */
	cli_run(fs, &r, "hold", "--read-only", fifo);
	assert_fails(&r, 1, want);
	cli_run(fs, &r, "status", fifo);
	assert_fails(&r, 1, want);
	cr_assert_str_eq(r.out, "");
	snprintf(want, sizeof(want), "mapdirect: %s: not a regular file or "
		 "directory\n", fifo);
	cli_run(fs, &r, "leases", fifo);
	assert_fails(&r, 1, want);
	snprintf(want, sizeof(want), "mapdirect: %s: not a regular file\n",
		 plain_fifo);
	cli_run(fs, &r, "hold", plain_fifo);
	assert_fails(&r, 1, want);
	snprintf(want, sizeof(want), "mapdirect: %s: Is a directory\n",
		 fs->mnt);
	cli_run(fs, &r, "hold", fs->mnt);
	assert_fails(&r, 1, want);
}

/*
 * mapdirect(1): --json prints one document, or nothing when there is
 * nothing to report; errors go to stderr and into the exit status.
 */
MDFS_TEST(cli, json_on_errors, NULL)
{
	const char *missing = mdfs_mpath(fs, "missing");
	const char *f = mdfs_mpath(fs, "f");
	struct json_object *doc;
	struct cli_res r;

	lease_file(fs, "f", PAGE, 'f');
	cr_assert_eq(mkfifo(mdfs_bpath(fs, "p"), 0644), 0);
	cli_run(fs, &r, "status", "--json", missing);
	assert_fails(&r, 1, NULL);
	cr_assert_str_eq(r.out, "", "status --json printed on error");
	cr_assert_neq(r.err[0], '\0');
	cli_run(fs, &r, "status", "--json", missing, mdfs_mpath(fs, "p"));
	assert_fails(&r, 1, NULL);
	cr_assert_str_eq(r.out, "");
	cli_run(fs, &r, "leases", "--json", fs->tmp);
	assert_fails(&r, 3, NULL);
	cr_assert_str_eq(r.out, "");
	cli_run(fs, &r, "leases", "--json", missing);
	assert_fails(&r, 1, NULL);
	cr_assert_str_eq(r.out, "");
	cli_run(fs, &r, "status", "--json", mdfs_tpath(fs, "."));
	assert_fails(&r, 1, NULL);
	cr_assert_str_eq(r.out, "");
	/* the paths that could be read are still reported */
	cli_run(fs, &r, "status", "--json", missing, f);
	assert_fails(&r, 1, NULL);
	doc = get_array(parse(r.out), 1);
	cr_assert_str_eq(get_str(json_object_array_get_idx(doc, 0), "path"),
			 f);
	json_object_put(doc);
	/* nothing wrong, nothing held: an empty array */
	cli_run(fs, &r, "leases", "--json", fs->mnt);
	assert_fails(&r, 0, "");
	json_object_put(get_array(parse(r.out), 0));
}

struct busy_writer {
	char path[PATH_MAX];
};

/* A breaker in a child: parked until the lease ends */
static int write_one(void *arg)
{
	struct busy_writer *w = arg;
	int fd = open(w->path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || pwrite(fd, "W", 1, 0) != 1)
		return 1;
	close(fd);
	return 0;
}

/* hold says why a lease is refused, in the daemon's words (SPEC 3.1, 4.1) */
MDFS_TEST(cli, hold_says_why_not, "lease_break_time=20")
{
	char want[PATH_MAX + 128];
	const char *f = mdfs_mpath(fs, "f");
	struct mapdirect_lease_info info;
	struct busy_writer w;
	struct mdfs_agent *a;
	struct cli_res r;
	int fd, obs;
	pid_t pid;

	lease_file(fs, "f", PAGE, 'f');
	lease_file(fs, "theirs", PAGE, 'f');
	cr_assert_eq(chown(mdfs_bpath(fs, "theirs"), 1000, 1000), 0);
	mdfs_write_file(mdfs_bpath(fs, "empty"), "", 0);
	obs = open(f, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(obs, 0);

	snprintf(want, sizeof(want), "mapdirect: %s: the file is empty: "
		 "nothing to map\n", mdfs_mpath(fs, "empty"));
	cli_run(fs, &r, "hold", mdfs_mpath(fs, "empty"));
	assert_fails(&r, 1, want);

	snprintf(want, sizeof(want), "mapdirect: %s: only the file's owner "
		 "or a process with CAP_LEASE may lease it\n",
		 mdfs_mpath(fs, "theirs"));
	cli_run_full(fs, true, NULL, &r, (const char *const[]){
		"hold", "--read-only", mdfs_mpath(fs, "theirs"), NULL });
	assert_fails(&r, 1, want);

	/* an unmediated writer (mediate=leased) */
	a = mdfs_agent_start(-1, -1);
	fd = (int)LOP_OK(a, op_open(f, O_WRONLY));
	snprintf(want, sizeof(want), "mapdirect: %s: cannot be leased now: "
		 "open for writing by pid %d\n", f, (int)a->pid);
	cli_run(fs, &r, "hold", f);
	assert_fails(&r, 1, want);
	LOP_OK(a, op_close(fd));

	/* an exclusive lease, ours */
	fd = open(f, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	/* the agent's close reaches the daemon in the background */
	cr_assert_gt(lease_retry(NULL, fd, MAPDIRECT_LEASE_EXCLUSIVE, 0,
				 MDFS_WAIT_MS), 0);
	snprintf(want, sizeof(want), "mapdirect: %s: cannot be leased now: "
		 "pid %d holds an exclusive lease\n", f, (int)getpid());
	cli_run(fs, &r, "hold", "--read-only", f);
	assert_fails(&r, 1, want);
	cr_assert_eq(mapdirect_unlease(fd), 0);

	/* a shared one, in the way of an exclusive one */
	cr_assert_eq(mapdirect_lease(fd, 0, 0, NULL), 0);
	snprintf(want, sizeof(want), "mapdirect: %s: cannot take an exclusive "
		 "lease: the file has 1 other lease\n", f);
	cli_run(fs, &r, "hold", "--read-only", "--exclusive", f);
	assert_fails(&r, 1, want);

	/* a break in progress: the writer waits for our unlease */
	mdfs_pathf(w.path, "%s", f);
	pid = mdfs_fork_as((uid_t)-1, (gid_t)-1, write_one, &w);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, MDFS_WAIT_MS);
	snprintf(want, sizeof(want), "mapdirect: %s: cannot be leased now: "
		 "a break is in progress (", f);
	cli_run(fs, &r, "hold", "--read-only", f);
	assert_fails(&r, 1, NULL);
	cr_assert_eq(strncmp(r.err, want, strlen(want)), 0, "stderr: %s",
		     r.err);
	cr_assert_eq(mapdirect_unlease(fd), 0);
	cr_assert_eq(mdfs_wait_child(pid), 0, "the breaker's write failed");
	cr_assert_eq(mapdirect_getlease(obs, &info), 0);
	cr_assert_eq(info.holders, 0, "a refused hold left a lease");
	close(fd);
	close(obs);
}

MDFS_TEST_NOMOUNT(cli, help_and_usage)
{
	char version[64];
	struct cli_res r;

	cli_run(fs, &r, "--help");
	assert_fails(&r, 0, "");
	cr_assert_eq(strncmp(r.out, "usage: mapdirect ", 17), 0, "%s", r.out);
	cli_run(fs, &r, "status", "--help");
	assert_fails(&r, 0, "");
	cr_assert_eq(strncmp(r.out, "usage: mapdirect status ", 24), 0);
	cli_run(fs, &r, "hold", "-h");
	assert_fails(&r, 0, "");
	cr_assert(strstr(r.out, "--ignore-breaks"));
	/* the manual page where installed, else the same usage */
	cli_run(fs, &r, "help", "hold");
	assert_fails(&r, 0, NULL);
	cr_assert(strstr(r.out, "hold"), "help hold printed:\n%s", r.out);
	cli_run(fs, &r, "help", "frob");
	assert_fails(&r, 2, NULL);
	cli_run(fs, &r, "--version");
	assert_fails(&r, 0, "");
	cr_assert_eq(strncmp(r.out, "mapdirect ", 10), 0);
	/* -V as for mapdirectfs */
	snprintf(version, sizeof(version), "%.63s", r.out);
	cli_run(fs, &r, "-V");
	assert_fails(&r, 0, "");
	cr_assert_str_eq(r.out, version);
}

MDFS_TEST(cli, devices_lists_the_mount, NULL)
{
	static const char *const mount_keys[] = {
		"mountpoint", "backing", "dax", "backing_dax", "transport",
		"passthrough", "dax_active", "device", "error", NULL
	};
	struct json_object *doc, *mounts, *m, *ours = NULL, *dev;
	char want[PATH_MAX * 2 + 256], opt[32];
	struct mapdirect_ctx *ctx;
	struct truth_ns tns;
	struct cli_res r;
	bool dax, on_pmem;
	int regions, ndctl_regions;
	size_t i;

	cr_assert_eq(mapdirect_new(&ctx), 0);
	regions = mapdirect_pmem_load(ctx);
	mapdirect_unref(ctx);
	cr_assert_geq(regions, 0);
	cr_assert_geq(truth_ndctl(NULL, 0, &ndctl_regions), 0);
	cr_assert_eq(regions, ndctl_regions, "ndctl lists %d regions",
		     ndctl_regions);
	/* what the daemon's own probe must have found, and where */
	dax = mdfs_dir_is_dax(fs->backing);
	on_pmem = mdfs_pmem_ns_of(fs->backing, &tns);
	cr_assert_eq(truth_mount_dax(fs->backing, opt, sizeof(opt)), 0);

	cli_run(fs, &r, "devices");
	assert_fails(&r, 0, "");
	snprintf(want, sizeof(want), "mount %s backing=%s dax=auto "
		 "dax_active=%d backing_dax=%s ", fs->mnt, fs->backing, dax,
		 opt[0] ? opt : "-");
	cr_assert(strstr(r.out, want), "devices printed:\n%s\nnot:\n%s",
		  r.out, want);
	if (on_pmem)
		snprintf(want, sizeof(want), " device=%s/%s/%s mode=%s ",
			 tns.region, tns.dev, tns.blockdev, tns.mode);
	else
		snprintf(want, sizeof(want), " device=none ");
	cr_assert(strstr(r.out, want), "devices printed:\n%s\nnot:\n%s",
		  r.out, want);
	if (regions == 0)
		cr_assert(strstr(r.out, "no persistent memory found\n"),
			  "devices printed:\n%s", r.out);

	cli_run(fs, &r, "devices", "--json");
	assert_fails(&r, 0, "");
	doc = parse(r.out);
	cr_assert_eq(json_object_object_length(doc), 2);
	get_array(get(doc, "regions"), (size_t)regions);
	mounts = get(doc, "mounts");
	cr_assert(json_object_is_type(mounts, json_type_array));
	for (i = 0; i < json_object_array_length(mounts); i++) {
		m = json_object_array_get_idx(mounts, i);
		assert_keys(m, mount_keys);
		if (!strcmp(get_str(m, "mountpoint"), fs->mnt))
			ours = m;
	}
	cr_assert_not_null(ours, "%s not in %s", fs->mnt, r.out);
	cr_assert_str_eq(get_str(ours, "backing"), fs->backing);
	cr_assert_str_eq(get_str(ours, "dax"), "auto");
	cr_assert_str_eq(get_str(ours, "transport"),
			 strcmp(fs->transport, "io_uring=on") ? "/dev/fuse" :
								"io_uring");
	get_bool(ours, "passthrough");
	cr_assert_eq(get_bool(ours, "dax_active"), dax);
	if (opt[0])
		cr_assert_str_eq(get_str(ours, "backing_dax"), opt);
	else
		assert_null(ours, "backing_dax");
	if (on_pmem) {
		dev = get(ours, "device");
		cr_assert_str_eq(get_str(dev, "region"), tns.region);
		cr_assert_str_eq(get_str(dev, "namespace"), tns.dev);
		cr_assert_str_eq(get_str(dev, "blockdev"), tns.blockdev);
		cr_assert_str_eq(get_str(dev, "mode"), tns.mode);
		/* the namespace's size; ndctl list shows its block
		 * device's (smaller by the memmap it keeps on the media) */
		cr_assert_eq(get_int(dev, "size"), (int64_t)tns.raw_size);
	} else {
		assert_null(ours, "device");
	}
	assert_null(ours, "error");
	json_object_put(doc);
}
