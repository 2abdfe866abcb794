/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MDFS_H
#define MDFS_H

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 17)

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <uthash.h>

#include "config.h"

/*
 * One per backing inode the kernel knows of, keyed by (dev, ino); the
 * pointer is the FUSE node id (the root excepted). We hold an
 * O_PATH|O_NOFOLLOW fd and never a path.
 *
 * Lock order: mdfs.table_lock, then mdfs_inode.lock.
 */
struct mdfs_inode {
	int fd;			/* O_PATH|O_NOFOLLOW; immutable */
	dev_t dev;		/* key, immutable */
	ino_t ino;
	mode_t type;		/* S_IFMT bits; immutable */
	uint64_t nlookup;	/* kernel references; under table_lock */
	pthread_mutex_t lock;	/* protects what follows */
	uint32_t nopen;		/* open files */
	int backing_id;		/* passthrough id while nopen > 0, else 0 */
	bool privs;		/* suid/sgid/fcaps a write must clear; atomic */
	UT_hash_handle hh;
};

/* An open regular file: fi->fh. */
struct mdfs_file {
	int fd;
	int flags;		/* open flags, for breakers without their own */
	struct mdfs_inode *inode;
};

struct mdfs {
	struct md_config cfg;
	char *backing;		/* absolute, for messages and fsname */
	char *mountpoint;	/* absolute */
	struct fuse_session *se;
	bool passthrough;	/* decided at init */
	bool io_uring;		/* asked for at session creation */
	bool init_failed;
	int ready_fd;		/* startup pipe to the waiting parent, or -1 */
	double timeout;		/* entry and attr cache timeout, seconds */

	pthread_mutex_t table_lock;
	struct mdfs_inode *table;	/* uthash by (dev, ino) */
	struct mdfs_inode root;
};

extern struct mdfs mdfs;

/* inode.c */
struct mdfs_inode *mdfs_inode(fuse_ino_t ino);
fuse_ino_t mdfs_nodeid(struct mdfs_inode *inode);
int mdfs_root_init(int fd);
int mdfs_do_lookup(struct mdfs_inode *parent, const char *name,
		   struct fuse_entry_param *e);
void mdfs_forget_one(struct mdfs_inode *inode, uint64_t n);
int mdfs_stat(struct mdfs_inode *inode, struct stat *st);
void mdfs_inode_table_destroy(void);

/* creds.c: act as the caller for what it creates or changes (SPEC 3) */
void mdfs_creds_init(void);
int mdfs_creds_enter(fuse_req_t req);
void mdfs_creds_leave(void);

/* privs.c: suid/sgid/fcaps on mediated writes */
void mdfs_privs_refresh(struct mdfs_inode *inode, int fd);
void mdfs_privs_kill(fuse_req_t req, struct mdfs_file *f);

/* "/proc/self/fd/N" of an fd: re-open and *xattr without following links */
#define MDFS_PROCFD_LEN 32
void mdfs_procfd(int fd, char buf[MDFS_PROCFD_LEN]);

/* ops_*.c: the fuse_lowlevel_ops, one file per concern */
void mdfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void mdfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void mdfs_forget_multi(fuse_req_t req, size_t count,
		       struct fuse_forget_data *forgets);
void mdfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mdfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		  int valid, struct fuse_file_info *fi);
void mdfs_readlink(fuse_req_t req, fuse_ino_t ino);
void mdfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, dev_t rdev);
void mdfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode);
void mdfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		  const char *name);
void mdfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	       const char *newname);
void mdfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void mdfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void mdfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname,
		 unsigned int flags);
void mdfs_statfs(fuse_req_t req, fuse_ino_t ino);

void mdfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   const char *value, size_t size, int flags);
void mdfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   size_t size);
void mdfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void mdfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

void mdfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mdfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);
void mdfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void mdfs_releasedir(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi);
void mdfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi);

void mdfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mdfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, struct fuse_file_info *fi);
void mdfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi);
void mdfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		    off_t off, struct fuse_file_info *fi);
void mdfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mdfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mdfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		struct fuse_file_info *fi);
void mdfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		    off_t length, struct fuse_file_info *fi);
void mdfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			  struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			  off_t off_out, struct fuse_file_info *fi_out,
			  size_t len, int flags);
void mdfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		struct fuse_file_info *fi);

static inline struct mdfs_file *mdfs_file(struct fuse_file_info *fi)
{
	return (struct mdfs_file *)(uintptr_t)fi->fh;
}

#endif
