// SPDX-License-Identifier: LGPL-2.1-or-later
/* A mapping under a lease, and making its stores durable. */
#include <errno.h>
#include <fcntl.h>
#include <libpmem.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildconf.h"
#include "lib_private.h"

struct mapdirect_map {
	void *addr;
	size_t len;
	int fd;			/* our dup of the leased open file */
	uint64_t lease_id;
	bool is_pmem;		/* the backing file is DAX: this is the media */
	bool userflush;		/* a CPU flush persists, until a break starts */
	bool own_lease;		/* we took it: unmap ends it */
	bool watching;		/* @ring has a POLLPRI poll on @fd */
	struct io_uring ring;
};

/* The daemon's word on DAX (statx of a FUSE file does not carry it). */
static bool file_is_dax(int fd)
{
	char *val;
	bool dax;

	if (mdc_xattr(NULL, fd, MDC_XATTR("dax"), &val, NULL))
		return false;
	dax = val[0] == '1';
	free(val);
	return dax;
}

/*
 * Watch @m->fd for the start of a break without a system call per
 * persist: a POLLPRI poll on an io_uring of our own, whose completion
 * mapdirect_persist() reads from the shared ring. A break started before
 * the poll was armed completes it at once.
 * @return true if armed
 */
static bool watch_breaks(struct mapdirect_map *m)
{
	struct io_uring_sqe *sqe;

	if (io_uring_queue_init(1, &m->ring, 0))
		return false;
	sqe = io_uring_get_sqe(&m->ring);
	if (sqe) {
		io_uring_prep_poll_add(sqe, m->fd, POLLPRI);
		if (io_uring_submit(&m->ring) == 1)
			return m->watching = true;
	}
	io_uring_queue_exit(&m->ring);
	return false;
}

/*
 * [0, *@len) is in the regular file of @fd; a @len of 0 becomes its size.
 * @return 0 or -errno (-EINVAL: not a regular file, empty, too short)
 */
static int check_len(int fd, size_t *len)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (!*len)
		*len = (size_t)st.st_size;
	if (!*len || (off_t)*len < 0 || (off_t)*len > st.st_size)
		return -EINVAL;
	return 0;
}

/* mmap(2) would refuse @prot on the open file of @fd: -EACCES, else 0 */
static int check_access(int fd, int prot)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl &= O_ACCMODE;
	if (fl == O_WRONLY || ((prot & PROT_WRITE) && fl != O_RDWR))
		return -EACCES;
	return 0;
}

/* Was lease @id among the file's leases in @before? */
static bool lease_listed(struct mapdirect_ctx *before, uint64_t id)
{
	struct mapdirect_lease_entry *l;

	mapdirect_lease_foreach(before, l)
		if (mapdirect_lease_get_id(l) == id)
			return true;
	return false;
}

/*
 * The lease through the open file of @fd: a new one, or the one it already
 * holds (the caller's, which we must never end). GETLEASE names a lease of
 * this process on the file, not of this open file: when there is one, the
 * file's leases from before tell whether LEASE gave back an old one.
 * @return 0 or -errno
 */
static int lease_open_file(struct mapdirect_map *m, unsigned int flags,
			   int signo, uint32_t *out_flags)
{
	struct mapdirect_lease_info info;
	struct mapdirect_ctx *before = NULL;
	int ret;

	ret = mapdirect_getlease(m->fd, &info);
	if (ret)
		return ret;
	if (info.lease_id) {
		ret = mapdirect_new(&before);
		if (!ret)
			ret = mdc_leases_load_fd(before, m->fd);
		if (ret < 0) {
			mapdirect_unref(before);
			return ret;
		}
	}
	ret = mdc_lease(m->fd, flags, signo, &m->lease_id, out_flags);
	if (!ret)
		m->own_lease = !before || !lease_listed(before, m->lease_id);
	mapdirect_unref(before);
	return ret;
}

int mapdirect_map_file(int fd, size_t len, int prot, unsigned int lease_flags,
		       int signo, struct mapdirect_map **out)
{
	struct mapdirect_map *m;
	uint32_t out_flags = 0;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (fd < 0)
		return -EBADF;
	if (!(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* the same open file, ours to keep: the caller may close @fd */
	m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (m->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	/* no lease for a mapping that cannot be made: nothing to undo */
	ret = check_access(m->fd, prot);
	if (!ret)
		ret = check_len(m->fd, &len);
	if (ret)
		goto err_close;
	ret = lease_open_file(m, lease_flags, signo, &out_flags);
	if (ret)
		goto err_close;
	/* it may have shrunk before the lease; not after, without a break */
	ret = check_len(m->fd, &len);
	if (ret)
		goto err_unlease;
	/* MAP_SYNC is refused on FUSE files (EOPNOTSUPP): the lease does it */
	m->addr = mmap(NULL, len, prot, MAP_SHARED, m->fd, 0);
	if (m->addr == MAP_FAILED) {
		ret = -errno;
		goto err_unlease;
	}
	m->len = len;
	m->is_pmem = file_is_dax(m->fd);
	/* the grant's word: DAX, and the block map durable before it */
	m->userflush = (out_flags & MAPDIRECT_OUT_USERFLUSH) &&
		       (prot & PROT_WRITE) && watch_breaks(m);
	*out = m;
	return 0;

err_unlease:
	if (m->own_lease)
		mapdirect_unlease(m->fd);
err_close:
	close(m->fd);
err_free:
	free(m);
	return ret;
}

void *mapdirect_map_addr(const struct mapdirect_map *map)
{
	return map ? map->addr : NULL;
}

size_t mapdirect_map_len(const struct mapdirect_map *map)
{
	return map ? map->len : 0;
}

uint64_t mapdirect_map_lease_id(const struct mapdirect_map *map)
{
	return map ? map->lease_id : 0;
}

bool mapdirect_map_is_pmem(const struct mapdirect_map *map)
{
	return map && map->is_pmem;
}

/* Has a break started? Reads the ring's completion queue, no request. */
static bool break_seen(struct mapdirect_map *map)
{
	return io_uring_cq_ready(&map->ring) > 0;
}

bool mapdirect_map_userflush(struct mapdirect_map *map)
{
	if (map && map->userflush && break_seen(map))
		map->userflush = false;
	return map && map->userflush;
}

int mapdirect_break_fd(const struct mapdirect_map *map)
{
	return map ? map->fd : -EINVAL;
}

int mapdirect_persist(struct mapdirect_map *map, size_t off, size_t len)
{
	uintptr_t start, end, page;

	if (!map || off > map->len || len > map->len - off)
		return -EINVAL;
	if (!len)
		return 0;
	if (mapdirect_map_userflush(map)) {
		pmem_persist((char *)map->addr + off, len);
		return 0;
	}
	/* msync wants a page-aligned start; the mapping itself is one */
	page = (uintptr_t)sysconf(_SC_PAGESIZE);
	start = ((uintptr_t)map->addr + off) & ~(page - 1);
	end = (uintptr_t)map->addr + off + len;
	if (msync((void *)start, end - start, MS_SYNC))
		return -errno;
	return 0;
}

int mapdirect_unmap(struct mapdirect_map *map)
{
	int ret = 0, err;

	if (!map)
		return 0;
	/* unmap first: once the lease ends a breaker goes ahead */
	if (munmap(map->addr, map->len))
		ret = -errno;
	/* a lease the open file held before map_file stays the caller's */
	if (map->own_lease) {
		err = mapdirect_unlease(map->fd);
		if (!ret)
			ret = err;
	}
	if (map->watching)
		io_uring_queue_exit(&map->ring);
	close(map->fd);
	free(map);
	return ret;
}
