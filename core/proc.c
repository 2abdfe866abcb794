// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proc.h"

static FILE *proc_open(pid_t pid, const char *what)
{
	char path[64];

	/* pid 0: a caller outside our pid namespace; /proc/0 is nobody */
	if (pid <= 0) {
		errno = ESRCH;
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return fopen(path, "re");
}

pid_t md_proc_tgid(pid_t tid)
{
	char line[256];
	int tgid = -ESRCH;
	FILE *f = proc_open(tid, "status");

	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

void md_proc_comm(pid_t pid, char comm[16])
{
	FILE *f = proc_open(pid, "comm");

	strcpy(comm, "?");
	if (!f)
		return;
	if (fgets(comm, 16, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

int md_proc_pending(pid_t tid)
{
	unsigned long long pnd = 0, shd = 0, blk = 0, v;
	char line[256];
	FILE *f = proc_open(tid, "status");

	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "SigPnd: %llx", &v) == 1)
			pnd = v;
		else if (sscanf(line, "ShdPnd: %llx", &v) == 1)
			shd = v;
		else if (sscanf(line, "SigBlk: %llx", &v) == 1)
			blk = v;
	}
	fclose(f);
	return ((pnd | shd) & ~blk) != 0;
}

int md_census_maps(pid_t pid, uint64_t dev_a, uint64_t dev_b, uint64_t ino)
{
	char line[512];
	int found = 0;
	FILE *f = proc_open(pid, "maps");

	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		uint64_t mino, dev;

		if (sscanf(line, "%*s %*s %*s %x:%x %" SCNu64, &maj, &min,
			   &mino) != 3)
			continue;
		dev = makedev(maj, min);
		if (mino == ino && (dev == dev_a || dev == dev_b)) {
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

/* The last (topmost) mountinfo line at @mountpoint: its ID and device. */
static int mountinfo_find(const char *mountpoint, int *id, uint64_t *dev)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[4096];
		unsigned int maj, min;
		int mid;

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." (octal escapes in
		 * MOUNTPOINT are rare here: the daemon mounts what it was
		 * given and compares the escaped form too) */
		if (sscanf(line, "%d %*d %u:%u %*s %4095s", &mid, &maj, &min,
			   mnt) != 4)
			continue;
		if (strcmp(mnt, mountpoint))
			continue;
		*id = mid;
		*dev = makedev(maj, min);
		ret = 0;	/* keep going: the last mount on top wins */
	}
	free(line);
	fclose(f);
	return ret;
}

int md_mount_dev(const char *mountpoint, uint64_t *dev)
{
	int id;

	return mountinfo_find(mountpoint, &id, dev);
}

int md_mount_id(const char *mountpoint)
{
	uint64_t dev;
	int id, ret;

	ret = mountinfo_find(mountpoint, &id, &dev);
	return ret ? ret : id;
}
