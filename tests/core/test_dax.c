// SPDX-License-Identifier: GPL-2.0-or-later
/* DAX detection must answer honestly: this machine has no pmem (dax=0). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "dax.h"

Test(core_dax, regular_tmp_file_is_not_dax)
{
	char path[] = "/tmp/mdfs-unit.XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(md_dax_fd(fd), 0);
	close(fd);
}

Test(core_dax, dir_probe_leaves_nothing_behind)
{
	char dir[] = "/tmp/mdfs-unit.XXXXXX";
	int dfd;

	cr_assert(mkdtemp(dir));
	dfd = open(dir, O_PATH | O_DIRECTORY);
	cr_assert_geq(dfd, 0);
	cr_assert_eq(md_dax_dir_probe(dfd), 0);
	close(dfd);
	/* rmdir only succeeds on an empty directory */
	cr_assert_eq(rmdir(dir), 0);
}

Test(core_dax, bad_fd_is_an_error)
{
	cr_assert_eq(md_dax_fd(-1), -EBADF);
	cr_assert_lt(md_dax_dir_probe(-1), 0);
}
