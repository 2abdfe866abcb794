// SPDX-License-Identifier: GPL-2.0-or-later
/* The inode table over BACKING (the passthrough_hp model). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mdfs.h"

struct inode_key {
	dev_t dev;
	ino_t ino;
};

void mdfs_procfd(int fd, char buf[MDFS_PROCFD_LEN])
{
	snprintf(buf, MDFS_PROCFD_LEN, "/proc/self/fd/%d", fd);
}

void mdfs_nocancel(void)
{
	static __thread bool done;

	if (!done) {
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		done = true;
	}
}

/* every request on an inode passes here first (see mdfs_nocancel) */
struct mdfs_inode *mdfs_inode(fuse_ino_t ino)
{
	mdfs_nocancel();
	if (ino == FUSE_ROOT_ID)
		return &mdfs.root;
	return (struct mdfs_inode *)(uintptr_t)ino;
}

fuse_ino_t mdfs_nodeid(struct mdfs_inode *inode)
{
	return inode == &mdfs.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)inode;
}

int mdfs_stat(struct mdfs_inode *inode, struct stat *st)
{
	if (fstatat(inode->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

static void inode_init(struct mdfs_inode *inode, int fd, const struct stat *st)
{
	/* every list and count starts empty, those added later too */
	memset(inode, 0, sizeof(*inode));
	inode->fd = fd;
	inode->dev = st->st_dev;
	inode->ino = st->st_ino;
	inode->type = st->st_mode & S_IFMT;
	inode->nlookup = 1;
	md_lfile_init(&inode->lf, st->st_dev, st->st_ino);
	pthread_mutex_init(&inode->lock, NULL);
}

int mdfs_root_init(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	inode_init(&mdfs.root, fd, &st);
	/* the root is never forgotten: its count never reaches 0 */
	mdfs.root.nlookup = 2;
	HASH_ADD(hh, mdfs.table, dev, sizeof(struct inode_key), &mdfs.root);
	return 0;
}

/* "." and ".." are resolved by the kernel; refuse to walk them ourselves
 * so that ".." at the root cannot leave BACKING (SPEC 3). */
static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

int mdfs_do_lookup(struct mdfs_inode *parent, const char *name,
		   struct fuse_entry_param *e)
{
	struct mdfs_inode *inode, *fresh;
	struct inode_key key;
	int fd, err;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = mdfs.timeout;
	e->entry_timeout = mdfs.timeout;

	if (is_dot_or_dotdot(name)) {
		if (parent != &mdfs.root || name[1] != '.')
			return -EINVAL;
		/* ".." of the root is the root (export support only) */
		fd = -1;
		inode = &mdfs.root;
		err = mdfs_stat(inode, &e->attr);
		if (err)
			return err;
		mdfs_lock(&mdfs.table_lock, MDFS_LOCK_TABLE);
		inode->nlookup++;
		mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
		e->ino = FUSE_ROOT_ID;
		return 0;
	}

	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		goto close_fd;
	}

	key.dev = e->attr.st_dev;
	key.ino = e->attr.st_ino;
	mdfs_lock(&mdfs.table_lock, MDFS_LOCK_TABLE);
	HASH_FIND(hh, mdfs.table, &key, sizeof(key), inode);
	if (inode) {
		inode->nlookup++;
		mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
		close(fd);
		e->ino = mdfs_nodeid(inode);
		return 0;
	}
	fresh = malloc(sizeof(*fresh));
	if (!fresh) {
		mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
		err = -ENOMEM;
		goto close_fd;
	}
	inode_init(fresh, fd, &e->attr);
	HASH_ADD(hh, mdfs.table, dev, sizeof(struct inode_key), fresh);
	mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
	e->ino = mdfs_nodeid(fresh);
	return 0;

close_fd:
	close(fd);
	return err;
}

bool mdfs_inode_path(struct mdfs_inode *inode, char *out, size_t len)
{
	char procfd[MDFS_PROCFD_LEN], abs[PATH_MAX];
	size_t blen = strlen(mdfs.backing);
	bool inside;
	ssize_t n;

	mdfs_procfd(inode->fd, procfd);
	n = readlink(procfd, abs, sizeof(abs) - 1);
	if (n < 0) {
		snprintf(out, len, "?");
		return false;
	}
	abs[n] = '\0';
	inside = !strncmp(abs, mdfs.backing, blen) && abs[blen] == '/';
	snprintf(out, len, "%s", inside ? abs + blen + 1 : abs);
	/* one lease, one line: no newline may come from a name */
	for (char *c = out; *c; c++)
		if (*c == '\n' || *c == ' ')
			*c = '?';
	return inside;
}

/* The inode of (dev, ino) with one more reference (mdfs_forget_one drops
 * it), or NULL when the table has none. */
struct mdfs_inode *mdfs_inode_pin(uint64_t dev, uint64_t ino)
{
	struct inode_key key = { .dev = (dev_t)dev, .ino = (ino_t)ino };
	struct mdfs_inode *inode;

	mdfs_lock(&mdfs.table_lock, MDFS_LOCK_TABLE);
	HASH_FIND(hh, mdfs.table, &key, sizeof(key), inode);
	if (inode)
		inode->nlookup++;
	mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
	return inode;
}

static void inode_free(struct mdfs_inode *inode)
{
	close(inode->fd);
	pthread_mutex_destroy(&inode->lock);
	free(inode);
}

void mdfs_forget_one(struct mdfs_inode *inode, uint64_t n)
{
	mdfs_lock(&mdfs.table_lock, MDFS_LOCK_TABLE);
	if (n > inode->nlookup) {
		md_err("forget %llu > lookup count %llu of inode %llu\n",
		       (unsigned long long)n,
		       (unsigned long long)inode->nlookup,
		       (unsigned long long)inode->ino);
		abort();
	}
	inode->nlookup -= n;
	if (inode->nlookup) {
		mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
		return;
	}
	/* a lease outlives the kernel's interest (a mapping holds it):
	 * keep the inode, with its lease state, for mdfs_orphans_sweep();
	 * one on the orphan list already (pinned and let go by a lease
	 * event) is the sweep's to free */
	if (inode->orphan ||
	    __atomic_load_n(&inode->lf.nleases, __ATOMIC_SEQ_CST)) {
		if (!inode->orphan) {
			inode->orphan = true;
			inode->orphan_next = mdfs.orphans;
			mdfs.orphans = inode;
		}
		mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
		return;
	}
	HASH_DEL(mdfs.table, inode);
	mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
	inode_free(inode);
}

/*
 * Free orphans whose leases ended. Under table_lock an inode with no
 * lookups cannot gain a lease (a lease needs an open file, an open file
 * a lookup), so "no lookups and no leases" is final there.
 */
void mdfs_orphans_sweep(void)
{
	struct mdfs_inode **pp, *inode;

	mdfs_lock(&mdfs.table_lock, MDFS_LOCK_TABLE);
	pp = &mdfs.orphans;
	while ((inode = *pp)) {
		if (inode->nlookup == 0 &&
		    __atomic_load_n(&inode->lf.nleases, __ATOMIC_SEQ_CST)) {
			pp = &inode->orphan_next;
			continue;
		}
		*pp = inode->orphan_next;
		inode->orphan = false;
		if (inode->nlookup == 0) {
			HASH_DEL(mdfs.table, inode);
			inode_free(inode);
		}
	}
	mdfs_unlock(&mdfs.table_lock, MDFS_LOCK_TABLE);
}

void mdfs_inode_table_destroy(void)
{
	struct mdfs_inode *inode, *tmp;

	HASH_ITER(hh, mdfs.table, inode, tmp) {
		HASH_DEL(mdfs.table, inode);
		if (inode == &mdfs.root)
			continue;
		close(inode->fd);
		pthread_mutex_destroy(&inode->lock);
		free(inode);
	}
	if (mdfs.root.fd >= 0)
		close(mdfs.root.fd);
	mdfs.root.fd = -1;
}

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mdfs_link handles = { &handles, &handles, NULL };

void mdfs_handle_add(struct mdfs_link *l)
{
	mdfs_lock(&handles_lock, MDFS_LOCK_LEAF);
	l->next = handles.next;
	l->prev = &handles;
	handles.next->prev = l;
	handles.next = l;
	mdfs_unlock(&handles_lock, MDFS_LOCK_LEAF);
}

void mdfs_handle_del(struct mdfs_link *l)
{
	mdfs_lock(&handles_lock, MDFS_LOCK_LEAF);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	mdfs_unlock(&handles_lock, MDFS_LOCK_LEAF);
}

void mdfs_handles_free(void)
{
	while (handles.next != &handles) {
		struct mdfs_link *l = handles.next;

		mdfs_handle_del(l);
		l->drop(l);
	}
}
