// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAX detection must answer as the machine does (issue 12): a file in
 * $MDFS_TMPDIR (default /tmp; a DAX filesystem under make test-dax) is DAX
 * exactly where statx, the mount's dax= option and the pages behind a
 * mapping of it say so (tests/integration/dax_truth.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../integration/dax_truth.h"
#include "dax.h"

static const char *tmpdir(void)
{
	const char *env = getenv("MDFS_TMPDIR");

	return env && *env ? env : "/tmp";
}

Test(core_dax, tmp_file_answers_as_the_machine)
{
	char path[PATH_MAX], buf[8192];
	int fd;

	snprintf(path, sizeof(path), "%s/mdfs-unit.XXXXXX", tmpdir());
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp %s: %s", path, strerror(errno));
	memset(buf, 'd', sizeof(buf));
	cr_assert_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	cr_assert_eq(fsync(fd), 0);
	/* statx, the mount's option and the mapped page agree on this */
	cr_assert_eq(md_dax_fd(fd), mdfs_file_is_dax(path), "%s", path);
	unlink(path);
	close(fd);
}

Test(core_dax, dir_probe_leaves_nothing_behind)
{
	char dir[PATH_MAX];
	bool dax;
	int dfd;

	snprintf(dir, sizeof(dir), "%s/mdfs-unit.XXXXXX", tmpdir());
	cr_assert(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
	/* what a real file made there is, before the probe */
	dax = mdfs_dir_is_dax(dir);
	dfd = open(dir, O_PATH | O_DIRECTORY);
	cr_assert_geq(dfd, 0);
	cr_assert_eq(md_dax_dir_probe(dfd), dax, "%s", dir);
	close(dfd);
	/* rmdir only succeeds on an empty directory */
	cr_assert_eq(rmdir(dir), 0);
}

Test(core_dax, bad_fd_is_an_error)
{
	cr_assert_eq(md_dax_fd(-1), -EBADF);
	cr_assert_lt(md_dax_dir_probe(-1), 0);
}
