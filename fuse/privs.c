// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * suid/sgid/file capabilities on mediated writes. The kernel leaves their
 * removal to the server on FOPEN_DIRECT_IO writes, and the daemon writes
 * with CAP_FSETID, so the backing would keep them: do what the kernel does
 * for a write by the caller (should_remove_suid, cap_inode_killpriv).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "caps.h"
#include "log.h"
#include "mdfs.h"

/* sgid without group-exec marks mandatory locking, not privilege */
static mode_t kill_mask(mode_t mode)
{
	mode_t kill = mode & S_ISUID;

	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	return kill;
}

void mdfs_privs_refresh(struct mdfs_inode *inode, int fd)
{
	char procfd[MDFS_PROCFD_LEN];
	struct stat st;
	bool privs;

	if (inode->type != S_IFREG)
		return;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH))
		return;
	privs = kill_mask(st.st_mode) != 0;
	if (!privs) {
		mdfs_procfd(fd, procfd);
		privs = getxattr(procfd, "security.capability", NULL, 0) >= 0;
	}
	__atomic_store_n(&inode->privs, privs, __ATOMIC_RELAXED);
}

void mdfs_privs_clear(struct mdfs_inode *inode)
{
	char procfd[MDFS_PROCFD_LEN];
	struct stat st;
	mode_t kill;

	if (mdfs_stat(inode, &st) || !S_ISREG(st.st_mode))
		return;
	mdfs_procfd(inode->fd, procfd);
	kill = kill_mask(st.st_mode);
	if (kill && fchmodat(AT_FDCWD, procfd, st.st_mode & 07777 & ~kill, 0))
		md_err("clearing suid/sgid of inode %llu: %m\n",
		       (unsigned long long)st.st_ino);
	if (removexattr(procfd, "security.capability") && errno != ENODATA)
		md_err("removing security.capability of inode %llu: %m\n",
		       (unsigned long long)st.st_ino);
	mdfs_privs_refresh(inode, inode->fd);
}

void mdfs_privs_kill(fuse_req_t req, struct mdfs_file *f)
{
	if (!md_caps_has(fuse_req_ctx(req)->pid, CAP_FSETID))
		mdfs_privs_clear(f->inode);
}
