// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 5 libmapdirect on real mounts: leases on an fd, a mapping under a
 * lease, waiting for a break, and the inspection calls the CLI is built
 * on. Every call answers 0, a count or -errno.
 */
#include "harness.h"
#include "dax_truth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mapdirect.h"

#define PAGE 4096

static int open_mnt(struct mdfs_fs *fs, const char *rel, int flags)
{
	int fd = open(mdfs_mpath(fs, "%s", rel), flags | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", rel, strerror(errno));
	return fd;
}

static struct mapdirect_lease_info getlease(int fd)
{
	struct mapdirect_lease_info info;
	int ret = mapdirect_getlease(fd, &info);

	cr_assert_eq(ret, 0, "mapdirect_getlease: %s", strerror(-ret));
	return info;
}

MDFS_TEST(lib, lease_getlease_unlease, NULL)
{
	struct mapdirect_lease_info info;
	uint64_t id = 0, again = 0;
	int fd, obs;

	lease_file(fs, "f", 3 * PAGE, 'f');
	fd = open_mnt(fs, "f", O_RDWR);
	obs = open_mnt(fs, "f", O_RDONLY);

	info = getlease(obs);
	cr_assert_eq(info.state, MAPDIRECT_STATE_NONE);
	cr_assert_eq(info.holders, 0);

	cr_assert_eq(mapdirect_lease(fd, 0, 0, &id), 0);
	cr_assert_neq(id, 0, "a lease id is never 0");
	/* the same open file again: the same lease (SPEC 4.1) */
	cr_assert_eq(mapdirect_lease(fd, 0, 0, &again), 0);
	cr_assert_eq(again, id);
	/* lease_id may be NULL */
	cr_assert_eq(mapdirect_lease(fd, 0, 0, NULL), 0);

	info = getlease(obs);
	cr_assert_eq(info.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(info.holders, 1);
	cr_assert_eq(info.lease_id, id, "GETLEASE names our own lease");
	cr_assert_str_eq(mapdirect_state_name(info.state), "held");

	cr_assert_eq(mapdirect_unlease(fd), 0);
	info = getlease(obs);
	cr_assert_eq(info.state, MAPDIRECT_STATE_NONE);
	cr_assert_eq(info.holders, 0);
	cr_assert_eq(mapdirect_unlease(fd), -ENOENT, "no lease left to end");
	close(obs);
	close(fd);
}

MDFS_TEST(lib, map_persist_unmap, NULL)
{
	struct mapdirect_map *m = NULL;
	size_t len = 3 * PAGE;
	char *p, back[16];
	int fd, obs, bfd;

	lease_file(fs, "f", len, 'f');
	fd = open_mnt(fs, "f", O_RDWR);
	obs = open_mnt(fs, "f", O_RDONLY);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ | PROT_WRITE, 0, 0,
					&m), 0);
	cr_assert_not_null(m);
	/* the map keeps its own descriptor: ours may go */
	close(fd);
	p = mapdirect_map_addr(m);
	cr_assert_not_null(p);
	cr_assert_eq(mapdirect_map_len(m), len, "0 maps the whole file");
	cr_assert_neq(mapdirect_map_lease_id(m), 0);
	cr_assert_eq(mapdirect_map_is_pmem(m),
		     truth_statx_dax(mdfs_bpath(fs, "f")) == 1,
		     "is_pmem is not the backing file's STATX_ATTR_DAX");
	cr_assert_eq(getlease(obs).state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(getlease(obs).lease_id, mapdirect_map_lease_id(m));

	/* msync of the pages around the range, or a flush on DAX */
	memcpy(p + PAGE + 5, "persisted", 9);
	cr_assert_eq(mapdirect_persist(m, PAGE + 5, 9), 0);
	cr_assert_eq(mapdirect_persist(m, len - 1, 1), 0);
	cr_assert_eq(mapdirect_persist(m, 0, len), 0);
	cr_assert_eq(mapdirect_persist(m, 0, 0), 0);
	cr_assert_eq(mapdirect_persist(m, len, 1), -EINVAL);
	cr_assert_eq(mapdirect_persist(m, 1, len), -EINVAL);
	cr_assert_eq(mapdirect_persist(m, SIZE_MAX, 2), -EINVAL);
	fd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, back, 9, PAGE + 5), 9);
	cr_assert_eq(memcmp(back, "persisted", 9), 0,
		      "the store is not in the backing file");
	close(fd);

	bfd = mapdirect_break_fd(m);
	cr_assert_geq(bfd, 0);
	cr_assert_eq(mapdirect_wait_break(bfd, 0), 0, "no break yet");

	cr_assert_eq(mapdirect_unmap(m), 0);
	cr_assert_eq(getlease(obs).state, MAPDIRECT_STATE_NONE,
		     "unmap ends the lease");
	cr_assert_eq(getlease(obs).holders, 0);
	close(obs);
}

MDFS_TEST(lib, map_part_and_refusals, NULL)
{
	struct mapdirect_map *m = (struct mapdirect_map *)&m;
	int fd, ro, obs;

	lease_file(fs, "f", 4 * PAGE, 'f');
	lease_hole_file(fs, "s", 4 * PAGE);
	fd = open_mnt(fs, "f", O_RDWR);
	ro = open_mnt(fs, "f", O_RDONLY);
	obs = open_mnt(fs, "f", O_RDONLY);

	cr_assert_eq(mapdirect_map_file(ro, PAGE, PROT_READ, 0, 0, &m), 0);
	cr_assert_eq(mapdirect_map_len(m), PAGE);
	cr_assert_eq(mapdirect_unmap(m), 0);

	/* each refusal leaves no lease behind */
	cr_assert_eq(mapdirect_map_file(fd, 5 * PAGE, PROT_READ, 0, 0, &m),
		     -EINVAL, "longer than the file");
	cr_assert_null(m);
	cr_assert_eq(mapdirect_map_file(ro, 0, PROT_READ | PROT_WRITE, 0, 0,
					&m), -EACCES, "PROT_WRITE, O_RDONLY");
	cr_assert_null(m);
	cr_assert_eq(getlease(obs).holders, 0);
	close(obs);

	obs = open_mnt(fs, "s", O_RDWR);
	cr_assert_eq(mapdirect_map_file(obs, 0, PROT_READ, 0, 0, &m), -EPERM,
		     "a file with holes is not eligible");
	cr_assert_eq(getlease(obs).holders, 0);
	/* MAPDIRECT_LEASE_ALLOCATE fills them first */
	cr_assert_eq(mapdirect_map_file(obs, 0, PROT_READ,
					MAPDIRECT_LEASE_ALLOCATE, 0, &m), 0);
	cr_assert_eq(mapdirect_map_len(m), 4 * PAGE);
	cr_assert_eq(mapdirect_unmap(m), 0);
	close(obs);
	close(ro);
	close(fd);
}

/*
 * An open file the caller leased itself: map_file maps under that lease
 * and never ends it, on error or on unmap; the caller still can. Also
 * when the process holds other leases on the file (GETLEASE names the
 * newest, not this open file's).
 */
MDFS_TEST(lib, map_file_leaves_the_callers_lease, NULL)
{
	struct mapdirect_map *m;
	uint64_t id, id2;
	int fd, fd2, fresh, obs;

	lease_file(fs, "f", 4 * PAGE, 'f');
	fd = open_mnt(fs, "f", O_RDWR);
	obs = open_mnt(fs, "f", O_RDONLY);
	cr_assert_eq(mapdirect_lease(fd, 0, 0, &id), 0);

	cr_assert_eq(mapdirect_map_file(fd, 5 * PAGE, PROT_READ, 0, 0, &m),
		     -EINVAL, "longer than the file");
	cr_assert_eq(getlease(obs).holders, 1, "the error ended our lease");
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ | PROT_WRITE, 0, 0,
					&m), 0);
	cr_assert_eq(mapdirect_map_lease_id(m), id, "not the lease we hold");
	cr_assert_eq(mapdirect_unmap(m), 0);
	cr_assert_eq(getlease(obs).holders, 1, "unmap ended our lease");
	cr_assert_eq(getlease(obs).lease_id, id);

	/* a newer lease of ours through another open file */
	fd2 = open_mnt(fs, "f", O_RDWR);
	cr_assert_eq(mapdirect_lease(fd2, 0, 0, &id2), 0);
	cr_assert_neq(id2, id);
	cr_assert_eq(mapdirect_map_file(fd, 5 * PAGE, PROT_READ, 0, 0, &m),
		     -EINVAL);
	cr_assert_eq(getlease(obs).holders, 2);
	cr_assert_eq(mapdirect_map_file(fd, PAGE, PROT_READ, 0, 0, &m), 0);
	cr_assert_eq(mapdirect_map_lease_id(m), id);
	cr_assert_eq(mapdirect_unmap(m), 0);
	cr_assert_eq(getlease(obs).holders, 2, "unmap ended a caller's lease");

	/* an open file without a lease: map_file's own, ended by unmap */
	fresh = open_mnt(fs, "f", O_RDONLY);
	cr_assert_eq(mapdirect_map_file(fresh, 0, PROT_READ, 0, 0, &m), 0);
	cr_assert(mapdirect_map_lease_id(m) != id &&
		  mapdirect_map_lease_id(m) != id2);
	cr_assert_eq(getlease(obs).holders, 3);
	cr_assert_eq(mapdirect_unmap(m), 0);
	cr_assert_eq(getlease(obs).holders, 2);

	cr_assert_eq(mapdirect_unlease(fd2), 0);
	cr_assert_eq(mapdirect_unlease(fd), 0, "our lease is still ours");
	cr_assert_eq(getlease(obs).holders, 0);
	close(fresh);
	close(fd2);
	close(obs);
	close(fd);
}

/* A mapping that cannot be made takes no lease at all, not even briefly */
MDFS_TEST(lib, map_file_checks_before_leasing, NULL)
{
	struct mapdirect_map *m;
	long long granted, unleased;
	int fd, ro, empty, fifo;

	lease_file(fs, "f", 2 * PAGE, 'f');
	mdfs_write_file(mdfs_bpath(fs, "e"), "", 0);
	cr_assert_eq(mkfifo(mdfs_bpath(fs, "p"), 0644), 0);
	fd = open_mnt(fs, "f", O_RDWR);
	ro = open_mnt(fs, "f", O_RDONLY);
	empty = open_mnt(fs, "e", O_RDWR);
	fifo = open_mnt(fs, "p", O_RDWR | O_NONBLOCK);
	granted = lease_stat(fs, "leases_granted");
	unleased = lease_stat(fs, "leases_unleased");

	cr_assert_eq(mapdirect_map_file(empty, 0, PROT_READ, 0, 0, &m),
		     -EINVAL, "an empty file");
	cr_assert_eq(mapdirect_map_file(empty, PAGE, PROT_READ,
					MAPDIRECT_LEASE_ALLOCATE, 0, &m),
		     -EINVAL, "an empty file, a length");
	cr_assert_eq(mapdirect_map_file(fd, 2 * PAGE + 1, PROT_READ, 0, 0,
					&m), -EINVAL, "past the end");
	cr_assert_eq(mapdirect_map_file(ro, 0, PROT_READ | PROT_WRITE, 0, 0,
					&m), -EACCES, "PROT_WRITE, O_RDONLY");
	cr_assert_null(m);
	cr_assert_eq(lease_stat(fs, "leases_granted"), granted,
		     "a lease was granted for a mapping that failed");
	cr_assert_eq(lease_stat(fs, "leases_unleased"), unleased);
	cr_assert_eq(getlease(fd).holders, 0);
	/* not "not on mapdirectfs": a FIFO's ioctls are the pipe's */
	cr_assert_eq(mapdirect_map_file(fifo, 0, PROT_READ, 0, 0, &m),
		     -EINVAL, "a FIFO");
	close(fifo);
	close(empty);
	close(ro);
	close(fd);
}

struct writer {
	char path[PATH_MAX];
};

/* A breaker in a child: one byte written through the mount. */
static int write_one(void *arg)
{
	struct writer *w = arg;
	int fd = open(w->path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	if (pwrite(fd, "Z", 1, 0) != 1)
		return 2;
	close(fd);
	return 0;
}

MDFS_TEST(lib, wait_break_sees_a_write, "lease_break_time=20")
{
	struct mapdirect_lease_info info;
	struct mapdirect_map *m;
	struct writer w;
	struct timespec ts = { .tv_sec = 10 };
	long long t0, took;
	siginfo_t si;
	sigset_t set;
	char byte;
	int fd, bfd, ret;
	pid_t pid;

	lease_file(fs, "f", 4 * PAGE, 'f');
	mdfs_pathf(w.path, "%s", mdfs_mpath(fs, "f"));
	/* the break signal is read, not delivered */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	cr_assert_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);

	fd = open_mnt(fs, "f", O_RDWR);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ | PROT_WRITE, 0,
					SIGUSR1, &m), 0);
	close(fd);
	bfd = mapdirect_break_fd(m);

	pid = mdfs_fork_as((uid_t)-1, (gid_t)-1, write_one, &w);
	t0 = mdfs_now_ms();
	ret = mapdirect_wait_break(bfd, 10000);
	took = mdfs_now_ms() - t0;
	cr_assert_eq(ret, 1, "mapdirect_wait_break: %d (%s) after %lld ms",
		     ret, ret < 0 ? strerror(-ret) : "timeout", took);
	cr_assert_lt(took, 5000, "the break was seen after %lld ms", took);
	info = getlease(bfd);
	cr_assert_eq(info.state, MAPDIRECT_STATE_BREAKING);
	cr_assert(info.ms_left > 0 && info.ms_left <= 20000, "ms_left %llu",
		  (unsigned long long)info.ms_left);
	/* and the signal, with the lease id (SPEC 4.3) */
	cr_assert_eq(sigtimedwait(&set, &si, &ts), SIGUSR1,
		     "no break signal: %s", strerror(errno));
	cr_assert_eq(si.si_code, SI_QUEUE);
	cr_assert_eq((uint64_t)si.si_value.sival_int,
		     mapdirect_map_lease_id(m));

	/* releasing lets the parked write go on */
	cr_assert_eq(mapdirect_unmap(m), 0);
	cr_assert_eq(mdfs_wait_child(pid), 0, "the breaker's write failed");
	fd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &byte, 1, 0), 1);
	cr_assert_eq(byte, 'Z');
	close(fd);
}

/* io_uring is there for this process (kernel.io_uring_disabled 0) */
static bool uring_allowed(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v == 0;
}

/*
 * Which way mapdirect_persist() went, as the kernel tells it: in a child
 * whose msync(2) fails ENOTRECOVERABLE (a seccomp filter), persist answers
 * 0 only if it never called msync.
 * @return 0 (no msync), 1 (msync), other: the child failed
 */
static int persist_path(struct mapdirect_map *m, size_t off, size_t len)
{
	pid_t pid = fork();
	int st, r;

	cr_assert_geq(pid, 0);
	if (!pid) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

		if (!ctx || seccomp_rule_add(ctx,
					     SCMP_ACT_ERRNO(ENOTRECOVERABLE),
					     SCMP_SYS(msync), 0) ||
		    seccomp_load(ctx))
			_exit(100);
		r = mapdirect_persist(m, off, len);
		_exit(!r ? 0 : r == -ENOTRECOVERABLE ? 1 : 101);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "the persisting child died: %#x", st);
	return WEXITSTATUS(st);
}

/*
 * Issue 12, SPEC 4.1 "Durable block map": persist is a CPU cache flush
 * (no msync) exactly where the backing file is DAX (statx) and the lease
 * has seen no break; msync once a break started, and always off DAX or
 * for a read-only mapping. mapdirect_map_is_pmem() is the backing's DAX.
 */
MDFS_TEST(lib, persist_flushes_where_dax_until_a_break,
	  "lease_break_time=20")
{
	struct mapdirect_map *m, *ro;
	struct writer w;
	long long end;
	bool dax, flush;
	char back[16];
	int fd, obs;
	pid_t pid;

	lease_file(fs, "f", 4 * PAGE, 'f');
	cr_assert_geq(truth_statx_dax(mdfs_bpath(fs, "f")), 0);
	dax = truth_statx_dax(mdfs_bpath(fs, "f")) == 1;
	flush = dax && uring_allowed();
	mdfs_pathf(w.path, "%s", mdfs_mpath(fs, "f"));
	obs = open_mnt(fs, "f", O_RDONLY);

	fd = open_mnt(fs, "f", O_RDWR);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ | PROT_WRITE, 0, 0,
					&m), 0);
	close(fd);
	cr_assert_eq(mapdirect_map_is_pmem(m), dax, "is_pmem %d, the backing "
		     "file's STATX_ATTR_DAX %d", mapdirect_map_is_pmem(m), dax);
	cr_assert_eq(mapdirect_map_userflush(m), flush);
	memcpy((char *)mapdirect_map_addr(m) + PAGE + 5, "persisted", 9);
	cr_assert_eq(persist_path(m, PAGE + 5, 9), flush ? 0 : 1, "%s",
		     flush ? "persist called msync under a DAX lease" :
			     "persist did not call msync off DAX");
	/* a read-only mapping stores nothing: never a flush */
	fd = open_mnt(fs, "f", O_RDONLY);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ, 0, 0, &ro), 0);
	close(fd);
	cr_assert_eq(mapdirect_map_is_pmem(ro), dax);
	cr_assert_not(mapdirect_map_userflush(ro));
	cr_assert_eq(mapdirect_unmap(ro), 0);

	/* a breaker parks: from the notice on, persist is msync */
	pid = mdfs_fork_as((uid_t)-1, (gid_t)-1, write_one, &w);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, 10000);
	for (end = mdfs_now_ms() + 10000; mapdirect_map_userflush(m);) {
		cr_assert_lt(mdfs_now_ms(), end, "persist still flushes "
			     "10 s into the break");
		usleep(1000);
	}
	cr_assert_eq(persist_path(m, PAGE + 5, 9), 1,
		     "persist did not call msync during a break");
	cr_assert_eq(mapdirect_persist(m, PAGE + 5, 9), 0);
	cr_assert_not(mapdirect_map_userflush(m), "a break seen is for good");
	fd = open(mdfs_bpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, back, 9, PAGE + 5), 9);
	cr_assert_eq(memcmp(back, "persisted", 9), 0);
	close(fd);

	cr_assert_eq(mapdirect_unmap(m), 0);
	cr_assert_eq(mdfs_wait_child(pid), 0, "the breaker's write failed");
	close(obs);
}

MDFS_TEST(lib, wait_break_times_out, NULL)
{
	struct mapdirect_map *m;
	long long t0, took;
	int fd;

	lease_file(fs, "f", PAGE, 'f');
	fd = open_mnt(fs, "f", O_RDONLY);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ, 0, 0, &m), 0);
	t0 = mdfs_now_ms();
	cr_assert_eq(mapdirect_wait_break(mapdirect_break_fd(m), 100), 0);
	took = mdfs_now_ms() - t0;
	cr_assert_geq(took, 90, "returned after %lld ms of 100", took);
	cr_assert_eq(mapdirect_wait_break(fd, 0), 0);
	cr_assert_eq(mapdirect_unmap(m), 0);
	close(fd);
}

MDFS_TEST(lib, bad_arguments, NULL)
{
	struct mapdirect_map *m = (struct mapdirect_map *)&m;
	struct mapdirect_lease_info info;
	struct mapdirect_file_status st;
	struct mapdirect_ctx *ctx;
	int fd;

	lease_file(fs, "f", PAGE, 'f');
	fd = open_mnt(fs, "f", O_RDWR);

	cr_assert_eq(mapdirect_lease(-1, 0, 0, NULL), -EBADF);
	cr_assert_eq(mapdirect_lease(100000, 0, 0, NULL), -EBADF);
	cr_assert_eq(mapdirect_lease(fd, 1u << 7, 0, NULL), -EINVAL);
	cr_assert_eq(mapdirect_lease(fd, 0, 65, NULL), -EINVAL);
	cr_assert_eq(mapdirect_lease(fd, 0, -1, NULL), -EINVAL);
	cr_assert_eq(mapdirect_unlease(-1), -EBADF);
	cr_assert_eq(mapdirect_getlease(fd, NULL), -EINVAL);
	cr_assert_eq(mapdirect_getlease(-1, &info), -EBADF);

	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ, 0, 0, NULL), -EINVAL);
	cr_assert_eq(mapdirect_map_file(-1, 0, PROT_READ, 0, 0, &m), -EBADF);
	cr_assert_null(m, "*out is NULL after an error");
	cr_assert_eq(mapdirect_map_file(fd, 0, 0, 0, 0, &m), -EINVAL);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ | PROT_EXEC, 0, 0,
					&m), -EINVAL);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ, 1u << 7, 0, &m),
		     -EINVAL);
	cr_assert_eq(mapdirect_map_file(fd, 0, PROT_READ, 0, 99, &m), -EINVAL);
	cr_assert_eq(getlease(fd).holders, 0, "a refusal left a lease");

	cr_assert_eq(mapdirect_persist(NULL, 0, 1), -EINVAL);
	cr_assert_eq(mapdirect_break_fd(NULL), -EINVAL);
	cr_assert_eq(mapdirect_unmap(NULL), 0, "NULL is a no-op");
	cr_assert_eq(mapdirect_wait_break(-1, 0), -EBADF);
	cr_assert_eq(mapdirect_wait_break(fd, -2), -EINVAL);
	cr_assert_eq(mapdirect_status(NULL, &st), -EINVAL);
	cr_assert_eq(mapdirect_status(mdfs_mpath(fs, "f"), NULL), -EINVAL);
	cr_assert_eq(mapdirect_new(NULL), -EINVAL);
	cr_assert_eq(mapdirect_new(&ctx), 0);
	cr_assert_eq(mapdirect_leases_load(ctx, NULL), -EINVAL);
	cr_assert_eq(mapdirect_leases_load(NULL, fs->mnt), -EINVAL);
	cr_assert_eq(mapdirect_mounts_load(NULL), -EINVAL);
	cr_assert_eq(mapdirect_pmem_load(NULL), -EINVAL);
	mapdirect_unref(ctx);
	mapdirect_unref(NULL);
	cr_assert_str_eq(mapdirect_state_name(7), "unknown");
	close(fd);
}

MDFS_TEST(lib, not_on_mapdirectfs, NULL)
{
	struct mapdirect_lease_info info;
	struct mapdirect_file_status st;
	struct mapdirect_ctx *ctx;
	const char *plain = mdfs_tpath(fs, "plain");
	int fd;

	/* a file of the temp dir: the same machine, not our mount */
	mdfs_write_file(plain, "x", 1);
	cr_assert_eq(mapdirect_status(plain, &st), -ENOTTY);
	cr_assert_eq(mapdirect_status(fs->tmp, &st), -ENOTTY);
	cr_assert_eq(mapdirect_status(mdfs_bpath(fs, "."), &st), -ENOTTY,
		     "BACKING itself is not the mount");
	cr_assert_eq(mapdirect_status(mdfs_mpath(fs, "nothing"), &st),
		     -ENOENT);
	cr_assert_eq(mapdirect_status(fs->mnt, &st), -EISDIR);
	fd = open(plain, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mapdirect_lease(fd, 0, 0, NULL), -ENOTTY);
	cr_assert_eq(mapdirect_getlease(fd, &info), -ENOTTY);
	close(fd);
	cr_assert_eq(mapdirect_new(&ctx), 0);
	cr_assert_eq(mapdirect_leases_load(ctx, plain), -ENOTTY);
	cr_assert_eq(mapdirect_leases_load(ctx, fs->tmp), -ENOTTY);
	cr_assert_eq(mapdirect_leases_load(ctx, mdfs_mpath(fs, "nothing")),
		     -ENOENT);
	mapdirect_unref(ctx);
}

MDFS_TEST(lib, status_of_files, NULL)
{
	struct mapdirect_file_status st;
	uint64_t id;
	int fd;

	lease_file(fs, "f", 2 * PAGE, 'f');
	lease_hole_file(fs, "s", 25 * PAGE);

	cr_assert_eq(mapdirect_status(mdfs_mpath(fs, "f"), &st), 0);
	cr_assert_eq(st.state, MAPDIRECT_STATE_NONE);
	cr_assert_eq(st.holders, 0);
	cr_assert(st.eligible);
	cr_assert_str_eq(st.reason, "");
	cr_assert_eq(st.dax, mdfs_file_is_dax(mdfs_bpath(fs, "f")),
		     "dax=%d: not what the backing file is", st.dax);

	cr_assert_eq(mapdirect_status(mdfs_mpath(fs, "s"), &st), 0);
	cr_assert_not(st.eligible);
	cr_assert_str_eq(st.reason, "hole at 0+102400");

	fd = open_mnt(fs, "f", O_RDWR);
	cr_assert_eq(mapdirect_lease(fd, 0, 0, &id), 0);
	cr_assert_eq(mapdirect_status(mdfs_mpath(fs, "f"), &st), 0);
	cr_assert_eq(st.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(st.holders, 1);
	cr_assert_eq(st.lease_id, id, "our own lease");
	cr_assert_eq(st.ms_left, 0);
	cr_assert_eq(mapdirect_unlease(fd), 0);
	close(fd);
}

static void own_comm(char comm[32])
{
	size_t len;
	char *c = mdfs_read_file("/proc/self/comm", &len);

	c[strcspn(c, "\n")] = '\0';
	snprintf(comm, 32, "%s", c);
	free(c);
}

MDFS_TEST(lib, lease_listing, NULL)
{
	struct mapdirect_lease_entry *l;
	struct mapdirect_ctx *ctx;
	char comm[32];
	const char *since;
	uint64_t id;
	void *map;
	int fd, n;

	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	lease_hole_file(fs, "d/f", 2 * PAGE);
	lease_file(fs, "g", PAGE, 'f');
	own_comm(comm);
	cr_assert_eq(mapdirect_new(&ctx), 0);
	cr_assert_eq(mapdirect_ref(ctx), ctx);
	mapdirect_unref(ctx);	/* the ref above */

	cr_assert_eq(mapdirect_leases_load(ctx, fs->mnt), 0);
	cr_assert_null(mapdirect_lease_get_first(ctx));

	fd = open_mnt(fs, "d/f", O_RDWR);
	cr_assert_eq(mapdirect_lease(fd, MAPDIRECT_LEASE_ALLOCATE, SIGUSR2,
				     &id), 0);
	/* the lease follows the mapping once the fd is closed (SPEC 4.2) */
	map = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(map, MAP_FAILED);
	close(fd);

	n = mapdirect_leases_load(ctx, fs->mnt);
	cr_assert_eq(n, 1, "mapdirect_leases_load: %d", n);
	l = mapdirect_lease_get_first(ctx);
	cr_assert_not_null(l);
	cr_assert_null(mapdirect_lease_get_next(l));
	cr_assert_eq(mapdirect_lease_get_id(l), id);
	cr_assert_eq(mapdirect_lease_get_pid(l), getpid());
	cr_assert_str_eq(mapdirect_lease_get_comm(l), comm);
	since = mapdirect_lease_get_since(l);
	cr_assert(strlen(since) == 24 && since[10] == 'T' && since[23] == 'Z',
		  "since=%s", since);
	cr_assert_eq(mapdirect_lease_get_signal(l), SIGUSR2);
	cr_assert_eq(mapdirect_lease_get_state(l), MAPDIRECT_STATE_HELD);
	cr_assert_eq(mapdirect_lease_get_ms_left(l), 0);
	cr_assert_eq(mapdirect_lease_get_flags(l), MAPDIRECT_LEASE_ALLOCATE);
	cr_assert_not(mapdirect_lease_get_fd_open(l));
	cr_assert_str_eq(mapdirect_lease_get_path(l), "d/f");

	/* any directory of the mount stands for the mount */
	cr_assert_eq(mapdirect_leases_load(ctx, mdfs_mpath(fs, "d")), 1);
	/* a file lists its own leases, without paths */
	cr_assert_eq(mapdirect_leases_load(ctx, mdfs_mpath(fs, "d/f")), 1);
	l = mapdirect_lease_get_first(ctx);
	cr_assert_eq(mapdirect_lease_get_id(l), id);
	cr_assert_null(mapdirect_lease_get_path(l));
	cr_assert_eq(mapdirect_leases_load(ctx, mdfs_mpath(fs, "g")), 0);

	/* a second holder: the foreach walks both */
	fd = open_mnt(fs, "g", O_RDONLY);
	cr_assert_eq(mapdirect_lease(fd, MAPDIRECT_LEASE_EXCLUSIVE, 0, NULL),
		     0);
	cr_assert_eq(mapdirect_leases_load(ctx, fs->mnt), 2);
	n = 0;
	mapdirect_lease_foreach(ctx, l) {
		const char *path = mapdirect_lease_get_path(l);

		n++;
		cr_assert(!strcmp(path, "d/f") || !strcmp(path, "g"));
		if (!strcmp(path, "g")) {
			cr_assert_eq(mapdirect_lease_get_flags(l),
				     MAPDIRECT_LEASE_EXCLUSIVE);
			cr_assert(mapdirect_lease_get_fd_open(l));
		}
	}
	cr_assert_eq(n, 2);
	cr_assert_eq(mapdirect_unlease(fd), 0);
	close(fd);
	munmap(map, 2 * PAGE);
	mapdirect_unref(ctx);
}

MDFS_TEST(lib, mounts_and_pmem, "lease_break_time=7")
{
	struct mapdirect_namespace *ns;
	struct mapdirect_region *r;
	struct mapdirect_mount *m, *ours = NULL;
	struct truth_ns tns, all[64];
	struct mapdirect_ctx *ctx;
	int n, count = 0, nns, regions, nfound = 0;
	char opt[32];

	cr_assert_eq(mapdirect_new(&ctx), 0);
	n = mapdirect_mounts_load(ctx);
	cr_assert_geq(n, 1, "mapdirect_mounts_load: %d", n);
	mapdirect_mount_foreach(ctx, m) {
		count++;
		if (!strcmp(mapdirect_mount_get_path(m), fs->mnt))
			ours = m;
	}
	cr_assert_eq(count, n);
	cr_assert_not_null(ours, "%s not listed", fs->mnt);
	cr_assert_eq(mapdirect_mount_get_error(ours), 0);
	cr_assert_str_eq(mapdirect_mount_get_backing(ours), fs->backing);
	cr_assert_str_eq(mapdirect_mount_get_config(ours, "lease_break_time"),
			 "7.000");
	cr_assert_str_eq(mapdirect_mount_get_config(ours, "dax"), "auto");
	cr_assert_str_eq(mapdirect_mount_get_config(ours, "transport"),
			 strcmp(fs->transport, "io_uring=on") ? "/dev/fuse" :
								"io_uring");
	cr_assert_null(mapdirect_mount_get_config(ours, "no-such-key"));
	/* the device and the backing's dax= option, as ndctl and the
	 * mount table say */
	if (mdfs_pmem_ns_of(fs->backing, &tns)) {
		cr_assert_str_eq(mapdirect_mount_get_device(ours, "region"),
				 tns.region);
		cr_assert_str_eq(mapdirect_mount_get_device(ours, "namespace"),
				 tns.dev);
		cr_assert_str_eq(mapdirect_mount_get_device(ours, "blockdev"),
				 tns.blockdev);
		cr_assert_str_eq(mapdirect_mount_get_device(ours, "mode"),
				 tns.mode);
	} else {
		cr_assert_null(mapdirect_mount_get_device(ours, "region"),
			       "BACKING is on no pmem namespace of ndctl's");
	}
	cr_assert_eq(truth_mount_dax(fs->backing, opt, sizeof(opt)), 0);
	if (opt[0])
		cr_assert_str_eq(mapdirect_mount_get_backing_dax(ours), opt);
	else
		cr_assert_null(mapdirect_mount_get_backing_dax(ours));

	/* whatever this machine has, the walk agrees with the count, and
	 * with the regions and namespaces that ndctl lists */
	n = mapdirect_pmem_load(ctx);
	cr_assert_geq(n, 0, "mapdirect_pmem_load: %s", strerror(-n));
	nns = truth_ndctl(all, 64, &regions);
	cr_assert_geq(nns, 0, "ndctl list: %s", strerror(-nns));
	cr_assert_eq(n, regions, "%d regions, ndctl lists %d", n, regions);
	count = 0;
	mapdirect_region_foreach(ctx, r) {
		count++;
		cr_assert_str_neq(mapdirect_region_get_name(r), "");
		mapdirect_namespace_foreach(r, ns) {
			const char *name = mapdirect_namespace_get_name(ns);
			int i;

			cr_assert_str_neq(mapdirect_namespace_get_mode(ns), "");
			for (i = 0; i < nns; i++)
				if (!strcmp(all[i].dev, name))
					break;
			cr_assert_lt(i, nns, "%s: not in ndctl's list", name);
			cr_assert_str_eq(all[i].region,
					 mapdirect_region_get_name(r));
			cr_assert_str_eq(all[i].mode,
					 mapdirect_namespace_get_mode(ns));
			nfound++;
		}
	}
	cr_assert_eq(count, n);
	cr_assert_eq(nfound, nns, "%d namespaces, ndctl lists %d", nfound,
		     nns);
	mapdirect_unref(ctx);
}
