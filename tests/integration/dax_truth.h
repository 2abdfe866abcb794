/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dax_truth.h - what the machine says about DAX and pmem (issue 12)
 *
 * Tests check mapdirectfs's DAX answers (user.mapdirect.dax, config,
 * device, `mapdirect devices`) against these, so that every test is true
 * on a DAX filesystem and off it. They ask the kernel and ndctl directly
 * and share no code with core/ or libmapdirect: statx, the mount's own
 * options in /proc/self/mountinfo, `ndctl list` (its JSON), and where a
 * mapping's pages really are (/proc/self/pagemap against /proc/iomem).
 */
#ifndef MDFS_DAX_TRUTH_H
#define MDFS_DAX_TRUTH_H

#include <stdbool.h>
#include <stddef.h>

/* where pages live, by /proc/iomem's top-level ranges */
enum truth_mem {
	TRUTH_RAM = 1,		/* "System RAM" */
	TRUTH_PMEM = 2,		/* "Persistent Memory" */
};

/* STATX_ATTR_DAX of @path (a last symlink not followed): 1, 0, -errno */
int truth_statx_dax(const char *path);

/*
 * The dax mount option of the filesystem that holds @path, from its super
 * options in /proc/self/mountinfo: "always" (also for the old spelling
 * "dax"), "inode", "never", or "" where there is none.
 * @return 0 or -errno
 */
int truth_mount_dax(const char *path, char *val, size_t len);

/*
 * The source of the filesystem that holds @path without "/dev/"
 * ("pmem0"), or "" for one that is no block device (tmpfs, overlay).
 * @return 0 or -errno
 */
int truth_mount_blockdev(const char *path, char *dev, size_t len);

/*
 * Where the pages behind [@addr, @addr + @len) of this process live: each
 * page is touched (read), its PFN read from /proc/self/pagemap (root
 * only) and looked up in /proc/iomem.
 * @return TRUTH_PMEM or TRUTH_RAM if every page is there; -EIO if they
 * are mixed or elsewhere; -EPERM if the PFNs are hidden (not root);
 * -errno
 */
int truth_pages_where(const void *addr, size_t len);

/*
 * The same for a file: maps [0, @len) of @path MAP_SHARED read-only (the
 * file must have data there: a hole maps the zero page), asks
 * truth_pages_where() and unmaps.
 */
int truth_file_pages_where(const char *path, size_t len);

/* A namespace of `ndctl list -RN` */
struct truth_ns {
	char region[32];	/* "region0" */
	char dev[32];		/* "namespace0.0" */
	char mode[16];		/* "fsdax" */
	char blockdev[32];	/* "pmem0", "" for none */
	unsigned long long size;	/* ndctl's: for fsdax, what the block
					 * device offers (after its memmap) */
	unsigned long long raw_size;	/* the namespace's own, from sysfs
					 * (ndctl_namespace_get_size()) */
};

/*
 * The active pmem namespaces as `ndctl list -RN` prints them (its JSON,
 * parsed whatever its nesting), and how many regions it listed.
 * @return the number of namespaces (up to @max filled in), or -errno
 * (-ENOENT: no ndctl)
 */
int truth_ndctl(struct truth_ns *ns, int max, int *regions);

/*
 * Criterion-asserting wrappers: the facts above must agree with each
 * other, or the test fails with what each said.
 *
 * mdfs_file_is_dax - is the regular file @path accessed with DAX?
 * statx's answer, checked against the mount's dax= option (always: yes;
 * never or none: no) and, as root, against where its first data page
 * lives once mapped (pmem or RAM).
 */
bool mdfs_file_is_dax(const char *path);

/*
 * mdfs_dir_is_dax - is a new regular file in the directory @dir DAX?
 * Makes one (two pages of data, fsync'ed), asks mdfs_file_is_dax() and
 * removes it.
 */
bool mdfs_dir_is_dax(const char *dir);

/*
 * mdfs_pmem_ns_of - the ndctl namespace behind @path's filesystem (its
 * blockdev), into @ns. @return false where it is on no pmem namespace.
 */
bool mdfs_pmem_ns_of(const char *path, struct truth_ns *ns);

#endif /* MDFS_DAX_TRUTH_H */
