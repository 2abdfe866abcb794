// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 2: "mount -t fuse.mapdirectfs" (and so /etc/fstab) goes through
 * fuse3's mount.fuse3, which starts "mapdirectfs" from PATH with the
 * options mount(8) hands it. Run mount.fuse3 the way mount(8) does, with
 * the built daemon first in PATH: nothing is installed system-wide.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int mount_helper(struct mdfs_fs *fs, const char *opts)
{
	char bin[PATH_MAX], path[PATH_MAX * 2], o[512];
	pid_t pid;
	int st;

	mdfs_pathf(bin, "%s/bin", fs->tmp);
	cr_assert(mkdir(bin, 0755) == 0 || errno == EEXIST);
	mdfs_pathf(path, "%s/mapdirectfs", bin);
	if (symlink(mdfs_bin(), path) && errno != EEXIST)
		cr_assert_fail("symlink %s: %s", path, strerror(errno));
	snprintf(o, sizeof(o), "%s,%s", fs->transport, opts);
	snprintf(path, sizeof(path), "%s:%s", bin, getenv("PATH") ?: "/usr/bin:/bin");

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setenv("PATH", path, 1);
		execlp("mount.fuse3", "mount.fuse3", fs->backing, fs->mnt,
		       "-t", "mapdirectfs", "-o", o, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

MDFS_TEST_NOMOUNT(mount_helper, mount_t_fuse_mapdirectfs_mounts)
{
	char fstype[64];
	int st = mount_helper(fs, "rw,nosuid,lease_break_time=1,revoke=none");

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "mount.fuse3 wait status 0x%x", st);
	cr_assert(mdfs_mountinfo(fs->mnt, fstype, sizeof(fstype), NULL, 0),
		  "not mounted");
	cr_assert_str_eq(fstype, "fuse.mapdirectfs");
	mdfs_write_file(mdfs_mpath(fs, "f"), "via mount", 9);
	mdfs_assert_same_file(mdfs_mpath(fs, "f"), mdfs_bpath(fs, "f"));
}

MDFS_TEST_NOMOUNT(mount_helper, bad_option_fails_and_mounts_nothing)
{
	int st = mount_helper(fs, "revoke=maybe");

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0,
		  "mount.fuse3 wait status 0x%x, expected a failure", st);
	cr_assert_not(mdfs_is_mounted(fs->mnt));
}
