// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_lease_util.c - what the layout-lease tests (test_lease_*.c) share:
 * one system call per struct lop, run in the test process or in an agent
 * (harness.h), and polling of MAPDIRECT_IOC_GETLEASE. No tests here.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static void noop_handler(int sig)
{
}

static long long lop_call(struct lop *o)
{
	static char buf[1 << 20];
	struct sigaction sa;
	struct timespec ts;
	struct iovec iov[2];
	siginfo_t si;
	sigset_t set;
	long long r;
	loff_t oi, oo;
	size_t len = (size_t)o->c;

	if (len > sizeof(buf)) {
		errno = EINVAL;
		return -1;
	}
	switch (o->code) {
	case LOP_OPEN:
		return open(o->path, (int)o->a | O_CLOEXEC, (mode_t)o->b);
	case LOP_CLOSE:
		return close(o->fd);
	case LOP_LEASE: {
		struct mapdirect_lease l = {
			.size = sizeof(l),
			.flags = (__u32)o->a,
			.signal = (__u32)o->b,
		};

		r = ioctl(o->fd, MAPDIRECT_IOC_LEASE, &l);
		o->info.out_flags = l.out_flags;
		return r < 0 ? r : (long long)l.lease_id;
	}
	case LOP_UNLEASE: {
		struct mapdirect_unlease u = {
			.size = sizeof(u),
			.lease_id = (__u64)o->a,
		};

		return ioctl(o->fd, MAPDIRECT_IOC_UNLEASE, &u);
	}
	case LOP_GETLEASE:
		memset(&o->info, 0, sizeof(o->info));
		o->info.size = sizeof(o->info);
		return ioctl(o->fd, MAPDIRECT_IOC_GETLEASE, &o->info);
	case LOP_MMAP: {
		void *p = mmap(NULL, (size_t)o->a, PROT_READ | PROT_WRITE,
			       MAP_SHARED, o->fd, 0);

		return p == MAP_FAILED ? -1 : (long long)(uintptr_t)p;
	}
	case LOP_MUNMAP:
		return munmap((void *)(uintptr_t)o->a, (size_t)o->b);
	case LOP_LOAD:
		return ((volatile unsigned char *)(uintptr_t)o->a)[o->b];
	case LOP_STORE:
		((volatile unsigned char *)(uintptr_t)o->a)[o->b] =
			(unsigned char)o->c;
		return 0;
	case LOP_POLL: {
		struct pollfd p = { .fd = o->fd, .events = (short)o->a };

		r = poll(&p, 1, (int)o->b);
		return r <= 0 ? r : p.revents;
	}
	case LOP_SIGBLOCK:
		sigemptyset(&set);
		sigaddset(&set, (int)o->a);
		return sigprocmask(SIG_BLOCK, &set, NULL);
	case LOP_SIGHANDLER:
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = noop_handler;
		/* no SA_RESTART: an interrupted call fails with EINTR */
		return sigaction((int)o->a, &sa, NULL);
	case LOP_SIGWAIT:
		sigemptyset(&set);
		sigaddset(&set, (int)o->a);
		ts.tv_sec = o->b / 1000;
		ts.tv_nsec = (o->b % 1000) * 1000000;
		memset(&si, 0, sizeof(si));
		r = sigtimedwait(&set, &si, &ts);
		o->sig_no = si.si_signo;
		o->sig_code = si.si_code;
		o->sig_value = si.si_value.sival_int;
		return r;
	case LOP_SIGPENDING:
		if (sigpending(&set))
			return -1;
		return sigismember(&set, (int)o->a);
	case LOP_PWRITE:
		memset(buf, (int)o->b, len);
		return pwrite(o->fd, buf, len, (off_t)o->a);
	case LOP_WRITE:
		memset(buf, (int)o->b, len);
		return write(o->fd, buf, len);
	case LOP_WRITEV:
		memset(buf, (int)o->b, len);
		iov[0] = (struct iovec){ buf, len / 2 };
		iov[1] = (struct iovec){ buf + len / 2, len - len / 2 };
		return writev(o->fd, iov, 2);
	case LOP_PREAD:
		r = pread(o->fd, buf, len, (off_t)o->a);
		o->byte = r > 0 ? (unsigned char)buf[0] : -1;
		return r;
	case LOP_FALLOCATE:
		return fallocate(o->fd, (int)o->a, (off_t)o->b, (off_t)o->c);
	case LOP_FTRUNCATE:
		return ftruncate(o->fd, (off_t)o->a);
	case LOP_TRUNCATE:
		return truncate(o->path, (off_t)o->a);
	case LOP_COPY:
		oi = (loff_t)o->a;
		oo = (loff_t)o->b;
		return copy_file_range(o->fd2, &oi, o->fd, &oo, len, 0);
	case LOP_SETFL:
		return fcntl(o->fd, F_SETFL, (int)o->a);
	case LOP_DUP:
		return fcntl(o->fd, F_DUPFD_CLOEXEC, 0);
	case LOP_EPOLLPRI: {
		struct epoll_event ev = { .events = EPOLLPRI };
		int ep = epoll_create1(EPOLL_CLOEXEC);

		if (ep < 0)
			return -1;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, o->fd, &ev)) {
			close(ep);
			return -1;
		}
		r = epoll_wait(ep, &ev, 1, (int)o->b);
		close(ep);
		return r <= 0 ? r : ev.events;
	}
	case LOP_SELECTPRI: {
		struct timeval tv = { o->b / 1000, (o->b % 1000) * 1000 };
		fd_set ex;

		FD_ZERO(&ex);
		FD_SET(o->fd, &ex);
		r = select(o->fd + 1, NULL, NULL, &ex, &tv);
		return r <= 0 ? r : FD_ISSET(o->fd, &ex);
	}
	case LOP_EXIT:
		_exit((int)o->a);
	}
	errno = EINVAL;
	return -1;
}

/* In the agent (or here): run it, keep -errno and the time it took */
static long lop_agent_fn(void *buf)
{
	struct lop *o = buf;
	long long t0 = mdfs_now_ms();

	errno = 0;
	o->ret = lop_call(o);
	if (o->ret < 0)
		o->ret = -errno;
	o->ms = mdfs_now_ms() - t0;
	return 0;
}

_Static_assert(sizeof(struct lop) <= MDFS_AGENT_BUF, "struct lop");

long long lop_run(struct mdfs_agent *a, struct lop *o)
{
	if (!a) {
		cr_assert_neq(o->code, LOP_EXIT, "LOP_EXIT in the test");
		lop_agent_fn(o);
		return o->ret;
	}
	mdfs_agent_call(a, lop_agent_fn, o, sizeof(*o), NULL);
	return o->ret;
}

long long lop_do(struct mdfs_agent *a, struct lop o)
{
	return lop_run(a, &o);
}

void lop_send(struct mdfs_agent *a, const struct lop *o)
{
	mdfs_agent_send(a, lop_agent_fn, o, sizeof(*o));
}

long long lop_recv(struct mdfs_agent *a, struct lop *o)
{
	struct lop tmp;

	if (!o)
		o = &tmp;
	mdfs_agent_recv(a, NULL, o, sizeof(*o));
	return o->ret;
}

static struct lop lop_new(enum lop_code code, int fd, long long a,
			  long long b, long long c)
{
	struct lop o;

	memset(&o, 0, sizeof(o));
	o.code = code;
	o.fd = fd;
	o.a = a;
	o.b = b;
	o.c = c;
	return o;
}

static void set_path(struct lop *o, const char *path)
{
	cr_assert_lt(strlen(path), sizeof(o->path), "path too long: %s", path);
	strcpy(o->path, path);
}

struct lop op_open(const char *path, int flags)
{
	struct lop o = lop_new(LOP_OPEN, -1, flags, 0644, 0);

	set_path(&o, path);
	return o;
}

struct lop op_close(int fd)
{
	return lop_new(LOP_CLOSE, fd, 0, 0, 0);
}

struct lop op_lease(int fd, unsigned int flags, unsigned int sig)
{
	return lop_new(LOP_LEASE, fd, flags, sig, 0);
}

struct lop op_unlease(int fd, unsigned long long id)
{
	return lop_new(LOP_UNLEASE, fd, (long long)id, 0, 0);
}

struct lop op_mmap(int fd, size_t len)
{
	return lop_new(LOP_MMAP, fd, (long long)len, 0, 0);
}

struct lop op_munmap(long long addr, size_t len)
{
	return lop_new(LOP_MUNMAP, -1, addr, (long long)len, 0);
}

struct lop op_load(long long addr, size_t off)
{
	return lop_new(LOP_LOAD, -1, addr, (long long)off, 0);
}

struct lop op_store(long long addr, size_t off, int byte)
{
	return lop_new(LOP_STORE, -1, addr, (long long)off, byte);
}

struct lop op_pollpri(int fd, int ms)
{
	return lop_new(LOP_POLL, fd, POLLPRI, ms, 0);
}

struct lop op_sigblock(int sig)
{
	return lop_new(LOP_SIGBLOCK, -1, sig, 0, 0);
}

struct lop op_sighandler(int sig)
{
	return lop_new(LOP_SIGHANDLER, -1, sig, 0, 0);
}

struct lop op_sigwait(int sig, int ms)
{
	return lop_new(LOP_SIGWAIT, -1, sig, ms, 0);
}

struct lop op_sigpending(int sig)
{
	return lop_new(LOP_SIGPENDING, -1, sig, 0, 0);
}

struct lop op_pwrite(int fd, off_t off, int byte, size_t len)
{
	return lop_new(LOP_PWRITE, fd, off, byte, (long long)len);
}

struct lop op_write(int fd, int byte, size_t len)
{
	return lop_new(LOP_WRITE, fd, 0, byte, (long long)len);
}

struct lop op_writev(int fd, int byte, size_t len)
{
	return lop_new(LOP_WRITEV, fd, 0, byte, (long long)len);
}

struct lop op_pread(int fd, off_t off, size_t len)
{
	return lop_new(LOP_PREAD, fd, off, 0, (long long)len);
}

struct lop op_fallocate(int fd, int mode, off_t off, off_t len)
{
	return lop_new(LOP_FALLOCATE, fd, mode, off, len);
}

struct lop op_ftruncate(int fd, off_t size)
{
	return lop_new(LOP_FTRUNCATE, fd, size, 0, 0);
}

struct lop op_truncate(const char *path, off_t size)
{
	struct lop o = lop_new(LOP_TRUNCATE, -1, size, 0, 0);

	set_path(&o, path);
	return o;
}

struct lop op_copy(int fd_in, off_t off_in, int fd_out, off_t off_out,
		   size_t len)
{
	struct lop o = lop_new(LOP_COPY, fd_out, off_in, off_out,
			       (long long)len);

	o.fd2 = fd_in;
	return o;
}

struct lop op_setfl(int fd, int flags)
{
	return lop_new(LOP_SETFL, fd, flags, 0, 0);
}

struct lop op_dup(int fd)
{
	return lop_new(LOP_DUP, fd, 0, 0, 0);
}

struct lop op_epollpri(int fd, int ms)
{
	return lop_new(LOP_EPOLLPRI, fd, 0, ms, 0);
}

struct lop op_selectpri(int fd, int ms)
{
	return lop_new(LOP_SELECTPRI, fd, 0, ms, 0);
}

struct lop op_exit(int code)
{
	return lop_new(LOP_EXIT, -1, code, 0, 0);
}

void lease_info(struct mdfs_agent *a, int fd, struct mapdirect_lease_info *i)
{
	struct lop o = lop_new(LOP_GETLEASE, fd, 0, 0, 0);

	cr_assert_eq(lop_run(a, &o), 0, "MAPDIRECT_IOC_GETLEASE in %s: %s",
		     a ? "agent" : "test process", strerror((int)-o.ret));
	*i = o.info;
}

bool lease_wait(int fd, unsigned int state, int holders, int ms,
		struct mapdirect_lease_info *last)
{
	long long end = mdfs_now_ms() + ms;
	struct mapdirect_lease_info i;

	for (;;) {
		lease_info(NULL, fd, &i);
		if (last)
			*last = i;
		if (i.state == state && (holders < 0 ||
					 i.holders == (unsigned int)holders))
			return true;
		if (mdfs_now_ms() > end)
			return false;
		/* polling a state, not waiting for an event we could see */
		poll(NULL, 0, 5);
	}
}

void lease_file(struct mdfs_fs *fs, const char *rel, size_t len, int byte)
{
	char *buf = malloc(len ? len : 1);

	cr_assert_not_null(buf);
	memset(buf, byte, len);
	mdfs_write_file(mdfs_bpath(fs, "%s", rel), buf, len);
	free(buf);
}

/* A file of @len bytes that is one hole: never eligible (SPEC 4.1) */
void lease_hole_file(struct mdfs_fs *fs, const char *rel, off_t len)
{
	int fd = open(mdfs_bpath(fs, "%s", rel),
		      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, len), 0);
	close(fd);
}

int lease_obs(struct mdfs_fs *fs, const char *rel)
{
	const char *p = mdfs_mpath(fs, "%s", rel);
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
	return fd;
}

void lease_assert_backing(struct mdfs_fs *fs, const char *rel, off_t off,
			  size_t len, int byte)
{
	static unsigned char got[1 << 20];
	const char *p = mdfs_bpath(fs, "%s", rel);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	cr_assert_leq(len, sizeof(got));
	cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
	n = pread(fd, got, len, off);
	close(fd);
	cr_assert_eq(n, (ssize_t)len, "backing %s: %zd bytes at %lld, "
		     "expected %zu", rel, n, (long long)off, len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], (unsigned char)byte, "backing %s: byte "
			     "%lld is 0x%02x, expected 0x%02x", rel,
			     (long long)off + (long long)i, got[i], byte);
}

off_t lease_backing_size(struct mdfs_fs *fs, const char *rel)
{
	return mdfs_lstat(mdfs_bpath(fs, "%s", rel)).st_size;
}

int lease_log_count(struct mdfs_fs *fs, const char *op, pid_t pid)
{
	char pat[64], pidpat[32], *log, *line, *save = NULL;
	size_t len;
	int n = 0;

	snprintf(pat, sizeof(pat), "opcode: %s (", op);
	snprintf(pidpat, sizeof(pidpat), "pid: %d", (int)pid);
	log = mdfs_read_file(fs->log, &len);
	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *p;

		if (!strstr(line, pat))
			continue;
		if (pid > 0 && (!(p = strstr(line, pidpat)) ||
				strcmp(p, pidpat) != 0))
			continue;
		n++;
	}
	free(log);
	return n;
}

void lease_log_wait(struct mdfs_fs *fs, const char *op, pid_t pid, int n,
		    int ms)
{
	long long end = mdfs_now_ms() + ms;
	int got;

	while ((got = lease_log_count(fs, op, pid)) < n) {
		cr_assert_leq(mdfs_now_ms(), end, "%d %s requests from pid %d "
			      "after %d ms, expected %d (is the daemon "
			      "started with -d?)", got, op, (int)pid, ms, n);
		poll(NULL, 0, 5);
	}
}

void lease_hold(struct mdfs_fs *fs, struct lease_holder *h, const char *rel,
		unsigned int flags, int sig)
{
	if (!h->a)
		h->a = mdfs_agent_start(-1, -1);
	if (sig)
		LOP_OK(h->a, op_sigblock(sig));
	h->fd = LOP_OK(h->a, op_open(mdfs_mpath(fs, "%s", rel), O_RDWR));
	h->id = LOP_OK(h->a, op_lease(h->fd, flags, (unsigned int)sig));
}

void lease_assert_pollpri(struct lease_holder *h, int ms)
{
	long long r = lop_do(h->a, op_pollpri(h->fd, ms));

	cr_assert(r > 0 && (r & POLLPRI), "holder's fd: poll(POLLPRI) gave "
		  "%lld within %d ms, expected POLLPRI", r, ms);
}

void lease_assert_no_pollpri(struct lease_holder *h)
{
	cr_assert_eq(lop_do(h->a, op_pollpri(h->fd, 0)), 0,
		     "holder's fd polls POLLPRI without a break");
}

void lease_assert_blocked(struct mdfs_agent *a, int ms, const char *what)
{
	struct lop o;

	if (!mdfs_agent_replied(a, ms))
		return;
	lop_recv(a, &o);
	cr_assert_fail("%s returned within %d ms although a lease holds it: "
		       "%lld%s%s after %lld ms", what, ms, o.ret,
		       o.ret < 0 ? " " : "",
		       o.ret < 0 ? strerror((int)-o.ret) : "", o.ms);
}

void lease_stop_clean(struct mdfs_fs *fs)
{
	static char tail[3001];
	char how[64], *log;
	size_t len;
	int st;

	st = mdfs_stop(fs, SIGTERM);
	/* copied out: a failed assert must not leak it (ASan) */
	log = mdfs_read_file(fs->log, &len);
	snprintf(tail, sizeof(tail), "%s",
		 len > sizeof(tail) - 1 ? log + len - (sizeof(tail) - 1) : log);
	free(log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon: %s after "
		  "SIGTERM, expected exit 0; its log ends:\n%s",
		  mdfs_describe_status(st, how, sizeof(how)), tail);
	cr_assert_not(mdfs_is_mounted(fs->mnt), "still mounted after SIGTERM");
}

const char *lease_xattr(const char *path, const char *name)
{
	static char val[4096];
	ssize_t n = getxattr(path, name, val, sizeof(val) - 1);

	cr_assert_geq(n, 0, "getxattr %s %s: %s", path, name,
		      strerror(errno));
	val[n] = '\0';
	return val;
}

long long lease_stat(struct mdfs_fs *fs, const char *key)
{
	const char *v = lease_xattr(fs->mnt, "user.mapdirect.stats");
	size_t klen = strlen(key);

	for (const char *l = v; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 :
						       l + strlen(l)) {
		if (!strncmp(l, key, klen) && l[klen] == '=')
			return strtoll(l + klen + 1, NULL, 10);
	}
	cr_assert_fail("no %s in user.mapdirect.stats:\n%s", key, v);
	return -1;
}

long long lease_retry(struct mdfs_agent *a, int fd, unsigned int flags,
		      unsigned int sig, int ms)
{
	long long end = mdfs_now_ms() + ms, r;

	while ((r = lop_do(a, op_lease(fd, flags, sig))) == -EAGAIN &&
	       mdfs_now_ms() < end)
		poll(NULL, 0, 2);
	return r;
}

void lease_assert_eligible_writer(struct mdfs_fs *fs, const char *rel,
				  pid_t pid)
{
	char want[64];
	const char *got;

	snprintf(want, sizeof(want), "no: open for writing by pid %d\n",
		 (int)pid);
	got = lease_xattr(mdfs_mpath(fs, "%s", rel), "user.mapdirect.eligible");
	cr_assert_str_eq(got, want, "user.mapdirect.eligible of %s: \"%.*s\", "
			 "expected \"%.*s\"", rel, (int)strcspn(got, "\n"), got,
			 (int)strcspn(want, "\n"), want);
}

/* Any FIEMAP extent of the backing file flagged @flag? */
bool lease_extent_flag(struct mdfs_fs *fs, const char *rel,
				unsigned int flag)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent fe[64];
	} m;
	int fd = open(mdfs_bpath(fs, "%s", rel), O_RDONLY | O_CLOEXEC);
	bool found = false;

	cr_assert_geq(fd, 0);
	memset(&m, 0, sizeof(m));
	m.fm.fm_length = FIEMAP_MAX_OFFSET;
	m.fm.fm_flags = FIEMAP_FLAG_SYNC;
	m.fm.fm_extent_count = 64;
	cr_assert_eq(ioctl(fd, FS_IOC_FIEMAP, &m.fm), 0, "FIEMAP: %s",
		     strerror(errno));
	for (unsigned int k = 0; k < m.fm.fm_mapped_extents; k++)
		if (m.fm.fm_extents[k].fe_flags & flag)
			found = true;
	close(fd);
	return found;
}

off_t lease_backing_hole(struct mdfs_fs *fs, const char *rel)
{
	int fd = open(mdfs_bpath(fs, "%s", rel), O_RDONLY | O_CLOEXEC);
	off_t h;

	cr_assert_geq(fd, 0);
	h = lseek(fd, 0, SEEK_HOLE);
	close(fd);
	return h;
}
