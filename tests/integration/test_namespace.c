// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 namespace operations map 1:1 onto BACKING: create/mknod/mkdir,
 * unlink/rmdir, rename (incl. RENAME_NOREPLACE / RENAME_EXCHANGE), link,
 * symlink/readlink, readdir. Each is done through the mount and checked
 * in BACKING (or the other way round).
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define assert_errno(call, err)						\
	do {								\
		errno = 0;						\
		int r_ = (call);					\
		int e_ = errno;						\
		cr_assert(r_ == -1 && e_ == (err),			\
			  "%s: returned %d, errno %d (%s), expected %s",\
			  #call, r_, e_, strerror(e_), #err);		\
	} while (0)

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void assert_content(const char *path, const char *want)
{
	mdfs_assert_file_is(path, want, strlen(want));
}

MDFS_TEST(namespace, create_excl, NULL)
{
	struct stat st;
	int fd;

	fd = open(mdfs_mpath(fs, "f"), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
		  0640);
	cr_assert_geq(fd, 0, "create: %s", strerror(errno));
	close(fd);
	st = mdfs_lstat(mdfs_bpath(fs, "f"));
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
	assert_errno(open(mdfs_mpath(fs, "f"), O_CREAT | O_EXCL | O_RDWR,
			  0640), EEXIST);
	assert_errno(open(mdfs_mpath(fs, "nodir/f"), O_CREAT | O_RDWR, 0640),
		     ENOENT);
}

MDFS_TEST(namespace, mknod_fifo_and_regular, NULL)
{
	struct stat st;

	/* modes untouched by the umask 022 the fixture sets */
	cr_assert_eq(mkfifo(mdfs_mpath(fs, "p"), 0640), 0, "mkfifo: %s",
		     strerror(errno));
	st = mdfs_lstat(mdfs_bpath(fs, "p"));
	cr_assert(S_ISFIFO(st.st_mode), "backing mode %o", st.st_mode);
	cr_assert_eq(st.st_mode & 07777, 0640, "backing mode %o",
		     st.st_mode & 07777);

	cr_assert_eq(mknod(mdfs_mpath(fs, "r"), S_IFREG | 0600, 0), 0,
		     "mknod S_IFREG: %s", strerror(errno));
	st = mdfs_lstat(mdfs_bpath(fs, "r"));
	cr_assert(S_ISREG(st.st_mode), "backing mode %o", st.st_mode);
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(st.st_size, 0);
	assert_errno(mkfifo(mdfs_mpath(fs, "r"), 0600), EEXIST);
}

MDFS_TEST(namespace, mkdir, NULL)
{
	struct stat st;

	cr_assert_eq(mkdir(mdfs_mpath(fs, "d"), 0750), 0, "mkdir: %s",
		     strerror(errno));
	cr_assert_eq(mkdir(mdfs_mpath(fs, "d/e"), 0700), 0, "mkdir: %s",
		     strerror(errno));
	st = mdfs_lstat(mdfs_bpath(fs, "d"));
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0750);
	st = mdfs_lstat(mdfs_bpath(fs, "d/e"));
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700);
	assert_errno(mkdir(mdfs_mpath(fs, "d"), 0755), EEXIST);
	assert_errno(mkdir(mdfs_mpath(fs, "x/y"), 0755), ENOENT);
}

MDFS_TEST(namespace, unlink_and_rmdir, NULL)
{
	mdfs_write_file(mdfs_bpath(fs, "f"), "f", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "full"), 0755), 0);
	mdfs_write_file(mdfs_bpath(fs, "full/x"), "x", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "empty"), 0755), 0);

	cr_assert_eq(unlink(mdfs_mpath(fs, "f")), 0, "unlink: %s",
		     strerror(errno));
	cr_assert_not(exists(mdfs_bpath(fs, "f")));
	assert_errno(rmdir(mdfs_mpath(fs, "full")), ENOTEMPTY);
	cr_assert(exists(mdfs_bpath(fs, "full/x")));
	cr_assert_eq(rmdir(mdfs_mpath(fs, "empty")), 0, "rmdir: %s",
		     strerror(errno));
	cr_assert_not(exists(mdfs_bpath(fs, "empty")));
	assert_errno(unlink(mdfs_mpath(fs, "full")), EISDIR);
	assert_errno(rmdir(mdfs_mpath(fs, "full/x")), ENOTDIR);
	assert_errno(unlink(mdfs_mpath(fs, "missing")), ENOENT);
	cr_assert_eq(unlink(mdfs_mpath(fs, "full/x")), 0);
	cr_assert_eq(rmdir(mdfs_mpath(fs, "full")), 0);
	cr_assert_not(exists(mdfs_bpath(fs, "full")));
}

MDFS_TEST(namespace, unlinked_open_file_stays_usable, NULL)
{
	char got[5];
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "hello", 5);
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open: %s", strerror(errno));
	cr_assert_eq(unlink(mdfs_mpath(fs, "f")), 0);
	cr_assert_not(exists(mdfs_bpath(fs, "f")));
	cr_assert_eq(pread(fd, got, 5, 0), 5, "read after unlink: %s",
		     strerror(errno));
	cr_assert_eq(memcmp(got, "hello", 5), 0);
	cr_assert_eq(pwrite(fd, "J", 1, 0), 1, "write after unlink: %s",
		     strerror(errno));
	close(fd);
}

MDFS_TEST(namespace, rename_moves_and_replaces, NULL)
{
	mdfs_write_file(mdfs_bpath(fs, "a"), "A", 1);
	mdfs_write_file(mdfs_bpath(fs, "c"), "C", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d/sub"), 0755), 0);

	cr_assert_eq(rename(mdfs_mpath(fs, "a"), mdfs_mpath(fs, "d/b")), 0,
		     "rename: %s", strerror(errno));
	cr_assert_not(exists(mdfs_bpath(fs, "a")));
	assert_content(mdfs_bpath(fs, "d/b"), "A");
	/* over an existing file */
	cr_assert_eq(rename(mdfs_mpath(fs, "d/b"), mdfs_mpath(fs, "c")), 0,
		     "rename over: %s", strerror(errno));
	assert_content(mdfs_bpath(fs, "c"), "A");
	cr_assert_not(exists(mdfs_bpath(fs, "d/b")));
	/* a directory with contents */
	cr_assert_eq(rename(mdfs_mpath(fs, "d"), mdfs_mpath(fs, "e")), 0,
		     "rename dir: %s", strerror(errno));
	cr_assert(S_ISDIR(mdfs_lstat(mdfs_bpath(fs, "e/sub")).st_mode));
	cr_assert_not(exists(mdfs_bpath(fs, "d")));
	/* the new name works through the mount */
	cr_assert(S_ISDIR(mdfs_lstat(mdfs_mpath(fs, "e/sub")).st_mode));
	assert_errno(rename(mdfs_mpath(fs, "missing"), mdfs_mpath(fs, "x")),
		     ENOENT);
}

MDFS_TEST(namespace, rename_noreplace, NULL)
{
	mdfs_write_file(mdfs_bpath(fs, "a"), "A", 1);
	mdfs_write_file(mdfs_bpath(fs, "b"), "B", 1);

	assert_errno(renameat2(AT_FDCWD, mdfs_mpath(fs, "a"), AT_FDCWD,
			       mdfs_mpath(fs, "b"), RENAME_NOREPLACE),
		     EEXIST);
	assert_content(mdfs_bpath(fs, "a"), "A");
	assert_content(mdfs_bpath(fs, "b"), "B");

	cr_assert_eq(renameat2(AT_FDCWD, mdfs_mpath(fs, "a"), AT_FDCWD,
			       mdfs_mpath(fs, "c"), RENAME_NOREPLACE), 0,
		     "RENAME_NOREPLACE to a free name: %s", strerror(errno));
	cr_assert_not(exists(mdfs_bpath(fs, "a")));
	assert_content(mdfs_bpath(fs, "c"), "A");
}

MDFS_TEST(namespace, rename_exchange, NULL)
{
	ino_t ia, ib;

	mdfs_write_file(mdfs_bpath(fs, "a"), "A", 1);
	mdfs_write_file(mdfs_bpath(fs, "b"), "B", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	ia = mdfs_lstat(mdfs_bpath(fs, "a")).st_ino;
	ib = mdfs_lstat(mdfs_bpath(fs, "b")).st_ino;

	cr_assert_eq(renameat2(AT_FDCWD, mdfs_mpath(fs, "a"), AT_FDCWD,
			       mdfs_mpath(fs, "b"), RENAME_EXCHANGE), 0,
		     "RENAME_EXCHANGE: %s", strerror(errno));
	assert_content(mdfs_bpath(fs, "a"), "B");
	assert_content(mdfs_bpath(fs, "b"), "A");
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "a")).st_ino, ib);
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "b")).st_ino, ia);
	/* through the mount too, not just the backing */
	assert_content(mdfs_mpath(fs, "a"), "B");

	/* a file with a directory */
	cr_assert_eq(renameat2(AT_FDCWD, mdfs_mpath(fs, "a"), AT_FDCWD,
			       mdfs_mpath(fs, "d"), RENAME_EXCHANGE), 0,
		     "RENAME_EXCHANGE file/dir: %s", strerror(errno));
	cr_assert(S_ISDIR(mdfs_lstat(mdfs_bpath(fs, "a")).st_mode));
	cr_assert(S_ISREG(mdfs_lstat(mdfs_bpath(fs, "d")).st_mode));
	cr_assert(S_ISDIR(mdfs_lstat(mdfs_mpath(fs, "a")).st_mode));
	assert_errno(renameat2(AT_FDCWD, mdfs_mpath(fs, "b"), AT_FDCWD,
			       mdfs_mpath(fs, "missing"), RENAME_EXCHANGE),
		     ENOENT);
}

MDFS_TEST(namespace, link_shares_inode, NULL)
{
	struct stat m, b;

	mdfs_write_file(mdfs_bpath(fs, "f"), "data", 4);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	cr_assert_eq(link(mdfs_mpath(fs, "f"), mdfs_mpath(fs, "d/g")), 0,
		     "link: %s", strerror(errno));
	b = mdfs_lstat(mdfs_bpath(fs, "d/g"));
	cr_assert_eq(b.st_ino, mdfs_lstat(mdfs_bpath(fs, "f")).st_ino,
		     "backing d/g is not a hard link of f");
	cr_assert_eq(b.st_nlink, 2);
	m = mdfs_lstat(mdfs_mpath(fs, "f"));
	cr_assert_eq(m.st_nlink, 2, "st_nlink %ju through the mount",
		     (uintmax_t)m.st_nlink);
	cr_assert_eq(mdfs_lstat(mdfs_mpath(fs, "d/g")).st_ino, m.st_ino);
	assert_content(mdfs_mpath(fs, "d/g"), "data");

	cr_assert_eq(unlink(mdfs_mpath(fs, "f")), 0);
	cr_assert_eq(mdfs_lstat(mdfs_mpath(fs, "d/g")).st_nlink, 1);
	assert_errno(link(mdfs_mpath(fs, "d/g"), mdfs_mpath(fs, "d/g")),
		     EEXIST);
	assert_errno(link(mdfs_mpath(fs, "d"), mdfs_mpath(fs, "d2")), EPERM);
}

MDFS_TEST(namespace, symlink_and_readlink, NULL)
{
	char got[PATH_MAX], longt[1001];
	ssize_t n;

	cr_assert_eq(symlink("some/target", mdfs_mpath(fs, "l")), 0,
		     "symlink: %s", strerror(errno));
	cr_assert(S_ISLNK(mdfs_lstat(mdfs_bpath(fs, "l")).st_mode));
	n = readlink(mdfs_bpath(fs, "l"), got, sizeof(got));
	cr_assert_eq(n, 11);
	cr_assert_eq(memcmp(got, "some/target", 11), 0);
	n = readlink(mdfs_mpath(fs, "l"), got, sizeof(got));
	cr_assert_eq(n, 11, "readlink through the mount: %zd (%s)", n,
		     strerror(errno));
	cr_assert_eq(memcmp(got, "some/target", 11), 0);

	/* made in the backing, read through the mount */
	memset(longt, 'x', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = '\0';
	cr_assert_eq(symlink(longt, mdfs_bpath(fs, "long")), 0);
	n = readlink(mdfs_mpath(fs, "long"), got, sizeof(got));
	cr_assert_eq(n, 1000, "readlink of a 1000-byte target: %zd", n);
	cr_assert_eq(memcmp(got, longt, 1000), 0);
	/* a short buffer truncates silently */
	cr_assert_eq(readlink(mdfs_mpath(fs, "l"), got, 4), 4);
	cr_assert_eq(memcmp(got, "some", 4), 0);

	mdfs_write_file(mdfs_bpath(fs, "f"), "f", 1);
	assert_errno((int)readlink(mdfs_mpath(fs, "f"), got, sizeof(got)),
		     EINVAL);
	assert_errno(symlink("x", mdfs_mpath(fs, "f")), EEXIST);
}

struct entry {
	char name[256];
	unsigned char type;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

/* Sorted entries of @dir (with "." and "..") */
static struct entry *list_dir(const char *dir, size_t *n)
{
	struct entry *e = NULL;
	struct dirent *de;
	size_t cap = 0;
	DIR *d = opendir(dir);

	cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
	*n = 0;
	while ((de = readdir(d))) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			e = realloc(e, cap * sizeof(*e));
			cr_assert_not_null(e);
		}
		snprintf(e[*n].name, sizeof(e[*n].name), "%s", de->d_name);
		e[*n].type = de->d_type;
		(*n)++;
	}
	closedir(d);
	qsort(e, *n, sizeof(*e), cmp_entry);
	return e;
}

static void assert_same_listing(const char *mdir, const char *bdir)
{
	size_t nm, nb, i;
	struct entry *m = list_dir(mdir, &nm), *b = list_dir(bdir, &nb);

	for (i = 0; i < nm && i < nb; i++) {
		cr_assert_str_eq(m[i].name, b[i].name,
				 "entry %zu: \"%s\" through the mount, "
				 "\"%s\" in BACKING", i, m[i].name, b[i].name);
		/* "..": the mount root's parent is not BACKING's parent */
		if (strcmp(m[i].name, ".."))
			cr_assert_eq(m[i].type, b[i].type,
				     "\"%s\": d_type %d, backing %d",
				     m[i].name, m[i].type, b[i].type);
	}
	cr_assert_eq(nm, nb, "%zu entries through the mount, %zu in BACKING",
		     nm, nb);
	free(m);
	free(b);
}

MDFS_TEST(namespace, readdir_lists_backing_entries, NULL)
{
	int i;

	/* enough entries to need several READDIR(PLUS) replies */
	for (i = 0; i < 300; i++)
		mdfs_write_file(mdfs_bpath(fs, "file with spaces %03d", i),
				"", 0);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "dir"), 0755), 0);
	cr_assert_eq(symlink("dir", mdfs_bpath(fs, "link")), 0);
	cr_assert_eq(mkfifo(mdfs_bpath(fs, "fifo"), 0644), 0);
	mdfs_write_file(mdfs_bpath(fs, "dir/inner"), "", 0);

	assert_same_listing(fs->mnt, fs->backing);
	assert_same_listing(mdfs_mpath(fs, "dir"), mdfs_bpath(fs, "dir"));

	/* later changes in BACKING show in a new listing */
	mdfs_write_file(mdfs_bpath(fs, "dir/added"), "", 0);
	cr_assert_eq(unlink(mdfs_bpath(fs, "dir/inner")), 0);
	assert_same_listing(mdfs_mpath(fs, "dir"), mdfs_bpath(fs, "dir"));
}

MDFS_TEST(namespace, mknod_devices_as_root, NULL)
{
	struct stat b, m;

	/* root may make device nodes; the mount is nodev, so no opening */
	cr_assert_eq(mknod(mdfs_mpath(fs, "null"), S_IFCHR | 0640,
			   makedev(1, 3)), 0, "mknod chr: %s", strerror(errno));
	b = mdfs_lstat(mdfs_bpath(fs, "null"));
	cr_assert(S_ISCHR(b.st_mode), "backing mode %o", b.st_mode);
	cr_assert_eq(b.st_rdev, makedev(1, 3));
	m = mdfs_lstat(mdfs_mpath(fs, "null"));
	cr_assert_eq(m.st_rdev, makedev(1, 3), "st_rdev through the mount "
		     "%u:%u", major(m.st_rdev), minor(m.st_rdev));
	cr_assert_eq(mknod(mdfs_mpath(fs, "blk"), S_IFBLK | 0600,
			   makedev(7, 200)), 0, "mknod blk: %s",
		     strerror(errno));
	b = mdfs_lstat(mdfs_bpath(fs, "blk"));
	cr_assert(S_ISBLK(b.st_mode) && b.st_rdev == makedev(7, 200));
	cr_assert_eq(mknod(mdfs_mpath(fs, "sock"), S_IFSOCK | 0600, 0), 0,
		     "mknod sock: %s", strerror(errno));
	cr_assert(S_ISSOCK(mdfs_lstat(mdfs_bpath(fs, "sock")).st_mode));
}

MDFS_TEST(namespace, rename_type_rules, NULL)
{
	int notempty;

	mdfs_write_file(mdfs_bpath(fs, "f"), "f", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "full"), 0755), 0);
	mdfs_write_file(mdfs_bpath(fs, "full/x"), "x", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "empty"), 0755), 0);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	mdfs_write_file(mdfs_bpath(fs, "d/y"), "y", 1);

	/* over a non-empty directory POSIX allows ENOTEMPTY (ext4, tmpfs)
	 * or EEXIST (xfs): the mount answers as its backing does */
	cr_assert_eq(mkdir(mdfs_bpath(fs, "bd"), 0755), 0);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "bfull"), 0755), 0);
	mdfs_write_file(mdfs_bpath(fs, "bfull/x"), "x", 1);
	cr_assert_eq(rename(mdfs_bpath(fs, "bd"), mdfs_bpath(fs, "bfull")), -1);
	notempty = errno;
	cr_assert(notempty == ENOTEMPTY || notempty == EEXIST, "backing: %s",
		  strerror(notempty));
	cr_assert_eq(unlink(mdfs_bpath(fs, "bfull/x")), 0);
	cr_assert_eq(rmdir(mdfs_bpath(fs, "bfull")), 0);
	cr_assert_eq(rmdir(mdfs_bpath(fs, "bd")), 0);
	assert_errno(rename(mdfs_mpath(fs, "d"), mdfs_mpath(fs, "full")),
		     notempty);
	assert_errno(rename(mdfs_mpath(fs, "f"), mdfs_mpath(fs, "empty")),
		     EISDIR);
	assert_errno(rename(mdfs_mpath(fs, "d"), mdfs_mpath(fs, "f")),
		     ENOTDIR);
	assert_errno(rename(mdfs_mpath(fs, "d"), mdfs_mpath(fs, "d/sub")),
		     EINVAL);
	/* a directory over an empty one */
	cr_assert_eq(rename(mdfs_mpath(fs, "d"), mdfs_mpath(fs, "empty")), 0,
		     "rename dir over empty dir: %s", strerror(errno));
	assert_content(mdfs_bpath(fs, "empty/y"), "y");
	cr_assert_not(exists(mdfs_bpath(fs, "d")));
	assert_content(mdfs_bpath(fs, "full/x"), "x");
}

MDFS_TEST(namespace, seekdir_resumes_listing, NULL)
{
	char first[300][256], again[300][256];
	struct dirent *de;
	long pos;
	int i, n = 0, m = 0;
	DIR *d;

	for (i = 0; i < 250; i++)
		mdfs_write_file(mdfs_bpath(fs, "entry-%03d", i), "", 0);
	d = opendir(fs->mnt);
	cr_assert_not_null(d);
	/* remember where entry 100 starts, read on to the end */
	for (i = 0; i < 100 && (de = readdir(d)); i++)
		;
	pos = telldir(d);
	while ((de = readdir(d)) && n < 300)
		snprintf(first[n++], 256, "%s", de->d_name);
	seekdir(d, pos);
	while ((de = readdir(d)) && m < 300)
		snprintf(again[m++], 256, "%s", de->d_name);
	closedir(d);
	/* 250 files plus "." and ".." */
	cr_assert_eq(n, 252 - 100, "%d entries after the first 100", n);
	cr_assert_eq(m, n, "seekdir back gave %d entries, first pass %d", m,
		     n);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(again[i], first[i], "entry %d after seekdir",
				 i);
}
