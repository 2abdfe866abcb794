// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes, passed through to the backing file by the
 * /proc/self/fd magic link of the O_PATH fd. The jump through the magic
 * link ends on the inode itself: a symlink is not followed (checked on
 * 6.18; the *xattrat calls refuse O_PATH fds with EBADF).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "dax.h"
#include "device.h"
#include "eligible.h"
#include "mdfs.h"
#include "proc.h"
#include "render.h"

/*
 * SPEC 4.4: user.mapdirect.* is ours. Read by name, never listed, never
 * set or removed, whatever the backing file carries under that prefix.
 */
#define VPREFIX "user.mapdirect."

static bool is_virtual(const char *name)
{
	return !strncmp(name, VPREFIX, sizeof(VPREFIX) - 1);
}

static void render_config(struct md_buf *b)
{
	char cfg[512];

	if (md_config_render(&mdfs.cfg, cfg, sizeof(cfg)) > 0)
		md_buf_printf(b, "%s", cfg);
	/* what is in effect: without passthrough every open is mediated */
	md_buf_printf(b, "transport=%s\npassthrough_active=%d\n"
		      "mediate_active=%s\ndax_active=%d\nbacking=%s\n",
		      mdfs.io_uring ? "io_uring" : "/dev/fuse", mdfs.passthrough,
		      mdfs.passthrough ? md_mediate_name(mdfs.cfg.mediate) :
		      "all", mdfs.dax_active, mdfs.backing);
}

static void render_device(struct md_buf *b)
{
	struct md_pmem_ns ns;
	int ret = md_pmem_for_dev(mdfs.root.dev, &ns);

	if (ret == 1)
		md_buf_printf(b, "bus=%s region=%s namespace=%s mode=%s "
			      "blockdev=%s size=%llu\n", ns.bus, ns.region, ns.ns,
			      ns.mode, ns.blockdev, (unsigned long long)ns.size);
	else
		md_buf_printf(b, "none\n");
}

/* Could @reader (a tgid, of @uid) lease the file now, and if not, why not */
static int render_eligible(struct mdfs_inode *inode, pid_t reader, uid_t uid,
			   struct md_buf *b)
{
	char procfd[MDFS_PROCFD_LEN], reason[96];
	int fd, ret;

	mdfs_procfd(inode->fd, procfd);
	fd = open(procfd, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = md_eligible(fd, mdfs.cfg.dax == MD_ON, reason, sizeof(reason));
	close(fd);
	if (ret < 0)
		return ret;
	if (ret) {
		pid_t writer;

		mdfs_lock(&inode->lock, MDFS_LOCK_INODE);
		/* the reader's own writable opens do not stand in its way */
		writer = mdfs_foreign_writer(inode, reader > 0 ? reader : 0);
		if (!writer)
			writer = mdfs_waiting_breaker(inode, uid);
		mdfs_unlock(&inode->lock, MDFS_LOCK_INODE);
		if (writer > 0) {
			snprintf(reason, sizeof(reason),
				 "open for writing by pid %d", writer);
			ret = 0;
		} else if (writer) {
			snprintf(reason, sizeof(reason), "open for writing by "
				 "a process outside the daemon's pid namespace");
			ret = 0;
		}
	}
	md_buf_printf(b, ret ? "yes\n" : "no: %s\n", reason);
	return 0;
}

/* Build the value of virtual xattr @name of @inode; -ENODATA if none. */
static int virtual_value(fuse_req_t req, struct mdfs_inode *inode,
			 const char *name, struct md_buf *b)
{
	const char *what = name + sizeof(VPREFIX) - 1;
	bool root = inode == &mdfs.root;
	uint32_t holders, id, flags;
	struct md_stats st;
	uint64_t left;
	int dax;

	if (root && !strcmp(what, "leases")) {
		return mdfs_leases_text(req, inode, b);
	} else if (root && !strcmp(what, "stats")) {
		md_engine_stats(mdfs.eng, &st);
		md_render_stats(b, &st);
		md_buf_printf(b, "requests_read=%llu\nrequests_write=%llu\n"
			      "breakers_over_share=%llu\n",
			      (unsigned long long)__atomic_load_n(&mdfs.nread,
							       __ATOMIC_RELAXED),
			      (unsigned long long)__atomic_load_n(&mdfs.nwrite,
							       __ATOMIC_RELAXED),
			      (unsigned long long)__atomic_load_n(
				      &mdfs.over_share, __ATOMIC_RELAXED));
	} else if (root && !strcmp(what, "config")) {
		render_config(b);
	} else if (root && !strcmp(what, "device")) {
		render_device(b);
	} else if (root || inode->type != S_IFREG) {
		return -ENODATA;
	} else if (!strcmp(what, "state")) {
		md_buf_printf(b, "%s\n", md_state_name(md_lease_state(
			mdfs.eng, &inode->lf, 0, &holders, &id, &flags, &left)));
	} else if (!strcmp(what, "leases")) {
		return mdfs_leases_text(req, inode, b);
	} else if (!strcmp(what, "eligible")) {
		return render_eligible(inode,
				       md_proc_tgid(fuse_req_ctx(req)->pid),
				       fuse_req_ctx(req)->uid, b);
	} else if (!strcmp(what, "dax")) {
		dax = md_dax_fd(inode->fd);
		if (dax < 0)
			return dax;
		md_buf_printf(b, "%d\n", dax);
	} else {
		return -ENODATA;
	}
	return b->oom ? -ENOMEM : 0;
}

static void reply_virtual(fuse_req_t req, struct mdfs_inode *inode,
			  const char *name, size_t size)
{
	struct md_buf b;
	int err;

	md_buf_init(&b);
	err = virtual_value(req, inode, name, &b);
	if (err)
		fuse_reply_err(req, -err);
	else if (size == 0)
		fuse_reply_xattr(req, b.len);
	else if (size < b.len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, b.p ? b.p : "", b.len);
	md_buf_free(&b);
}

/* One call, four shapes: get, list, set, remove. */
enum xop { X_GET, X_LIST, X_SET, X_REMOVE };

static ssize_t xattr_call(struct mdfs_inode *inode, enum xop op,
			  const char *name, void *buf, size_t size, int flags)
{
	char procfd[MDFS_PROCFD_LEN];

	mdfs_procfd(inode->fd, procfd);
	switch (op) {
	case X_GET:
		return getxattr(procfd, name, buf, size);
	case X_LIST:
		return listxattr(procfd, buf, size);
	case X_SET:
		return setxattr(procfd, name, buf, size, flags);
	default:
		return removexattr(procfd, name);
	}
}

/* get or list: a size probe (0) or the data */
static void read_xattrs(fuse_req_t req, fuse_ino_t ino, enum xop op,
			const char *name, size_t size)
{
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = xattr_call(mdfs_inode(ino), op, name, buf, size, 0);
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void mdfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   size_t size)
{
	if (is_virtual(name))
		reply_virtual(req, mdfs_inode(ino), name, size);
	else
		read_xattrs(req, ino, X_GET, name, size);
}

/* The backing's list without user.mapdirect.* names. */
void mdfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mdfs_inode *inode = mdfs_inode(ino);
	char *list = NULL, *grown, *in, *out;
	ssize_t n = 0;

	for (;;) {
		n = xattr_call(inode, X_LIST, NULL, NULL, 0, 0);
		if (n <= 0)
			break;
		grown = realloc(list, (size_t)n);
		if (!grown) {
			free(list);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		list = grown;
		n = xattr_call(inode, X_LIST, NULL, list, (size_t)n, 0);
		if (n >= 0 || errno != ERANGE)
			break;	/* ERANGE: it grew meanwhile, again */
	}
	if (n < 0) {
		fuse_reply_err(req, errno);
		free(list);
		return;
	}
	for (in = out = list; in < list + n; in += strlen(in) + 1) {
		size_t len = strlen(in) + 1;

		if (is_virtual(in))
			continue;
		memmove(out, in, len);
		out += len;
	}
	n = out - list;
	if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else if (size < (size_t)n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list ? list : "", (size_t)n);
	free(list);
}

/* set or remove, as the caller */
static void change_xattr(fuse_req_t req, fuse_ino_t ino, enum xop op,
			 const char *name, const char *value, size_t size,
			 int flags)
{
	int err = mdfs_creds_enter(req);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (xattr_call(mdfs_inode(ino), op, name, (void *)value, size,
		       flags) < 0)
		err = errno;
	mdfs_creds_leave();
	fuse_reply_err(req, err);
}

void mdfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   const char *value, size_t size, int flags)
{
	if (is_virtual(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	change_xattr(req, ino, X_SET, name, value, size, flags);
}

void mdfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (is_virtual(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	change_xattr(req, ino, X_REMOVE, name, NULL, 0, 0);
}
