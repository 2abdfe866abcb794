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
#include "lease.h"

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
	struct md_lfile lf;	/* lease state (engine lock) */
	/* unmediated writable open files (mediate=leased), under ->lock:
	 * a lease is refused while one of a non-holder exists (SPEC 3.1) */
	struct mdfs_file *writers;
	/* forgotten by the kernel but leased: kept until the leases end;
	 * under table_lock */
	bool orphan;
	struct mdfs_inode *orphan_next;
	UT_hash_handle hh;
};

/* Open files and dirs are listed so that an exit frees what the kernel
 * never released (an unmount with files open). */
struct mdfs_link {
	struct mdfs_link *prev, *next;
	void (*drop)(struct mdfs_link *l);	/* close and free at exit */
};

void mdfs_handle_add(struct mdfs_link *l);
void mdfs_handle_del(struct mdfs_link *l);

/* An open regular file: fi->fh. */
struct mdfs_file {
	struct mdfs_link link;	/* first: drop() casts it back */
	int fd;
	int flags;		/* open flags, for breakers without their own */
	struct mdfs_inode *inode;
	struct md_owner lo;	/* the lease taken through this open file */
	bool mediated;		/* its writes reach the daemon */
	pid_t tgid;		/* unmediated writers: the process */
	struct mdfs_file *wprev, *wnext;	/* inode->writers */
	bool stop_watch;	/* shutdown waits for its release */
};

/* mdfs_handles_free - at exit: close and free every handle left */
void mdfs_handles_free(void);

struct mdfs {
	struct md_config cfg;
	char *backing;		/* absolute, for messages and fsname */
	char *mountpoint;	/* absolute */
	struct fuse_session *se;
	bool passthrough;	/* decided at init */
	bool io_uring;		/* asked for at session creation */
	bool dax_active;	/* a new file in BACKING is DAX (probe) */
	bool init_failed;
	int ready_fd;		/* startup pipe to the waiting parent, or -1 */
	double timeout;		/* entry and attr cache timeout, seconds */

	pthread_mutex_t table_lock;
	struct mdfs_inode *table;	/* uthash by (dev, ino) */
	struct mdfs_inode *orphans;	/* leased, forgotten: see sweep */
	struct mdfs_inode root;

	struct md_engine *eng;
	bool stopping;		/* SIGTERM: breakers no longer wait */
	uint64_t map_dev;	/* device mappings in the mount show; lazily */
	/* requests that crossed the daemon (tests check who bypasses it) */
	uint64_t nread, nwrite;
};

extern struct mdfs mdfs;

/* inode.c */
struct mdfs_inode *mdfs_inode(fuse_ino_t ino);
fuse_ino_t mdfs_nodeid(struct mdfs_inode *inode);
int mdfs_root_init(int fd);
int mdfs_do_lookup(struct mdfs_inode *parent, const char *name,
		   struct fuse_entry_param *e);
void mdfs_forget_one(struct mdfs_inode *inode, uint64_t n);
struct mdfs_inode *mdfs_inode_pin(uint64_t dev, uint64_t ino);
/*
 * @inode's path relative to BACKING into @out, from its fd's link, blanks
 * and newlines as '?'. @return true; false if it is not below BACKING
 * (then @out is the absolute path, or "?")
 */
bool mdfs_inode_path(struct mdfs_inode *inode, char *out, size_t len);
int mdfs_stat(struct mdfs_inode *inode, struct stat *st);
void mdfs_inode_table_destroy(void);

void mdfs_orphans_sweep(void);

/* lease.c: the engine's embedding (thread, timer, pidfds, signals) */
int mdfs_lease_init(void);
int mdfs_lease_start(void);
void mdfs_lease_stop(void);
void mdfs_lease_wake(void);
/*
 * At shutdown (SIGTERM): @f (may be NULL) had a parked operation answered;
 * the unmount waits a bounded time for its release, so that the close(2)
 * that follows the answer gets its FLUSH answered too.
 */
void mdfs_stop_watch(struct mdfs_file *f);
/* @f is released: the shutdown no longer waits for it */
void mdfs_stop_released(struct mdfs_file *f);
void mdfs_dispose_run(struct md_dispose *d);

/* breakers.c: block-map-changing operations wait for breaks (SPEC 4.3) */
enum mdfs_op { OP_WRITE, OP_FALLOCATE, OP_SETATTR, OP_OPEN, OP_COPY };

/* A breaking request and its arguments, kept while it is parked. */
struct mdfs_parked {
	struct md_parked p;
	fuse_req_t req;
	enum mdfs_op op;
	bool uring;		/* interrupts come by polling the caller */
	pid_t tid;
	struct mdfs_parked *u_prev, *u_next;	/* parked io_uring requests */
	struct mdfs_file *f;	/* write, fallocate, setattr, copy (out) */
	struct mdfs_file *f_in;	/* copy (in) */
	struct mdfs_inode *inode;	/* setattr, open */
	off_t off, off_in, len;
	int mode;		/* fallocate mode, copy flags */
	int valid;		/* setattr */
	struct stat attr;	/* setattr */
	struct fuse_file_info fi;	/* open */
	size_t size;		/* write payload */
	char data[];
};
struct mdfs_parked *mdfs_parked_new(fuse_req_t req, enum mdfs_op op,
				    struct md_owner *owner, size_t extra);
void mdfs_break(struct mdfs_parked *pk, struct mdfs_inode *inode,
		bool nonblock);
void mdfs_parked_run(struct mdfs_parked *pk);
void mdfs_uring_interrupts(void);

/*
 * What a breaker does once it may, without replying: the caller leaves the
 * gate first (md_gate_exit), then replies with mdfs_reply_op(); after the
 * reply the open file and the inode may be gone.
 */
ssize_t mdfs_do_write(fuse_req_t req, struct mdfs_file *f,
		      struct fuse_bufvec *in, off_t off);
int mdfs_do_fallocate(struct mdfs_file *f, int mode, off_t off, off_t len);
ssize_t mdfs_do_copy(struct mdfs_file *in, off_t off_in, struct mdfs_file *out,
		     off_t off_out, size_t len, int flags);
int mdfs_do_open(fuse_req_t req, struct mdfs_inode *inode,
		 struct fuse_file_info *fi);
int mdfs_do_setattr(struct mdfs_inode *inode, struct stat *attr, int valid,
		    struct mdfs_file *f, struct stat *out);
void mdfs_reply_open(fuse_req_t req, int err, struct fuse_file_info *fi);
void mdfs_reply_attr(fuse_req_t req, int err, const struct stat *st);

/* ops_lease.c */
int mdfs_foreign_writer(struct mdfs_inode *inode, pid_t pid);
void mdfs_lease_ended(uint64_t dev, uint64_t ino);
void mdfs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		struct fuse_file_info *fi, unsigned int flags,
		const void *in_buf, size_t in_bufsz, size_t out_bufsz);
void mdfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       struct fuse_pollhandle *ph);

/* sandbox.c: least privilege after start-up (README "Least privilege") */
/* sandbox=on refused up front where it cannot be had: -1 after the error */
int mdfs_sandbox_check(void);
/* after the mount, before any thread: drop capabilities, and (sandbox=)
 * enter the mount namespace and load the seccomp filter. 0 or -1 */
int mdfs_confine(void);
/* the capabilities kept after start-up (bit per CAP_*) */
uint64_t mdfs_caps_kept(void);
bool mdfs_sandboxed(void);
/* in the sandbox the watcher unmounts (@wait: until it has): true; false
 * where the daemon must unmount itself */
bool mdfs_sandbox_unmount(bool wait);

/* creds.c: act as the caller for what it creates or changes (SPEC 3) */
void mdfs_creds_init(void);
int mdfs_creds_enter(fuse_req_t req);
void mdfs_creds_leave(void);

/* privs.c: suid/sgid/fcaps on mediated writes */
void mdfs_privs_refresh(struct mdfs_inode *inode, int fd);
void mdfs_privs_kill(fuse_req_t req, struct mdfs_file *f);
void mdfs_privs_clear(struct mdfs_inode *inode);

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

/*
 * Let the calling thread finish every request it starts: libfuse 3.18
 * stops io_uring ring threads with pthread_cancel(), which can land in the
 * middle of a handler (LeakSanitizer caught an open file lost at unmount).
 * A ring thread that ignores it still ends: libfuse wakes it through an
 * eventfd first. /dev/fuse workers get the same from libfuse itself.
 */
void mdfs_nocancel(void);

static inline struct mdfs_file *mdfs_file(struct fuse_file_info *fi)
{
	mdfs_nocancel();
	return (struct mdfs_file *)(uintptr_t)fi->fh;
}

#endif
