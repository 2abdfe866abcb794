// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-thread credential switching. The kernel's setfsuid/setfsgid/setgroups
 * are per thread; glibc's setgroups() would broadcast to every thread, so
 * the raw system call is used.
 *
 * Acting for a caller other than root, a thread must not bypass quotas or
 * reserved blocks, nor keep setuid/setgid bits, for it (as virtiofsd): it
 * has neither CAP_SYS_RESOURCE nor CAP_FSETID in its effective set.
 * setfsuid() to a non-zero uid clears CAP_FSETID with the other filesystem
 * capabilities, and setfsuid(0) brings them back. CAP_SYS_RESOURCE is out
 * of every thread's effective set from start-up on (sandbox.c), so that
 * no work done without a caller's credentials (mediated writes, the
 * kernel's passthrough writes, made with the credentials of the
 * passthrough open) passes them either; it is raised only while acting
 * for root, one capset(2) each way, and only where the daemon kept it
 * (root here lacks it: then nothing is spent).
 */
#include <errno.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "mdfs.h"

#define MDFS_MAX_GROUPS 64

static uid_t self_uid;
static gid_t self_gid;
static bool can_switch;
/* this thread acts for root, with CAP_SYS_RESOURCE */
static __thread bool raised;

#define SYS_RESOURCE (1ULL << CAP_SYS_RESOURCE)

/* This thread's effective set to @eff, permitted as kept, none inherited */
static int thread_caps(uint64_t eff)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	uint64_t prm = mdfs_caps_kept();
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)prm },
		{ .effective = (uint32_t)(eff >> 32),
		  .permitted = (uint32_t)(prm >> 32) },
	};

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

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
	/* a non-root caller: setfsuid() took CAP_FSETID; no CAP_SYS_RESOURCE */
	if (ctx->uid == 0 && mdfs_caps_kept() & SYS_RESOURCE) {
		if (thread_caps(mdfs_caps_kept())) {
			mdfs_creds_leave();
			return -EPERM;
		}
		raised = true;
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
	if (raised) {
		if (thread_caps(mdfs_caps_kept() & ~SYS_RESOURCE))
			md_err("cannot drop CAP_SYS_RESOURCE again: %m\n");
		raised = false;
	}
}
