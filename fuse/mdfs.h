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
 * The daemon's locks, in the only order a thread may take them (holding
 * one, it takes only later ones; locks.c checks it):
 *   1. mdfs.table_lock     the inode table, lookup counts, orphans
 *   2. mdfs_inode.lock     an inode's opens, backing id, writers
 *   3. uring_lock          parked io_uring requests (breakers.c)
 *   -  the engine lock     every lease and parked operation (core/lease.c,
 *                          taken only inside md_* calls, which take none
 *                          of ours: it may be taken holding any of 1-3)
 *   4. leaf locks          handles_lock, handoff_lock, stop_lock,
 *                          share_lock, grants_lock: nothing is taken
 *                          under them
 * None is held while a request is answered or a poll notified
 * (fuse_reply_*, fuse_lowlevel_notify_*): over io_uring an answer takes
 * libfuse's queue ring_lock, which a ring thread holds while it runs a
 * handler (issue 13: the ABBA deadlock of uring_lock). The reply
 * functions are wrapped below to check it.
 */
enum mdfs_lock_rank {
	MDFS_LOCK_TABLE = 1,
	MDFS_LOCK_INODE,
	MDFS_LOCK_URING,
	MDFS_LOCK_LEAF,
};
void mdfs_lock(pthread_mutex_t *m, enum mdfs_lock_rank r);
void mdfs_unlock(pthread_mutex_t *m, enum mdfs_lock_rank r);
/* abort if the calling thread holds any of the locks above */
void mdfs_assert_unlocked(const char *what);

#define MDFS_UNLOCKED_(fn) (mdfs_assert_unlocked(#fn), fn)
#define fuse_reply_attr(...) MDFS_UNLOCKED_(fuse_reply_attr)(__VA_ARGS__)
#define fuse_reply_buf(...) MDFS_UNLOCKED_(fuse_reply_buf)(__VA_ARGS__)
#define fuse_reply_create(...) MDFS_UNLOCKED_(fuse_reply_create)(__VA_ARGS__)
#define fuse_reply_data(...) MDFS_UNLOCKED_(fuse_reply_data)(__VA_ARGS__)
#define fuse_reply_entry(...) MDFS_UNLOCKED_(fuse_reply_entry)(__VA_ARGS__)
#define fuse_reply_err(...) MDFS_UNLOCKED_(fuse_reply_err)(__VA_ARGS__)
#define fuse_reply_ioctl(...) MDFS_UNLOCKED_(fuse_reply_ioctl)(__VA_ARGS__)
#define fuse_reply_lseek(...) MDFS_UNLOCKED_(fuse_reply_lseek)(__VA_ARGS__)
#define fuse_reply_none(...) MDFS_UNLOCKED_(fuse_reply_none)(__VA_ARGS__)
#define fuse_reply_open(...) MDFS_UNLOCKED_(fuse_reply_open)(__VA_ARGS__)
#define fuse_reply_poll(...) MDFS_UNLOCKED_(fuse_reply_poll)(__VA_ARGS__)
#define fuse_reply_readlink(...) \
	MDFS_UNLOCKED_(fuse_reply_readlink)(__VA_ARGS__)
#define fuse_reply_statfs(...) MDFS_UNLOCKED_(fuse_reply_statfs)(__VA_ARGS__)
#define fuse_reply_write(...) MDFS_UNLOCKED_(fuse_reply_write)(__VA_ARGS__)
#define fuse_reply_xattr(...) MDFS_UNLOCKED_(fuse_reply_xattr)(__VA_ARGS__)
#define fuse_lowlevel_notify_poll(...) \
	MDFS_UNLOCKED_(fuse_lowlevel_notify_poll)(__VA_ARGS__)

/*
 * One per backing inode the kernel knows of, keyed by (dev, ino); the
 * pointer is the FUSE node id (the root excepted). We hold an
 * O_PATH|O_NOFOLLOW fd and never a path.
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
	/* open files through which a lease was broken, under ->lock (utlist):
	 * while one of another user is open, that user's leases are refused
	 * (anti-starvation: a holder that re-leases after each break cannot
	 * hold off another user's writer for ever; Linux refuses a read
	 * lease while the file is open for writing at all) */
	struct mdfs_file *breakers;
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
	/* the process that broke a lease through it, under inode->lock;
	 * 0: none, -1: one the daemon cannot see; and its uid */
	pid_t broke_tgid;
	uid_t broke_uid;
	struct mdfs_file *bprev, *bnext;	/* inode->breakers */
	bool stop_watch;	/* shutdown waits for its release */
	uid_t uid;		/* its opener: its share holds the fd */
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
	unsigned int uring_depth;	/* entries per io_uring queue */
	uint64_t over_share;	/* breakers refused a place to wait */
	/* test only ($MDFS_TEST_NO_GRANT_SYNC): grants skip their fsync */
	bool no_grant_sync;
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

/*
 * share.c: what waiting requests hold, charged to their caller's uid and
 * in total (issue 13). Past a share a breaker gets EAGAIN at once (as if
 * O_NONBLOCK: the break goes on) and an ALLOCATE lease EAGAIN.
 */
enum mdfs_share_kind {
	MDFS_SHARE_PARKED,	/* parked breakers */
	MDFS_SHARE_BYTES,	/* write payloads they keep */
	MDFS_SHARE_FILLS,	/* ALLOCATE fills running */
	MDFS_SHARE_GRANTS,	/* lease requests with the grant threads */
	MDFS_SHARE_FILES,	/* open files and dirs (a backing fd each):
				 * past the share, EMFILE */
	MDFS_SHARE_N,
};
#define MDFS_PARKED_PER_UID 64
#define MDFS_PARKED_MAX 1024
#define MDFS_PARKED_BYTES_PER_UID (64ULL << 20)
#define MDFS_PARKED_BYTES_MAX (256ULL << 20)
#define MDFS_FILLS_PER_UID 1
#define MDFS_FILLS_MAX 2	/* of the 4 grant threads: quick grants go on */
#define MDFS_GRANTS_PER_UID 16
#define MDFS_GRANTS_MAX 256
/* open files: an eighth of RLIMIT_NOFILE per uid (at least 64), three
 * quarters in all; the rest is for inodes and the daemon itself */
/* our io_uring queue depth when -o io_uring_q_depth is not given */
#define MDFS_URING_DEPTH 16
int mdfs_share_init(void);
void mdfs_share_fini(void);
/*
 * Charge @want to @uid (root: to the totals only) and, for a parked
 * request on io_uring queue @qid (-1: none), to that queue: at most half
 * of its entries may wait, and one uid may take half of those.
 * @return false, charging nothing, past a share.
 */
bool mdfs_share_take(uid_t uid, const uint64_t want[MDFS_SHARE_N], int qid);
void mdfs_share_give(uid_t uid, const uint64_t held[MDFS_SHARE_N], int qid);
unsigned int mdfs_queue_parked_max(void);
/* charge / give back one open file (or dir) of @uid: false past a share */
bool mdfs_share_file(uid_t uid);
void mdfs_unshare_file(uid_t uid);
/*
 * The io_uring queue the calling thread serves, or -1 (a /dev/fuse
 * worker). libfuse 3.18 names each ring thread "fuse-ring-QID" and binds
 * it to CPU QID; the kernel queues a request where its caller ran.
 */
int mdfs_thread_queue(void);

/* breakers.c: block-map-changing operations wait for breaks (SPEC 4.3) */
enum mdfs_op { OP_WRITE, OP_FALLOCATE, OP_SETATTR, OP_OPEN, OP_COPY };

/* A breaking request and its arguments, kept while it is parked. */
struct mdfs_parked {
	struct md_parked p;
	fuse_req_t req;
	enum mdfs_op op;
	bool uring;		/* interrupts come by polling the caller */
	pid_t tid;
	uid_t uid;		/* the caller: its share holds this request */
	int qid;		/* io_uring queue of the request, or -1 */
	uint64_t share[MDFS_SHARE_N];	/* what is charged, while parked */
	struct mdfs_parked *u_prev, *u_next;	/* parked io_uring requests */
	struct mdfs_file *f;	/* write, fallocate, setattr, copy (out) */
	struct mdfs_file *f_in;	/* copy (in) */
	struct mdfs_inode *inode;	/* setattr, open */
	off_t off, off_in, len;
	int mode;		/* fallocate mode, copy flags */
	int valid;		/* setattr */
	struct stat attr;	/* setattr */
	struct fuse_file_info fi;	/* open */
	size_t size;		/* write payload kept */
	/* a write that never waits: the request's buffer, valid while its
	 * handler runs, instead of a copy */
	struct fuse_bufvec *in;
	char data[];
};
/*
 * A breaking request, charged to its caller's share where it may wait
 * (*@nonblock false); with no room *@nonblock turns true, and then (as
 * for every O_NONBLOCK breaker) no @extra bytes of payload are kept.
 */
struct mdfs_parked *mdfs_parked_new(fuse_req_t req, enum mdfs_op op,
				    struct md_owner *owner, size_t extra,
				    bool *nonblock);
void mdfs_break(struct mdfs_parked *pk, struct mdfs_inode *inode,
		bool nonblock);
void mdfs_parked_run(struct mdfs_parked *pk);
/* free @pk and give back what its caller's share holds for it */
void mdfs_parked_free(struct mdfs_parked *pk);
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

/* ops_file.c: @f broke a lease, through caller thread @tid of @uid */
void mdfs_file_broke(struct mdfs_file *f, pid_t tid, uid_t uid);

/* ops_lease.c */
/* at shutdown: refuse new lease requests, wait for those queued and
 * being granted (they exclude breakers) */
void mdfs_grants_wait(void);
/* ... and end the grant threads, once nothing will be answered any more */
void mdfs_grants_stop(void);
int mdfs_foreign_writer(struct mdfs_inode *inode, pid_t pid);
/* an open file through which a user other than @uid broke a lease of
 * the file; must hold inode->lock. @return its process (-1: unseen), or
 * 0 (none, or @uid is root's) */
pid_t mdfs_waiting_breaker(struct mdfs_inode *inode, uid_t uid);
void mdfs_lease_ended(uint64_t dev, uint64_t ino);
void mdfs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		struct fuse_file_info *fi, unsigned int flags,
		const void *in_buf, size_t in_bufsz, size_t out_bufsz);
void mdfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       struct fuse_pollhandle *ph);

/* ops_listing.c: lease listings as their reader may see them (SPEC 4.4) */
struct md_buf;
struct mapdirect_leases;
/**
 * mdfs_list_leases - MAPDIRECT_IOC_LEASES on the mount root or a file
 * @out: the decoded request; the answer is built in it
 *
 * Resolves paths and walks them as the caller, without the engine lock.
 * @return 0, or -ENOTTY (neither the root nor a regular file), -ENOMEM.
 */
int mdfs_list_leases(fuse_req_t req, struct mdfs_inode *inode,
		     struct mapdirect_leases *out);
/**
 * mdfs_leases_text - user.mapdirect.leases of the mount root or a file
 * @out: gets the lines; at most XATTR_SIZE_MAX bytes, the last line
 *       saying how many leases it leaves out when they do not fit
 *
 * @return 0 or -ENOMEM.
 */
int mdfs_leases_text(fuse_req_t req, struct mdfs_inode *inode,
		     struct md_buf *out);

/* the filesystem identity of passthrough I/O (the overflow uid/gid) */
#define MDFS_NOBODY 65534

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
