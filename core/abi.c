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
	case MAPDIRECT_IOC_LEASES:
		want = sizeof(out->leases);
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
		/* out fields are ignored: a struct may be sent again as answered */
		if (out->lease.size != want ||
		    !all_zero(out->lease.reserved, sizeof(out->lease.reserved)) ||
		    (out->lease.flags & ~MAPDIRECT_LEASE_FLAGS) ||
		    out->lease.signal > MD_SIGNAL_MAX)
			return -EINVAL;
		out->lease.out_flags = 0;
		out->lease.lease_id = 0;
		return 0;
	case MAPDIRECT_IOC_UNLEASE:
		if (out->unlease.size != want || out->unlease.flags ||
		    out->unlease.lease_id > INT32_MAX ||
		    !all_zero(out->unlease.reserved,
			      sizeof(out->unlease.reserved)))
			return -EINVAL;
		return 0;
	case MAPDIRECT_IOC_LEASES:
		/* cursor is any id; count, len, out_flags and buf are out */
		if (out->leases.size != want || out->leases.flags ||
		    out->leases.reserved0 ||
		    !all_zero(out->leases.reserved,
			      sizeof(out->leases.reserved)))
			return -EINVAL;
		out->leases.count = 0;
		out->leases.len = 0;
		out->leases.out_flags = 0;
		return 0;
	default:
		if (out->info.size != want || out->info.flags ||
		    !all_zero(out->info.reserved, sizeof(out->info.reserved)))
			return -EINVAL;
		out->info.state = out->info.holders = 0;
		out->info.lease_id = out->info.ms_left = 0;
		out->info.lease_flags = out->info.out_flags = 0;
		return 0;
	}
}

int md_abi_put_lease(struct mapdirect_leases *out,
		     struct mapdirect_lease_rec *rec, const char *path)
{
	size_t plen = path ? strlen(path) : 0;
	/* the NUL, then up to the next 8-byte boundary */
	size_t len = (sizeof(*rec) + (path ? plen + 1 : 0) + 7) & ~(size_t)7;

	if (len > sizeof(out->buf) - out->len)
		return -ENOSPC;
	rec->rec_len = (__u32)len;
	rec->path_len = (__u32)plen;
	if (path)
		rec->rec_flags |= MAPDIRECT_REC_PATH;
	else
		rec->rec_flags &= ~MAPDIRECT_REC_PATH;
	memset(out->buf + out->len, 0, len);
	memcpy(out->buf + out->len, rec, sizeof(*rec));
	if (path)
		memcpy(out->buf + out->len + sizeof(*rec), path, plen);
	out->len += (__u32)len;
	out->count++;
	return 0;
}
