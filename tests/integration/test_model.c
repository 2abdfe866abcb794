// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Model-based test (SPEC 3): a seeded sequence of operations — write,
 * pwrite at random offsets, truncate, fallocate, mmap stores and loads,
 * rename, link, unlink — run through the mount and checked after every
 * step against an in-memory model and against the backing files. Every
 * name is resolved beneath the mount's (or BACKING's) root with openat2()
 * or an *at() call on it: whatever the daemon answers, the test itself
 * never leaves its temp dir (issue 11).
 *
 * A failure names its seed and step; replay it with
 *   MDFS_MODEL_SEED=<seed> build/tests/mdfs-tests --filter model_devfuse/random_ops_match_model_and_backing
 * MDFS_MODEL_FIRST=F, MDFS_MODEL_SEEDS=N and MDFS_MODEL_STEPS=N run seeds
 * F..F+N-1 with N steps each: scripts/soak.sh runs long soaks in shards that
 * fit the per-test timeout. Both mediate= modes, both transports.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NAMES 5
#define INODES 16
#define MAX_SIZE (256 * 1024)

struct minode {
	bool used;
	int links;
	size_t size;
	unsigned char *data;	/* MAX_SIZE bytes, beyond size: zeros */
};

struct model {
	int name[NAMES];	/* inode index, -1: no such name */
	struct minode ino[INODES];
	uint64_t rng;
	unsigned long long seed;
	int step;
	const char *op;
	struct mdfs_fs *fs;
	/* O_PATH fds of the mount's root and BACKING: every name is
	 * resolved beneath one of them (issue 11) */
	int root, broot;
};

static uint32_t rnd(struct model *m)
{
	/* xorshift64*: the same sequence for a seed, everywhere */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return (uint32_t)((m->rng * 2685821657736338717ULL) >> 32);
}

static uint32_t below(struct model *m, uint32_t n)
{
	return n ? rnd(m) % n : 0;
}

#define CHECK(m, cond, fmt, ...)                                            \
	cr_assert(cond, "seed %llu step %d (%s): " fmt, (m)->seed, (m)->step, \
		  (m)->op, ##__VA_ARGS__)

static const char *name(int n)
{
	static char buf[NAMES][16];

	snprintf(buf[n], sizeof(buf[n]), "n%d", n);
	return buf[n];
}

/* open n@n of the mount (or of BACKING) beneath its root */
static int open_name(struct model *m, bool backing, int n, int flags)
{
	return mdfs_openat_beneath(backing ? m->broot : m->root, name(n),
				   flags | O_CLOEXEC, 0644);
}

static int new_inode(struct model *m)
{
	for (int i = 0; i < INODES; i++) {
		if (m->ino[i].used)
			continue;
		m->ino[i].used = true;
		m->ino[i].links = 0;
		m->ino[i].size = 0;
		memset(m->ino[i].data, 0, MAX_SIZE);
		return i;
	}
	return -1;
}

static void drop_link(struct model *m, int n)
{
	int i = m->name[n];

	m->name[n] = -1;
	if (i >= 0 && --m->ino[i].links == 0)
		m->ino[i].used = false;
}

/* Both views of every name equal the model. */
static void verify(struct model *m)
{
	static unsigned char buf[MAX_SIZE + 1];

	for (int n = 0; n < NAMES; n++) {
		const char *paths[2] = { mdfs_mpath(m->fs, "n%d", n),
					 mdfs_bpath(m->fs, "n%d", n) };

		for (int v = 0; v < 2; v++) {
			int fd = open_name(m, v == 1, n, O_RDONLY);
			struct minode *mi;
			ssize_t got;

			if (m->name[n] < 0) {
				CHECK(m, fd < 0 && errno == ENOENT,
				      "%s exists, the model has no n%d",
				      paths[v], n);
				continue;
			}
			CHECK(m, fd >= 0, "open %s: %s", paths[v], strerror(errno));
			mi = &m->ino[m->name[n]];
			got = pread(fd, buf, sizeof(buf), 0);
			close(fd);
			CHECK(m, got == (ssize_t)mi->size,
			      "%s has %zd bytes, the model %zu", paths[v], got,
			      mi->size);
			CHECK(m, !memcmp(buf, mi->data, mi->size),
			      "%s differs from the model", paths[v]);
		}
	}
}

static int pick_name(struct model *m, bool existing)
{
	int start = (int)below(m, NAMES);

	for (int k = 0; k < NAMES; k++) {
		int n = (start + k) % NAMES;

		if ((m->name[n] >= 0) == existing)
			return n;
	}
	return -1;
}

static void mop_write(struct model *m)
{
	static unsigned char buf[65536];
	int n = (int)below(m, NAMES), fd, i;
	size_t off, len;
	struct minode *mi;

	m->op = "pwrite";
	if (m->name[n] < 0) {
		i = new_inode(m);
		if (i < 0)
			return;
		m->name[n] = i;
		m->ino[i].links = 1;
	}
	mi = &m->ino[m->name[n]];
	off = below(m, MAX_SIZE - 1);
	len = 1 + below(m, (uint32_t)(sizeof(buf) < MAX_SIZE - off ?
					     sizeof(buf) : MAX_SIZE - off));
	mdfs_fill(buf, len, rnd(m));
	fd = open_name(m, false, n, O_WRONLY | O_CREAT);
	CHECK(m, fd >= 0, "open n%d: %s", n, strerror(errno));
	mdfs_pwrite_all(fd, buf, len, (off_t)off);
	close(fd);
	memcpy(mi->data + off, buf, len);
	if (off + len > mi->size)
		mi->size = off + len;
}

static void mop_truncate(struct model *m)
{
	int n = pick_name(m, true);
	char procfd[64];
	struct minode *mi;
	size_t size;
	int fd, r;

	m->op = "truncate";
	if (n < 0)
		return;
	mi = &m->ino[m->name[n]];
	size = below(m, MAX_SIZE);
	/* truncate(2) by path (a SETATTR without a file), of the inode
	 * found beneath the root */
	fd = open_name(m, false, n, O_PATH);
	CHECK(m, fd >= 0, "open n%d: %s", n, strerror(errno));
	snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
	r = truncate(procfd, (off_t)size);
	close(fd);
	CHECK(m, r == 0, "%s", strerror(errno));
	if (size < mi->size)
		memset(mi->data + size, 0, mi->size - size);
	mi->size = size;
}

static void mop_fallocate(struct model *m)
{
	static const int modes[] = {
		0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	};
	int n = pick_name(m, true), mode, fd;
	struct minode *mi;
	size_t off, len;

	m->op = "fallocate";
	if (n < 0)
		return;
	mi = &m->ino[m->name[n]];
	mode = modes[below(m, 3)];
	off = below(m, MAX_SIZE - 1);
	len = 1 + below(m, (uint32_t)(MAX_SIZE - off));
	fd = open_name(m, false, n, O_RDWR);
	CHECK(m, fd >= 0, "open: %s", strerror(errno));
	CHECK(m, fallocate(fd, mode, (off_t)off, (off_t)len) == 0,
	      "fallocate mode %d %zu+%zu: %s", mode, off, len, strerror(errno));
	close(fd);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		size_t end = off + len < mi->size ? off + len : mi->size;

		if (off < end)
			memset(mi->data + off, 0, end - off);
	} else if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > mi->size) {
		mi->size = off + len;
	}
}

static void mop_mmap(struct model *m)
{
	int n = pick_name(m, true), fd;
	struct minode *mi;
	size_t off, len;
	unsigned char *p;

	m->op = "mmap store/load";
	if (n < 0)
		return;
	mi = &m->ino[m->name[n]];
	if (!mi->size)
		return;
	fd = open_name(m, false, n, O_RDWR);
	CHECK(m, fd >= 0, "open: %s", strerror(errno));
	p = mmap(NULL, mi->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m, p != MAP_FAILED, "mmap %zu: %s", mi->size, strerror(errno));
	close(fd);
	/* a load first: the mapping shows what the model says */
	off = below(m, (uint32_t)mi->size);
	CHECK(m, p[off] == mi->data[off], "load at %zu: %u, model %u", off,
	      p[off], mi->data[off]);
	len = 1 + below(m, (uint32_t)(mi->size - off < 4096 ? mi->size - off :
							   4096));
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)rnd(m);

		p[off + k] = c;
		mi->data[off + k] = c;
	}
	munmap(p, mi->size);
}

static void mop_rename(struct model *m)
{
	int from = pick_name(m, true), to = (int)below(m, NAMES);

	m->op = "rename";
	if (from < 0 || from == to)
		return;
	CHECK(m, renameat(m->root, name(from), m->root, name(to)) == 0 ||
		 (m->name[to] >= 0 && m->name[to] == m->name[from]),
	      "n%d -> n%d: %s", from, to, strerror(errno));
	/* renaming a name onto another link of the same inode: no-op */
	if (m->name[to] >= 0 && m->name[to] == m->name[from])
		return;
	if (m->name[to] >= 0)
		drop_link(m, to);
	m->name[to] = m->name[from];
	m->name[from] = -1;
}

static void mop_link(struct model *m)
{
	int from = pick_name(m, true), to = pick_name(m, false);

	m->op = "link";
	if (from < 0 || to < 0)
		return;
	CHECK(m, linkat(m->root, name(from), m->root, name(to), 0) == 0,
	      "n%d -> n%d: %s",
	      from, to, strerror(errno));
	m->name[to] = m->name[from];
	m->ino[m->name[to]].links++;
}

static void mop_unlink(struct model *m)
{
	int n = pick_name(m, true);

	m->op = "unlink";
	if (n < 0)
		return;
	CHECK(m, unlinkat(m->root, name(n), 0) == 0, "n%d: %s", n,
	      strerror(errno));
	drop_link(m, n);
}

static void run_seed(struct mdfs_fs *fs, unsigned long long seed, int steps)
{
	static void (*const ops[])(struct model *) = {
		mop_write, mop_write, mop_write,
		mop_truncate, mop_fallocate, mop_mmap, mop_mmap, mop_rename,
		mop_link, mop_unlink,
	};
	struct model *m = calloc(1, sizeof(*m));

	cr_assert_not_null(m);
	m->fs = fs;
	m->root = open(fs->mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	m->broot = open(fs->backing, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert(m->root >= 0 && m->broot >= 0, "open roots: %s",
		  strerror(errno));
	m->seed = seed;
	m->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (int n = 0; n < NAMES; n++)
		m->name[n] = -1;
	for (int i = 0; i < INODES; i++) {
		m->ino[i].data = calloc(1, MAX_SIZE);
		cr_assert_not_null(m->ino[i].data);
	}
	for (m->step = 0; m->step < steps; m->step++) {
		ops[below(m, sizeof(ops) / sizeof(ops[0]))](m);
		verify(m);
	}
	/* leave the next seed an empty directory */
	for (int n = 0; n < NAMES; n++)
		if (m->name[n] >= 0)
			unlinkat(m->root, name(n), 0);
	for (int i = 0; i < INODES; i++)
		free(m->ino[i].data);
	close(m->root);
	close(m->broot);
	free(m);
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

MDFS_LEASE_TEST(model, random_ops_match_model_and_backing, NULL)
{
	const char *one = getenv("MDFS_MODEL_SEED");
	int first = env_int("MDFS_MODEL_FIRST", 1);
	int seeds = env_int("MDFS_MODEL_SEEDS", 3);
	int steps = env_int("MDFS_MODEL_STEPS", 150);

	if (one && *one) {
		run_seed(fs, strtoull(one, NULL, 0), steps);
		return;
	}
	for (int s = first; s < first + seeds; s++)
		run_seed(fs, (unsigned long long)s, steps);
}
