/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MDFS_SYSCALLS_H
#define MDFS_SYSCALLS_H

/**
 * mdfs_seccomp_load - confine this thread, and those it creates, to the
 * daemon's system calls
 *
 * Loads a libseccomp filter of the calls the daemon makes over both
 * transports (fuse/syscalls.c); any other call fails with EPERM and logs
 * one line, to stderr and to syslog's socket (connected here, before the
 * call can be needed). Sets no_new_privs. Call it while single-threaded.
 * No libfuse here: bench/seccomp_cost.c measures the same filter.
 *
 * @return 0 or -errno.
 */
int mdfs_seccomp_load(void);

#endif
