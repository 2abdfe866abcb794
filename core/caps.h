/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_CAPS_H
#define MD_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * md_caps_effective - a caller's effective capability set
 * @tid: thread (or process) id of the caller, as FUSE gives it
 * @caps: bit N set when capability N is effective
 *
 * FUSE passes no capabilities with a request, so they are read from
 * /proc/TID/status (CapEff). Reads one procfs file. A caller outside the
 * daemon's pid namespace arrives with pid 0: it has no capabilities we
 * can see (never the daemon's own, which /proc/thread-self would give).
 * @return 0 or -errno (-ESRCH when the task is gone or @tid <= 0).
 */
int md_caps_effective(pid_t tid, uint64_t *caps);

/* md_caps_has - whether caller @tid has capability @cap; false when
 * unknown (pid 0 included) */
bool md_caps_has(pid_t tid, unsigned int cap);

/* md_caps_self - whether the calling thread has capability @cap */
bool md_caps_self(unsigned int cap);

#endif
