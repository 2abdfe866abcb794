// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3.1 (mediate=leased|all: who pays for enforcement) with SPEC 4.1
 * (EAGAIN for an unmediated writer), 4.3 (breakers) and 6 (a holder's
 * writes through an open file of before its lease). Every test runs over
 * both transports and in both modes (MDFS_LEASE_TEST); where the modes
 * differ the body asks mdfs_mediate_all().
 *
 * Whether a read or write reached the daemon is told by the mount's
 * user.mapdirect.stats "requests_read" and "requests_write" (READ and
 * WRITE requests the daemon took): each test has a mount of its own, so
 * nothing else moves them.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SIZE (64 << 10)
#define OPTS "lease_break_time=5"
#define BREAK_MS 5000
/* "at once": well under BREAK_MS */
#define PROMPT_MS 3000
/* how long a parked breaker must still be blocked */
#define BLOCKED_MS 100

static long long nreads(struct mdfs_fs *fs)
{
	return lease_stat(fs, "requests_read");
}

static long long nwrites(struct mdfs_fs *fs)
{
	return lease_stat(fs, "requests_write");
}

/* Assert the file's lease state and number of holders, now */
static void assert_state(int obs, unsigned int state, unsigned int holders,
			 const char *when)
{
	struct mapdirect_lease_info i;

	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, state, "%s: state %u, expected %u", when,
		     i.state, state);
	cr_assert_eq(i.holders, holders, "%s: %u holders, expected %u", when,
		     i.holders, holders);
}

/*
 * SPEC 3.1: "read-only opens ... read the backing file directly" in both
 * modes ("all: ... read-only opens still read directly"), with or without
 * a lease on the file; and mmap maps the backing file (SPEC 3): a store
 * through a shared mapping, the holder's or that of a writable open made
 * under the lease (mediated), is in the backing file at once and no WRITE
 * reaches the daemon, in either mode.
 */
MDFS_LEASE_TEST(mediate, readonly_opens_and_mappings_bypass_the_daemon, OPTS)
{
	struct mdfs_agent *r = mdfs_agent_start(-1, -1);
	struct lease_holder h = { 0 };
	static unsigned char want[SIZE], got[SIZE];
	long long nr, nw, map;
	struct lop rd;
	int fd, rfd, obs;

	mdfs_fill(want, sizeof(want), 31);
	mdfs_write_file(mdfs_bpath(fs, "f"), want, sizeof(want));
	obs = lease_obs(fs, "f");
	nr = nreads(fs);
	nw = nwrites(fs);

	/* read(2), pread(2) and a mapping of a read-only open file */
	fd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open: %s", strerror(errno));
	for (int k = 0; k < 4; k++) {
		memset(got, 0, sizeof(got));
		cr_assert_eq(pread(fd, got, sizeof(got), 0), SIZE);
		cr_assert_eq(memcmp(got, want, SIZE), 0, "pread %d: wrong data",
			     k);
		cr_assert_eq(read(fd, got, 4096), 4096);
		cr_assert_eq(memcmp(got, want + 4096 * k, 4096), 0);
	}
	{
		const unsigned char *m = mmap(NULL, SIZE, PROT_READ,
					      MAP_SHARED, fd, 0);

		cr_assert_neq(m, MAP_FAILED, "mmap: %s", strerror(errno));
		cr_assert_eq(memcmp(m, want, SIZE), 0, "mapping: wrong data");
		munmap((void *)m, SIZE);
	}
	close(fd);
	cr_assert_eq(nreads(fs), nr, "reads of a read-only open file reached "
		     "the daemon (%lld READ requests)", nreads(fs) - nr);

	/* the same beside a lease, whose holder maps and stores */
	lease_hold(fs, &h, "f", 0, 0);
	map = LOP_OK(h.a, op_mmap(h.fd, SIZE));
	for (int k = 0; k < 8; k++)
		LOP_OK(h.a, op_store(map, 4096 * k + 7, 'm'));
	for (int k = 0; k < 8; k++)
		lease_assert_backing(fs, "f", 4096 * k + 7, 1, 'm');
	rfd = LOP_OK(r, op_open(mdfs_mpath(fs, "f"), O_RDONLY));
	rd = op_pread(rfd, 4096, 4096);
	cr_assert_eq(lop_run(r, &rd), 4096, "pread: %s",
		     strerror((int)-rd.ret));
	cr_assert_eq(rd.byte, want[4096]);
	/* another process's store through a mapping of its own */
	{
		int wfd = LOP_OK(r, op_open(mdfs_mpath(fs, "f"), O_RDWR));
		long long m2 = LOP_OK(r, op_mmap(wfd, SIZE));

		LOP_OK(r, op_store(m2, 100, 's'));
		lease_assert_backing(fs, "f", 100, 1, 's');
		cr_assert_eq(lop_do(h.a, op_load(map, 100)), 's');
		LOP_OK(r, op_munmap(m2, SIZE));
		LOP_OK(r, op_close(wfd));
	}
	LOP_OK(h.a, op_munmap(map, SIZE));
	cr_assert_eq(nreads(fs), nr, "reads reached the daemon (%lld READ "
		     "requests)", nreads(fs) - nr);
	cr_assert_eq(nwrites(fs), nw, "stores through mappings reached the "
		     "daemon (%lld WRITE requests)", nwrites(fs) - nw);
	/* neither broke the lease (SPEC 4.3 "Reads never break") */
	assert_state(obs, MAPDIRECT_STATE_HELD, 1, "after reads and stores");
	lease_assert_no_pollpri(&h);
	close(obs);
}

/*
 * SPEC 3.1: under mediate=leased, writable opens of a file without a
 * lease read and write the backing file directly: no READ or WRITE
 * reaches the daemon. Under mediate=all every writable open is mediated:
 * each 4 KiB pwrite and pread is one request. The bytes are in the
 * backing file either way (SPEC 3).
 */
MDFS_LEASE_TEST(mediate, writes_without_a_lease_bypass_only_under_leased,
		OPTS)
{
	static unsigned char buf[SIZE], got[4096];
	bool all = mdfs_mediate_all(fs);
	long long nr, nw;
	int fd, wfd;

	mdfs_fill(buf, sizeof(buf), 7);
	lease_file(fs, "f", SIZE, 'a');
	nr = nreads(fs);
	nw = nwrites(fs);
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open: %s", strerror(errno));
	for (int k = 0; k < 8; k++)
		cr_assert_eq(pwrite(fd, buf + 4096 * k, 4096, 4096 * k), 4096,
			     "pwrite: %s", strerror(errno));
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(pread(fd, got, 4096, 4096 * k), 4096);
		cr_assert_eq(memcmp(got, buf + 4096 * k, 4096), 0,
			     "pread %d: wrong data", k);
	}
	/* write(2) of an O_WRONLY open file, extending the file */
	wfd = open(mdfs_mpath(fs, "f"), O_WRONLY | O_APPEND | O_CLOEXEC);
	cr_assert_geq(wfd, 0, "open: %s", strerror(errno));
	cr_assert_eq(write(wfd, buf, 4096), 4096, "write: %s",
		     strerror(errno));
	close(wfd);
	close(fd);
	{
		static unsigned char want[SIZE + 4096];

		memset(want, 'a', SIZE);
		memcpy(want, buf, 8 * 4096);
		memcpy(want + SIZE, buf, 4096);
		mdfs_assert_file_is(mdfs_bpath(fs, "f"), want, sizeof(want));
	}
	if (all) {
		cr_assert_eq(nwrites(fs) - nw, 9, "mediate=all: %lld WRITE "
			     "requests for 9 writes", nwrites(fs) - nw);
		cr_assert_eq(nreads(fs) - nr, 4, "mediate=all: %lld READ "
			     "requests for 4 reads", nreads(fs) - nr);
	} else {
		cr_assert_eq(nwrites(fs), nw, "mediate=leased: writes without "
			     "a lease reached the daemon (%lld WRITE "
			     "requests)", nwrites(fs) - nw);
		cr_assert_eq(nreads(fs), nr, "mediate=leased: reads of a "
			     "writable open file without a lease reached the "
			     "daemon (%lld READ requests)", nreads(fs) - nr);
	}
}

/* The holder's leased fd polls POLLPRI and the agent's request is parked:
 * then the holder unleases and the request completes with @want. */
static void assert_breaks(struct lease_holder *h, struct mdfs_agent *b,
			  struct lop *op, long long want, const char *what)
{
	lease_assert_pollpri(h, PROMPT_MS);
	lease_assert_blocked(b, BLOCKED_MS, what);
	LOP_OK(h->a, op_unlease(h->fd, 0));
	cr_assert_eq(lop_recv(b, op), want, "%s: %lld%s%s, expected %lld",
		     what, op->ret, op->ret < 0 ? " " : "",
		     op->ret < 0 ? strerror((int)-op->ret) : "", want);
	cr_assert_lt(op->ms, BREAK_MS, "%s waited for the deadline", what);
}

/*
 * SPEC 3.1 / 4.1 EAGAIN: under mediate=leased a lease is refused while
 * another process has the file open for writing through an unmediated
 * open file (whatever the flags), user.mapdirect.eligible names that
 * process, a write through it goes straight to the backing; once it is
 * closed the lease is granted, and that process's next writable open,
 * made under the lease, is mediated: its write breaks the lease. A
 * read-only open never keeps a lease away. Under mediate=all the writer
 * is mediated: the lease is granted at once and the write breaks it.
 */
MDFS_LEASE_TEST(mediate, lease_refused_while_another_process_writes, OPTS)
{
	static const unsigned int flags[] = {
		0, MAPDIRECT_LEASE_ALLOCATE, MAPDIRECT_LEASE_EXCLUSIVE,
	};
	struct mdfs_agent *w = mdfs_agent_start(-1, -1);
	struct mdfs_agent *r = mdfs_agent_start(-1, -1);
	const char *p = mdfs_mpath(fs, "f");
	struct lease_holder h = { 0 };
	long long nw;
	struct lop op;
	int wfd, obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	LOP_OK(r, op_open(p, O_RDONLY));
	wfd = LOP_OK(w, op_open(p, O_WRONLY));
	h.a = mdfs_agent_start(-1, -1);
	if (mdfs_mediate_all(fs)) {
		cr_assert_str_eq(lease_xattr(p, "user.mapdirect.eligible"),
				 "yes\n", "eligible names a mediated writer");
		h.fd = LOP_OK(h.a, op_open(p, O_RDWR));
		h.id = LOP_OK(h.a, op_lease(h.fd, 0, 0));
	} else {
		lease_assert_eligible_writer(fs, "f", w->pid);
		h.fd = LOP_OK(h.a, op_open(p, O_RDWR));
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			cr_assert_eq(lop_do(h.a, op_lease(h.fd, flags[k], 0)),
				     -EAGAIN, "LEASE (flags 0x%x) while pid %d "
				     "has the file open for writing", flags[k],
				     w->pid);
		assert_state(obs, MAPDIRECT_STATE_NONE, 0, "after EAGAIN");
		/* its writes bypass the daemon, and it still blocks */
		nw = nwrites(fs);
		cr_assert_eq(lop_do(w, op_pwrite(wfd, 0, 'w', 4096)), 4096);
		cr_assert_eq(nwrites(fs), nw, "an unmediated write reached "
			     "the daemon");
		lease_assert_backing(fs, "f", 0, 4096, 'w');
		cr_assert_eq(lop_do(h.a, op_lease(h.fd, 0, 0)), -EAGAIN);
		/* closed: the lease is granted */
		LOP_OK(w, op_close(wfd));
		h.id = lease_retry(h.a, h.fd, 0, 0, PROMPT_MS);
		cr_assert_geq(h.id, 1, "LEASE once the writer closed: %s",
			      strerror((int)-h.id));
		cr_assert_str_eq(lease_xattr(p, "user.mapdirect.eligible"),
				 "yes\n");
		wfd = LOP_OK(w, op_open(p, O_WRONLY));
	}
	assert_state(obs, MAPDIRECT_STATE_HELD, 1, "granted");
	nw = nwrites(fs);
	op = op_pwrite(wfd, 4096, 'W', 4096);
	lop_send(w, &op);
	assert_breaks(&h, w, &op, 4096, "the writer's pwrite");
	cr_assert_eq(nwrites(fs) - nw, 1, "%lld WRITE requests for one "
		     "mediated pwrite", nwrites(fs) - nw);
	lease_assert_backing(fs, "f", 4096, 4096, 'W');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}

/*
 * SPEC 3.1 "of a process that holds no lease on it": the requester's own
 * writable open files of before its lease do not keep it from leasing,
 * and once it holds a lease they keep nobody else from leasing. When it
 * holds none any more (UNLEASE, keeping its fds), they do keep a new
 * lease away under mediate=leased (eligible names it) until closed.
 */
MDFS_LEASE_TEST(mediate, own_writer_blocks_neither_own_lease_nor_others,
		OPTS)
{
	struct lease_holder h = { 0 }, o = { 0 };
	struct mdfs_agent *n = mdfs_agent_start(-1, -1);
	const char *p = mdfs_mpath(fs, "f");
	long long id;
	int fd1, nfd, obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	h.a = mdfs_agent_start(-1, -1);
	/* two open files for writing, then the lease through the second */
	fd1 = LOP_OK(h.a, op_open(p, O_WRONLY));
	lease_hold(fs, &h, "f", 0, 0);
	cr_assert_geq(h.id, 1);
	cr_assert_str_eq(lease_xattr(p, "user.mapdirect.eligible"), "yes\n",
			 "eligible names the holder's own writers");
	/* another process leases beside it */
	lease_hold(fs, &o, "f", 0, 0);
	assert_state(obs, MAPDIRECT_STATE_HELD, 2, "two holders");
	LOP_OK(o.a, op_unlease(o.fd, 0));
	LOP_OK(o.a, op_close(o.fd));

	/* no lease any more, the fds kept */
	LOP_OK(h.a, op_unlease(h.fd, 0));
	assert_state(obs, MAPDIRECT_STATE_NONE, 0, "unleased");
	if (mdfs_mediate_all(fs)) {
		cr_assert_str_eq(lease_xattr(p, "user.mapdirect.eligible"),
				 "yes\n");
		nfd = LOP_OK(n, op_open(p, O_RDWR));
		cr_assert_geq(lop_do(n, op_lease(nfd, 0, 0)), 1,
			      "LEASE beside mediated writers");
	} else {
		lease_assert_eligible_writer(fs, "f", h.a->pid);
		nfd = LOP_OK(n, op_open(p, O_RDWR));
		cr_assert_eq(lop_do(n, op_lease(nfd, 0, 0)), -EAGAIN,
			     "LEASE while pid %d, which holds no lease any "
			     "more, has the file open for writing", h.a->pid);
		LOP_OK(h.a, op_close(h.fd));
		LOP_OK(h.a, op_close(fd1));
		id = lease_retry(n, nfd, 0, 0, PROMPT_MS);
		cr_assert_geq(id, 1, "LEASE once the former holder closed "
			      "its fds: %s", strerror((int)-id));
	}
	assert_state(obs, MAPDIRECT_STATE_HELD, 1, "leased again");
	close(obs);
}

/*
 * SPEC 3.1 "once the file has a lease, every new writable open is
 * mediated and stays so until it is closed": a writable open made under
 * a lease sends its writes to the daemon (requests_write counts them) and
 * the first one breaks the lease; after the lease ended its reads and
 * writes still reach the daemon, and it keeps no new lease away (a
 * mediated writer is no hole), whose break its next write starts. A
 * writable open made after the lease ended is unmediated again under
 * mediate=leased, mediated under mediate=all.
 */
MDFS_LEASE_TEST(mediate, open_under_a_lease_is_mediated_and_stays_so, OPTS)
{
	struct mdfs_agent *w = mdfs_agent_start(-1, -1);
	const char *p = mdfs_mpath(fs, "f");
	struct lease_holder h = { 0 };
	long long nw, nr;
	struct lop op;
	int wfd, fd2, obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	wfd = LOP_OK(w, op_open(p, O_RDWR));
	nw = nwrites(fs);
	op = op_pwrite(wfd, 0, 'b', 4096);
	lop_send(w, &op);
	assert_breaks(&h, w, &op, 4096, "pwrite of an open made under a lease");
	cr_assert_eq(nwrites(fs) - nw, 1, "%lld WRITE requests for one pwrite",
		     nwrites(fs) - nw);
	lease_assert_backing(fs, "f", 0, 4096, 'b');
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);

	/* the lease is gone: the open file is still mediated */
	nw = nwrites(fs);
	nr = nreads(fs);
	for (int k = 1; k <= 3; k++)
		cr_assert_eq(lop_do(w, op_pwrite(wfd, 4096 * k, 'c', 4096)),
			     4096);
	cr_assert_eq(lop_do(w, op_pread(wfd, 0, 4096)), 4096);
	cr_assert_eq(nwrites(fs) - nw, 3, "after the lease: %lld WRITE "
		     "requests for 3 pwrites", nwrites(fs) - nw);
	cr_assert_eq(nreads(fs) - nr, 1, "after the lease: %lld READ "
		     "requests for 1 pread", nreads(fs) - nr);
	lease_assert_backing(fs, "f", 4096, 3 * 4096, 'c');

	/* a new writable open, without a lease */
	nw = nwrites(fs);
	fd2 = LOP_OK(w, op_open(p, O_WRONLY));
	cr_assert_eq(lop_do(w, op_pwrite(fd2, SIZE - 4096, 'd', 4096)), 4096);
	lease_assert_backing(fs, "f", SIZE - 4096, 4096, 'd');
	cr_assert_eq(nwrites(fs) - nw, mdfs_mediate_all(fs) ? 1 : 0,
		     "%lld WRITE requests for a pwrite through an open made "
		     "without a lease", nwrites(fs) - nw);
	LOP_OK(w, op_close(fd2));

	/* the mediated one keeps no lease away; its write breaks it */
	h.id = mdfs_mediate_all(fs) ? lop_do(h.a, op_lease(h.fd, 0, 0)) :
	       lease_retry(h.a, h.fd, 0, 0, PROMPT_MS);
	cr_assert_geq(h.id, 1, "LEASE beside a mediated writer: %s",
		      strerror((int)-h.id));
	op = op_pwrite(wfd, 8192, 'e', 100);
	lop_send(w, &op);
	assert_breaks(&h, w, &op, 100, "pwrite of the mediated open file");
	lease_assert_backing(fs, "f", 8192, 100, 'e');
	close(obs);
}

/*
 * SPEC 6: "Under mediate=leased, a holder's own write(2)s through an open
 * file it opened before any lease existed go straight to the backing
 * file: they do not break other holders' leases" (nor its own): write,
 * pwrite, writev, and a pwrite that extends the file, through its leased
 * fd and through another fd of before; no WRITE reaches the daemon.
 * Under mediate=all the same write is mediated and breaks the other
 * holder's lease (SPEC 4.3), not its own.
 */
MDFS_LEASE_TEST(mediate, holders_prelease_writes_break_nobody_under_leased,
		OPTS)
{
	struct lease_holder h = { 0 }, o = { 0 };
	struct mapdirect_lease_info i;
	long long nw;
	struct lop op;
	int fd1, obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	h.a = mdfs_agent_start(-1, -1);
	fd1 = LOP_OK(h.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	lease_hold(fs, &h, "f", 0, SIGUSR1);
	lease_hold(fs, &o, "f", 0, SIGUSR2);
	nw = nwrites(fs);
	if (mdfs_mediate_all(fs)) {
		op = op_pwrite(h.fd, 0, 'x', 4096);
		lop_send(h.a, &op);
		assert_breaks(&o, h.a, &op, 4096, "the holder's own pwrite");
		cr_assert_eq(nwrites(fs) - nw, 1);
		lease_assert_backing(fs, "f", 0, 4096, 'x');
		cr_assert_eq(lop_do(o.a, op_sigwait(SIGUSR2, PROMPT_MS)),
			     SIGUSR2, "the other holder got no signal");
		lease_info(h.a, h.fd, &i);
		cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
		cr_assert_eq(i.holders, 1);
		cr_assert_eq(i.lease_id, (__u64)h.id);
	} else {
		cr_assert_eq(lop_do(h.a, op_write(h.fd, 'w', 4096)), 4096);
		cr_assert_eq(lop_do(h.a, op_pwrite(h.fd, 8192, 'p', 4096)),
			     4096);
		cr_assert_eq(lop_do(h.a, op_writev(h.fd, 'v', 4096)), 4096);
		cr_assert_eq(lop_do(h.a, op_pwrite(fd1, 16384, 'q', 4096)),
			     4096, "pwrite through another fd of before");
		cr_assert_eq(lop_do(h.a, op_pwrite(h.fd, SIZE, 'x', 4096)),
			     4096, "pwrite at EOF");
		cr_assert_eq(nwrites(fs), nw, "%lld WRITE requests reached "
			     "the daemon", nwrites(fs) - nw);
		lease_assert_backing(fs, "f", 0, 4096, 'w');
		lease_assert_backing(fs, "f", 4096, 4096, 'v');
		lease_assert_backing(fs, "f", 8192, 4096, 'p');
		lease_assert_backing(fs, "f", 16384, 4096, 'q');
		lease_assert_backing(fs, "f", SIZE, 4096, 'x');
		cr_assert_eq(lease_backing_size(fs, "f"), SIZE + 4096);
		assert_state(obs, MAPDIRECT_STATE_HELD, 2,
			     "after the holder's unmediated writes");
		lease_assert_no_pollpri(&o);
		lease_assert_no_pollpri(&h);
		cr_assert_eq(lop_do(o.a, op_sigpending(SIGUSR2)), 0);
	}
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGUSR1)), 0,
		     "the writing holder was told of a break");
	close(obs);
}

struct beside {
	struct lop op;		/* run in a thread of the holder */
	int leased;		/* the holder's leased fd */
	/* out */
	int revents;		/* of the leased fd while the op waits */
};

static void *beside_thread(void *arg)
{
	lop_run(NULL, &((struct beside *)arg)->op);
	return NULL;
}

/*
 * Agent: run an operation that breaks the holder's own lease in a thread,
 * while the main thread waits for POLLPRI on the leased fd and then
 * unleases (else the operation would wait for the deadline).
 */
static long op_beside_unlease(void *buf)
{
	struct mapdirect_unlease u = { .size = sizeof(u) };
	struct beside *b = buf;
	struct pollfd p;
	pthread_t t;

	if ((errno = pthread_create(&t, NULL, beside_thread, b)))
		return -1;
	p = (struct pollfd){ .fd = b->leased, .events = POLLPRI };
	b->revents = poll(&p, 1, PROMPT_MS) > 0 ? p.revents : 0;
	ioctl(b->leased, MAPDIRECT_IOC_UNLEASE, &u);
	pthread_join(t, NULL);
	return 0;
}

/*
 * SPEC 3.1 with 4.3: fallocate, ftruncate and copy_file_range always go
 * through the daemon, so they break leases in both modes even through an
 * open file whose writes are unmediated. Such a file, of before the
 * lease, can only be a holder's own (another process's would have kept
 * the lease away): through it they break the other holder's lease and
 * not its own (SPEC 4.3). truncate(2) by path and open with O_TRUNC are
 * not through the holder's leased open file: they break its own lease
 * too.
 */
MDFS_LEASE_TEST(mediate, size_changes_break_even_from_an_unmediated_fd, OPTS)
{
	struct lease_holder h = { 0 }, o = { 0 };
	const char *p = mdfs_mpath(fs, "f");
	struct mapdirect_lease_info i;
	struct beside bs;
	int src, obs;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "src", SIZE, 'C');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);
	src = LOP_OK(h.a, op_open(mdfs_mpath(fs, "src"), O_RDONLY));
	lease_hold(fs, &o, "f", 0, 0);
	if (!mdfs_mediate_all(fs)) {
		long long nw = nwrites(fs);

		/* h.fd is unmediated: a pwrite bypasses the daemon (SPEC 6) */
		cr_assert_eq(lop_do(h.a, op_pwrite(h.fd, 0, 'u', 10)), 10);
		cr_assert_eq(nwrites(fs), nw, "the holder's fd of before the "
			     "lease is mediated");
		assert_state(obs, MAPDIRECT_STATE_HELD, 2, "after SPEC 6 "
			     "pwrite");
	}
	{
		struct {
			const char *name;
			struct lop op;
			long long ret;
		} bk[] = {
			{ "ftruncate", op_ftruncate(h.fd, SIZE), 0 },
			{ "fallocate KEEP_SIZE",
			  op_fallocate(h.fd, FALLOC_FL_KEEP_SIZE, 0, 2 * SIZE),
			  0 },
			{ "fallocate 0", op_fallocate(h.fd, 0, 4096, 4096), 0 },
			{ "copy_file_range", op_copy(src, 0, h.fd, 8192, 4096),
			  4096 },
		};

		for (size_t k = 0; k < sizeof(bk) / sizeof(bk[0]); k++) {
			if (k)
				o.id = LOP_OK(o.a, op_lease(o.fd, 0, 0));
			lop_send(h.a, &bk[k].op);
			assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 2,
					     PROMPT_MS);
			assert_breaks(&o, h.a, &bk[k].op, bk[k].ret,
				      bk[k].name);
			/* the holder's own lease is still there, untold */
			lease_info(h.a, h.fd, &i);
			cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "%s broke "
				     "the holder's own lease", bk[k].name);
			cr_assert_eq(i.lease_id, (__u64)h.id);
			lease_assert_no_pollpri(&h);
		}
	}
	lease_assert_backing(fs, "f", 8192, 4096, 'C');
	cr_assert_eq(lease_backing_size(fs, "f"), SIZE);

	/* by path, and O_TRUNC: both leases break */
	for (int k = 0; k < 2; k++) {
		const char *what = k ? "open O_TRUNC" : "truncate(path)";

		o.id = LOP_OK(o.a, op_lease(o.fd, 0, 0));
		memset(&bs, 0, sizeof(bs));
		bs.leased = h.fd;
		bs.op = k ? op_open(p, O_WRONLY | O_TRUNC) :
			    op_truncate(p, SIZE / 2);
		mdfs_agent_send(h.a, op_beside_unlease, &bs, sizeof(bs));
		lease_assert_pollpri(&o, PROMPT_MS);
		lease_assert_blocked(h.a, BLOCKED_MS, what);
		LOP_OK(o.a, op_unlease(o.fd, 0));
		mdfs_agent_recv(h.a, NULL, &bs, sizeof(bs));
		cr_assert(bs.revents & POLLPRI, "%s by the holder did not "
			  "break its own lease (revents 0x%x)", what,
			  bs.revents);
		cr_assert_geq(bs.op.ret, 0, "%s: %s", what,
			      strerror((int)-bs.op.ret));
		cr_assert_lt(bs.op.ms, BREAK_MS, "%s waited for the deadline",
			     what);
		cr_assert_eq(lease_backing_size(fs, "f"), k ? 0 : SIZE / 2);
		assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
		/* the holder leases again through its fd of before */
		h.id = LOP_OK(h.a, op_lease(h.fd, 0, 0));
	}
	close(obs);
}

/* ------------------------------------------------------------------ */
/* no race between an open and a lease (SPEC 3.1)                      */

#define RACE_MS 800
/*
 * ...and past it until both agents together did enough to have raced (the
 * counts the test asserts), up to this: a slow machine (a TCG guest, make
 * test-dax) gets there later, a fast one stops at RACE_MS.
 */
#define RACE_CAP_MS 15000

/* what both agents did so far, in memory they share */
struct race_progress {
	int grants, refused, broken, leased_at_open, unmediated;
	bool mediate_all;
};
static struct race_progress *race_progress;

static void race_count(int *what)
{
	__atomic_add_fetch(what, 1, __ATOMIC_RELAXED);
}

static int race_get(const int *what)
{
	return __atomic_load_n(what, __ATOMIC_RELAXED);
}

/* go on until RACE_MS, then until enough happened or RACE_CAP_MS */
static bool race_go_on(long long start)
{
	struct race_progress *p = race_progress;
	long long now = mdfs_now_ms();

	if (now < start + RACE_MS)
		return true;
	if (now >= start + RACE_CAP_MS)
		return false;
	return race_get(&p->grants) <= 10 || race_get(&p->broken) == 0 ||
	       race_get(&p->leased_at_open) <= 10 ||
	       (!p->mediate_all && (race_get(&p->unmediated) == 0 ||
				    race_get(&p->refused) == 0));
}

struct race {
	char path[256];		/* the file in the mount */
	char bpath[256];	/* the same file in BACKING */
	char root[256];		/* the mount root, for its stats */
	int opener;		/* pid of the opener, for eligible */
	/* out, leaser */
	int grants, refused, broken;
	int changed;		/* the backing changed under a held lease */
	int eligible_bad;	/* eligible named a writer beside a lease */
	/* out, opener */
	int opens, leased_at_open, mediated, unmediated;
	int bypassed;		/* leased at open, yet its write bypassed */
	int errors, last_errno;
	char bad[128];		/* the last wrong eligible value */
};

static long long race_stat_writes(const char *root)
{
	char v[1024], *p;
	ssize_t n = getxattr(root, "user.mapdirect.stats", v, sizeof(v) - 1);

	if (n < 0)
		return -1;
	v[n] = '\0';
	p = strstr(v, "requests_write=");
	return p ? strtoll(p + 15, NULL, 10) : -1;
}

static int backing_byte(int bfd)
{
	unsigned char c;

	return pread(bfd, &c, 1, 0) == 1 ? c : -1;
}

/*
 * Agent: take a lease (EAGAIN: try again), check that no unmediated
 * writer is beside it (eligible "yes") and that the backing does not
 * change while it is held (any write then must break it and wait), hold
 * it a little, let go; until the end.
 */
static long race_leaser(void *buf)
{
	struct race *r = buf;
	long long start = mdfs_now_ms();
	int fd = open(r->path, O_RDWR | O_CLOEXEC);
	int bfd = open(r->bpath, O_RDONLY | O_CLOEXEC);
	unsigned int seed = 1;

	if (fd < 0 || bfd < 0) {
		r->errors++;
		r->last_errno = errno;
		return 0;
	}
	while (race_go_on(start)) {
		struct mapdirect_lease l = { .size = sizeof(l) };
		struct mapdirect_unlease u = { .size = sizeof(u) };
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		char el[128];
		ssize_t n;
		int b0, b1;

		if (ioctl(fd, MAPDIRECT_IOC_LEASE, &l)) {
			if (errno != EAGAIN) {
				r->errors++;
				r->last_errno = errno;
			}
			r->refused++;
			race_count(&race_progress->refused);
			continue;
		}
		r->grants++;
		race_count(&race_progress->grants);
		b0 = backing_byte(bfd);
		n = getxattr(r->path, "user.mapdirect.eligible", el,
			     sizeof(el) - 1);
		el[n > 0 ? n : 0] = '\0';
		if (strcmp(el, "yes\n")) {
			r->eligible_bad++;
			snprintf(r->bad, sizeof(r->bad), "%s", el);
		}
		if (poll(&p, 1, 1 + (int)(seed++ % 3)) > 0 &&
		    (p.revents & POLLPRI)) {
			r->broken++;
			race_count(&race_progress->broken);
		}
		b1 = backing_byte(bfd);
		if (b0 != b1 || b0 < 0)
			r->changed++;
		if (ioctl(fd, MAPDIRECT_IOC_UNLEASE, &u)) {
			r->errors++;
			r->last_errno = errno;
		}
		/* a window without a lease for the opener */
		poll(NULL, 0, 1 + (int)(seed % 2));
	}
	close(bfd);
	close(fd);
	return 0;
}

/*
 * Agent: open for writing, read the lease state at once, write a byte
 * (another each time) and see whether the write reached the daemon,
 * close; until the end (the leaser's end and a little more).
 */
static long race_opener(void *buf)
{
	struct race *r = buf;
	long long start = mdfs_now_ms();
	unsigned char c = 0;

	while (race_go_on(start)) {
		struct mapdirect_lease_info i = { .size = sizeof(i) };
		long long w0, w1;
		int fd = open(r->path, O_WRONLY | O_CLOEXEC);
		bool leased;

		if (fd < 0 || ioctl(fd, MAPDIRECT_IOC_GETLEASE, &i)) {
			r->errors++;
			r->last_errno = errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		r->opens++;
		leased = i.state != MAPDIRECT_STATE_NONE;
		r->leased_at_open += leased;
		if (leased)
			race_count(&race_progress->leased_at_open);
		w0 = race_stat_writes(r->root);
		c = (unsigned char)(c % 250 + 1);
		if (pwrite(fd, &c, 1, 0) != 1) {
			r->errors++;
			r->last_errno = errno;
		}
		w1 = race_stat_writes(r->root);
		if (w0 < 0 || w1 < 0) {
			r->errors++;
			r->last_errno = ENODATA;
		} else if (w1 > w0) {
			r->mediated++;
		} else {
			r->unmediated++;
			race_count(&race_progress->unmediated);
			/* a lease was there when we looked, right after the
			 * open: the open was made under it (else the lease
			 * could not have been granted beside our fd) */
			r->bypassed += leased;
		}
		close(fd);
		/* now and then a window for the leaser, whose LEASE
		 * fails while our unmediated fd is open (or not released) */
		if (r->opens % 4 == 0)
			poll(NULL, 0, 1);
	}
	return 0;
}

/*
 * SPEC 3.1: "The open's decision and the lease's check and grant" cannot
 * interleave: for about a second (longer on a slow machine, until it has
 * raced: RACE_CAP_MS) one process takes and releases a lease
 * over and over while another opens the file for writing, writes a byte
 * and closes, over and over. An unmediated writer never coexists with a
 * lease: after every grant eligible is "yes" (no writer beside it) and
 * the backing does not change while it is held; an open that saw a lease
 * right after it was made is mediated (its write reached the daemon).
 * Under mediate=all every write is mediated.
 */
MDFS_LEASE_TEST(mediate, no_race_between_open_and_lease, "lease_break_time=5")
{
	struct mdfs_agent *l, *o;
	struct race rl, ro;
	int obs;

	/* before the agents fork: they share it */
	race_progress = mdfs_shared(sizeof(*race_progress));
	race_progress->mediate_all = mdfs_mediate_all(fs);
	l = mdfs_agent_start(-1, -1);
	o = mdfs_agent_start(-1, -1);

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	memset(&rl, 0, sizeof(rl));
	snprintf(rl.path, sizeof(rl.path), "%s", mdfs_mpath(fs, "f"));
	snprintf(rl.bpath, sizeof(rl.bpath), "%s", mdfs_bpath(fs, "f"));
	cr_assert_lt(strlen(fs->mnt), sizeof(rl.root));
	strcpy(rl.root, fs->mnt);
	rl.opener = o->pid;
	ro = rl;
	mdfs_agent_send(o, race_opener, &ro, sizeof(ro));
	mdfs_agent_send(l, race_leaser, &rl, sizeof(rl));
	mdfs_agent_recv(l, NULL, &rl, sizeof(rl));
	mdfs_agent_recv(o, NULL, &ro, sizeof(ro));

	cr_assert_eq(rl.errors, 0, "leaser: %d errors, the last %s",
		     rl.errors, strerror(rl.last_errno));
	cr_assert_eq(ro.errors, 0, "opener: %d errors, the last %s",
		     ro.errors, strerror(ro.last_errno));
	cr_assert_eq(rl.eligible_bad, 0, "%d of %d leases had an unmediated "
		     "writer beside them: eligible \"%.*s\"", rl.eligible_bad,
		     rl.grants, (int)strcspn(rl.bad, "\n"), rl.bad);
	cr_assert_eq(rl.changed, 0, "the backing changed under %d of %d held "
		     "leases", rl.changed, rl.grants);
	cr_assert_eq(ro.bypassed, 0, "%d opens saw a lease right after they "
		     "were made, and their write bypassed the daemon",
		     ro.bypassed);
	/* it did race: leases, opens under them and their breaks */
	cr_assert_gt(rl.grants, 10, "only %d leases granted (%d refused)",
		     rl.grants, rl.refused);
	cr_assert_gt(ro.leased_at_open, 10, "only %d of %d opens under a "
		     "lease", ro.leased_at_open, ro.opens);
	cr_assert_gt(rl.broken, 0, "no lease was broken");
	if (mdfs_mediate_all(fs)) {
		cr_assert_eq(ro.unmediated, 0, "mediate=all: %d writes "
			     "bypassed the daemon", ro.unmediated);
	} else {
		/* and some opens were made without a lease: unmediated */
		cr_assert_gt(ro.unmediated, 0, "no write bypassed the daemon "
			     "in %d opens", ro.opens);
		cr_assert_gt(rl.refused, 0, "no lease was refused beside an "
			     "unmediated writer");
	}
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
	lease_stop_clean(fs);
}

/*
 * SPEC 3.1, 4.3: a holder that gives up its lease but keeps an open file
 * from before any lease (unmediated) becomes a writer the daemon cannot
 * see. Its lease's end breaks the other holders' leases at once, as its
 * next write would; under mediate=all that file is mediated, so its write
 * breaks them when it comes.
 */
MDFS_LEASE_TEST(mediate, former_holder_with_unmediated_fd_breaks_others, OPTS)
{
	struct lease_holder h = { 0 }, o = { 0 };
	int obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", 0, 0);	/* opened before any lease */
	lease_hold(fs, &o, "f", 0, 0);	/* opened under h's lease */
	assert_state(obs, MAPDIRECT_STATE_HELD, 2, "two holders");
	LOP_OK(h.a, op_unlease(h.fd, 0));
	if (!mdfs_mediate_all(fs)) {
		lease_assert_pollpri(&o, PROMPT_MS);
		assert_state(obs, MAPDIRECT_STATE_BREAKING, 1,
			     "after a holder kept its unmediated file");
	} else {
		struct lop w;

		lease_assert_no_pollpri(&o);
		w = op_pwrite(h.fd, 0, 'x', 4096);
		lop_send(h.a, &w);
		lease_assert_pollpri(&o, PROMPT_MS);
		lease_assert_blocked(h.a, BLOCKED_MS, "the former holder's write");
	}
	LOP_OK(o.a, op_unlease(o.fd, 0));
	assert_lease_becomes(obs, MAPDIRECT_STATE_NONE, 0, PROMPT_MS);
	close(obs);
}

/*
 * user.mapdirect.eligible answers for its reader (SPEC 3.1): the reader's
 * own unmediated writable open does not stand in the way of its lease,
 * and is named to any other process.
 */
MDFS_TEST(mediate, eligible_answers_for_its_reader, NULL)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_unlease u = { .size = sizeof(u) };
	const char *p = mdfs_mpath(fs, "f");
	char want[64], got[128] = "";
	int fd, pfd[2], st;
	ssize_t n;
	pid_t child;

	lease_file(fs, "f", SIZE, 'a');
	fd = open(p, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_str_eq(lease_xattr(p, "user.mapdirect.eligible"), "yes\n",
			 "the reader's own writer stood in its way");
	cr_assert_eq(pipe(pfd), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		n = getxattr(p, "user.mapdirect.eligible", got, sizeof(got));
		_exit(n > 0 && write(pfd[1], got, (size_t)n) == n ? 0 : 1);
	}
	close(pfd[1]);
	n = read(pfd[0], got, sizeof(got) - 1);
	close(pfd[0]);
	cr_assert_eq(waitpid(child, &st, 0), child);
	cr_assert(n > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	got[n] = 0;
	snprintf(want, sizeof(want), "no: open for writing by pid %d\n",
		 (int)getpid());
	cr_assert_str_eq(got, want, "another process read \"%s\"", got);
	/* and the lease it promised */
	cr_assert_eq(ioctl(fd, MAPDIRECT_IOC_LEASE, &l), 0, "LEASE: %s",
		     strerror(errno));
	cr_assert_eq(ioctl(fd, MAPDIRECT_IOC_UNLEASE, &u), 0);
	close(fd);
}
