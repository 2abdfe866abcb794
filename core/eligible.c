// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dax.h"
#include "eligible.h"

#define EXTENTS_PER_CALL 64

/* The first hole in [from, size), or -1 when there is none. */
static int first_hole(int fd, off_t from, off_t size, off_t *start,
		      off_t *len)
{
	off_t hole, data;

	if (from >= size)
		return -1;
	hole = lseek(fd, from, SEEK_HOLE);
	if (hole < 0)
		return errno == EINVAL || errno == ENXIO ? -1 : -errno;
	if (hole >= size)
		return -1;
	data = lseek(fd, hole, SEEK_DATA);
	if (data < 0)
		data = size;	/* ENXIO: hole up to the end */
	*start = hole;
	*len = data - hole;
	return 0;
}

/*
 * Walk FIEMAP extents; @fn sees each one and returns non-zero to stop.
 * @return what @fn returned, 0 at the end, -EOPNOTSUPP without FIEMAP.
 */
static int walk_extents(int fd, off_t size,
			int (*fn)(void *arg, const struct fiemap_extent *fe),
			void *arg)
{
	struct fiemap *fm;
	uint64_t start = 0;
	int ret = 0;

	fm = calloc(1, sizeof(*fm) +
			       EXTENTS_PER_CALL * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	while (start < (uint64_t)size) {
		struct fiemap_extent *last;

		memset(fm, 0, sizeof(*fm));
		fm->fm_start = start;
		fm->fm_length = (uint64_t)size - start;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = EXTENTS_PER_CALL;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			ret = -errno;
			break;
		}
		if (!fm->fm_mapped_extents)
			break;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			ret = fn(arg, &fm->fm_extents[i]);
			if (ret)
				goto out;
		}
		last = &fm->fm_extents[fm->fm_mapped_extents - 1];
		if (last->fe_flags & FIEMAP_EXTENT_LAST)
			break;
		start = last->fe_logical + last->fe_length;
	}
out:
	free(fm);
	return ret == -ENOTTY ? -EOPNOTSUPP : ret;
}

struct extent_check {
	char *reason;
	size_t len;
};

static int check_extent(void *arg, const struct fiemap_extent *fe)
{
	struct extent_check *c = arg;

	if (fe->fe_flags & FIEMAP_EXTENT_UNWRITTEN) {
		snprintf(c->reason, c->len, "unwritten extent at %llu+%llu",
			 (unsigned long long)fe->fe_logical,
			 (unsigned long long)fe->fe_length);
		return 1;
	}
	if (fe->fe_flags & FIEMAP_EXTENT_SHARED) {
		snprintf(c->reason, c->len, "shared extents");
		return 1;
	}
	return 0;
}

int md_eligible(int fd, bool require_dax, char *reason, size_t len)
{
	struct extent_check c = { reason, len };
	struct stat st;
	off_t hs, hl;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	ret = first_hole(fd, 0, st.st_size, &hs, &hl);
	if (ret == 0) {
		snprintf(reason, len, "hole at %lld+%lld", (long long)hs,
			 (long long)hl);
		return 0;
	}
	if (ret < -1)
		return ret;
	ret = walk_extents(fd, st.st_size, check_extent, &c);
	if (ret == 1)
		return 0;
	if (ret < 0 && ret != -EOPNOTSUPP)
		return ret;
	if (require_dax) {
		ret = md_dax_fd(fd);
		if (ret < 0)
			return ret;
		if (!ret) {
			snprintf(reason, len, "not dax");
			return 0;
		}
	}
	snprintf(reason, len, "yes");
	return 1;
}

static int zero_range(int fd, off_t start, off_t len)
{
	static const char zeros[65536];

	while (len > 0) {
		size_t n = len < (off_t)sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, start);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		start += w;
		len -= w;
	}
	return 0;
}

static int zero_unwritten(void *arg, const struct fiemap_extent *fe)
{
	int fd = *(int *)arg;

	if (!(fe->fe_flags & FIEMAP_EXTENT_UNWRITTEN))
		return 0;
	return zero_range(fd, (off_t)fe->fe_logical, (off_t)fe->fe_length) ?: 0;
}

/* What md_allocate() allocated, to give back should it fail */
struct ranges {
	struct { off_t off, len; } *r;
	size_t n, cap;
};

static int ranges_add(struct ranges *g, off_t off, off_t len)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		void *grown = realloc(g->r, cap * sizeof(*g->r));

		if (!grown)
			return -ENOMEM;
		g->r = grown;
		g->cap = cap;
	}
	g->r[g->n].off = off;
	g->r[g->n].len = len;
	g->n++;
	return 0;
}

int md_allocate(int fd)
{
	struct ranges got = { 0 };
	struct stat st;
	off_t from = 0, hs, hl;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	/*
	 * Holes first: fallocate() never touches data that is there, so a
	 * write that raced in (the caller excludes those) or a store through
	 * a mapping (nobody can) keeps its bytes. It leaves unwritten
	 * extents on ext4 and xfs, zeroed below. Each range is noted before
	 * it is asked for: a failure half-way gives back all of it.
	 */
	while ((ret = first_hole(fd, from, st.st_size, &hs, &hl)) == 0) {
		ret = ranges_add(&got, hs, hl);
		if (ret)
			goto undo;
		if (fallocate(fd, FALLOC_FL_KEEP_SIZE, hs, hl)) {
			ret = errno == EOPNOTSUPP ? zero_range(fd, hs, hl) :
						    -errno;
			if (ret)
				goto undo;
		}
		from = hs + hl;
	}
	if (ret < -1)
		goto undo;
	/* unwritten extents (the new ones too): written as zeros, which
	 * is what they read as */
	ret = walk_extents(fd, st.st_size, zero_unwritten, &fd);
	if (ret < 0 && ret != -EOPNOTSUPP)
		goto undo;
	free(got.r);
	return 0;

undo:
	for (size_t i = 0; i < got.n; i++)
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      got.r[i].off, got.r[i].len) &&
		    errno != EOPNOTSUPP)
			break;
	free(got.r);
	return ret;
}
