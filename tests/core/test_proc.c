// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What core/ reads of a caller from /proc (SPEC 4.1). A caller outside the
 * daemon's pid namespace arrives with pid 0: it has no capabilities and
 * no process we can name, never the daemon's own (issue 13 finding 2).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "proc.h"

/* CapEff of this process, read the long way */
static unsigned long long own_caps(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long v = 0;
	char line[256];

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

Test(core_proc, pid_zero_has_no_capabilities)
{
	uint64_t caps = 1;

	cr_assert_eq(md_caps_effective(0, &caps), -ESRCH);
	cr_assert_eq(md_caps_effective(-1, &caps), -ESRCH);
	for (unsigned int cap = 0; cap <= CAP_LAST_CAP; cap++)
		cr_assert_not(md_caps_has(0, cap), "pid 0 has capability %u",
			      cap);
}

Test(core_proc, a_caller_is_read_by_its_pid)
{
	uint64_t caps;

	cr_assert_eq(md_caps_effective(getpid(), &caps), 0);
	cr_assert_eq(caps, own_caps());
	for (unsigned int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		bool want = own_caps() & (1ULL << cap);

		cr_assert_eq(md_caps_self(cap), want, "capability %u", cap);
		cr_assert_eq(md_caps_has(getpid(), cap), want);
	}
}

Test(core_proc, pid_zero_is_no_process)
{
	char comm[16];

	cr_assert_eq(md_proc_tgid(0), -ESRCH);
	cr_assert_eq(md_proc_tgid(getpid()), getpid());
	cr_assert_lt(md_proc_pending(0), 0);
	cr_assert_lt(md_census_maps(0, 0, 0, 0), 0);
	md_proc_comm(0, comm);
	cr_assert_str_eq(comm, "?");
}
