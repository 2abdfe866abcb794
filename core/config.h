/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_CONFIG_H
#define MD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum md_revoke { MD_REVOKE_SIGNAL, MD_REVOKE_KILL, MD_REVOKE_NONE };
/* auto|on|off knobs share one encoding; dax spells "on" as "require" */
enum md_tristate { MD_AUTO, MD_ON, MD_OFF };
enum md_mediate { MD_MEDIATE_LEASED, MD_MEDIATE_ALL };

/* Upper bound of lease_break_time: a day, in ms, fits every timer type. */
#define MD_LEASE_BREAK_MAX_MS (24u * 3600u * 1000u)

struct md_config {
	uint32_t lease_break_ms;	/* 0 = revoke at once */
	enum md_revoke revoke;
	enum md_tristate dax;		/* MD_ON means dax=require */
	enum md_tristate io_uring;
	enum md_tristate passthrough;
	enum md_mediate mediate;
	enum md_tristate sandbox;	/* mount namespace + seccomp */
};

/**
 * md_config_init - fill @cfg with the defaults of SPEC 2
 * @cfg: configuration to fill
 *
 * lease_break_time defaults to /proc/sys/fs/lease-break-time, else 45 s.
 * Does not block beyond reading that one procfs file.
 */
void md_config_init(struct md_config *cfg);

/**
 * md_config_set - parse and apply one "key=value" mount option
 * @cfg: configuration to change; left untouched on error
 * @opt: the option, e.g. "revoke=kill"
 *
 * @return 0, -ENOENT if the key is not one of ours, -EINVAL if the value
 * is malformed.
 */
int md_config_set(struct md_config *cfg, const char *opt);

/**
 * md_config_render - the effective options as "key=value\n" lines
 * @cfg: configuration
 * @buf: output buffer
 * @size: its size
 *
 * @return the length the full text needs (like snprintf), or -errno.
 */
int md_config_render(const struct md_config *cfg, char *buf, size_t size);

/**
 * md_fuse_opt_check - range-check one of libfuse's numeric options
 * @opt: the option as given, e.g. "max_threads=8"
 * @expected: set to what the option accepts, for the error line
 *
 * The options are libfuse's (max_threads, max_idle_threads,
 * io_uring_q_depth, max_read); libfuse parses them with sscanf("%u"),
 * which takes "-5" and "99999999999" and "8abc" without a word, and
 * io_uring_q_depth=0 mounts a filesystem that never answers. The daemon
 * checks them before libfuse sees them and passes them on unchanged.
 * @return 0, -EINVAL if malformed or out of range, -ENOENT if @opt is
 * not one of them.
 */
int md_fuse_opt_check(const char *opt, const char **expected);

/**
 * md_parse_uint - parse a decimal integer in [@min, @max]
 * @s: the text: digits only, no sign, no blanks, no base prefix
 * @min: smallest value accepted
 * @max: largest value accepted
 * @out: the value
 *
 * @return 0 or -EINVAL (also on overflow and out of range).
 */
int md_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Names of the enum values, as they are written in options. */
const char *md_revoke_name(enum md_revoke r);
const char *md_tristate_name(enum md_tristate t, int is_dax);
const char *md_mediate_name(enum md_mediate m);

/**
 * md_parse_seconds_ms - parse decimal seconds ("45", "0.25") to ms
 * @s: the text
 * @out: result in milliseconds
 *
 * At most millisecond precision, no sign, no exponent, no blanks.
 * @return 0 or -EINVAL (also for values above MD_LEASE_BREAK_MAX_MS).
 */
int md_parse_seconds_ms(const char *s, uint32_t *out);

#endif
