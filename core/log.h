/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_LOG_H
#define MD_LOG_H

#include <stdarg.h>
#include <syslog.h>

/* core/ never prints: it hands messages to whoever embeds it (fuse_log). */
typedef void (*md_log_fn)(int priority, const char *fmt, va_list ap);

struct md_log_ctx {
	int priority;		/* LOG_ERR .. LOG_DEBUG; more verbose is higher */
	md_log_fn fn;
};

extern struct md_log_ctx md_log_ctx;

/**
 * md_log_init - route core/ messages
 * @fn: sink, or NULL for stderr
 * @priority: default priority, overridden by env MAPDIRECT_LOG
 *            ("err", "info", "debug")
 */
void md_log_init(md_log_fn fn, int priority);

/* Keeps errno intact, so it can sit between a failing call and its check. */
void md_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define md_err(...) md_log(LOG_ERR, __VA_ARGS__)
#define md_warn(...) md_log(LOG_WARNING, __VA_ARGS__)
#define md_info(...) md_log(LOG_INFO, __VA_ARGS__)
#define md_dbg(...)                                                   \
	do {                                                          \
		if (md_log_ctx.priority >= LOG_DEBUG)                 \
			md_log(LOG_DEBUG, __VA_ARGS__);               \
	} while (0)

#endif
