/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_DEVICE_H
#define MD_DEVICE_H

/* Persistent-memory devices, as libndctl sees them. */
#include <stdint.h>
#include <sys/types.h>

struct md_pmem_ns {
	char bus[32];		/* provider, e.g. "ACPI.NFIT" */
	char region[32];	/* "region0" */
	char ns[32];		/* "namespace0.0" */
	char mode[16];		/* "fsdax", "devdax", "sector", "raw" */
	char blockdev[32];	/* "pmem0", or "" (devdax) */
	uint64_t size;
};

/**
 * md_pmem_foreach - visit every pmem namespace of the machine
 * @fn: called for each; returns non-zero to stop
 *
 * @return the number visited, or -errno (libndctl could not start).
 */
int md_pmem_foreach(int (*fn)(void *arg, const struct md_pmem_ns *ns),
		    void *arg);

/**
 * md_pmem_for_dev - the pmem namespace behind block device @dev
 * (a filesystem's st_dev); partitions count as their disk
 *
 * @return 1 and *out, 0 when @dev is not pmem, or -errno.
 */
int md_pmem_for_dev(dev_t dev, struct md_pmem_ns *out);

#endif
