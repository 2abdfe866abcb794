// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 4.1 MAPDIRECT_LEASE_EXCLUSIVE, the 2019 "exclusive layout lease"
 * model: "breakers are not parked and holders are not notified; a
 * breaking operation fails at once with ETXTBSY while the lease is held.
 * Only one exclusive lease per file, and not together with shared ones
 * (EAGAIN)."
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define SIZE (64 << 10)
#define OPTS "lease_break_time=5"
/* ETXTBSY "at once": well before a 5 s break would end */
#define PROMPT_MS 3000

/*
 * SPEC 4.1 EXCLUSIVE: every breaker of SPEC 4.3 fails at once with
 * ETXTBSY, changes nothing, and the holder is told nothing (no POLLPRI,
 * no signal, never "breaking"); reads and the holder's own writes work.
 */
MDFS_LEASE_TEST(lease_exclusive, breakers_get_etxtbsy_holder_not_told, OPTS)
{
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	const char *p = mdfs_mpath(fs, "f");
	struct lease_holder h = { 0 };
	struct mapdirect_lease_info i;
	int fd, fd2, src, obs;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "src", SIZE, 'C');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &h, "f", MAPDIRECT_LEASE_EXCLUSIVE, SIGUSR1);
	lease_info(h.a, h.fd, &i);
	cr_assert_eq(i.lease_flags, MAPDIRECT_LEASE_EXCLUSIVE,
		     "GETLEASE lease_flags 0x%x", i.lease_flags);
	cr_assert_eq(i.lease_id, (__u64)h.id);

	fd = LOP_OK(b, op_open(p, O_RDWR));
	src = LOP_OK(b, op_open(mdfs_mpath(fs, "src"), O_RDONLY));
	{
		struct {
			const char *name;
			struct lop op;
		} bk[] = {
			{ "write", op_write(fd, 'x', 100) },
			{ "pwrite", op_pwrite(fd, 8192, 'x', 100) },
			{ "pwrite past EOF", op_pwrite(fd, 2 * SIZE, 'x', 1) },
			{ "writev", op_writev(fd, 'x', 100) },
			{ "fallocate", op_fallocate(fd, 0, 0, 2 * SIZE) },
			{ "fallocate PUNCH_HOLE",
			  op_fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, 0, 4096) },
			{ "ftruncate", op_ftruncate(fd, 100) },
			{ "truncate(path)", op_truncate(p, 100) },
			{ "open O_TRUNC", op_open(p, O_WRONLY | O_TRUNC) },
			{ "copy_file_range", op_copy(src, 0, fd, 0, 4096) },
		};

		for (size_t k = 0; k < sizeof(bk) / sizeof(bk[0]); k++) {
			cr_assert_eq(lop_run(b, &bk[k].op), -ETXTBSY,
				     "%s under an exclusive lease: %s, "
				     "expected ETXTBSY", bk[k].name,
				     strerror((int)-bk[k].op.ret));
			cr_assert_lt(bk[k].op.ms, PROMPT_MS, "%s took %lld ms",
				     bk[k].name, bk[k].op.ms);
			lease_info(NULL, obs, &i);
			cr_assert_eq(i.state, MAPDIRECT_STATE_HELD, "%s made "
				     "the file %u", bk[k].name, i.state);
		}
	}
	/* nothing changed, nobody was told */
	cr_assert_eq(lease_backing_size(fs, "f"), SIZE);
	lease_assert_backing(fs, "f", 0, SIZE, 'a');
	lease_assert_no_pollpri(&h);
	cr_assert_eq(lop_do(h.a, op_sigpending(SIGUSR1)), 0,
		     "the exclusive holder got its break signal");
	lease_info(h.a, h.fd, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.ms_left, 0);

	/* the holder's other open file is a breaker like any */
	fd2 = LOP_OK(h.a, op_open(p, O_RDWR));
	cr_assert_eq(lop_do(h.a, op_pwrite(fd2, 0, 'x', 10)), -ETXTBSY,
		     "pwrite through the exclusive holder's other open file");
	/* reads still work; the holder's own writes too */
	cr_assert_eq(lop_do(b, op_pread(fd, 0, 4096)), 4096);
	cr_assert_eq(lop_do(h.a, op_pwrite(h.fd, 0, 'h', 4096)), 4096,
		     "the exclusive holder's own pwrite");
	lease_assert_backing(fs, "f", 0, 4096, 'h');

	/* once it is gone, the same breakers work */
	LOP_OK(h.a, op_unlease(h.fd, 0));
	cr_assert_eq(lop_do(b, op_pwrite(fd, 8192, 'y', 100)), 100);
	cr_assert_eq(lop_do(b, op_ftruncate(fd, 100)), 0);
	cr_assert_eq(lease_backing_size(fs, "f"), 100);
	close(obs);
}

/*
 * SPEC 4.1 EXCLUSIVE "Only one exclusive lease per file, and not together
 * with shared ones (EAGAIN)".
 */
MDFS_LEASE_TEST(lease_exclusive, one_exclusive_and_never_beside_shared, OPTS)
{
	struct lease_holder e = { 0 }, s = { 0 };
	struct mapdirect_lease_info i;
	int fd, obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	lease_hold(fs, &e, "f", MAPDIRECT_LEASE_EXCLUSIVE, 0);
	s.a = mdfs_agent_start(-1, -1);
	s.fd = LOP_OK(s.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(s.a, op_lease(s.fd, 0, 0)), -EAGAIN,
		     "shared lease beside an exclusive one");
	cr_assert_eq(lop_do(s.a, op_lease(s.fd, MAPDIRECT_LEASE_EXCLUSIVE, 0)),
		     -EAGAIN, "second exclusive lease");
	/* the exclusive holder's own other open file is no exception */
	fd = LOP_OK(e.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(e.a, op_lease(fd, 0, 0)), -EAGAIN,
		     "the exclusive holder's second lease");
	/* the same open file again: the same lease */
	cr_assert_eq(lop_do(e.a, op_lease(e.fd, MAPDIRECT_LEASE_EXCLUSIVE, 0)),
		     e.id);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1);

	/*
	 * Now a shared one first. (e.fd was opened before any lease: under
	 * mediate=leased it is unmediated, and e, holding no lease, would
	 * keep s from leasing (SPEC 3.1); so e takes the shared one.)
	 */
	LOP_OK(e.a, op_unlease(e.fd, 0));
	e.id = LOP_OK(e.a, op_lease(e.fd, 0, 0));
	cr_assert_eq(lop_do(s.a, op_lease(s.fd, MAPDIRECT_LEASE_EXCLUSIVE, 0)),
		     -EAGAIN, "exclusive lease beside a shared one");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.lease_flags, 0);
	/* a second shared one is fine */
	s.id = LOP_OK(s.a, op_lease(s.fd, 0, 0));
	cr_assert_neq(s.id, e.id);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 2);
	/* and a third open file's exclusive one still is not */
	fd = LOP_OK(s.a, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(s.a, op_lease(fd, MAPDIRECT_LEASE_EXCLUSIVE, 0)),
		     -EAGAIN, "exclusive lease beside two shared ones");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 2);
	close(obs);
}
