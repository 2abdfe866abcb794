/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MD_RENDER_H
#define MD_RENDER_H

/*
 * Text of the virtual xattrs (SPEC 4.4): every value is lines of text, each
 * ending in a newline, built into a growable buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lease.h"

struct md_buf {
	char *p;
	size_t len, cap;
	bool oom;		/* a write did not fit: the text is cut */
};

void md_buf_init(struct md_buf *b);
void md_buf_free(struct md_buf *b);
void md_buf_printf(struct md_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

const char *md_state_name(enum md_state s);

/**
 * md_render_lease - one line of user.mapdirect.leases
 * @path: relative path in the mount, or NULL (a file's own listing)
 * The wall-clock time of the grant is the lease's since_real_ms.
 *
 * "id=3 pid=42 comm=app since=2026-11-26T08:00:00.123Z signal=10
 *  state=held flags=allocate[ path=dir/file]\n" (one line)
 */
void md_render_lease(struct md_buf *b, const struct md_lease_view *v,
		     const char *path);

/* md_render_stats - user.mapdirect.stats, key=value lines */
void md_render_stats(struct md_buf *b, const struct md_stats *st);

#endif
