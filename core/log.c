// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static void log_stderr(int priority, const char *fmt, va_list ap)
{
	vfprintf(stderr, fmt, ap);
}

struct md_log_ctx md_log_ctx = { .priority = LOG_INFO, .fn = log_stderr };

void md_log_init(md_log_fn fn, int priority)
{
	const char *env = getenv("MAPDIRECT_LOG");

	md_log_ctx.fn = fn ? fn : log_stderr;
	md_log_ctx.priority = priority;
	if (!env)
		return;
	if (!strcmp(env, "err"))
		md_log_ctx.priority = LOG_ERR;
	else if (!strcmp(env, "info"))
		md_log_ctx.priority = LOG_INFO;
	else if (!strcmp(env, "debug"))
		md_log_ctx.priority = LOG_DEBUG;
}

void md_log(int priority, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (priority > md_log_ctx.priority)
		return;
	va_start(ap, fmt);
	md_log_ctx.fn(priority, fmt, ap);
	va_end(ap);
	errno = saved;
}

bool md_ratelimit(struct md_ratelimit *rl, unsigned int *missed)
{
	struct timespec ts;
	unsigned long long now, last;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec + 1;
	last = __atomic_load_n(&rl->sec, __ATOMIC_RELAXED);
	if (last == now ||
	    !__atomic_compare_exchange_n(&rl->sec, &last, now, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&rl->missed, 1, __ATOMIC_RELAXED);
		return false;
	}
	*missed = __atomic_exchange_n(&rl->missed, 0, __ATOMIC_RELAXED);
	return true;
}
