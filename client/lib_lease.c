// SPDX-License-Identifier: LGPL-2.1-or-later
/* Leases on an open file: the ioctls of SPEC 4.1 and 4.4, and poll. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib_private.h"

/* the kernel's signals, 1..64; glibc's SIGRTMAX is the same */
#define MDC_SIG_MAX 64

/* ioctl(2) as -errno; a FUSE filesystem without ioctls says ENOSYS */
static int lease_ioctl(int fd, unsigned long cmd, void *arg)
{
	if (fd < 0)
		return -EBADF;
	if (ioctl(fd, cmd, arg) == 0)
		return 0;
	return errno == ENOSYS ? -ENOTTY : -errno;
}

int mapdirect_lease(int fd, unsigned int flags, int signo, uint64_t *lease_id)
{
	return mdc_lease(fd, flags, signo, lease_id, NULL);
}

int mdc_lease(int fd, unsigned int flags, int signo, uint64_t *lease_id,
	      uint32_t *out_flags)
{
	struct mapdirect_lease l;
	int ret;

	if (fd < 0)
		return -EBADF;
	if ((flags & ~MAPDIRECT_LEASE_FLAGS) || signo < 0 ||
	    signo > MDC_SIG_MAX)
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.flags = flags;
	l.signal = (__u32)signo;
	ret = lease_ioctl(fd, MAPDIRECT_IOC_LEASE, &l);
	if (ret)
		return ret;
	if (lease_id)
		*lease_id = l.lease_id;
	if (out_flags)
		*out_flags = l.out_flags;
	return 0;
}

int mapdirect_unlease(int fd)
{
	struct mapdirect_unlease u;

	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	return lease_ioctl(fd, MAPDIRECT_IOC_UNLEASE, &u);
}

int mapdirect_getlease(int fd, struct mapdirect_lease_info *info)
{
	if (!info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return lease_ioctl(fd, MAPDIRECT_IOC_GETLEASE, info);
}

const char *mapdirect_state_name(unsigned int state)
{
	switch (state) {
	case MAPDIRECT_STATE_NONE:
		return "none";
	case MAPDIRECT_STATE_HELD:
		return "held";
	case MAPDIRECT_STATE_BREAKING:
		return "breaking";
	default:
		return "unknown";
	}
}

int mapdirect_wait_break(int fd, int timeout_ms)
{
	/* POLLIN/POLLOUT are always ready on a regular file: not asked */
	struct pollfd p = { .fd = fd, .events = POLLPRI };
	int n;

	if (fd < 0)
		return -EBADF;
	if (timeout_ms < -1)
		return -EINVAL;
	n = poll(&p, 1, timeout_ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	if (p.revents & POLLNVAL)
		return -EBADF;
	if (p.revents & POLLPRI)
		return 1;
	return -EIO;	/* POLLERR or POLLHUP, which files do not raise */
}
