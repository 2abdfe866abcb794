/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mapdirect.h - layout leases on mapdirectfs (SPEC 4): the ioctl ABI.
 *
 * Every struct starts with its own size, which the caller sets to
 * sizeof(struct ...); fields marked reserved must be zero. Unknown flags,
 * a wrong size or non-zero reserved fields fail with EINVAL. Only fixed-width
 * types: the same layout for 32- and 64-bit callers, C and C++.
 */
#ifndef MAPDIRECT_H
#define MAPDIRECT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MAPDIRECT_IOC_MAGIC 'M'

/* flags of struct mapdirect_lease */
/* allocate and zero every hole and unwritten range first, then grant */
#define MAPDIRECT_LEASE_ALLOCATE	(1u << 0)
/* breakers fail with ETXTBSY instead of waiting; holders are not told */
#define MAPDIRECT_LEASE_EXCLUSIVE	(1u << 1)
#define MAPDIRECT_LEASE_FLAGS		(MAPDIRECT_LEASE_ALLOCATE | \
					 MAPDIRECT_LEASE_EXCLUSIVE)

/*
 * out_flags of struct mapdirect_lease and struct mapdirect_lease_info:
 * while the caller's lease is held and not breaking, a CPU cache flush and
 * fence make stores through a mapping of the file durable: the backing file
 * is DAX and the daemon made its block map durable before the grant (SPEC
 * 4.1). Clear once a break starts, after revocation, and off DAX: then
 * msync() is what makes stores durable.
 */
#define MAPDIRECT_OUT_USERFLUSH		(1u << 0)

/* MAPDIRECT_IOC_LEASE: take a layout lease through this open file. */
struct mapdirect_lease {
	__u32 size;		/* in: sizeof(struct mapdirect_lease) */
	__u32 flags;		/* in: MAPDIRECT_LEASE_* */
	__u32 signal;		/* in: queued when a break starts; 0 = none */
	__u32 out_flags;	/* out: MAPDIRECT_OUT_*; ignored in */
	__u64 lease_id;		/* out: never 0 */
	__u64 reserved[4];	/* must be 0 */
};

/* MAPDIRECT_IOC_UNLEASE: end the lease taken through this open file. */
struct mapdirect_unlease {
	__u32 size;		/* in: sizeof(struct mapdirect_unlease) */
	__u32 flags;		/* in: must be 0 */
	__u64 lease_id;		/* in: 0, or the id to check against */
	__u64 reserved[2];	/* must be 0 */
};

/* lease states, as MAPDIRECT_IOC_GETLEASE reports them */
#define MAPDIRECT_STATE_NONE		0u
#define MAPDIRECT_STATE_HELD		1u
#define MAPDIRECT_STATE_BREAKING	2u

/* MAPDIRECT_IOC_GETLEASE: the lease state of the file, on any of its fds. */
struct mapdirect_lease_info {
	__u32 size;		/* in: sizeof(struct mapdirect_lease_info) */
	__u32 flags;		/* in: must be 0 */
	__u32 state;		/* out: MAPDIRECT_STATE_* */
	__u32 holders;		/* out: number of leases on the file */
	__u64 lease_id;		/* out: the caller's lease on the file, or 0 */
	__u64 ms_left;		/* out: until revocation, while breaking */
	__u32 lease_flags;	/* out: flags of the caller's lease */
	__u32 out_flags;	/* out: MAPDIRECT_OUT_* of the caller's lease;
				 * ignored in */
	__u64 reserved[3];	/* must be 0 */
};

#define MAPDIRECT_IOC_LEASE \
	_IOWR(MAPDIRECT_IOC_MAGIC, 1, struct mapdirect_lease)
#define MAPDIRECT_IOC_UNLEASE \
	_IOW(MAPDIRECT_IOC_MAGIC, 2, struct mapdirect_unlease)
#define MAPDIRECT_IOC_GETLEASE \
	_IOWR(MAPDIRECT_IOC_MAGIC, 3, struct mapdirect_lease_info)

/*
 * MAPDIRECT_IOC_LEASES: list leases a batch per call, without the 64 KiB
 * limit of an xattr value (SPEC 4.4). On the mount root directory: every
 * lease of the mount; on any fd of a regular file: the leases of that
 * file. Records come in ascending lease id, those with an id above
 * @cursor; the call sets @cursor to the id of its last record, so that a
 * walk from 0 until MAPDIRECT_LEASES_END returns each lease that lived
 * through the whole walk exactly once, whatever ended or began meanwhile.
 */
#define MAPDIRECT_LEASES_BUF	12224

/* out_flags of struct mapdirect_leases */
#define MAPDIRECT_LEASES_END	(1u << 0)	/* no lease after these */

/* rec_flags of struct mapdirect_lease_rec */
/* a path follows the record */
#define MAPDIRECT_REC_PATH	(1u << 0)
/* comm is the holder's */
#define MAPDIRECT_REC_COMM	(1u << 1)
/* the open file that took the lease is open (else a mapping keeps it) */
#define MAPDIRECT_REC_FD_OPEN	(1u << 2)

/*
 * One lease in mapdirect_leases.buf. A mount-wide listing gives the path
 * and comm only where the caller could reach the file (search permission
 * on every directory from the mount root to it; uid 0: always); @dev and
 * @ino are always set. The record is followed by @path_len bytes of path,
 * relative to the mount root, and a NUL when MAPDIRECT_REC_PATH is set;
 * the next record starts @rec_len bytes after this one.
 */
struct mapdirect_lease_rec {
	__u32 rec_len;		/* a multiple of 8, path included */
	__u32 path_len;		/* bytes of path, NUL not counted */
	__u64 lease_id;
	__u32 pid;		/* the holder process */
	__u32 rec_flags;	/* MAPDIRECT_REC_* */
	__u32 state;		/* MAPDIRECT_STATE_HELD or _BREAKING */
	__u32 signal;		/* queued when a break starts; 0 = none */
	__u32 lease_flags;	/* MAPDIRECT_LEASE_* it was taken with */
	__u32 reserved0;	/* 0 */
	__u64 ms_left;		/* until revocation, while breaking */
	__u64 since_ms;		/* grant time: ms since the epoch */
	__u64 dev;		/* st_dev of the file through the mount */
	__u64 ino;		/* st_ino */
	char comm[16];		/* "" without MAPDIRECT_REC_COMM */
};

struct mapdirect_leases {
	__u32 size;		/* in: sizeof(struct mapdirect_leases) */
	__u32 flags;		/* in: must be 0 */
	__u64 cursor;		/* in: 0 or the last answer's; out: last id */
	__u32 count;		/* out: records in buf */
	__u32 len;		/* out: bytes of buf they take */
	__u32 out_flags;	/* out: MAPDIRECT_LEASES_END */
	__u32 reserved0;	/* must be 0 */
	__u64 reserved[4];	/* must be 0 */
	/* out: count records, each a struct mapdirect_lease_rec */
	__u8 buf[MAPDIRECT_LEASES_BUF];
};

#define MAPDIRECT_IOC_LEASES \
	_IOWR(MAPDIRECT_IOC_MAGIC, 4, struct mapdirect_leases)

/*
 * libmapdirect - the client library (SPEC 5): pkg-config --cflags --libs
 * mapdirect.
 *
 * Every function returns 0, a count, or -errno (a negative errno value);
 * none reports through errno, whose value after a call is unspecified.
 * Functions on a file descriptor are thread-safe; a struct mapdirect_ctx
 * and the objects it hands out belong to one thread at a time.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* -- leases on an open file ------------------------------------------- */

/**
 * mapdirect_lease - take a layout lease through an open file
 * @fd: an open file of a regular file on a mapdirectfs mount
 * @flags: MAPDIRECT_LEASE_ALLOCATE, MAPDIRECT_LEASE_EXCLUSIVE, or 0
 * @signo: signal queued to the calling thread when a break starts, 0 = none
 * @lease_id: if not NULL, gets the lease id (never 0)
 *
 * One request to the daemon; with MAPDIRECT_LEASE_ALLOCATE it first writes
 * zeros into every hole, which takes as long as that write. Taking a lease
 * again through the same open file returns the same id.
 *
 * @return 0, or -EBADF (@fd is not open), -EINVAL (unknown @flags, @signo
 * out of 0..64, not a regular file), -EACCES (not the file's owner and no
 * CAP_LEASE), -EPERM (the file is not eligible: see mapdirect_status()),
 * -EAGAIN (a break is in progress, or breakers came while the daemon looked
 * at the file, or the file has an exclusive lease, or an exclusive lease was
 * asked for beside others, or, under mediate=leased, another process has the
 * file open for writing through an unmediated open file, or another user's
 * writer that waited for a break still has it open: user.mapdirect.eligible
 * names it; or an ALLOCATE of the caller's uid is running), -EBADF (also:
 * ALLOCATE through an fd not open for writing), -ESRCH (the caller is
 * outside the daemon's pid namespace), -ENOSPC (ALLOCATE: no room for the
 * caller; nothing is left allocated), -ENOTTY (@fd is not on a mapdirectfs
 * mount), or another -errno of ioctl(2).
 */
int mapdirect_lease(int fd, unsigned int flags, int signo, uint64_t *lease_id);

/**
 * mapdirect_unlease - end the lease taken through this open file
 * @fd: the open file (or a dup of it) that took the lease
 *
 * Does not block beyond one request to the daemon. Unmap first: a break
 * waits for the lease, not for the mapping, to end.
 *
 * @return 0, or -ENOENT (this open file holds no lease: never taken, or
 * already ended by revocation), -EBADF, -ENOTTY (not on mapdirectfs).
 */
int mapdirect_unlease(int fd);

/**
 * mapdirect_getlease - the lease state of a file
 * @fd: any open file of the file (O_RDONLY is enough)
 * @info: filled in, size included (the caller needs not set anything)
 *
 * Does not block beyond one request to the daemon. @info->lease_id is the
 * calling process's lease on the file, 0 if none; @info->ms_left is the
 * time left while the file is breaking.
 *
 * @return 0, or -EINVAL (@info is NULL), -EBADF, -ENOTTY (not on
 * mapdirectfs).
 */
int mapdirect_getlease(int fd, struct mapdirect_lease_info *info);

/**
 * mapdirect_state_name - "none", "held" or "breaking"
 * @state: MAPDIRECT_STATE_*
 *
 * @return a static string; "unknown" for other values.
 */
const char *mapdirect_state_name(unsigned int state);

/* -- a mapping under a lease ------------------------------------------ */

struct mapdirect_map;

/**
 * mapdirect_map_file - lease a file and map it shared
 * @fd: open file of a regular file on a mapdirectfs mount; O_RDWR for
 *      PROT_WRITE
 * @len: bytes to map from offset 0, at most the file size; 0 = whole file
 * @prot: PROT_READ, optionally with PROT_WRITE
 * @lease_flags: as for mapdirect_lease()
 * @signo: as for mapdirect_lease()
 * @out: gets the mapping, NULL on error
 *
 * Checks @prot and @len against the open file and its size first, then
 * takes the lease through a duplicate of @fd (the same open file, so the
 * caller may close @fd at once), then maps [0, @len) MAP_SHARED (not
 * MAP_SYNC: the kernel refuses it on every FUSE file, EOPNOTSUPP; the
 * lease is what makes the block map durable). It records the grant's
 * MAPDIRECT_OUT_USERFLUSH (see mapdirect_persist()) and, where it is set
 * and @prot has PROT_WRITE, arms a POLLPRI poll of the leased file on an
 * io_uring of the mapping's own, so that persist learns of a break
 * without a request. Three or four requests to the daemon plus mmap(2);
 * on error a lease it took is ended again.
 *
 * If the open file already holds a lease (the caller's own
 * mapdirect_lease() on @fd or a dup of it), the mapping lives under that
 * lease, as a second mapdirect_lease() would: @lease_flags and @signo are
 * then ignored, and neither an error nor mapdirect_unmap() ends it; it
 * stays the caller's to end with mapdirect_unlease().
 *
 * @return 0, or -EINVAL (bad @prot, not a regular file, @len beyond the
 * end of the file, an empty file, @out NULL), -EBADF, -ENOMEM, -EACCES
 * (PROT_WRITE on an fd not open for writing, an fd open for writing only,
 * or as mapdirect_lease()), and every error of mapdirect_lease() and
 * mapdirect_getlease().
 */
int mapdirect_map_file(int fd, size_t len, int prot, unsigned int lease_flags,
		       int signo, struct mapdirect_map **out);

/* mapdirect_map_addr - where the mapping starts */
void *mapdirect_map_addr(const struct mapdirect_map *map);
/* mapdirect_map_len - its length in bytes, as mapped */
size_t mapdirect_map_len(const struct mapdirect_map *map);
/* mapdirect_map_lease_id - the id of the lease the mapping lives under */
uint64_t mapdirect_map_lease_id(const struct mapdirect_map *map);
/*
 * mapdirect_map_is_pmem - the mapping is persistent memory: the backing
 * file is DAX (the daemon's user.mapdirect.dax), so its pages are the
 * media itself (statx never says so of a FUSE file)
 */
bool mapdirect_map_is_pmem(const struct mapdirect_map *map);

/**
 * mapdirect_map_userflush - would mapdirect_persist() flush CPU caches?
 * @map: the mapping, or NULL (false)
 *
 * True while the lease's grant said MAPDIRECT_OUT_USERFLUSH (the file is
 * DAX and its block map was made durable before the grant), the mapping
 * is writable and no break of the lease has been seen. Once a break is
 * seen it is false for the rest of the mapping's life, also if the break
 * ends without revocation: map again for a new grant. False where the
 * process cannot use io_uring (kernel.io_uring_disabled, seccomp): persist
 * then always takes msync. No request to the daemon, no system call.
 */
bool mapdirect_map_userflush(struct mapdirect_map *map);

/**
 * mapdirect_persist - make stores to a range of the mapping durable
 * @map: the mapping
 * @off: offset of the range in the mapping
 * @len: its length; 0 does nothing
 *
 * Where mapdirect_map_userflush(): libpmem's pmem_persist() of the range,
 * a CPU cache flush and a fence, which never blocks or fails and makes no
 * system call: the lease keeps the block map durable and unchanged, so
 * the stores are durable when it returns. Otherwise (no DAX, a break has
 * started, revoked, no io_uring) msync(MS_SYNC) of the pages that hold
 * the range, which blocks until they and the file's metadata are written
 * back: still correct, 20-60x slower. A break is seen within the daemon's
 * notification (microseconds); the block map does not change before the
 * break's grace period ends, so a flush that raced with the notice still
 * persisted (unless lease_break_time=0, which revokes at once).
 *
 * @return 0, or -EINVAL (@map NULL, range beyond the mapping), -EIO or
 * another -errno of msync(2).
 */
int mapdirect_persist(struct mapdirect_map *map, size_t off, size_t len);

/**
 * mapdirect_break_fd - the descriptor to poll for a break
 * @map: the mapping
 *
 * The duplicate of the leased open file: poll(2), epoll(7) or select(2)
 * report POLLPRI on it once a break of the lease started, and as long as
 * the file is breaking. A regular file always polls POLLIN and POLLOUT:
 * ask for POLLPRI alone. Do not close it; mapdirect_unmap() does.
 *
 * @return the descriptor, or -EINVAL (@map NULL).
 */
int mapdirect_break_fd(const struct mapdirect_map *map);

/**
 * mapdirect_wait_break - wait until a break of the lease starts
 * @fd: a leased open file, e.g. mapdirect_break_fd()
 * @timeout_ms: bound in milliseconds; -1 waits forever, 0 only looks
 *
 * Blocks in poll(2) for POLLPRI up to @timeout_ms. A signal that
 * interrupts the wait is not retried.
 *
 * @return 1 (a break started: unmap and unlease within the grace period),
 * 0 (timeout), or -EINVAL (@timeout_ms below -1), -EBADF, -EINTR.
 */
int mapdirect_wait_break(int fd, int timeout_ms);

/**
 * mapdirect_unmap - unmap, end the lease, free
 * @map: the mapping, or NULL (nothing happens)
 *
 * munmap(2), then the lease ends (the mapping must be gone first: the
 * break a breaker waits for ends with the lease), then the duplicate fd
 * is closed and @map freed, whatever the result. One request to the
 * daemon. A lease the open file held before mapdirect_map_file() is not
 * ended: it is the caller's (and no request is made).
 *
 * @return 0, or -ENOENT (the lease had already ended: revoked at the end
 * of a break it ignored), or another -errno of munmap(2) or
 * mapdirect_unlease().
 */
int mapdirect_unmap(struct mapdirect_map *map);

/* -- inspection ------------------------------------------------------- */

/* What mapdirect_status() reports about one file. */
struct mapdirect_file_status {
	unsigned int state;	/* MAPDIRECT_STATE_* */
	unsigned int holders;	/* leases on the file */
	uint64_t ms_left;	/* until revocation, while breaking */
	uint64_t lease_id;	/* the calling process's lease, or 0 */
	bool eligible;		/* a lease may be taken (SPEC 4.1) */
	bool dax;		/* the backing file is accessed with DAX */
	char reason[128];	/* why not ("hole at 0+4096"), or "" */
};

/**
 * mapdirect_status - lease state, eligibility and DAX of a file
 * @path: a regular file on a mapdirectfs mount (symlinks are followed)
 * @st: filled in
 *
 * Opens @path read-only (never a breaker), asks the daemon
 * (MAPDIRECT_IOC_GETLEASE and the user.mapdirect.eligible and .dax
 * xattrs); the eligibility check may sync the file's delayed allocation.
 * Reads /proc/self/mountinfo to tell whether @path is on a mapdirectfs
 * mount.
 *
 * @return 0, or -ENOTTY (@path is not on a mapdirectfs mount), -EISDIR (a
 * directory), -EINVAL (another non-regular file, or a NULL argument),
 * -ENOENT, -EACCES, -ENOTCONN (the daemon is gone), -EBADMSG (the daemon's
 * answer could not be parsed), or another -errno of stat(2), open(2) or
 * getxattr(2).
 */
int mapdirect_status(const char *path, struct mapdirect_file_status *st);

/*
 * A context holds snapshots, each replaced by its own *_load call: the
 * leases of a file or mount, the mapdirectfs mounts, the pmem regions (a
 * load that fails leaves its snapshot empty). Objects handed out by a
 * snapshot, and their strings, live until the next load of the same kind
 * or the last unref. Walk a snapshot with *_get_first() and
 * *_get_next(), which return NULL at its end, or the *_foreach() macro.
 */
struct mapdirect_ctx;
struct mapdirect_lease_entry;
struct mapdirect_mount;
struct mapdirect_region;
struct mapdirect_namespace;

/**
 * mapdirect_new - a new context, with one reference
 * @ctx: gets it
 *
 * @return 0, or -EINVAL (@ctx NULL), -ENOMEM.
 */
int mapdirect_new(struct mapdirect_ctx **ctx);
/* mapdirect_ref - take a reference; returns @ctx */
struct mapdirect_ctx *mapdirect_ref(struct mapdirect_ctx *ctx);
/* mapdirect_unref - drop one; the last frees everything; NULL is ignored */
void mapdirect_unref(struct mapdirect_ctx *ctx);

/**
 * mapdirect_leases_load - snapshot the leases of a file or of a mount
 * @ctx: context
 * @path: a regular file (its leases), or a directory of a mapdirectfs
 *        mount (every lease of the mount, each with its path)
 *
 * Reads /proc/self/mountinfo, opens the file or the mount root read-only
 * and lists its leases with MAPDIRECT_IOC_LEASES, a request to the daemon
 * per batch, however many there are. In a mount's listing the path and
 * comm of a lease are only there where the caller could reach the file
 * (uid 0: always). Where the ioctl cannot be used (the caller may not
 * open the file or the root, a daemon without it) it reads the
 * user.mapdirect.leases xattr instead, which holds at most 64 KiB.
 *
 * @return the number of leases, or -ENOTTY (not on a mapdirectfs mount),
 * -EINVAL (NULL argument, or neither a file nor a directory), -ENOENT,
 * -EACCES, -ENOTCONN, -ENOMEM, -EBADMSG (an unparsable answer), -E2BIG
 * (only the xattr could be read, and the daemon cut it at 64 KiB).
 */
int mapdirect_leases_load(struct mapdirect_ctx *ctx, const char *path);
struct mapdirect_lease_entry *
mapdirect_lease_get_first(struct mapdirect_ctx *ctx);
struct mapdirect_lease_entry *
mapdirect_lease_get_next(struct mapdirect_lease_entry *lease);

#define mapdirect_lease_foreach(ctx, lease)				\
	for (lease = mapdirect_lease_get_first(ctx); lease != NULL;	\
	     lease = mapdirect_lease_get_next(lease))

/* the lease id, as MAPDIRECT_IOC_LEASE returned it */
uint64_t mapdirect_lease_get_id(const struct mapdirect_lease_entry *lease);
/* the holder process */
pid_t mapdirect_lease_get_pid(const struct mapdirect_lease_entry *lease);
/* its command name when it took the lease ("?" if unknown) */
const char *mapdirect_lease_get_comm(const struct mapdirect_lease_entry *lease);
/* when the lease was granted: UTC, "2026-11-26T08:00:00.123Z" */
const char *
mapdirect_lease_get_since(const struct mapdirect_lease_entry *lease);
/* the signal of a break, 0 = none */
int mapdirect_lease_get_signal(const struct mapdirect_lease_entry *lease);
/* MAPDIRECT_STATE_HELD or MAPDIRECT_STATE_BREAKING */
unsigned int
mapdirect_lease_get_state(const struct mapdirect_lease_entry *lease);
/* ms until revocation while breaking, else 0 */
uint64_t mapdirect_lease_get_ms_left(const struct mapdirect_lease_entry *lease);
/* MAPDIRECT_LEASE_* flags the lease was taken with */
unsigned int
mapdirect_lease_get_flags(const struct mapdirect_lease_entry *lease);
/* the open file that took it is still open (else a mapping keeps it) */
bool mapdirect_lease_get_fd_open(const struct mapdirect_lease_entry *lease);
/*
 * path relative to the mount root; NULL when a file's leases were loaded,
 * and in a mount's where the caller could not reach the file (then comm
 * is "?" too; the file is mapdirect_lease_get_dev() and _get_ino())
 */
const char *mapdirect_lease_get_path(const struct mapdirect_lease_entry *lease);
/* st_dev of the file through the mount, as stat(2) and /proc/locks show it */
dev_t mapdirect_lease_get_dev(const struct mapdirect_lease_entry *lease);
/* st_ino of the file */
uint64_t mapdirect_lease_get_ino(const struct mapdirect_lease_entry *lease);

/**
 * mapdirect_mounts_load - snapshot the mapdirectfs mounts
 * @ctx: context
 *
 * Reads /proc/self/mountinfo, then the user.mapdirect.config and
 * user.mapdirect.device xattrs of each mount root (one request to each
 * daemon; a daemon that does not answer blocks the call). A mount whose
 * xattrs cannot be read is listed with mapdirect_mount_get_error().
 *
 * @return the number of mounts, or -EINVAL, -ENOMEM, or an -errno of
 * reading /proc/self/mountinfo.
 */
int mapdirect_mounts_load(struct mapdirect_ctx *ctx);
struct mapdirect_mount *mapdirect_mount_get_first(struct mapdirect_ctx *ctx);
struct mapdirect_mount *
mapdirect_mount_get_next(struct mapdirect_mount *mount);

#define mapdirect_mount_foreach(ctx, mount)				\
	for (mount = mapdirect_mount_get_first(ctx); mount != NULL;	\
	     mount = mapdirect_mount_get_next(mount))

/* the mount point */
const char *mapdirect_mount_get_path(const struct mapdirect_mount *mount);
/* BACKING, as the daemon reports it (else the mount's source) */
const char *mapdirect_mount_get_backing(const struct mapdirect_mount *mount);
/*
 * a key of user.mapdirect.config: "lease_break_time", "revoke", "dax",
 * "io_uring", "passthrough", "mediate", "transport",
 * "passthrough_active", "backing"; NULL if absent
 */
const char *mapdirect_mount_get_config(const struct mapdirect_mount *mount,
				       const char *key);
/*
 * a key of user.mapdirect.device: "bus", "region", "namespace", "mode",
 * "blockdev", "size"; NULL for every key when BACKING is not on pmem
 */
const char *mapdirect_mount_get_device(const struct mapdirect_mount *mount,
				       const char *key);
/*
 * the "dax" mount option of BACKING's own filesystem: "always" (also for
 * plain "dax"), "inode", "never", or NULL when it has none
 */
const char *
mapdirect_mount_get_backing_dax(const struct mapdirect_mount *mount);
/* 0, or the -errno that reading the mount's xattrs failed with */
int mapdirect_mount_get_error(const struct mapdirect_mount *mount);

/**
 * mapdirect_pmem_load - snapshot the persistent-memory regions (libndctl)
 * @ctx: context
 *
 * Walks every nvdimm bus, region and active namespace in sysfs.
 *
 * @return the number of regions (0 on a machine without pmem), or -EINVAL,
 * -ENOMEM, or the -errno libndctl could not start with.
 */
int mapdirect_pmem_load(struct mapdirect_ctx *ctx);
struct mapdirect_region *
mapdirect_region_get_first(struct mapdirect_ctx *ctx);
struct mapdirect_region *
mapdirect_region_get_next(struct mapdirect_region *region);

#define mapdirect_region_foreach(ctx, region)				\
	for (region = mapdirect_region_get_first(ctx); region != NULL;	\
	     region = mapdirect_region_get_next(region))

/* "region0" */
const char *mapdirect_region_get_name(const struct mapdirect_region *region);
/* the bus provider, e.g. "ACPI.NFIT" */
const char *mapdirect_region_get_bus(const struct mapdirect_region *region);
/* bytes */
uint64_t mapdirect_region_get_size(const struct mapdirect_region *region);
/* bytes not yet given to a namespace */
uint64_t mapdirect_region_get_available(const struct mapdirect_region *region);

struct mapdirect_namespace *
mapdirect_namespace_get_first(struct mapdirect_region *region);
struct mapdirect_namespace *
mapdirect_namespace_get_next(struct mapdirect_namespace *ns);

#define mapdirect_namespace_foreach(region, ns)				\
	for (ns = mapdirect_namespace_get_first(region); ns != NULL;	\
	     ns = mapdirect_namespace_get_next(ns))

/* "namespace0.0" */
const char *mapdirect_namespace_get_name(const struct mapdirect_namespace *ns);
/* "fsdax", "devdax", "sector", "raw" or "unknown" */
const char *mapdirect_namespace_get_mode(const struct mapdirect_namespace *ns);
/* "pmem0", or NULL (devdax) */
const char *
mapdirect_namespace_get_blockdev(const struct mapdirect_namespace *ns);
/* bytes */
uint64_t mapdirect_namespace_get_size(const struct mapdirect_namespace *ns);

#ifdef __cplusplus
}
#endif

#endif /* MAPDIRECT_H */
