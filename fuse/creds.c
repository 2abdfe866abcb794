// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-thread credential switching. The kernel's setfsuid/setfsgid/setgroups
 * are per thread; glibc's setgroups() would broadcast to every thread, so
 * the raw system call is used.
 */
#include <errno.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mdfs.h"

#define MDFS_MAX_GROUPS 64

static uid_t self_uid;
static gid_t self_gid;
static bool can_switch;

void mdfs_creds_init(void)
{
	self_uid = geteuid();
	self_gid = getegid();
	/* an unprivileged daemon acts as itself, as any fuse fs does */
	can_switch = self_uid == 0;
}

int mdfs_creds_enter(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[MDFS_MAX_GROUPS];
	int n = 0;

	if (!can_switch)
		return 0;

	if (ctx->uid != 0) {
		/* supplementary groups count for group-writable dirs and
		 * setgid inheritance; a vanished caller just has none */
		n = fuse_req_getgroups(req, MDFS_MAX_GROUPS, groups);
		if (n < 0 || n > MDFS_MAX_GROUPS)
			n = 0;
	}
	if (syscall(SYS_setgroups, n, groups))
		return -errno;
	setfsgid(ctx->gid);
	setfsuid(ctx->uid);
	/* setfsuid() reports the previous value only: check it took */
	if ((uid_t)setfsuid((uid_t)-1) != ctx->uid ||
	    (gid_t)setfsgid((gid_t)-1) != ctx->gid) {
		mdfs_creds_leave();
		return -EPERM;
	}
	return 0;
}

void mdfs_creds_leave(void)
{
	if (!can_switch)
		return;
	setfsuid(self_uid);
	setfsgid(self_gid);
	syscall(SYS_setgroups, 0, NULL);
}
