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

/* Where a lease of the mount-wide listing is, as its reader may see it. */
struct md_render_place {
	uint64_t dev, ino;	/* as stat(2) through the mount shows them */
	const char *path;	/* relative to the mount root; NULL: hidden */
};

/**
 * md_render_lease - one line of user.mapdirect.leases
 * @place: NULL in a file's own listing; else " inode=" as /proc/locks has
 *         it (major:minor in hex, inode in decimal) and " path=" if set,
 *         blanks and newlines in it as '?'
 * The wall-clock time of the grant is the lease's since_real_ms; an empty
 * comm (unknown, or not the reader's to see) is "?".
 *
 * "id=3 pid=42 comm=app since=2026-11-26T08:00:00.123Z signal=10
 *  state=held flags=allocate fd=open[ inode=00:2d:1234[ path=dir/file]]\n"
 * (one line)
 */
void md_render_lease(struct md_buf *b, const struct md_lease_view *v,
		     const struct md_render_place *place);

/*
 * md_render_cut - the last line of a listing cut at the xattr size limit:
 * how many leases it leaves out, and where to read them all
 */
void md_render_cut(struct md_buf *b, size_t left_out);

/* md_render_stats - user.mapdirect.stats, key=value lines */
void md_render_stats(struct md_buf *b, const struct md_stats *st);

#endif
