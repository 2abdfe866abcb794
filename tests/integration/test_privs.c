// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Least privilege (issue 13; README "Least privilege"): after start-up the
 * daemon keeps exactly the documented capabilities; sandbox=auto|on confines
 * it to a mount namespace where only BACKING (and /proc, /sys, /dev/fuse)
 * is visible and to a seccomp allow-list whose denials are logged and fail
 * with EPERM; sandbox=off turns both off; acting for a non-root caller a
 * thread has neither CAP_SYS_RESOURCE nor CAP_FSETID.
 *
 * Root on the test machines may lack CAP_SYS_RESOURCE: the expected sets
 * are the documented list as far as the daemon had it at start (the test
 * process's own sets: the harness starts the daemon with them), and the
 * per-caller drop is checked inside a user namespace, where the daemon has
 * every capability of that namespace.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BIT(c) (1ULL << (c))

/* The list README "Least privilege" documents, and nothing else */
static const uint64_t documented =
	BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_FSETID) | BIT(CAP_KILL) | BIT(CAP_SETGID) |
	BIT(CAP_SETUID) | BIT(CAP_SYS_PTRACE) | BIT(CAP_SYS_ADMIN) |
	BIT(CAP_SYS_RESOURCE) | BIT(CAP_MKNOD) | BIT(CAP_SETFCAP);

/* "Key:\tVALUE" of /proc/@pid/task/@tid/status (@tid 0: the process) */
static bool status_field(pid_t pid, pid_t tid, const char *key, char *val,
			 size_t len)
{
	char path[96], line[512];
	size_t klen = strlen(key);
	bool found = false;
	const char *v;
	FILE *f;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status",
			 (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		v = line + klen + 1;
		snprintf(val, len, "%s", v + strspn(v, " \t"));
		val[strcspn(val, "\n")] = '\0';
		found = true;
		break;
	}
	fclose(f);
	return found;
}

static uint64_t status_caps(pid_t pid, pid_t tid, const char *key)
{
	char v[64];

	cr_assert(status_field(pid, tid, key, v, sizeof(v)),
		  "no %s in the status of %d/%d", key, (int)pid, (int)tid);
	return strtoull(v, NULL, 16);
}

static long status_long(pid_t pid, const char *key)
{
	char v[64];

	cr_assert(status_field(pid, 0, key, v, sizeof(v)),
		  "no %s in the status of %d", key, (int)pid);
	return strtol(v, NULL, 10);
}

/* the names of @bits, for messages */
static const char *cap_names(uint64_t bits, char *buf, size_t len)
{
	static const char *const names[] = {
		"chown", "dac_override", "dac_read_search", "fowner", "fsetid",
		"kill", "setgid", "setuid", "setpcap", "linux_immutable",
		"net_bind_service", "net_broadcast", "net_admin", "net_raw",
		"ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
		"sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin",
		"sys_boot", "sys_nice", "sys_resource", "sys_time",
		"sys_tty_config", "mknod", "lease", "audit_write",
		"audit_control", "setfcap", "mac_override", "mac_admin",
		"syslog", "wake_alarm", "block_suspend", "audit_read",
		"perfmon", "bpf", "checkpoint_restore",
	};
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int c = 0; c < 64; c++) {
		if (!(bits & BIT(c)))
			continue;
		if (c < sizeof(names) / sizeof(names[0]))
			n += (size_t)snprintf(buf + n, len - n, "%s ",
					      names[c]);
		else
			n += (size_t)snprintf(buf + n, len - n, "cap%u ", c);
		if (n >= len)
			break;
	}
	return buf[0] ? buf : "(none)";
}

static void assert_caps(pid_t pid, pid_t tid, const char *key, uint64_t want)
{
	uint64_t got = status_caps(pid, tid, key);
	char extra[512], missing[512];

	cr_assert_eq(got, want, "%d/%d %s %#llx, expected %#llx: extra %s; "
		     "missing %s", (int)pid, (int)tid, key,
		     (unsigned long long)got, (unsigned long long)want,
		     cap_names(got & ~want, extra, sizeof(extra)),
		     cap_names(want & ~got, missing, sizeof(missing)));
}

/* every thread of the daemon: exactly @prm, @bnd; nothing inheritable;
 * CAP_SYS_RESOURCE not effective */
static void assert_daemon_caps(pid_t pid, uint64_t prm, uint64_t bnd)
{
	char path[64];
	struct dirent *de;
	int threads = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0)
			continue;
		assert_caps(pid, tid, "CapPrm", prm);
		/* raised only while acting for root (creds.c) */
		assert_caps(pid, tid, "CapEff", prm & ~BIT(CAP_SYS_RESOURCE));
		assert_caps(pid, tid, "CapBnd", bnd);
		assert_caps(pid, tid, "CapInh", 0);
		assert_caps(pid, tid, "CapAmb", 0);
		threads++;
	}
	closedir(d);
	cr_assert_gt(threads, 1, "the daemon has %d thread(s)", threads);
}

/* the daemon's children (the sandbox's unmount watcher) */
static int daemon_children(pid_t pid, pid_t *kids, int max)
{
	char path[64];
	int n = 0, k;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fscanf(f, "%d", &k) == 1)
		kids[n++] = (pid_t)k;
	fclose(f);
	return n;
}

/* call once the daemon has answered a request: it drops them before INIT */
static void assert_documented_caps(struct mdfs_fs *fs)
{
	uint64_t own_prm = status_caps(getpid(), 0, "CapPrm");
	uint64_t own_bnd = status_caps(getpid(), 0, "CapBnd");

	assert_daemon_caps(fs->pid, documented & own_prm,
			   documented & own_bnd);
}

MDFS_TEST(privs, capabilities_are_the_documented_list, NULL)
{
	/* a mediated write and a lease check ran with them */
	mdfs_write_file(mdfs_mpath(fs, "f"), "x", 1);
	mdfs_assert_file_is(mdfs_bpath(fs, "f"), "x", 1);
	assert_documented_caps(fs);
}

MDFS_TEST(privs, sandbox_off_keeps_the_same_capabilities, "sandbox=off")
{
	mdfs_write_file(mdfs_mpath(fs, "f"), "x", 1);
	assert_documented_caps(fs);
}

/* The entries of the daemon's root directory, sorted, space-separated */
static void root_entries(pid_t pid, char *out, size_t len)
{
	struct dirent **names;
	char path[64];
	size_t n = 0;
	int cnt;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	cnt = scandir(path, &names, NULL, alphasort);
	cr_assert_geq(cnt, 0, "%s: %s", path, strerror(errno));
	out[0] = '\0';
	for (int i = 0; i < cnt; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..") && n < len)
			n += (size_t)snprintf(out + n, len - n, "%s%s",
					      n ? " " : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* Is @pid in this process's namespace of kind @ns ("net", "mnt")? */
static bool same_ns(pid_t pid, const char *ns)
{
	char a[64], b[64], la[64] = "", lb[64] = "";

	snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, ns);
	snprintf(b, sizeof(b), "/proc/self/ns/%s", ns);
	cr_assert_gt(readlink(a, la, sizeof(la) - 1), 0, "%s: %s", a,
		     strerror(errno));
	cr_assert_gt(readlink(b, lb, sizeof(lb) - 1), 0);
	return !strcmp(la, lb);
}

/* @path as the daemon sees it: stat through /proc/PID/root */
static int stat_in_daemon(pid_t pid, const char *path, struct stat *st)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "/proc/%d/root%s", (int)pid, path);
	return stat(p, st) ? -errno : 0;
}

/* Does the daemon's mountinfo have a mount on @dir? fstype into @type */
static bool daemon_mounts(pid_t pid, const char *dir, char *type, size_t len,
			  char *all, size_t alen)
{
	char path[64], line[4096], mnt[PATH_MAX], fstype[64];
	bool found = false;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	all[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (sscanf(line, "%*d %*d %*s %*s %4095s", mnt) != 1 || !sep ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (n < alen)
			n += (size_t)snprintf(all + n, alen - n, "%s(%s) ", mnt,
					      fstype);
		if (!strcmp(mnt, dir)) {
			found = true;
			snprintf(type, len, "%s", fstype);
		}
	}
	fclose(f);
	return found;
}

/*
 * sandbox=auto (the default) with root: Seccomp 2, and only BACKING, /proc,
 * /sys, /dev/fuse (and /dev/log) in the daemon's mount namespace; the test
 * dir around BACKING, the mount point and the host's root are not there;
 * no network namespace of the host either.
 */
MDFS_TEST(privs, sandbox_confines_the_daemon, NULL)
{
	char entries[512], first[PATH_MAX], type[64], all[8192];
	struct stat in, out;
	pid_t kids[8];
	int nkids;

	mdfs_write_file(mdfs_tpath(fs, "sibling"), "s", 1);
	mdfs_write_file(mdfs_bpath(fs, "inside"), "i", 1);
	/* once it answers, it has confined itself (before INIT) */
	mdfs_write_file(mdfs_mpath(fs, "first"), "f", 1);

	cr_assert_eq(status_long(fs->pid, "Seccomp"), 2);
	cr_assert_eq(status_long(fs->pid, "NoNewPrivs"), 1);
	cr_assert_not(same_ns(fs->pid, "mnt"));
	cr_assert_not(same_ns(fs->pid, "net"), "the daemon has the network");

	/* the root holds the path down to BACKING, dev, proc, sys */
	snprintf(first, sizeof(first), "%s", fs->backing + 1);
	first[strcspn(first, "/")] = '\0';
	root_entries(fs->pid, entries, sizeof(entries));
	{
		char *save, *e, copy[512];
		int n = 0;

		snprintf(copy, sizeof(copy), "%s", entries);
		for (e = strtok_r(copy, " ", &save); e;
		     e = strtok_r(NULL, " ", &save), n++)
			cr_assert(!strcmp(e, "dev") || !strcmp(e, "proc") ||
				  !strcmp(e, "sys") || !strcmp(e, first),
				  "daemon's / holds %s: %s", e, entries);
		cr_assert_eq(n, 4, "daemon's / holds: %s", entries);
	}
	cr_assert_eq(stat_in_daemon(fs->pid, "/etc", &in), -ENOENT,
		     "the host's /etc is visible to the daemon");
	cr_assert_eq(stat_in_daemon(fs->pid, mdfs_tpath(fs, "sibling"), &in),
		     -ENOENT, "BACKING's sibling is visible to the daemon");
	cr_assert_eq(stat_in_daemon(fs->pid, fs->mnt, &in), -ENOENT,
		     "the mount point is visible to the daemon");
	/* BACKING is, at its own path, and it is the same directory */
	cr_assert_eq(stat_in_daemon(fs->pid, mdfs_bpath(fs, "inside"), &in), 0);
	cr_assert_eq(stat(mdfs_bpath(fs, "inside"), &out), 0);
	cr_assert(in.st_dev == out.st_dev && in.st_ino == out.st_ino);

	/* its mount namespace: BACKING and what it needs, nothing else */
	cr_assert(daemon_mounts(fs->pid, fs->backing, type, sizeof(type), all,
				sizeof(all)), "BACKING not in: %s", all);
	cr_assert_not(daemon_mounts(fs->pid, fs->mnt, type, sizeof(type), all,
				    sizeof(all)),
		      "the FUSE mount is in the daemon's namespace: %s", all);
	cr_assert(daemon_mounts(fs->pid, "/", type, sizeof(type), all,
				sizeof(all)));
	cr_assert_str_eq(type, "tmpfs", "root: %s", all);
	for (const char *p = all; *p;) {
		char mnt[PATH_MAX];
		int len;

		cr_assert_eq(sscanf(p, "%4095[^(]%*[^ ] %n", mnt, &len), 1);
		cr_assert(!strcmp(mnt, "/") || !strcmp(mnt, fs->backing) ||
			  !strcmp(mnt, "/proc") || !strcmp(mnt, "/sys") ||
			  !strcmp(mnt, "/dev/fuse") || !strcmp(mnt, "/dev/log"),
			  "unexpected mount %s in the daemon's namespace: %s",
			  mnt, all);
		p += len;
	}

	/* the mount still serves, in the caller's namespace */
	cr_assert(mdfs_is_mounted(fs->mnt));
	mdfs_write_file(mdfs_mpath(fs, "w"), "served", 6);
	mdfs_assert_file_is(mdfs_bpath(fs, "w"), "served", 6);

	/* the unmount watcher outside keeps CAP_SYS_ADMIN, nothing else */
	nkids = daemon_children(fs->pid, kids, 8);
	cr_assert_eq(nkids, 1, "the daemon has %d children", nkids);
	assert_caps(kids[0], 0, "CapPrm",
		    BIT(CAP_SYS_ADMIN) & status_caps(getpid(), 0, "CapPrm"));
	cr_assert_eq(stat_in_daemon(kids[0], fs->mnt, &in), 0,
		     "the watcher is not in the caller's namespace");
}

/* sandbox=off: no filter, the host's namespace (the mount is in it) */
MDFS_TEST(privs, sandbox_off_turns_both_off, "sandbox=off")
{
	char type[64], all[8192];
	struct stat st;
	pid_t kids[8];

	mdfs_write_file(mdfs_tpath(fs, "sibling"), "s", 1);
	mdfs_write_file(mdfs_mpath(fs, "first"), "f", 1);
	cr_assert_eq(status_long(fs->pid, "Seccomp"), 0);
	cr_assert(same_ns(fs->pid, "mnt") && same_ns(fs->pid, "net"));
	cr_assert_eq(stat_in_daemon(fs->pid, mdfs_tpath(fs, "sibling"), &st),
		     0, "sandbox=off still hides BACKING's sibling");
	cr_assert(daemon_mounts(fs->pid, fs->mnt, type, sizeof(type), all,
				sizeof(all)), "mount not in: %s", all);
	cr_assert_str_eq(type, "fuse.mapdirectfs");
	cr_assert_eq(daemon_children(fs->pid, kids, 8), 0,
		     "a watcher without the sandbox");
}

/* SIGTERM still unmounts, from outside the daemon's namespace */
MDFS_TEST(privs, sandboxed_daemon_unmounts_on_sigterm, NULL)
{
	int st = mdfs_stop(fs, SIGTERM);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	cr_assert_not(mdfs_mountinfo(fs->mnt, NULL, 0, NULL, 0),
		      "still mounted after the sandboxed daemon exited");
}

/*
 * A system call off the allow-list, made by the daemon (the preloaded
 * probe makes getpgid(2) in the statfs handler): it fails with EPERM, the
 * daemon logs one line naming it, and it goes on serving. With
 * sandbox=off the same call goes through.
 */
static void run_probe(struct mdfs_fs *fs, const char *opts, int want_errno)
{
	char *asan, out[PATH_MAX], expect[96], tail[8192];
	struct statvfs sv;
	int nr, err;
	FILE *f;

	snprintf(out, sizeof(out), "%s", mdfs_bpath(fs, "probe.out"));
	asan = getenv("ASAN_OPTIONS");
	/* ASan wants to come first; the probe only wraps fstatvfs */
	snprintf(tail, sizeof(tail), "%s%sverify_asan_link_order=0",
		 asan ? asan : "", asan ? ":" : "");
	cr_assert_eq(setenv("ASAN_OPTIONS", tail, 1), 0);
	cr_assert_eq(setenv("MDFS_SECCOMP_PROBE", out, 1), 0);
	cr_assert_eq(setenv("LD_PRELOAD", MDFS_SECCOMP_PROBE, 1), 0);
	mdfs_start(fs, NULL, opts);
	unsetenv("LD_PRELOAD");
	unsetenv("MDFS_SECCOMP_PROBE");

	cr_assert_eq(statvfs(fs->mnt, &sv), 0, "statfs: %s", strerror(errno));
	f = fopen(out, "re");
	cr_assert_not_null(f, "the probe did not run in the daemon");
	cr_assert_eq(fscanf(f, "%d %d", &nr, &err), 2);
	fclose(f);
	cr_assert_eq(nr, (int)SYS_getpgid);
	cr_assert_eq(err, want_errno, "getpgid in the daemon: errno %d, "
		     "expected %d", err, want_errno);
	/* and the daemon still answers */
	cr_assert_eq(statvfs(fs->mnt, &sv), 0);
	mdfs_write_file(mdfs_mpath(fs, "after"), "a", 1);

	snprintf(expect, sizeof(expect), "seccomp: system call %d denied",
		 (int)SYS_getpgid);
	mdfs_file_tail(fs->log, tail, sizeof(tail));
	if (want_errno) {
		cr_assert(strstr(tail, expect), "no \"%s\" in the daemon's "
			  "log:\n%s", expect, tail);
		/* wanted here: keep the harness from failing the run on it */
		cr_assert_eq(truncate(fs->log, 0), 0);
	} else {
		cr_assert_null(strstr(tail, "seccomp:"), "log:\n%s", tail);
	}
}

MDFS_TEST_NOMOUNT(privs, denied_system_call_fails_eperm_and_is_logged)
{
	run_probe(fs, NULL, EPERM);
}

MDFS_TEST_NOMOUNT(privs, sandbox_off_allows_every_system_call)
{
	run_probe(fs, "sandbox=off", 0);
}

/* ---- acting for a caller: CAP_SYS_RESOURCE and CAP_FSETID dropped ---- */

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -EIO;
}

/* The daemon, in a user namespace of its own (uids 0-65535 mapped 1:1),
 * where it has every capability of that namespace, CAP_SYS_RESOURCE too */
static pid_t start_in_userns(struct mdfs_fs *fs)
{
	char opts[256], c = 0;
	int up[2], down[2], logfd;
	pid_t pid;

	cr_assert_eq(pipe2(up, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(down, O_CLOEXEC), 0);
	/* passthrough needs CAP_SYS_ADMIN of the host; the sandbox's
	 * /proc too: neither matters to what is checked here */
	snprintf(opts, sizeof(opts), "%s,allow_other,passthrough=off,"
		 "sandbox=off", fs->transport);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) ||
		    write(up[1], "u", 1) != 1 || read(down[0], &c, 1) != 1 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(MDFS_CHILD_SETUP_FAILED);
		logfd = open(fs->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (logfd < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(MDFS_CHILD_SETUP_FAILED);
		execl(mdfs_bin(), "mapdirectfs", "-f", "-o", opts,
		      fs->backing, fs->mnt, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(read(up[0], &c, 1), 1, "the child did not unshare");
	cr_assert_eq(write_proc(pid, "uid_map", "0 0 65536\n"), 0);
	cr_assert_eq(write_proc(pid, "gid_map", "0 0 65536\n"), 0);
	cr_assert_eq(write(down[1], "g", 1), 1);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	return pid;
}

static void wait_mounted_in(struct mdfs_fs *fs, pid_t pid)
{
	char type[64], all[8192], tail[4096];

	for (int i = 0; i < MDFS_WAIT_MS / 10; i++) {
		if (daemon_mounts(pid, fs->mnt, type, sizeof(type), all,
				  sizeof(all)) &&
		    !strcmp(type, "fuse.mapdirectfs"))
			return;
		cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0,
			     "the daemon exited; log:\n%s",
			     mdfs_file_tail(fs->log, tail, sizeof(tail)));
		usleep(10000);
	}
	cr_assert_fail("not mounted in the daemon's namespace; log:\n%s",
		       mdfs_file_tail(fs->log, tail, sizeof(tail)));
}

static pid_t fork_caller(pid_t daemon, const char *path, uid_t uid)
{
	char ns[64];
	pid_t pid = fork();
	int fd;

	cr_assert_geq(pid, 0);
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)daemon);
	fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWUSER))
		_exit(MDFS_CHILD_SETUP_FAILED);
	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)daemon);
	fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNS) || setgroups(0, NULL) ||
	    setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		_exit(MDFS_CHILD_SETUP_FAILED);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	_exit(fd < 0 ? (errno & 0x7f) : 0);
}

/* the thread of @pid that is inside openat(2), or 0 */
static pid_t thread_in_openat(pid_t pid)
{
	char path[96];
	struct dirent *de;
	pid_t found = 0;
	DIR *d;
	long nr;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall",
			 (int)pid, (int)tid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &nr) == 1 && nr == SYS_openat)
			found = tid;
		fclose(f);
	}
	closedir(d);
	return found;
}

/*
 * @uid opens mnt/f for writing while the test holds a read lease on the
 * backing file: the daemon's openat(2) of it waits for the lease, inside
 * mdfs_creds_enter(). @return that thread's effective set then; @fsuid
 * gets its fsuid, @after its effective set once the open is done.
 */
static uint64_t caps_acting_for(struct mdfs_fs *fs, pid_t daemon, uid_t uid,
				unsigned int *fsuid, uint64_t *after)
{
	unsigned int r, e, s;
	uint64_t eff, before;
	char v[128];
	pid_t caller, tid = 0;
	int fd, st;

	signal(SIGIO, SIG_IGN);
	fd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	/* EAGAIN while the daemon still has the last caller's backing fd
	 * open for writing: its RELEASE comes after the close(2) */
	for (int i = 0; i < 500 && fcntl(fd, F_SETLEASE, F_RDLCK); i++) {
		cr_assert_eq(errno, EAGAIN, "F_SETLEASE: %s", strerror(errno));
		usleep(10000);
	}
	cr_assert_eq(fcntl(fd, F_GETLEASE), F_RDLCK, "no read lease");
	caller = fork_caller(daemon, mdfs_mpath(fs, "f"), uid);
	for (int i = 0; i < 500 && !tid; i++) {
		tid = thread_in_openat(daemon);
		if (!tid)
			usleep(10000);
	}
	cr_assert_neq(tid, 0, "no daemon thread waits in openat for uid %u",
		      (unsigned int)uid);
	before = status_caps(daemon, tid, "CapEff");
	cr_assert(status_field(daemon, tid, "Uid", v, sizeof(v)));
	cr_assert_eq(sscanf(v, "%u %u %u %u", &r, &e, &s, fsuid), 4);
	eff = status_caps(daemon, tid, "CapEff");
	cr_assert_eq(thread_in_openat(daemon), tid, "the open went on");
	cr_assert_eq(eff, before);

	cr_assert_eq(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
	close(fd);
	st = mdfs_wait_child(caller);
	cr_assert_eq(st, 0, "uid %u's open: %d", (unsigned int)uid, st);
	/* its fsuid goes back first, its capabilities just after */
	for (int i = 0; i < 100; i++) {
		*after = status_caps(daemon, tid, "CapEff");
		if (*after != eff)
			break;
		usleep(10000);
	}
	return eff;
}

/*
 * Inside a user namespace, where the daemon has CAP_SYS_RESOURCE: a thread
 * acting for uid 1000 has neither it nor CAP_FSETID in its effective set;
 * one acting for root has both, and drops CAP_SYS_RESOURCE again after.
 */
MDFS_TEST_NOMOUNT(privs, caller_thread_drops_sys_resource_and_fsetid)
{
	uint64_t prm, eff, after, fs_caps;
	unsigned int fsuid;
	char extra[256];
	pid_t daemon;
	int st;

	mdfs_write_file(mdfs_bpath(fs, "f"), "data", 4);
	cr_assert_eq(chmod(mdfs_bpath(fs, "f"), 0666), 0);
	daemon = start_in_userns(fs);
	wait_mounted_in(fs, daemon);
	/* once it answers, it has dropped what it drops */
	cr_assert_eq(mdfs_wait_child(fork_caller(daemon, mdfs_mpath(fs, "f"),
						 0)), 0);
	prm = status_caps(daemon, 0, "CapPrm");
	cr_assert(prm & BIT(CAP_SYS_RESOURCE), "the daemon in its user "
		  "namespace has no CAP_SYS_RESOURCE: %s",
		  cap_names(prm, extra, sizeof(extra)));
	assert_caps(daemon, daemon, "CapEff", prm & ~BIT(CAP_SYS_RESOURCE));

	eff = caps_acting_for(fs, daemon, 1000, &fsuid, &after);
	cr_assert_eq(fsuid, 1000);
	cr_assert_not(eff & BIT(CAP_SYS_RESOURCE),
		      "the thread acting for uid 1000 has CAP_SYS_RESOURCE: %s",
		      cap_names(eff, extra, sizeof(extra)));
	cr_assert_not(eff & BIT(CAP_FSETID),
		      "the thread acting for uid 1000 has CAP_FSETID");

	eff = caps_acting_for(fs, daemon, 0, &fsuid, &after);
	cr_assert_eq(fsuid, 0);
	fs_caps = BIT(CAP_FSETID) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER);
	cr_assert_eq(eff & (BIT(CAP_SYS_RESOURCE) | fs_caps),
		     BIT(CAP_SYS_RESOURCE) | fs_caps,
		     "the thread acting for root lacks %s",
		     cap_names((BIT(CAP_SYS_RESOURCE) | fs_caps) & ~eff, extra,
			       sizeof(extra)));
	cr_assert_eq(after, prm & ~BIT(CAP_SYS_RESOURCE),
		     "after acting for root: %s",
		     cap_names(after, extra, sizeof(extra)));

	kill(daemon, SIGTERM);
	while (waitpid(daemon, &st, 0) < 0 && errno == EINTR)
		;
}

/*
 * sandbox=on where it cannot be had (no CAP_SYS_ADMIN: dropped from the
 * bounding set before exec) is a start-up refusal of SPEC 2: one line, a
 * non-zero exit, nothing mounted.
 */
MDFS_TEST_NOMOUNT(privs, sandbox_on_without_cap_sys_admin_is_refused)
{
	char opts[128], err[PATH_MAX], tail[4096];
	const char *nl, *text;
	int st, fd;
	pid_t pid;

	snprintf(err, sizeof(err), "%s", mdfs_tpath(fs, "stderr"));
	snprintf(opts, sizeof(opts), "%s,sandbox=on", fs->transport);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) < 0 ||
		    prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0))
			_exit(MDFS_CHILD_SETUP_FAILED);
		execl(mdfs_bin(), "mapdirectfs", "-f", "-o", opts, fs->backing,
		      fs->mnt, (char *)NULL);
		_exit(127);
	}
	st = mdfs_wait_child(pid);
	text = mdfs_file_tail(err, tail, sizeof(tail));
	cr_assert(st != 0 && st != MDFS_CHILD_SETUP_FAILED && st != 127,
		  "exit %d; stderr:\n%s", st, text);
	cr_assert(!strncmp(text, "mapdirectfs: ", 13) &&
		  strstr(text, "sandbox=on needs CAP_SYS_ADMIN"),
		  "stderr:\n%s", text);
	nl = strchr(text, '\n');
	cr_assert(nl && nl[1] == '\0', "not one line:\n%s", text);
	cr_assert_not(mdfs_mountinfo(fs->mnt, NULL, 0, NULL, 0));
}

/*
 * Of the kept capabilities, CAP_SETFCAP is the one no other test needs:
 * root sets a file capability through the mount (setcap), as on a local
 * filesystem, and the backing file has it.
 */
MDFS_TEST(privs, root_sets_file_capabilities, NULL)
{
	struct vfs_cap_data set = {
		.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
		.data = { { .permitted = 1u << CAP_NET_RAW } },
	}, got = { 0 };
	ssize_t n;

	mdfs_write_file(mdfs_mpath(fs, "tool"), "#!/bin/true\n", 12);
	cr_assert_eq(setxattr(mdfs_mpath(fs, "tool"), "security.capability",
			      &set, sizeof(set), 0), 0,
		     "setxattr security.capability through the mount: %s",
		     strerror(errno));
	n = getxattr(mdfs_bpath(fs, "tool"), "security.capability", &got,
		     sizeof(got));
	cr_assert_eq(n, (ssize_t)sizeof(set), "backing: %s", strerror(errno));
	cr_assert_eq(memcmp(&got, &set, sizeof(set)), 0);
}

/*
 * CAP_KILL and CAP_SYS_PTRACE are kept for holders of other users than the
 * daemon's: a uid 1000 holder gets the break signal it asked for (SPEC
 * 4.3.1), and keeps its lease after closing its fd while it maps the file
 * (SPEC 4.2.2: the daemon reads its /proc/PID/maps).
 */
#define HOLD_SIZE (64 << 10)
#define HOLD_MS 3000

static void user_file(struct mdfs_fs *fs)
{
	lease_file(fs, "f", HOLD_SIZE, 'a');
	cr_assert_eq(chown(mdfs_bpath(fs, "f"), 1000, 1000), 0);
}

MDFS_TEST(privs, other_users_holder_gets_its_break_signal,
	  "allow_other,lease_break_time=30")
{
	struct lease_holder h = { .a = mdfs_agent_start(1000, 1000) };
	struct lop s;
	int fd;

	user_file(fs);
	lease_hold(fs, &h, "f", 0, SIGUSR1);
	/* root breaks it; O_NONBLOCK: EAGAIN at once, the break goes on */
	fd = open(mdfs_mpath(fs, "f"), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "Z", 1, 0), -1);
	cr_assert_eq(errno, EAGAIN);
	s = op_sigwait(SIGUSR1, HOLD_MS);
	cr_assert_eq(lop_run(h.a, &s), SIGUSR1,
		     "uid 1000's holder got no break signal");
	cr_assert_eq(s.sig_value, (int)h.id);
	close(fd);
}

MDFS_TEST_NOMOUNT(privs, other_users_mapping_keeps_its_lease)
{
	struct lease_holder h = { .a = mdfs_agent_start(1000, 1000) };
	struct mapdirect_lease_info i;
	int n, obs;

	user_file(fs);
	/* -d: libfuse logs the RELEASE as it takes it */
	mdfs_start(fs, (const char *const[]){ "-d", NULL },
		   "allow_other,lease_break_time=30");
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	LOP_OK(h.a, op_mmap(h.fd, HOLD_SIZE));
	n = lease_log_count(fs, "RELEASE", 0);
	LOP_OK(h.a, op_close(h.fd));
	lease_log_wait(fs, "RELEASE", 0, n + 1, HOLD_MS);
	/* the release is handled once logged; give it the time to run */
	cr_assert_not(lease_wait(obs, MAPDIRECT_STATE_NONE, 0, 500, &i),
		      "uid 1000's lease ended when it closed its fd, though "
		      "it maps the file");
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.holders, 1);
	close(obs);
}

/*
 * CAP_FSETID is kept for root callers: root's write through a mediated
 * open leaves a setuid/setgid file's bits, as on a local filesystem (the
 * kernel clears them only for writers without CAP_FSETID: test_creds.c).
 */
MDFS_TEST(privs, root_write_keeps_setuid, "mediate=all")
{
	struct stat st;
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "tool"), "0123456789", 10);
	cr_assert_eq(chmod(mdfs_bpath(fs, "tool"), 06755), 0);
	fd = open(mdfs_mpath(fs, "tool"), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "x", 1, 0), 1);
	close(fd);
	cr_assert_eq(stat(mdfs_bpath(fs, "tool"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 06755, "root's write left mode %o",
		     st.st_mode & 07777);
}
