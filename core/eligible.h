/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_ELIGIBLE_H
#define MD_ELIGIBLE_H

#include <stdbool.h>
#include <stddef.h>

/**
 * md_eligible - may this file be leased? (SPEC 4.1)
 * @fd: the backing file, open (any mode)
 * @require_dax: refuse a file that is not DAX
 * @reason: on 0, why: "hole at 4096+8192", "unwritten extent at 0+4096",
 *          "shared extents", "not dax"
 * @len: size of @reason
 *
 * Holes by SEEK_HOLE/SEEK_DATA; unwritten and shared extents by FIEMAP
 * where the filesystem has it (tmpfs has not: it has no such extents);
 * DAX by statx. Syncs the file's delayed allocation (FIEMAP_FLAG_SYNC).
 * @return 1 eligible, 0 not, or -errno.
 */
int md_eligible(int fd, bool require_dax, char *reason, size_t len);

/**
 * md_allocate - allocate and zero every hole and unwritten range in
 * [0, size) (MAPDIRECT_LEASE_ALLOCATE)
 * @fd: the backing file, open for writing
 *
 * Writes zeros there: that allocates holes and converts unwritten
 * extents to written ones; data already written is not touched.
 * @return 0 or -errno.
 */
int md_allocate(int fd);

#endif
