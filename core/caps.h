/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_CAPS_H
#define MD_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * md_caps_effective - a task's effective capability set
 * @tid: thread (or process) id; 0 for the calling thread
 * @caps: bit N set when capability N is effective
 *
 * FUSE passes no capabilities with a request, so they are read from
 * /proc/TID/status (CapEff). Reads one procfs file.
 * @return 0 or -errno (-ESRCH when the task is gone).
 */
int md_caps_effective(pid_t tid, uint64_t *caps);

/* md_caps_has - whether @tid has capability @cap; false when unknown */
bool md_caps_has(pid_t tid, unsigned int cap);

#endif
