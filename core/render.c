// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "mapdirect.h"
#include "render.h"

void md_buf_init(struct md_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void md_buf_free(struct md_buf *b)
{
	free(b->p);
	md_buf_init(b);
}

void md_buf_printf(struct md_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 256;
		char *p;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

const char *md_state_name(enum md_state s)
{
	switch (s) {
	case MD_STATE_HELD:
		return "held";
	case MD_STATE_BREAKING:
		return "breaking";
	default:
		return "none";
	}
}

void md_render_lease(struct md_buf *b, const struct md_lease_view *v,
		     const struct md_render_place *place)
{
	uint64_t since = v->since_real_ms;
	time_t secs = (time_t)(since / 1000);
	char when[32];
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	md_buf_printf(b, "id=%u pid=%d comm=%s since=%s.%03uZ signal=%d "
		      "state=%s", v->id, (int)v->pid, v->comm[0] ? v->comm : "?",
		      when, (unsigned int)(since % 1000), v->signo,
		      v->breaking ? "breaking" : "held");
	if (v->breaking)
		md_buf_printf(b, " ms_left=%llu", (unsigned long long)v->ms_left);
	md_buf_printf(b, " flags=%s%s%s",
		      v->flags & MAPDIRECT_LEASE_ALLOCATE ? "allocate" : "",
		      (v->flags & MAPDIRECT_LEASE_ALLOCATE) &&
				      (v->flags & MAPDIRECT_LEASE_EXCLUSIVE) ?
			      "," : "",
		      v->flags & MAPDIRECT_LEASE_EXCLUSIVE ? "exclusive" :
		      v->flags ? "" : "none");
	md_buf_printf(b, " fd=%s", v->has_file ? "open" : "closed");
	if (place) {
		dev_t dev = (dev_t)place->dev;

		md_buf_printf(b, " inode=%02x:%02x:%llu", major(dev),
			      minor(dev), (unsigned long long)place->ino);
	}
	if (place && place->path) {
		size_t from;

		md_buf_printf(b, " path=");
		from = b->len;
		md_buf_printf(b, "%s", place->path);
		/* one lease, one line, words split at blanks */
		for (size_t i = from; !b->oom && i < b->len; i++)
			if (b->p[i] == ' ' || b->p[i] == '\n')
				b->p[i] = '?';
	}
	md_buf_printf(b, "\n");
}

void md_render_cut(struct md_buf *b, size_t left_out)
{
	md_buf_printf(b, "truncated: %zu more lease%s not shown (an xattr "
		      "value is at most 64 KiB); 'mapdirect leases' and "
		      "MAPDIRECT_IOC_LEASES list them all\n", left_out,
		      left_out == 1 ? "" : "s");
}

void md_render_stats(struct md_buf *b, const struct md_stats *st)
{
	md_buf_printf(b,
		      "leases_granted=%llu\n"
		      "leases_active=%llu\n"
		      "leases_unleased=%llu\n"
		      "leases_released=%llu\n"
		      "leases_exited=%llu\n"
		      "leases_revoked=%llu\n"
		      "leases_refused=%llu\n"
		      "breaks_started=%llu\n"
		      "breaks_resolved=%llu\n"
		      "breaks_active=%llu\n"
		      "parked_total=%llu\n"
		      "parked_now=%llu\n"
		      "parked_run=%llu\n"
		      "parked_interrupted=%llu\n"
		      "breakers_nonblock=%llu\n"
		      "breakers_txtbsy=%llu\n"
		      "census_done=%llu\n",
		      (unsigned long long)st->granted,
		      (unsigned long long)st->active,
		      (unsigned long long)st->unleased,
		      (unsigned long long)st->released,
		      (unsigned long long)st->exited,
		      (unsigned long long)st->revoked,
		      (unsigned long long)st->refused,
		      (unsigned long long)st->breaks_started,
		      (unsigned long long)st->breaks_resolved,
		      (unsigned long long)st->breaks_now,
		      (unsigned long long)st->parked_total,
		      (unsigned long long)st->parked_now,
		      (unsigned long long)st->parked_run,
		      (unsigned long long)st->interrupted,
		      (unsigned long long)st->nonblock,
		      (unsigned long long)st->txtbsy,
		      (unsigned long long)st->census);
}
