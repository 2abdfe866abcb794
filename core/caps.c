// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>

#include "caps.h"

static int caps_of(const char *path, uint64_t *caps)
{
	char line[256];
	unsigned long long v;
	int ret = -ENOENT;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &v) == 1) {
			*caps = v;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

int md_caps_effective(pid_t tid, uint64_t *caps)
{
	char path[64];

	/* pid 0: a caller outside our pid namespace, never ourselves */
	if (tid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	return caps_of(path, caps);
}

bool md_caps_has(pid_t tid, unsigned int cap)
{
	uint64_t caps;

	if (cap > 63 || md_caps_effective(tid, &caps))
		return false;
	return caps & (1ULL << cap);
}

bool md_caps_self(unsigned int cap)
{
	uint64_t caps;

	if (cap > 63 || caps_of("/proc/thread-self/status", &caps))
		return false;
	return caps & (1ULL << cap);
}
