// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lease listings (SPEC 4.4): MAPDIRECT_IOC_LEASES and the text of the
 * user.mapdirect.leases xattrs. Both copy a batch of leases out of the
 * engine, then decide with the engine lock dropped what the reader sees
 * of each: in the mount-wide listing, the path and the holder's comm only
 * where the reader could walk from the mount root to the file, decided as
 * the reader; the dev:inode always, as /proc/locks shows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "abi.h"
#include "mapdirect.h"
#include "mdfs.h"
#include "proc.h"
#include "render.h"

/* leases copied out of the engine per look */
#define BATCH 128
/* ... per look of MAPDIRECT_IOC_LEASES, whose 12 KiB answer holds as few
 * as 3 records with long paths: none placed (walked) in vain */
#define IOCTL_BATCH 16

/* the cut line of a listing xattr (md_render_cut) fits in this */
#define CUT_ROOM 160

struct entry {
	struct md_lease_view v;
	uint64_t dev, ino;	/* backing identity */
	char *path;		/* malloc()ed, below the root; NULL: none */
};

struct batch {
	size_t n;
	struct entry e[BATCH];
};

/* md_lease_list_from() callback, under the engine lock: copy only */
static void copy_one(void *arg, struct md_lfile *lf,
		     const struct md_lease_view *v)
{
	struct batch *b = arg;
	struct entry *e = &b->e[b->n++];

	e->v = *v;
	e->dev = lf->dev;
	e->ino = lf->ino;
	e->path = NULL;
}

/* The next @max (<= BATCH) of @lf's leases (NULL: the mount's) with ids
 * above @after */
static int fetch(struct md_lfile *lf, uint32_t after, size_t max,
		 struct batch *b)
{
	int ret;

	b->n = 0;
	ret = md_lease_list_from(mdfs.eng, lf, after, max, copy_one, b);
	return ret < 0 ? ret : 0;
}

static void batch_free_paths(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].path);
		b->e[i].path = NULL;
	}
}

/* The device files of the mount show in stat(2) and /proc/locks. */
static uint64_t mount_dev(void)
{
	uint64_t dev = __atomic_load_n(&mdfs.map_dev, __ATOMIC_RELAXED);

	if (!dev && !md_mount_dev(mdfs.mountpoint, &dev))
		__atomic_store_n(&mdfs.map_dev, dev, __ATOMIC_RELAXED);
	return dev;
}

/* Where an fd is, from its /proc/self/fd link. @return length or -1 */
static ssize_t fd_path(int fd, char out[PATH_MAX])
{
	char procfd[MDFS_PROCFD_LEN];
	ssize_t n;

	mdfs_procfd(fd, procfd);
	n = readlink(procfd, out, PATH_MAX);
	if (n <= 0 || n >= PATH_MAX)
		return -1;	/* gone, or too long to be sure */
	out[n] = '\0';
	return n;
}

/*
 * The path of backing inode (@dev, @ino) below the mount root as the
 * kernel knows it now: the name it was looked up by, renames followed
 * (with hard links, the one it was first reached by). @root is the root's
 * own path ("" for "/"). @return malloc()ed, or NULL.
 */
static char *known_path(uint64_t dev, uint64_t ino, const char *root,
			size_t rlen)
{
	struct mdfs_inode *inode = mdfs_inode_pin(dev, ino);
	char abs[PATH_MAX];
	ssize_t n;

	if (!inode)
		return NULL;
	n = fd_path(inode->fd, abs);
	mdfs_forget_one(inode, 1);
	if (n < 0 || (size_t)n <= rlen + 1 || strncmp(abs, root, rlen) ||
	    abs[rlen] != '/')
		return NULL;
	return strdup(abs + rlen + 1);
}

/* A reader, as this thread's credentials say once switched to it */
struct who {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[64];
};

static void who_am_i(struct who *w)
{
	w->uid = (uid_t)setfsuid((uid_t)-1);
	w->gid = (gid_t)setfsgid((gid_t)-1);
	w->ngroups = getgroups(64, w->groups);
	if (w->ngroups < 0)
		w->ngroups = 0;	/* more than we look at: none count */
}

/*
 * May @w search directory @fd by its mode bits alone? That is the check
 * the kernel makes through the mount (default_permissions, and POSIX
 * ACLs not negotiated): an ACL on the backing directory that lets @w in
 * does not let it in through the mount.
 */
static bool may_search(int fd, const struct who *w)
{
	struct stat st;
	mode_t bit = S_IXOTH;

	if (fstat(fd, &st) || !S_ISDIR(st.st_mode))
		return false;
	if (st.st_uid == w->uid) {
		bit = S_IXUSR;
	} else if (st.st_gid == w->gid) {
		bit = S_IXGRP;
	} else {
		for (int i = 0; i < w->ngroups; i++)
			if (w->groups[i] == st.st_gid)
				bit = S_IXGRP;
	}
	return st.st_mode & bit;
}

/*
 * Does @rel lead from the mount root to (@dev, @ino) for this thread's
 * credentials? One openat() per component, never following a symlink, so
 * that the backing checks search permission on each directory on the way
 * as the reader; and, unless @w is NULL (uid 0), the mode bits as the
 * kernel's walk through the mount checks them.
 */
static bool leads_to(const char *rel, uint64_t dev, uint64_t ino,
		     const struct who *w)
{
	char name[NAME_MAX + 1];
	const char *p = rel;
	int dir = mdfs.root.fd, fd = -1;
	struct stat st;
	bool ok;

	for (;;) {
		size_t len = strcspn(p, "/");
		bool last = p[len] == '\0';

		if (len == 0 || len > NAME_MAX ||
		    (p[0] == '.' && (len == 1 || (len == 2 && p[1] == '.'))))
			goto fail;
		if (w && !may_search(dir, w))
			goto fail;
		memcpy(name, p, len);
		name[len] = '\0';
		fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC |
			    (last ? 0 : O_DIRECTORY));
		if (dir != mdfs.root.fd)
			close(dir);
		if (fd < 0)
			return false;
		if (last)
			break;
		dir = fd;
		p += len + 1;
	}
	ok = !fstat(fd, &st) && st.st_dev == (dev_t)dev &&
	     st.st_ino == (ino_t)ino;
	close(fd);
	return ok;

fail:
	if (dir != mdfs.root.fd)
		close(dir);
	return false;
}

static bool same_file(const struct entry *a, const struct entry *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * Decide for each lease of a mount-wide batch what @req's caller sees:
 * e->path where it leads to the file and the caller may walk it (uid 0:
 * any path that leads there), and else neither path nor comm. Paths are
 * found as the daemon; the walk runs with the caller's fsuid, fsgid and
 * supplementary groups (fuse/creds.c), never with the daemon's rights.
 */
static void place_batch(fuse_req_t req, struct batch *b)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	bool entered = false, walk = true;
	struct who who, *w = NULL;
	char root[PATH_MAX];
	ssize_t rlen;

	rlen = fd_path(mdfs.root.fd, root);
	if (rlen == 1)
		root[rlen = 0] = '\0';	/* BACKING is "/" */
	for (size_t i = 0; rlen >= 0 && i < b->n; i++) {
		struct entry *e = &b->e[i];

		/* many leases of one file come in a row: one look for all */
		if (i && same_file(e, e - 1))
			e->path = e[-1].path ? strdup(e[-1].path) : NULL;
		else
			e->path = known_path(e->dev, e->ino, root,
					     (size_t)rlen);
	}
	if (uid != 0) {
		entered = !mdfs_creds_enter(req);
		if (entered) {
			who_am_i(&who);
			w = &who;
		}
		/* an unprivileged daemon walks as itself: only for its uid */
		walk = entered && who.uid == uid;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct entry *e = &b->e[i];
		bool same = i && same_file(e, e - 1);

		/* the previous one of the same file was decided already */
		if (e->path && (!walk || (same && !e[-1].path) ||
				(!same &&
				 !leads_to(e->path, e->dev, e->ino, w)))) {
			free(e->path);
			e->path = NULL;
		}
		/* comm with the path: which program uses which file is the
		 * name's to tell, not the inode number's */
		if (!e->path)
			e->v.comm[0] = '\0';
	}
	if (entered)
		mdfs_creds_leave();
}

int mdfs_list_leases(fuse_req_t req, struct mdfs_inode *inode,
		     struct mapdirect_leases *out)
{
	static const uint32_t states[] = {
		[false] = MAPDIRECT_STATE_HELD,
		[true] = MAPDIRECT_STATE_BREAKING,
	};
	bool mount = inode == &mdfs.root;
	uint64_t dev = mount_dev();
	struct batch *b;
	size_t i;
	int ret;

	/* a file's own leases, or the mount's on its root */
	if (!mount && inode->type != S_IFREG)
		return -ENOTTY;
	if (out->cursor >= INT32_MAX) {
		/* no lease id is above it */
		out->out_flags = MAPDIRECT_LEASES_END;
		return 0;
	}
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
next_batch:
	ret = fetch(mount ? NULL : &inode->lf, (uint32_t)out->cursor,
		    IOCTL_BATCH, b);
	if (ret)
		goto free_batch;
	if (mount)
		place_batch(req, b);
	for (i = 0; i < b->n; i++) {
		const struct entry *e = &b->e[i];
		struct mapdirect_lease_rec rec = {
			.lease_id = e->v.id,
			.pid = (uint32_t)e->v.pid,
			.rec_flags =
				(e->v.comm[0] ? MAPDIRECT_REC_COMM : 0) |
				(e->v.has_file ? MAPDIRECT_REC_FD_OPEN : 0),
			.state = states[e->v.breaking],
			.signal = (uint32_t)e->v.signo,
			.lease_flags = e->v.flags,
			.ms_left = e->v.ms_left,
			.since_ms = e->v.since_real_ms,
			.dev = dev,
			.ino = e->ino,
		};

		memcpy(rec.comm, e->v.comm, sizeof(rec.comm));
		rec.comm[sizeof(rec.comm) - 1] = '\0';
		/* a full buffer: the rest comes with the next call */
		if (md_abi_put_lease(out, &rec, e->path))
			break;
		out->cursor = e->v.id;
	}
	batch_free_paths(b);
	if (i == b->n && b->n == IOCTL_BATCH)
		goto next_batch;	/* room left: the next few */
	if (i == b->n)
		out->out_flags |= MAPDIRECT_LEASES_END;
free_batch:
	free(b);
	return ret;
}

struct count_after {
	uint32_t after;
	size_t n;
};

static void count_one(void *arg, struct md_lfile *lf,
		      const struct md_lease_view *v)
{
	struct count_after *c = arg;

	c->n += v->id > c->after;
}

int mdfs_leases_text(fuse_req_t req, struct mdfs_inode *inode,
		     struct md_buf *out)
{
	struct md_lfile *lf = inode == &mdfs.root ? NULL : &inode->lf;
	/* what fits with the cut line after it: lines and bytes */
	size_t keep_len = 0, kept = 0, shown = 0, i = 0;
	struct count_after rest = { 0 };
	uint64_t dev = mount_dev();
	struct batch *b;
	int ret;

	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (;;) {
		ret = fetch(lf, rest.after, BATCH, b);
		if (ret)
			goto free_batch;
		if (!lf)
			place_batch(req, b);
		for (i = 0; i < b->n; i++) {
			struct md_render_place place = {
				.dev = dev, .ino = b->e[i].ino,
				.path = b->e[i].path,
			};

			md_render_lease(out, &b->e[i].v, lf ? NULL : &place);
			if (out->len > XATTR_SIZE_MAX)
				goto cut;
			shown++;
			if (out->len <= XATTR_SIZE_MAX - CUT_ROOM) {
				keep_len = out->len;
				kept = shown;
			}
		}
		batch_free_paths(b);
		if (b->n < BATCH)
			break;
		rest.after = b->e[b->n - 1].v.id;
	}
	goto free_batch;

cut:
	/* SPEC 4.4: a value is at most 64 KiB; say what is left out */
	rest.after = b->e[b->n - 1].v.id;
	md_lease_list(mdfs.eng, lf, count_one, &rest);
	batch_free_paths(b);
	out->len = keep_len;
	md_render_cut(out, shown - kept + (b->n - i) + rest.n);
free_batch:
	free(b);
	if (!ret && out->oom)
		ret = -ENOMEM;
	return ret;
}
