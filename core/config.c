// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define MD_DEFAULT_BREAK_S 45u

int md_parse_seconds_ms(const char *s, uint32_t *out)
{
	uint64_t ms = 0;
	unsigned int frac_digits = 0;
	int seen_digit = 0, seen_dot = 0;

	for (; *s; s++) {
		if (*s == '.' && !seen_dot) {
			seen_dot = 1;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -EINVAL;
		seen_digit = 1;
		if (seen_dot) {
			if (++frac_digits > 3)
				return -EINVAL;
			ms += (uint64_t)(*s - '0') *
			      (frac_digits == 1 ? 100 : frac_digits == 2 ? 10 : 1);
		} else {
			ms = ms * 10 + (uint64_t)(*s - '0') * 1000;
		}
		if (ms > MD_LEASE_BREAK_MAX_MS)
			return -EINVAL;
	}
	if (!seen_digit)
		return -EINVAL;
	*out = (uint32_t)ms;
	return 0;
}

static uint32_t default_break_ms(void)
{
	char buf[32];
	uint32_t ms;
	ssize_t n;
	int fd;

	fd = open("/proc/sys/fs/lease-break-time", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return MD_DEFAULT_BREAK_S * 1000;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return MD_DEFAULT_BREAK_S * 1000;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (md_parse_seconds_ms(buf, &ms))
		return MD_DEFAULT_BREAK_S * 1000;
	return ms;
}

void md_config_init(struct md_config *cfg)
{
	cfg->lease_break_ms = default_break_ms();
	cfg->revoke = MD_REVOKE_SIGNAL;
	cfg->dax = MD_AUTO;
	cfg->io_uring = MD_AUTO;
	cfg->passthrough = MD_AUTO;
	cfg->mediate = MD_MEDIATE_LEASED;
	cfg->sandbox = MD_AUTO;
}

int md_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * libfuse's numeric options and the ranges the daemon accepts. Why these
 * bounds: max_threads is capped by libfuse at 100000, but every worker
 * holds a request buffer of ~1 MiB, so 1024 is already 1 GiB; an
 * io_uring queue entry holds the same buffer, per CPU; the kernel raises
 * max_read below 4096 to 4096 and never sends a read larger than libfuse's
 * 1 MiB buffer. max_idle_threads=-1 is libfuse's default (never retire an
 * idle worker).
 */
static const struct fuse_num {
	const char *key;
	uint64_t min, max;
	bool minus_one;		/* "-1" allowed too */
	const char *expected;
} fuse_nums[] = {
	{ "max_threads", 1, 1024, false, "an integer from 1 to 1024" },
	{ "max_idle_threads", 1, 1024, true,
	  "-1 (no limit) or an integer from 1 to 1024" },
	{ "io_uring_q_depth", 1, 1024, false, "an integer from 1 to 1024" },
	{ "max_read", 4096, 1048576, false,
	  "bytes, an integer from 4096 to 1048576" },
};

int md_fuse_opt_check(const char *opt, const char **expected)
{
	const char *eq = strchr(opt, '=');
	uint64_t v;

	if (!eq)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(fuse_nums) / sizeof(fuse_nums[0]); i++) {
		const struct fuse_num *n = &fuse_nums[i];

		if (strlen(n->key) != (size_t)(eq - opt) ||
		    strncmp(opt, n->key, (size_t)(eq - opt)))
			continue;
		*expected = n->expected;
		if (n->minus_one && !strcmp(eq + 1, "-1"))
			return 0;
		return md_parse_uint(eq + 1, n->min, n->max, &v);
	}
	return -ENOENT;
}

/* Index of @val in the NULL-terminated @names, or -EINVAL. */
static int lookup_name(const char *const *names, const char *val)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], val))
			return i;
	return -EINVAL;
}

static const char *const revoke_names[] = { "signal", "kill", "none", NULL };
static const char *const tristate_names[] = { "auto", "on", "off", NULL };
static const char *const dax_names[] = { "auto", "require", "off", NULL };
static const char *const mediate_names[] = { "leased", "all", NULL };

const char *md_revoke_name(enum md_revoke r)
{
	return revoke_names[r];
}

const char *md_tristate_name(enum md_tristate t, int is_dax)
{
	return is_dax ? dax_names[t] : tristate_names[t];
}

const char *md_mediate_name(enum md_mediate m)
{
	return mediate_names[m];
}

int md_config_set(struct md_config *cfg, const char *opt)
{
	const char *eq = strchr(opt, '=');
	size_t klen;
	const char *val;
	uint32_t ms;
	int i;

	if (!eq)
		return -ENOENT;
	klen = (size_t)(eq - opt);
	val = eq + 1;

#define KEY_IS(k) (klen == sizeof(k) - 1 && !strncmp(opt, k, klen))
	if (KEY_IS("lease_break_time")) {
		if (md_parse_seconds_ms(val, &ms))
			return -EINVAL;
		cfg->lease_break_ms = ms;
		return 0;
	}
	if (KEY_IS("revoke")) {
		if ((i = lookup_name(revoke_names, val)) < 0)
			return i;
		cfg->revoke = (enum md_revoke)i;
		return 0;
	}
	if (KEY_IS("dax")) {
		if ((i = lookup_name(dax_names, val)) < 0)
			return i;
		cfg->dax = (enum md_tristate)i;
		return 0;
	}
	if (KEY_IS("io_uring") || KEY_IS("passthrough") || KEY_IS("sandbox")) {
		if ((i = lookup_name(tristate_names, val)) < 0)
			return i;
		if (KEY_IS("io_uring"))
			cfg->io_uring = (enum md_tristate)i;
		else if (KEY_IS("passthrough"))
			cfg->passthrough = (enum md_tristate)i;
		else
			cfg->sandbox = (enum md_tristate)i;
		return 0;
	}
	if (KEY_IS("mediate")) {
		if ((i = lookup_name(mediate_names, val)) < 0)
			return i;
		cfg->mediate = (enum md_mediate)i;
		return 0;
	}
#undef KEY_IS
	return -ENOENT;
}

int md_config_render(const struct md_config *cfg, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size,
		     "lease_break_time=%u.%03u\n"
		     "revoke=%s\n"
		     "dax=%s\n"
		     "io_uring=%s\n"
		     "passthrough=%s\n"
		     "mediate=%s\n"
		     "sandbox=%s\n",
		     cfg->lease_break_ms / 1000, cfg->lease_break_ms % 1000,
		     md_revoke_name(cfg->revoke),
		     md_tristate_name(cfg->dax, 1),
		     md_tristate_name(cfg->io_uring, 0),
		     md_tristate_name(cfg->passthrough, 0),
		     md_mediate_name(cfg->mediate),
		     md_tristate_name(cfg->sandbox, 0));
	return n < 0 ? -EINVAL : n;
}
