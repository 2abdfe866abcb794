// SPDX-License-Identifier: GPL-2.0-or-later
/* SPEC 4: the ioctl ABI and its decoding (bad input gets EINVAL). */
#include <assert.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "abi.h"

/* the layout is ABI: same on every arch, no hidden padding */
static_assert(sizeof(struct mapdirect_lease) == 56, "lease size");
static_assert(offsetof(struct mapdirect_lease, lease_id) == 16, "lease id");
static_assert(sizeof(struct mapdirect_unlease) == 32, "unlease size");
static_assert(sizeof(struct mapdirect_lease_info) == 64, "info size");
static_assert(offsetof(struct mapdirect_lease_info, ms_left) == 24, "ms_left");
static_assert(sizeof(struct mapdirect_lease_rec) == 88, "lease rec size");
static_assert(sizeof(struct mapdirect_lease_rec) % 8 == 0, "rec alignment");
static_assert(offsetof(struct mapdirect_lease_rec, since_ms) == 48, "since");
static_assert(offsetof(struct mapdirect_lease_rec, comm) == 72, "comm");
static_assert(offsetof(struct mapdirect_leases, buf) == 64, "leases header");
static_assert(sizeof(struct mapdirect_leases) == 12288, "leases size");
/* restricted FUSE ioctls: the size must fit _IOC_SIZE's 14 bits */
static_assert(sizeof(struct mapdirect_leases) < (1u << _IOC_SIZEBITS),
	      "leases fits an ioctl number");
/* a record with a PATH_MAX path fits in one answer */
static_assert(sizeof(struct mapdirect_lease_rec) + 4096 <=
	      MAPDIRECT_LEASES_BUF, "a long path fits");

static union md_abi_arg out;

Test(core_abi, ioctl_numbers_encode_the_structs)
{
	cr_assert_eq(_IOC_TYPE(MAPDIRECT_IOC_LEASE), 'M');
	cr_assert_eq(_IOC_SIZE(MAPDIRECT_IOC_LEASE), sizeof(struct mapdirect_lease));
	cr_assert_eq(_IOC_DIR(MAPDIRECT_IOC_LEASE), _IOC_READ | _IOC_WRITE);
	cr_assert_eq(_IOC_DIR(MAPDIRECT_IOC_UNLEASE), _IOC_WRITE);
	cr_assert_eq(_IOC_SIZE(MAPDIRECT_IOC_GETLEASE),
		     sizeof(struct mapdirect_lease_info));
	cr_assert_neq(MAPDIRECT_IOC_LEASE, MAPDIRECT_IOC_GETLEASE);
}

Test(core_abi, good_lease_decodes)
{
	struct mapdirect_lease l = {
		.size = sizeof(l), .flags = MAPDIRECT_LEASE_ALLOCATE, .signal = 64,
		.lease_id = 7,	/* an out field: whatever came in is fine */
	};

	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, &l, sizeof(l), &out), 0);
	cr_assert_eq(out.lease.flags, MAPDIRECT_LEASE_ALLOCATE);
	cr_assert_eq(out.lease.signal, 64);
}

Test(core_abi, malformed_lease_is_einval)
{
	struct mapdirect_lease good = { .size = sizeof(good) }, l;

	l = good;
	l.size = sizeof(l) - 8;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, &l, sizeof(l), &out), -EINVAL);
	l = good;
	l.flags = 1u << 7;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, &l, sizeof(l), &out), -EINVAL);
	l = good;
	l.signal = 65;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, &l, sizeof(l), &out), -EINVAL);
	/* out fields of an answered struct are ignored, not refused */
	l = good;
	l.out_flags = ~0u;
	l.lease_id = 7;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, &l, sizeof(l), &out), 0);
	cr_assert(!out.lease.out_flags && !out.lease.lease_id,
		  "out fields start at 0");
	for (int i = 0; i < 4; i++) {
		l = good;
		l.reserved[i] = 1ull << 63;
		cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, &l, sizeof(l), &out),
			     -EINVAL, "reserved[%d]", i);
	}
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, &good, sizeof(good) - 1, &out),
		     -EINVAL, "short buffer");
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASE, NULL, sizeof(good), &out),
		     -EINVAL);
}

Test(core_abi, unlease_and_getlease_checks)
{
	struct mapdirect_unlease u = { .size = sizeof(u) };
	struct mapdirect_lease_info i = { .size = sizeof(i) };

	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_UNLEASE, &u, sizeof(u), &out), 0);
	u.flags = 1;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_UNLEASE, &u, sizeof(u), &out), -EINVAL);
	u.flags = 0;
	u.lease_id = 1ull << 40;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_UNLEASE, &u, sizeof(u), &out), -EINVAL);
	u.lease_id = 0;
	u.reserved[1] = 1;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_UNLEASE, &u, sizeof(u), &out), -EINVAL);

	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_GETLEASE, &i, sizeof(i), &out), 0);
	i.out_flags = 2;
	i.state = i.holders = 3;
	i.lease_id = i.ms_left = 4;
	i.lease_flags = 5;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_GETLEASE, &i, sizeof(i), &out), 0);
	cr_assert(!out.info.out_flags && !out.info.state && !out.info.holders &&
		  !out.info.lease_id && !out.info.ms_left &&
		  !out.info.lease_flags, "out fields start at 0");
	i.flags = 1;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_GETLEASE, &i, sizeof(i), &out), -EINVAL);
}

Test(core_abi, leases_request_checks)
{
	static struct mapdirect_leases a;

	cr_assert_eq(_IOC_SIZE(MAPDIRECT_IOC_LEASES), sizeof(a));
	cr_assert_eq(_IOC_DIR(MAPDIRECT_IOC_LEASES), _IOC_READ | _IOC_WRITE);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	/* the cursor is any id; out fields may hold anything coming in */
	a.cursor = 1ull << 40;
	a.count = 9;
	a.len = 12;
	a.out_flags = 3;
	a.buf[0] = 0xff;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASES, &a, sizeof(a), &out),
		     0);
	cr_assert_eq(out.leases.cursor, 1ull << 40);
	cr_assert(!out.leases.count && !out.leases.len &&
		  !out.leases.out_flags, "out fields start at 0");
	a.flags = 1;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASES, &a, sizeof(a), &out),
		     -EINVAL);
	a.flags = 0;
	a.reserved0 = 1;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASES, &a, sizeof(a), &out),
		     -EINVAL);
	a.reserved0 = 0;
	for (int i = 0; i < 4; i++) {
		a.reserved[i] = 1;
		cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASES, &a, sizeof(a),
					   &out), -EINVAL, "reserved[%d]", i);
		a.reserved[i] = 0;
	}
	a.size = sizeof(a) - 8;
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASES, &a, sizeof(a), &out),
		     -EINVAL);
	a.size = sizeof(a);
	cr_assert_eq(md_abi_decode(MAPDIRECT_IOC_LEASES, &a, sizeof(a) - 1,
				   &out), -EINVAL, "short buffer");
}

Test(core_abi, foreign_ioctls_are_enotty)
{
	char buf[64] = { 0 };

	cr_assert_eq(md_abi_decode(_IOWR('M', 9, struct mapdirect_lease), buf,
				   sizeof(struct mapdirect_lease), &out), -ENOTTY);
	cr_assert_eq(md_abi_decode(0x5401 /* TCGETS */, buf, 0, &out), -ENOTTY);
}
