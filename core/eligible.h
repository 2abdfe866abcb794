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
 * md_allocate - allocate every hole and unwritten range in [0, size),
 * written as zeros (MAPDIRECT_LEASE_ALLOCATE)
 * @fd: the backing file, open for writing, with the caller's credentials
 *      in effect (quotas, reserved blocks)
 *
 * fallocate() takes the holes, which never touches data already there;
 * then every unwritten extent (those new ones too) is written with zeros.
 * The caller keeps writers out meanwhile: zeros written into an unwritten
 * extent would overwrite data that a write put there after FIEMAP looked
 * (and so would a store through a mapping, which nobody can keep out).
 * On failure what it allocated is given back (punched) again.
 * Takes as long as writing the zeros.
 * @return 0 or -errno.
 */
int md_allocate(int fd);

#endif
