// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 4.4 listings in core: md_lease_list_from() hands out batches in
 * lease id order from a cursor; md_abi_put_lease() packs records of
 * MAPDIRECT_IOC_LEASES; md_render_lease()/md_render_cut() write the lines
 * of the xattr. On a fake clock, no mount.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "abi.h"
#include "lease.h"
#include "mapdirect.h"
#include "render.h"

static uint64_t clock_ms = 1000;

static uint64_t fake_now(void *ctx)
{
	return clock_ms;
}

static const struct md_engine_ops ops = { .now_ms = fake_now };

#define NFILES 3
#define NOWNERS 64

static struct md_engine *eng;
static struct md_lfile files[NFILES];
static struct md_owner owners[NOWNERS];

static void setup(void)
{
	eng = md_engine_new(&ops, NULL, 1000, MD_REVOKE_NONE);
	cr_assert(eng);
	for (int i = 0; i < NFILES; i++)
		md_lfile_init(&files[i], 1, 100 + i);
	memset(owners, 0, sizeof(owners));
}

static void teardown(void)
{
	md_engine_free(eng);
}

/* lease through owners[@o] on files[@f], pid 1000 + @o: its id */
static uint32_t take(int o, int f)
{
	struct md_lease_req rq = {
		.owner = &owners[o], .pid = 1000 + o, .tid = 1000 + o,
		.comm = "t",
	};
	struct md_dispose d;
	uint32_t id;

	md_dispose_init(&d);
	cr_assert_eq(md_lease_take(eng, &files[f], &rq, &d, &id), 0);
	md_dispose_fini(&d);
	return id;
}

static void unlease(int o, int f)
{
	struct md_dispose d;

	md_dispose_init(&d);
	cr_assert_eq(md_lease_unlease(eng, &files[f], &owners[o], 0, &d), 0);
	md_dispose_fini(&d);
}

struct seen {
	uint32_t id[NOWNERS];
	struct md_lfile *lf[NOWNERS];
	int n;
};

static void record(void *arg, struct md_lfile *lf,
		   const struct md_lease_view *v)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, NOWNERS);
	s->lf[s->n] = lf;
	s->id[s->n++] = v->id;
}

static int batch(struct md_lfile *lf, uint32_t after, size_t max,
		 struct seen *s)
{
	int n;

	memset(s, 0, sizeof(*s));
	n = md_lease_list_from(eng, lf, after, max, record, s);
	cr_assert_eq(n, s->n);
	return n;
}

Test(core_listing, batches_ascend_from_the_cursor, .init = setup,
     .fini = teardown)
{
	uint32_t id[10];
	struct seen s;

	for (int i = 0; i < 10; i++)
		id[i] = take(i, i % NFILES);
	cr_assert_eq(batch(NULL, 0, 4, &s), 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(s.id[i], id[i]);
		cr_assert_eq(s.lf[i], &files[i % NFILES]);
	}
	/* from the last one handed out */
	cr_assert_eq(batch(NULL, id[3], 4, &s), 4);
	cr_assert_eq(s.id[0], id[4]);
	cr_assert_eq(batch(NULL, id[7], 4, &s), 2);
	cr_assert_eq(s.id[1], id[9]);
	cr_assert_eq(batch(NULL, id[9], 4, &s), 0);
	cr_assert_eq(batch(NULL, 0, 0, &s), 0);
}

Test(core_listing, the_cursor_survives_its_lease_ending, .init = setup,
     .fini = teardown)
{
	uint32_t id[8];
	struct seen s;

	for (int i = 0; i < 8; i++)
		id[i] = take(i, 0);
	cr_assert_eq(batch(NULL, 0, 3, &s), 3);
	/* the last one handed out ends, and the next one: no skip beyond */
	unlease(2, 0);
	unlease(3, 0);
	cr_assert_eq(batch(NULL, id[2], 3, &s), 3);
	cr_assert_eq(s.id[0], id[4]);
	cr_assert_eq(s.id[2], id[6]);
	/* a lease that began meanwhile comes after */
	take(9, 1);
	cr_assert_eq(batch(NULL, id[6], 3, &s), 2);
	cr_assert_eq(s.id[0], id[7]);
}

Test(core_listing, one_file_in_id_order, .init = setup, .fini = teardown)
{
	uint32_t id[9];
	struct seen s;

	for (int i = 0; i < 9; i++)
		id[i] = take(i, i % NFILES);
	/* files[1] has id[1], id[4], id[7], its list newest first */
	cr_assert_eq(batch(&files[1], 0, 2, &s), 2);
	cr_assert_eq(s.id[0], id[1]);
	cr_assert_eq(s.id[1], id[4]);
	cr_assert_eq(batch(&files[1], id[4], 2, &s), 1);
	cr_assert_eq(s.id[0], id[7]);
	/* a cursor from another file, or gone, still means "above it" */
	cr_assert_eq(batch(&files[1], id[2], 5, &s), 2);
	cr_assert_eq(s.id[0], id[4]);
	unlease(4, 1);
	cr_assert_eq(batch(&files[1], id[4], 5, &s), 1);
	cr_assert_eq(s.id[0], id[7]);
}

Test(core_listing, a_walk_with_churn_sees_the_lasting_ones_once,
     .init = setup, .fini = teardown)
{
	int seen[NOWNERS] = { 0 }, live = 40, next = 40;
	uint32_t id[NOWNERS] = { 0 }, cursor = 0;
	bool ended[NOWNERS] = { false }, late[NOWNERS] = { false };
	struct seen s;

	for (int i = 0; i < live; i++)
		id[i] = take(i, i % NFILES);
	while (batch(NULL, cursor, 5, &s) > 0) {
		for (int i = 0; i < s.n; i++) {
			int k;

			for (k = 0; k < next && id[k] != s.id[i]; k++)
				;
			cr_assert_lt(k, next);
			cr_assert_not(ended[k]);
			cr_assert_gt(s.id[i], cursor);
			seen[k]++;
			cursor = s.id[i];
		}
		/* end the last one seen and one ahead; one begins */
		for (int k = 0; k < next; k++)
			if (id[k] == cursor) {
				unlease(k, k % NFILES);
				ended[k] = true;
			}
		for (int k = next - 1; k >= 0; k--)
			if (!ended[k] && id[k] > cursor) {
				unlease(k, k % NFILES);
				ended[k] = true;
				break;
			}
		if (next < NOWNERS) {
			late[next] = true;
			id[next] = take(next, next % NFILES);
			next++;
		}
	}
	for (int k = 0; k < next; k++) {
		cr_assert_leq(seen[k], 1);
		if (!late[k] && !ended[k])
			cr_assert_eq(seen[k], 1, "lease %u missed", id[k]);
	}
}

/* -- records ---------------------------------------------------------- */

Test(core_listing, records_are_packed_and_aligned)
{
	struct mapdirect_leases *a = calloc(1, sizeof(*a));
	struct mapdirect_lease_rec rec = { .lease_id = 5 }, got;
	char path[4096];
	int n = 0;

	cr_assert_not_null(a);
	cr_assert_eq(md_abi_put_lease(a, &rec, "d/f"), 0);
	memcpy(&got, a->buf, sizeof(got));
	cr_assert_eq(got.rec_len, sizeof(got) + 8);	/* "d/f\0" to 8 */
	cr_assert_eq(got.path_len, 3);
	cr_assert(got.rec_flags & MAPDIRECT_REC_PATH);
	cr_assert_str_eq((char *)a->buf + sizeof(got), "d/f");
	cr_assert_eq(md_abi_put_lease(a, &rec, NULL), 0);
	memcpy(&got, a->buf + sizeof(got) + 8, sizeof(got));
	cr_assert_eq(got.rec_len, sizeof(got));
	cr_assert_eq(got.path_len, 0);
	cr_assert_not(got.rec_flags & MAPDIRECT_REC_PATH);
	cr_assert_eq(a->count, 2);
	cr_assert_eq(a->len, 2 * sizeof(got) + 8);

	/* a PATH_MAX path fits; then the buffer fills and stays as it was */
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	memset(a, 0, sizeof(*a));
	while (md_abi_put_lease(a, &rec, path) == 0)
		n++;
	cr_assert_eq(n, (int)(MAPDIRECT_LEASES_BUF / (sizeof(rec) + 4096)));
	cr_assert_eq(a->count, (uint32_t)n);
	cr_assert_eq(a->len % 8, 0);
	cr_assert_eq(md_abi_put_lease(a, &rec, path), -ENOSPC);
	cr_assert_eq(a->count, (uint32_t)n);
	free(a);
}

/* -- text ------------------------------------------------------------- */

Test(core_listing, lines_name_the_inode_and_a_shown_path)
{
	struct md_lease_view v = {
		.id = 3, .pid = 42, .comm = "app", .since_real_ms = 1500,
	};
	struct md_render_place place = {
		.dev = makedev(0, 0x2d), .ino = 1234, .path = "a b\nc",
	};
	struct md_buf b;

	md_buf_init(&b);
	md_render_lease(&b, &v, &place);
	md_buf_printf(&b, "%c", '\0');
	cr_assert_str_eq(b.p, "id=3 pid=42 comm=app "
			 "since=1970-01-01T00:00:01.500Z signal=0 state=held "
			 "flags=none fd=closed inode=00:2d:1234 path=a?b?c\n");
	md_buf_free(&b);

	/* hidden: no path, and an empty comm is "?" */
	place.path = NULL;
	v.comm[0] = '\0';
	md_buf_init(&b);
	md_render_lease(&b, &v, &place);
	md_render_cut(&b, 7);
	md_buf_printf(&b, "%c", '\0');
	cr_assert(strstr(b.p, " comm=? ") &&
		  strstr(b.p, " inode=00:2d:1234\n") && !strstr(b.p, "path="),
		  "%s", b.p);
	cr_assert(strstr(b.p, "\ntruncated: 7 more leases not shown"), "%s",
		  b.p);
	md_buf_free(&b);

	/* a file's own listing: neither */
	md_buf_init(&b);
	md_render_lease(&b, &v, NULL);
	md_buf_printf(&b, "%c", '\0');
	cr_assert(!strstr(b.p, "inode=") && !strstr(b.p, "path="), "%s", b.p);
	md_buf_free(&b);
}
