// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>

#include "caps.h"

int md_caps_effective(pid_t tid, uint64_t *caps)
{
	char path[64], line[256];
	unsigned long long v;
	int ret = -ENOENT;
	FILE *f;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/thread-self/status");
	f = fopen(path, "re");
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

bool md_caps_has(pid_t tid, unsigned int cap)
{
	uint64_t caps;

	if (cap > 63 || md_caps_effective(tid, &caps))
		return false;
	return caps & (1ULL << cap);
}
