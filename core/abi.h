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
};

int md_abi_decode(unsigned int cmd, const void *in, size_t len,
		  union md_abi_arg *out);

#endif
