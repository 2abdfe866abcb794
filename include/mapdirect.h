/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mapdirect.h - layout leases on mapdirectfs (SPEC 4): the ioctl ABI.
 *
 * Every struct starts with its own size, which the caller sets to
 * sizeof(struct ...); fields marked reserved must be zero. Unknown flags,
 * a wrong size or non-zero reserved fields fail with EINVAL. Only fixed-width
 * types: the same layout for 32- and 64-bit callers, C and C++.
 */
#ifndef MAPDIRECT_H
#define MAPDIRECT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MAPDIRECT_IOC_MAGIC 'M'

/* flags of struct mapdirect_lease */
/* allocate and zero every hole and unwritten range first, then grant */
#define MAPDIRECT_LEASE_ALLOCATE	(1u << 0)
/* breakers fail with ETXTBSY instead of waiting; holders are not told */
#define MAPDIRECT_LEASE_EXCLUSIVE	(1u << 1)
#define MAPDIRECT_LEASE_FLAGS		(MAPDIRECT_LEASE_ALLOCATE | \
					 MAPDIRECT_LEASE_EXCLUSIVE)

/* MAPDIRECT_IOC_LEASE: take a layout lease through this open file. */
struct mapdirect_lease {
	__u32 size;		/* in: sizeof(struct mapdirect_lease) */
	__u32 flags;		/* in: MAPDIRECT_LEASE_* */
	__u32 signal;		/* in: queued when a break starts; 0 = none */
	__u32 reserved0;	/* must be 0 */
	__u64 lease_id;		/* out: never 0 */
	__u64 reserved[4];	/* must be 0 */
};

/* MAPDIRECT_IOC_UNLEASE: end the lease taken through this open file. */
struct mapdirect_unlease {
	__u32 size;		/* in: sizeof(struct mapdirect_unlease) */
	__u32 flags;		/* in: must be 0 */
	__u64 lease_id;		/* in: 0, or the id to check against */
	__u64 reserved[2];	/* must be 0 */
};

/* lease states, as MAPDIRECT_IOC_GETLEASE reports them */
#define MAPDIRECT_STATE_NONE		0u
#define MAPDIRECT_STATE_HELD		1u
#define MAPDIRECT_STATE_BREAKING	2u

/* MAPDIRECT_IOC_GETLEASE: the lease state of the file, on any of its fds. */
struct mapdirect_lease_info {
	__u32 size;		/* in: sizeof(struct mapdirect_lease_info) */
	__u32 flags;		/* in: must be 0 */
	__u32 state;		/* out: MAPDIRECT_STATE_* */
	__u32 holders;		/* out: number of leases on the file */
	__u64 lease_id;		/* out: the caller's lease on the file, or 0 */
	__u64 ms_left;		/* out: until revocation, while breaking */
	__u32 lease_flags;	/* out: flags of the caller's lease */
	__u32 reserved0;	/* must be 0 */
	__u64 reserved[3];	/* must be 0 */
};

#define MAPDIRECT_IOC_LEASE \
	_IOWR(MAPDIRECT_IOC_MAGIC, 1, struct mapdirect_lease)
#define MAPDIRECT_IOC_UNLEASE \
	_IOW(MAPDIRECT_IOC_MAGIC, 2, struct mapdirect_unlease)
#define MAPDIRECT_IOC_GETLEASE \
	_IOWR(MAPDIRECT_IOC_MAGIC, 3, struct mapdirect_lease_info)

#endif /* MAPDIRECT_H */
