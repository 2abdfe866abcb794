/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_ABI_H
#define MD_ABI_H

/*
 * Decoding of the ioctl structs of include/mapdirect.h: the one place that
 * says what a well-formed request is (size, reserved fields, flags,
 * signal numbers). Pure functions of their input, fuzzed in tests/fuzz.
 */
#include <stddef.h>
#include <stdint.h>

#include "mapdirect.h"

/* The kernel's signal numbers: 1..64 (glibc's SIGRTMAX hides two). */
#define MD_SIGNAL_MAX 64

/**
 * md_abi_decode - check an ioctl's input
 * @cmd: MAPDIRECT_IOC_*
 * @in: the bytes the kernel copied in; @len: their number
 * @out: the struct, copied out of @in (a union big enough for any)
 *
 * @return 0, -ENOTTY (not ours), or -EINVAL (wrong length or size field,
 * non-zero reserved fields, unknown flags, bad signal number).
 */
union md_abi_arg {
	struct mapdirect_lease lease;
	struct mapdirect_unlease unlease;
	struct mapdirect_lease_info info;
	struct mapdirect_leases leases;
};

int md_abi_decode(unsigned int cmd, const void *in, size_t len,
		  union md_abi_arg *out);

/**
 * md_abi_put_lease - append a record to a MAPDIRECT_IOC_LEASES answer
 * @out: the answer; count and len grow
 * @rec: the record; rec_len and path_len are set here
 * @path: NULL, or the path (MAPDIRECT_REC_PATH is set here then)
 *
 * @return 0, or -ENOSPC when the record does not fit in what is left of
 * @out->buf (nothing is written then).
 */
int md_abi_put_lease(struct mapdirect_leases *out,
		     struct mapdirect_lease_rec *rec, const char *path);

#endif
