// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "abi.h"

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

int md_abi_decode(unsigned int cmd, const void *in, size_t len,
		  union md_abi_arg *out)
{
	size_t want;

	switch (cmd) {
	case MAPDIRECT_IOC_LEASE:
		want = sizeof(out->lease);
		break;
	case MAPDIRECT_IOC_UNLEASE:
		want = sizeof(out->unlease);
		break;
	case MAPDIRECT_IOC_GETLEASE:
		want = sizeof(out->info);
		break;
	default:
		return -ENOTTY;
	}
	if (len != want || !in)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out, in, len);

	switch (cmd) {
	case MAPDIRECT_IOC_LEASE:
		if (out->lease.size != want || out->lease.reserved0 ||
		    !all_zero(out->lease.reserved, sizeof(out->lease.reserved)) ||
		    (out->lease.flags & ~MAPDIRECT_LEASE_FLAGS) ||
		    out->lease.signal > MD_SIGNAL_MAX)
			return -EINVAL;
		return 0;
	case MAPDIRECT_IOC_UNLEASE:
		if (out->unlease.size != want || out->unlease.flags ||
		    out->unlease.lease_id > INT32_MAX ||
		    !all_zero(out->unlease.reserved,
			      sizeof(out->unlease.reserved)))
			return -EINVAL;
		return 0;
	default:
		if (out->info.size != want || out->info.flags ||
		    out->info.reserved0 ||
		    !all_zero(out->info.reserved, sizeof(out->info.reserved)))
			return -EINVAL;
		return 0;
	}
}
