// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for everything in core/ that parses outside input:
 * mount option values (md_config_set, md_parse_seconds_ms, and the range
 * checks of libfuse's numeric options, md_fuse_opt_check) and the ioctl
 * structs (md_abi_decode). The first byte picks the parser.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int cmds[] = {
		MAPDIRECT_IOC_LEASE, MAPDIRECT_IOC_UNLEASE,
		MAPDIRECT_IOC_GETLEASE, MAPDIRECT_IOC_LEASES, 0,
	};
	struct md_config cfg, before;
	union md_abi_arg out;
	const char *expected;
	char *s, *eq;
	uint64_t v;
	uint32_t ms;
	int ret;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		s = strndup((const char *)data + 1, size - 1);
		if (!s)
			return 0;
		md_config_init(&cfg);
		before = cfg;
		ret = md_config_set(&cfg, s);
		/* an error leaves the configuration as it was */
		if (ret && memcmp(&cfg, &before, sizeof(cfg)))
			abort();
		if (ret != 0 && ret != -EINVAL && ret != -ENOENT)
			abort();
		free(s);
		break;
	case 1:
		s = strndup((const char *)data + 1, size - 1);
		if (!s)
			return 0;
		if (md_parse_seconds_ms(s, &ms) == 0 && ms > MD_LEASE_BREAK_MAX_MS)
			abort();
		free(s);
		break;
	case 2:
		s = strndup((const char *)data + 1, size - 1);
		if (!s)
			return 0;
		ret = md_fuse_opt_check(s, &expected);
		if (ret != 0 && ret != -EINVAL && ret != -ENOENT)
			abort();
		/* what it accepts is -1 or 1..1048576, in plain digits */
		eq = strchr(s, '=');
		if (ret == 0 && strcmp(eq + 1, "-1") &&
		    (md_parse_uint(eq + 1, 1, 1048576, &v) ||
		     eq[1 + strspn(eq + 1, "0123456789")]))
			abort();
		free(s);
		break;
	default:
		if (size < 2)
			return 0;
		ret = md_abi_decode(cmds[data[1] % 5], data + 2, size - 2, &out);
		if (ret != 0 && ret != -EINVAL && ret != -ENOTTY)
			abort();
		break;
	}
	return 0;
}
