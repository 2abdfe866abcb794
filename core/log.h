/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_LOG_H
#define MD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
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

/*
 * At most one message a second from a call site, whatever a hostile
 * caller does to provoke it; the next one says how many were held back.
 * md_log_limited() takes @fmt without the final newline.
 */
struct md_ratelimit {
	unsigned long long sec;	/* of the last message, +1; 0: none yet */
	unsigned int missed;
};

/* md_ratelimit - may @rl's call site log now? *@missed: held back since */
bool md_ratelimit(struct md_ratelimit *rl, unsigned int *missed);

#define md_log_limited(priority, fmt, ...)                              \
	do {                                                            \
		static struct md_ratelimit rl_;                         \
		unsigned int missed_;                                   \
		if (md_ratelimit(&rl_, &missed_))                       \
			md_log(priority, fmt "%s%.0u%s", ##__VA_ARGS__,  \
			       missed_ ? " (and " : "", missed_,        \
			       missed_ ? " more like it)\n" : "\n");    \
	} while (0)

#endif
