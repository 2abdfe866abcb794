// SPDX-License-Identifier: GPL-2.0-or-later
/* SPEC 2: option values are parsed and validated in core/. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

Test(core_config, defaults_follow_spec_2)
{
	struct md_config cfg;

	md_config_init(&cfg);
	cr_assert_eq(cfg.revoke, MD_REVOKE_SIGNAL);
	cr_assert_eq(cfg.dax, MD_AUTO);
	cr_assert_eq(cfg.io_uring, MD_AUTO);
	cr_assert_eq(cfg.passthrough, MD_AUTO);
	cr_assert_eq(cfg.mediate, MD_MEDIATE_LEASED);
}

Test(core_config, default_break_time_is_the_kernels)
{
	struct md_config cfg;
	FILE *f = fopen("/proc/sys/fs/lease-break-time", "r");
	unsigned int secs = 45;

	if (f) {
		cr_assert_eq(fscanf(f, "%u", &secs), 1);
		fclose(f);
	}
	md_config_init(&cfg);
	cr_assert_eq(cfg.lease_break_ms, secs * 1000);
}

Test(core_config, seconds_parse_to_milliseconds)
{
	static const struct {
		const char *in;
		int ret;
		uint32_t ms;
	} cases[] = {
		{ "45", 0, 45000 }, { "0", 0, 0 },	{ "0.5", 0, 500 },
		{ "1.25", 0, 1250 }, { "2.005", 0, 2005 }, { ".1", 0, 100 },
		{ "86400", 0, 86400000 }, { "86401", -EINVAL, 0 },
		{ "", -EINVAL, 0 }, { ".", -EINVAL, 0 }, { "1.0001", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 }, { "1e3", -EINVAL, 0 }, { " 1", -EINVAL, 0 },
		{ "1.2.3", -EINVAL, 0 }, { "abc", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t ms = 0;

		cr_assert_eq(md_parse_seconds_ms(cases[i].in, &ms), cases[i].ret,
			     "'%s'", cases[i].in);
		if (!cases[i].ret)
			cr_assert_eq(ms, cases[i].ms, "'%s' gave %u", cases[i].in, ms);
	}
}

Test(core_config, every_option_and_value)
{
	struct md_config cfg;

	md_config_init(&cfg);
	cr_assert_eq(md_config_set(&cfg, "lease_break_time=0.2"), 0);
	cr_assert_eq(cfg.lease_break_ms, 200);
	cr_assert_eq(md_config_set(&cfg, "revoke=kill"), 0);
	cr_assert_eq(cfg.revoke, MD_REVOKE_KILL);
	cr_assert_eq(md_config_set(&cfg, "revoke=none"), 0);
	cr_assert_eq(cfg.revoke, MD_REVOKE_NONE);
	cr_assert_eq(md_config_set(&cfg, "dax=require"), 0);
	cr_assert_eq(cfg.dax, MD_ON);
	cr_assert_eq(md_config_set(&cfg, "dax=off"), 0);
	cr_assert_eq(cfg.dax, MD_OFF);
	cr_assert_eq(md_config_set(&cfg, "io_uring=on"), 0);
	cr_assert_eq(cfg.io_uring, MD_ON);
	cr_assert_eq(md_config_set(&cfg, "passthrough=off"), 0);
	cr_assert_eq(cfg.passthrough, MD_OFF);
	cr_assert_eq(md_config_set(&cfg, "mediate=all"), 0);
	cr_assert_eq(cfg.mediate, MD_MEDIATE_ALL);
}

Test(core_config, bad_values_leave_config_untouched)
{
	static const char *const bad[] = {
		"revoke=maybe", "revoke=", "dax=on", "dax=yes", "io_uring=1",
		"io_uring=sometimes", "passthrough=2", "mediate=x",
		"lease_break_time=abc", "lease_break_time=-3", "revoke=KILL",
	};
	struct md_config cfg, before;

	md_config_init(&cfg);
	before = cfg;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(md_config_set(&cfg, bad[i]), -EINVAL, "%s", bad[i]);
		cr_assert_eq(memcmp(&cfg, &before, sizeof(cfg)), 0, "%s", bad[i]);
	}
}

Test(core_config, foreign_keys_are_not_ours)
{
	struct md_config cfg;

	md_config_init(&cfg);
	cr_assert_eq(md_config_set(&cfg, "allow_other"), -ENOENT);
	cr_assert_eq(md_config_set(&cfg, "fsname=x"), -ENOENT);
	cr_assert_eq(md_config_set(&cfg, "revoked=kill"), -ENOENT);
	cr_assert_eq(md_config_set(&cfg, "revok=kill"), -ENOENT);
}

Test(core_config, render_round_trips)
{
	struct md_config cfg, back;
	char buf[256], *line, *save;
	int n;

	md_config_init(&cfg);
	md_config_set(&cfg, "lease_break_time=1.5");
	md_config_set(&cfg, "revoke=none");
	md_config_set(&cfg, "dax=require");
	n = md_config_render(&cfg, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_lt(n, (int)sizeof(buf));
	cr_assert(strstr(buf, "lease_break_time=1.500\n"));
	cr_assert(strstr(buf, "dax=require\n"));

	md_config_init(&back);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		cr_assert_eq(md_config_set(&back, line), 0, "%s", line);
	cr_assert_eq(memcmp(&cfg, &back, sizeof(cfg)), 0);
	/* too small a buffer still reports the full length */
	cr_assert_eq(md_config_render(&cfg, buf, 4), n);
}

/* issue 13, finding 8: libfuse's "%u" took all of these */
Test(core_config, fuse_numeric_options_are_range_checked)
{
	static const char *const bad[] = {
		"max_threads=0", "max_threads=-5", "max_threads=99999999999",
		"max_threads=1025", "max_threads=8abc", "max_threads=",
		"max_threads= 8", "max_threads=+8", "max_threads=0x10",
		"max_idle_threads=0", "max_idle_threads=-2",
		"max_idle_threads=-1x", "io_uring_q_depth=0",
		"io_uring_q_depth=1025", "io_uring_q_depth=-1",
		"max_read=4095", "max_read=1048577",
		"max_read=18446744073709551617",
	};
	static const char *const good[] = {
		"max_threads=1", "max_threads=1024", "max_threads=010",
		"max_idle_threads=-1", "max_idle_threads=1",
		"io_uring_q_depth=1", "io_uring_q_depth=1024",
		"max_read=4096", "max_read=1048576",
	};
	const char *expected = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(md_fuse_opt_check(bad[i], &expected), -EINVAL,
			     "%s accepted", bad[i]);
		cr_assert(expected && strstr(expected, "from"), "%s", bad[i]);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(md_fuse_opt_check(good[i], &expected), 0,
			     "%s refused", good[i]);
	/* not one of libfuse's numeric options: not ours to judge */
	cr_assert_eq(md_fuse_opt_check("max_threadsx=5", &expected), -ENOENT);
	cr_assert_eq(md_fuse_opt_check("allow_other", &expected), -ENOENT);
	cr_assert_eq(md_fuse_opt_check("lease_break_time=5", &expected),
		     -ENOENT);
}

Test(core_config, sandbox_option)
{
	struct md_config cfg;

	md_config_init(&cfg);
	cr_assert_eq(cfg.sandbox, MD_AUTO);
	cr_assert_eq(md_config_set(&cfg, "sandbox=off"), 0);
	cr_assert_eq(cfg.sandbox, MD_OFF);
	cr_assert_eq(md_config_set(&cfg, "sandbox=on"), 0);
	cr_assert_eq(cfg.sandbox, MD_ON);
	cr_assert_eq(md_config_set(&cfg, "sandbox=1"), -EINVAL);
	cr_assert_eq(cfg.sandbox, MD_ON);
}
