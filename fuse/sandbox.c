// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Least privilege after start-up, as virtiofsd does it (README "Least
 * privilege"): the daemon keeps only the capabilities listed in kept_caps[]
 * (bounding, permitted and effective sets, CAP_SYS_RESOURCE not effective;
 * nothing inheritable or ambient)
 * and, with sandbox=on|auto, confines itself:
 *
 *  - a private mount namespace (and an empty network namespace) whose root
 *    is an empty read-only tmpfs
 *    holding BACKING (at its own path, so /proc/self/fd links read the
 *    same), a fresh /proc, /sys read-only (libndctl), /dev/fuse (clone_fd)
 *    and /dev/log (syslog); nothing else of the host is reachable by path.
 *    The FUSE mount was made before, in the caller's namespace, so it stays
 *    there; a small watcher process forked before the namespace stays
 *    outside with CAP_SYS_ADMIN only, and unmounts when the daemon asks at
 *    exit (a daemon that dies leaves its mount behind, as without the
 *    sandbox).
 *  - the seccomp allow-list of syscalls.c.
 *
 * All of it happens in mdfs_confine(), after the mount and before the
 * first thread: capabilities are per thread, and threads inherit the
 * filter and the namespace.
 */
#include <cap-ng.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "mdfs.h"
#include "proc.h"
#include "syscalls.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * What the daemon keeps, and why. Each is kept only if the daemon had it
 * at start-up (root on some machines lacks CAP_SYS_RESOURCE).
 */
static const struct {
	int cap;
	const char *why;
} kept_caps[] = {
	{ CAP_CHOWN, "chown for root callers (setattr)" },
	{ CAP_DAC_OVERRIDE, "act on backing files the kernel already allowed "
	  "(default_permissions): lookups, opens, readdir run as the daemon; "
	  "it covers CAP_DAC_READ_SEARCH, which the daemon does not keep (no "
	  "open_by_handle_at, links go through /proc/self/fd)" },
	{ CAP_FOWNER, "times, modes, xattrs of others' files, root callers" },
	{ CAP_FSETID, "root callers keep setuid/setgid as on a local fs "
	  "(dropped for other callers: setfsuid and creds.c)" },
	{ CAP_MKNOD, "device nodes created by root callers" },
	{ CAP_SETGID, "setfsgid and setgroups per request (creds.c)" },
	{ CAP_SETUID, "setfsuid per request (creds.c)" },
	{ CAP_SETFCAP, "security.capability set by root callers" },
	{ CAP_KILL, "break signals and revocation of other users' holders" },
	{ CAP_SYS_PTRACE, "other users' /proc/PID/maps: the lease census" },
	{ CAP_SYS_ADMIN, "FUSE_DEV_IOC_BACKING_OPEN on every passthrough "
	  "open; trusted.* xattrs; the unmount at exit" },
	{ CAP_SYS_RESOURCE, "root callers may use reserved blocks and pass "
	  "quotas as on a local fs: effective only while acting for root "
	  "(creds.c)" },
};

static uint64_t caps_kept;	/* what mdfs_drop_caps() left */
static bool sandboxed;
static pid_t watcher_pid;
static int watcher_fd = -1;	/* our end of the watcher's socket */

uint64_t mdfs_caps_kept(void)
{
	return caps_kept;
}

bool mdfs_sandboxed(void)
{
	return sandboxed;
}

/* ---- capabilities ---- */

/* The daemon's own, from the kernel (not /proc: see md_caps_has()) */
static bool have_cap(unsigned int cap)
{
	capng_get_caps_process();
	return capng_have_capability(CAPNG_EFFECTIVE, cap);
}

/*
 * Keep kept_caps[] (those the daemon has) in every set but inheritable and
 * ambient, which are emptied; the bounding set too, so nothing exec'd can
 * get more back.
 */
static int drop_caps(void)
{
	bool bounding;

	capng_get_caps_process();
	bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	caps_kept = 0;
	for (size_t i = 0; i < ARRAY_SIZE(kept_caps); i++)
		if (capng_have_capability(CAPNG_PERMITTED, kept_caps[i].cap))
			caps_kept |= 1ULL << kept_caps[i].cap;
	capng_clear(CAPNG_SELECT_ALL);
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (caps_kept & (1ULL << cap) &&
		    capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
				 CAPNG_BOUNDING_SET, (unsigned int)cap))
			return -EINVAL;
	/* raised only while acting for root (creds.c) */
	capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, CAP_SYS_RESOURCE);
	/* without CAP_SETPCAP (an unprivileged daemon) the bounding set
	 * cannot shrink; it has nothing to drop there anyway */
	if (capng_apply(bounding ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS)) {
		md_err("cannot drop capabilities\n");
		return -EPERM;
	}
	return 0;
}

/* ---- the watcher: unmounts from the caller's namespace ---- */

/* Unmount @mnt if the mount on top there is still ours (@id). */
static void watcher_unmount(const char *mnt, int id)
{
	if (md_mount_id(mnt) != id)
		return;
	if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW))
		fprintf(stderr, "mapdirectfs: unmounting %s: %s\n", mnt,
			strerror(errno));
}

static void __attribute__((noreturn)) watcher_main(int fd, int id)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	char c;
	ssize_t n;

	prctl(PR_SET_NAME, "mapdirectfs-um", 0, 0, 0);
	/* the daemon's signals are its own: a ^C reaches both */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* nobody waits on our stdout; a detached daemon's stderr goes
	 * nowhere once it is up, the watcher's goes nowhere at all */
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (mdfs.ready_fd >= 0)
			dup2(null, STDERR_FILENO);
	}
	/* no /dev/fuse, backing or start-up pipe fd: the daemon's death must
	 * end the connection, its parent must see the pipe close */
	if (fd != 3) {
		dup2(fd, 3);
		fd = 3;
	}
	syscall(SYS_close_range, 4, ~0U, 0);
	capng_clear(CAPNG_SELECT_ALL);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
		     CAPNG_BOUNDING_SET, CAP_SYS_ADMIN);
	capng_apply(CAPNG_SELECT_ALL);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	/* the daemon serves nobody before the watcher has dropped its
	 * capabilities */
	if (write(fd, "r", 1) != 1)
		_exit(1);
	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		/* a daemon that died leaves its mount as without the
		 * sandbox (ENOTCONN until unmounted): same behaviour */
		if (n <= 0)
			_exit(0);
		watcher_unmount(mdfs.mountpoint, id);
		if (write(fd, "u", 1) != 1)
			_exit(0);
	}
}

static int start_watcher(void)
{
	int sv[2], id;
	ssize_t n;
	char c;

	id = md_mount_id(mdfs.mountpoint);
	if (id < 0) {
		md_err("sandbox: the mount at %s is not in mountinfo: %s\n",
		       mdfs.mountpoint, strerror(-id));
		return id;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	watcher_pid = fork();
	if (watcher_pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (watcher_pid == 0) {
		close(sv[0]);
		watcher_main(sv[1], id);
	}
	close(sv[1]);
	watcher_fd = sv[0];
	while ((n = read(watcher_fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 || c != 'r')
		return -ECHILD;
	return 0;
}

bool mdfs_sandbox_unmount(bool wait)
{
	char c;

	if (watcher_fd < 0)
		return false;
	if (write(watcher_fd, "U", 1) != 1)
		md_err("sandbox: cannot reach the watcher: %m\n");
	if (!wait)
		return true;
	/* the watcher answers once it has unmounted */
	while (read(watcher_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(watcher_fd);
	watcher_fd = -1;
	while (waitpid(watcher_pid, NULL, 0) < 0 && errno == EINTR)
		;
	return true;
}

/* ---- the mount namespace ---- */

/* mkdir -p of @path below @root (both absolute, @root existing) */
static int mkdir_below(const char *root, const char *path)
{
	char buf[PATH_MAX];
	size_t rlen = strlen(root);

	if (rlen + strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s%s", root, path);
	for (char *p = buf + rlen + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		char save = *p;

		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = save;
		if (!save)
			return 0;
	}
}

/* bind @src (a file or directory of the old root) onto @dst below @root */
static int bind_below(const char *root, const char *src, const char *dst,
		      bool is_dir, unsigned long extra)
{
	char target[PATH_MAX];
	int fd;

	snprintf(target, sizeof(target), "%s%s", root, dst);
	if (is_dir) {
		if (mkdir(target, 0755) && errno != EEXIST)
			return -errno;
	} else {
		fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		close(fd);
	}
	if (mount(src, target, NULL, MS_BIND, NULL))
		return -errno;
	if (extra && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | extra,
			   NULL))
		return -errno;
	return 0;
}

/*
 * The staging point of the new root: an existing directory that is surely
 * no part of the FUSE mount and whose own contents we do not need on the
 * way (the fresh /proc is mounted inside the new root).
 */
#define STAGE "/proc"

static int enter_mount_ns(void)
{
	const unsigned long nosuid = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char path[PATH_MAX];
	struct stat before, after;
	int tree, fd, err;

	if (fstat(mdfs.root.fd, &before))
		return -errno;
	/* BACKING as a detached copy of its mount, taken through our fd
	 * while that mount is still in our namespace */
	tree = (int)syscall(SYS_open_tree, mdfs.root.fd, "", OPEN_TREE_CLONE |
			    OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return -errno;
	/* nothing we mount from here on propagates back to the host; and
	 * no network (syslog's socket is a path: it works across) */
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) {
		err = -errno;
		goto close_tree;
	}
	if (mount("tmpfs", STAGE, "tmpfs", nosuid, "mode=0755,size=64k")) {
		err = -errno;
		goto close_tree;
	}
	err = mkdir_below(STAGE, mdfs.backing);
	if (err)
		goto close_tree;
	snprintf(path, sizeof(path), STAGE "%s", mdfs.backing);
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, path,
		    MOVE_MOUNT_F_EMPTY_PATH)) {
		err = -errno;
		goto close_tree;
	}
	close(tree);
	if (mkdir(STAGE "/proc", 0555) ||
	    mount("proc", STAGE "/proc", "proc", nosuid, NULL))
		return -errno;
	err = bind_below(STAGE, "/sys", "/sys", true, MS_RDONLY | nosuid);
	if (err)
		return err;
	if (mkdir(STAGE "/dev", 0755))
		return -errno;
	/* clone_fd opens /dev/fuse per thread */
	err = bind_below(STAGE, "/dev/fuse", "/dev/fuse", false, 0);
	if (err)
		return err;
	/* syslog(3) connects to it again after a failed send */
	if (!access("/dev/log", F_OK) &&
	    bind_below(STAGE, "/dev/log", "/dev/log", false, 0))
		md_warn("sandbox: /dev/log not bound: syslog may stop\n");
	if (mount(NULL, STAGE, NULL, MS_REMOUNT | MS_RDONLY | nosuid, NULL))
		return -errno;
	if (chdir(STAGE) || syscall(SYS_pivot_root, ".", "."))
		return -errno;
	/* the old root now sits on top of the new one: let it go */
	if (mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL) ||
	    umount2(".", MNT_DETACH) || chdir("/"))
		return -errno;
	/*
	 * The inode table looks up names from the root's fd: take it from
	 * the new mount of BACKING, so that paths read back through
	 * /proc/self/fd (the leases listing) are the same as outside.
	 */
	fd = open(mdfs.backing, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &after) || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino ||
	    dup3(fd, mdfs.root.fd, O_CLOEXEC) < 0) {
		close(fd);
		return -EXDEV;
	}
	close(fd);
	return 0;

close_tree:
	close(tree);
	return err;
}

/* ---- the whole of it ---- */

int mdfs_sandbox_check(void)
{
	if (mdfs.cfg.sandbox == MD_ON && !have_cap(CAP_SYS_ADMIN)) {
		md_err("sandbox=on needs CAP_SYS_ADMIN (a mount namespace)\n");
		return -1;
	}
	return 0;
}

int mdfs_confine(void)
{
	bool want = mdfs.cfg.sandbox == MD_ON ||
		    (mdfs.cfg.sandbox == MD_AUTO &&
		     have_cap(CAP_SYS_ADMIN));
	uint64_t dev;
	int err;

	/* the census compares mappings with the mount's device: the
	 * mount will not be in the sandbox's mountinfo */
	if (!md_mount_dev(mdfs.mountpoint, &dev))
		mdfs.map_dev = dev;
	if (want) {
		/* glibc loads the unwinder on the first pthread_cancel()
		 * (libfuse's, at unmount): the sandbox has no /usr */
		if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
			md_warn("sandbox: %s: pthread_cancel may abort\n",
				dlerror());
		err = start_watcher();
		if (err) {
			md_err("sandbox: cannot start the unmount watcher: "
			       "%s\n", strerror(-err));
			return -1;
		}
		err = enter_mount_ns();
		if (err) {
			md_err("sandbox: cannot set up the mount namespace: %s "
			       "(sandbox=off turns it off)\n", strerror(-err));
			return -1;
		}
		sandboxed = true;
	}
	if (drop_caps())
		return -1;
	if (want) {
		err = mdfs_seccomp_load();
		if (err) {
			md_err("sandbox: cannot load the seccomp filter: %s "
			       "(sandbox=off turns it off)\n", strerror(-err));
			return -1;
		}
	}
	md_dbg("capabilities kept: %#llx; sandbox %s\n",
	       (unsigned long long)caps_kept, want ? "on" : "off");
	return 0;
}
