// SPDX-License-Identifier: LGPL-2.1-or-later
/* A mapping under a lease, and making its stores durable. */
#include <errno.h>
#include <fcntl.h>
#include <libpmem.h>
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
	bool is_pmem;		/* pmem_is_pmem(): persist by flushing */
	bool own_lease;		/* we took it: unmap ends it */
};

#ifdef HAVE_MAP_SYNC
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

static void *map_range(int fd, size_t len, int prot)
{
	void *addr;

	/*
	 * MAP_SYNC makes the block map durable at fault time, so that a
	 * cache flush alone persists a store. The kernel refuses it where
	 * the file cannot (EOPNOTSUPP; a FUSE file always, for now).
	 */
	if ((prot & PROT_WRITE) && file_is_dax(fd)) {
		addr = mmap(NULL, len, prot, MAP_SHARED_VALIDATE | MAP_SYNC,
			    fd, 0);
		if (addr != MAP_FAILED)
			return addr;
	}
	return mmap(NULL, len, prot, MAP_SHARED, fd, 0);
}
#else
static void *map_range(int fd, size_t len, int prot)
{
	return mmap(NULL, len, prot, MAP_SHARED, fd, 0);
}
#endif

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
			   int signo)
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
	ret = mapdirect_lease(m->fd, flags, signo, &m->lease_id);
	if (!ret)
		m->own_lease = !before || !lease_listed(before, m->lease_id);
	mapdirect_unref(before);
	return ret;
}

int mapdirect_map_file(int fd, size_t len, int prot, unsigned int lease_flags,
		       int signo, struct mapdirect_map **out)
{
	struct mapdirect_map *m;
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
	ret = lease_open_file(m, lease_flags, signo);
	if (ret)
		goto err_close;
	/* it may have shrunk before the lease; not after, without a break */
	ret = check_len(m->fd, &len);
	if (ret)
		goto err_unlease;
	m->addr = map_range(m->fd, len, prot);
	if (m->addr == MAP_FAILED) {
		ret = -errno;
		goto err_unlease;
	}
	m->len = len;
	m->is_pmem = pmem_is_pmem(m->addr, len) == 1;
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
	if (map->is_pmem) {
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
	close(map->fd);
	free(map);
	return ret;
}
