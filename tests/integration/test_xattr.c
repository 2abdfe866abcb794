// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 3 xattrs (and SPEC 4.4: "All other xattrs pass through to the
 * backing files"): user.* set, get, list and remove through the mount act
 * on the backing file, with the usual errors and size probing.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define assert_errno(call, err)						\
	do {								\
		errno = 0;						\
		long r_ = (long)(call);					\
		int e_ = errno;						\
		cr_assert(r_ == -1 && e_ == (err),			\
			  "%s: returned %ld, errno %d (%s), expected %s",\
			  #call, r_, e_, strerror(e_), #err);		\
	} while (0)

static void assert_xattr(const char *path, const char *name, const void *want,
			 size_t len)
{
	char got[8192];
	ssize_t n = lgetxattr(path, name, got, sizeof(got));

	cr_assert_eq(n, (ssize_t)len, "%s %s: getxattr %zd (%s), expected %zu",
		     path, name, n, n < 0 ? strerror(errno) : "", len);
	cr_assert_eq(memcmp(got, want, len), 0, "%s %s: wrong value", path,
		     name);
}

/* Sorted, NUL-separated names of a listxattr buffer, as one string list */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t names(char *buf, ssize_t len, char **out, size_t max)
{
	size_t n = 0;
	char *p;

	for (p = buf; p < buf + len && n < max; p += strlen(p) + 1)
		out[n++] = p;
	qsort(out, n, sizeof(*out), cmp_str);
	return n;
}

MDFS_TEST(xattr, set_get_remove_pass_to_backing, NULL)
{
	char small[2];
	int fd;

	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	cr_assert_eq(setxattr(mdfs_mpath(fs, "f"), "user.color", "blue", 4, 0),
		     0, "setxattr: %s", strerror(errno));
	assert_xattr(mdfs_bpath(fs, "f"), "user.color", "blue", 4);
	assert_xattr(mdfs_mpath(fs, "f"), "user.color", "blue", 4);

	/* size probe and a short buffer */
	cr_assert_eq(getxattr(mdfs_mpath(fs, "f"), "user.color", NULL, 0), 4,
		     "size probe: %s", strerror(errno));
	assert_errno(getxattr(mdfs_mpath(fs, "f"), "user.color", small,
			      sizeof(small)), ERANGE);
	assert_errno(getxattr(mdfs_mpath(fs, "f"), "user.none", NULL, 0),
		     ENODATA);

	/* create/replace flags */
	assert_errno(setxattr(mdfs_mpath(fs, "f"), "user.color", "red", 3,
			      XATTR_CREATE), EEXIST);
	assert_errno(setxattr(mdfs_mpath(fs, "f"), "user.none", "red", 3,
			      XATTR_REPLACE), ENODATA);
	cr_assert_eq(setxattr(mdfs_mpath(fs, "f"), "user.color", "red", 3,
			      XATTR_REPLACE), 0);
	assert_xattr(mdfs_bpath(fs, "f"), "user.color", "red", 3);

	/* through an fd */
	fd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fsetxattr(fd, "user.fd", "1", 1, 0), 0, "fsetxattr: %s",
		     strerror(errno));
	cr_assert_eq(fgetxattr(fd, "user.color", NULL, 0), 3);
	close(fd);
	assert_xattr(mdfs_bpath(fs, "f"), "user.fd", "1", 1);

	cr_assert_eq(removexattr(mdfs_mpath(fs, "f"), "user.color"), 0,
		     "removexattr: %s", strerror(errno));
	assert_errno(getxattr(mdfs_bpath(fs, "f"), "user.color", NULL, 0),
		     ENODATA);
	assert_errno(removexattr(mdfs_mpath(fs, "f"), "user.color"), ENODATA);
}

MDFS_TEST(xattr, backing_xattrs_seen_through_mount, NULL)
{
	char val[4000];

	/* binary value with NUL bytes, on a file and a directory */
	mdfs_fill(val, sizeof(val), 9);
	val[0] = val[100] = '\0';
	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	cr_assert_eq(setxattr(mdfs_bpath(fs, "f"), "user.bin", val,
			      sizeof(val), 0), 0);
	cr_assert_eq(setxattr(mdfs_bpath(fs, "d"), "user.dir", "yes", 3, 0), 0);
	assert_xattr(mdfs_mpath(fs, "f"), "user.bin", val, sizeof(val));
	assert_xattr(mdfs_mpath(fs, "d"), "user.dir", "yes", 3);
	cr_assert_eq(setxattr(mdfs_mpath(fs, "d"), "user.dir2", "", 0, 0), 0,
		     "empty value on a dir: %s", strerror(errno));
	assert_xattr(mdfs_bpath(fs, "d"), "user.dir2", "", 0);
}

MDFS_TEST(xattr, listxattr_equals_backing_list, NULL)
{
	char mbuf[4096], bbuf[4096], small[4];
	char *mn[64], *bn[64];
	ssize_t ml, bl;
	size_t nm, nb, i;

	mdfs_write_file(mdfs_bpath(fs, "f"), "x", 1);
	cr_assert_eq(setxattr(mdfs_bpath(fs, "f"), "user.a", "1", 1, 0), 0);
	cr_assert_eq(setxattr(mdfs_mpath(fs, "f"), "user.bb", "2", 1, 0), 0);
	cr_assert_eq(setxattr(mdfs_mpath(fs, "f"), "user.ccc", "3", 1, 0), 0);

	bl = listxattr(mdfs_bpath(fs, "f"), bbuf, sizeof(bbuf));
	cr_assert_gt(bl, 0);
	ml = listxattr(mdfs_mpath(fs, "f"), mbuf, sizeof(mbuf));
	cr_assert_eq(ml, bl, "listxattr through the mount %zd (%s), "
		     "backing %zd", ml, ml < 0 ? strerror(errno) : "", bl);
	cr_assert_eq(listxattr(mdfs_mpath(fs, "f"), NULL, 0), bl,
		     "size probe of listxattr");
	assert_errno(listxattr(mdfs_mpath(fs, "f"), small, sizeof(small)),
		     ERANGE);
	nm = names(mbuf, ml, mn, 64);
	nb = names(bbuf, bl, bn, 64);
	cr_assert_eq(nm, nb);
	for (i = 0; i < nm; i++)
		cr_assert_str_eq(mn[i], bn[i]);
}

/*
 * xattrs of a symlink are the link's own (trusted.* and security.* exist
 * on symlinks; user.* do not, and the kernel answers those itself). Set
 * in BACKING, read through the mount, and the other way round.
 */
MDFS_TEST(xattr, symlink_xattrs_pass_through, NULL)
{
	char buf[64];
	ssize_t n;

	cr_assert_eq(symlink("nowhere", mdfs_bpath(fs, "l")), 0);
	cr_assert_eq(lsetxattr(mdfs_bpath(fs, "l"), "trusted.in", "b", 1, 0),
		     0);
	n = lgetxattr(mdfs_mpath(fs, "l"), "trusted.in", buf, sizeof(buf));
	cr_assert_eq(n, 1, "lgetxattr of the link's trusted.in through the "
		     "mount: %zd (%s)", n, n < 0 ? strerror(errno) : "");
	n = llistxattr(mdfs_mpath(fs, "l"), buf, sizeof(buf));
	cr_assert(n > 0 && memmem(buf, (size_t)n, "trusted.in", 11),
		  "llistxattr of the link through the mount: %zd (%s)", n,
		  n < 0 ? strerror(errno) : "trusted.in not listed");
	cr_assert_eq(lsetxattr(mdfs_mpath(fs, "l"), "trusted.out", "m", 1, 0),
		     0, "lsetxattr on a link through the mount: %s",
		     strerror(errno));
	cr_assert_eq(lgetxattr(mdfs_bpath(fs, "l"), "trusted.out", buf,
			       sizeof(buf)), 1);
	/* user.* on a link: what Linux says, whoever answers */
	assert_errno(lgetxattr(mdfs_mpath(fs, "l"), "user.x", buf,
			       sizeof(buf)), ENODATA);
	assert_errno(lsetxattr(mdfs_mpath(fs, "l"), "user.x", "1", 1, 0),
		     EPERM);
}

/* the mount root is BACKING's root (virtual xattrs are never listed) */
MDFS_TEST(xattr, mount_root_xattrs_are_backings, NULL)
{
	char mbuf[4096], bbuf[4096];
	char *mn[64], *bn[64];
	ssize_t ml, bl;
	size_t nm, nb, i;

	cr_assert_eq(setxattr(fs->mnt, "user.root", "r", 1, 0), 0,
		     "setxattr on the mount root: %s", strerror(errno));
	assert_xattr(fs->backing, "user.root", "r", 1);
	cr_assert_eq(setxattr(fs->backing, "user.back", "b", 1, 0), 0);
	assert_xattr(fs->mnt, "user.back", "b", 1);
	bl = listxattr(fs->backing, bbuf, sizeof(bbuf));
	ml = listxattr(fs->mnt, mbuf, sizeof(mbuf));
	cr_assert_eq(ml, bl, "listxattr of the root %zd (%s), backing %zd", ml,
		     ml < 0 ? strerror(errno) : "", bl);
	nm = names(mbuf, ml, mn, 64);
	nb = names(bbuf, bl, bn, 64);
	cr_assert_eq(nm, nb);
	for (i = 0; i < nm; i++)
		cr_assert_str_eq(mn[i], bn[i]);
	cr_assert_eq(removexattr(fs->mnt, "user.back"), 0);
	assert_errno(getxattr(fs->backing, "user.back", NULL, 0), ENODATA);
}
