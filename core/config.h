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
