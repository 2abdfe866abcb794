/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_DAX_H
#define MD_DAX_H

/**
 * md_dax_fd - is this open file accessed with DAX?
 * @fd: any descriptor of the file, O_PATH included
 *
 * Asks statx for STATX_ATTR_DAX: the kernel's own per-inode answer.
 * @return 1, 0, or -errno.
 */
int md_dax_fd(int fd);

/**
 * md_dax_dir_probe - would a new regular file in this directory be DAX?
 * @dirfd: the directory (O_PATH is fine)
 *
 * Creates an unnamed O_TMPFILE (nothing visible, nothing left behind) and
 * asks md_dax_fd(). Directories themselves never carry the DAX flag.
 * @return 1, 0, or -errno (e.g. -EOPNOTSUPP without O_TMPFILE).
 */
int md_dax_dir_probe(int dirfd);

#endif
