/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_PROC_H
#define MD_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* What /proc tells about a caller that FUSE does not: each reads one file. */

/* md_proc_tgid - the process a thread belongs to; @return pid or -errno */
pid_t md_proc_tgid(pid_t tid);

/* md_proc_comm - the command name (15 chars + NUL); "?" when gone */
void md_proc_comm(pid_t pid, char comm[16]);

/* md_proc_pending - has @tid a signal pending that it does not block?
 * @return 1, 0, or -errno */
int md_proc_pending(pid_t tid);

/**
 * md_census_maps - does process @pid map inode @ino of device @dev_a or
 * @dev_b? (SPEC 4.2: a lease lives while its holder maps the file)
 *
 * Reads /proc/PID/maps, whose device and inode fields name the file a
 * mapping holds (with passthrough: the backing inode on the mount's device).
 * @return 1, 0, or -errno (-ESRCH when the process is gone).
 */
int md_census_maps(pid_t pid, uint64_t dev_a, uint64_t dev_b, uint64_t ino);

/**
 * md_mount_dev - the device number of the mount at @mountpoint
 * from /proc/self/mountinfo, without touching the mount itself
 * @return 0 and *dev, or -errno.
 */
int md_mount_dev(const char *mountpoint, uint64_t *dev);

/**
 * md_mount_id - the mount ID of the topmost mount at @mountpoint
 * from /proc/self/mountinfo, without touching the mount itself
 * @return the ID (> 0), or -errno (-ENOENT: nothing mounted there).
 */
int md_mount_id(const char *mountpoint);

#endif
