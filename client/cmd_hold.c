// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mapdirect hold PATH: take a lease, map the file, and print each event
 * with a timestamp until a break (or SIGINT/SIGTERM/SIGHUP) ends it. Made
 * for scripts and tests that run it in the background: every line is
 * flushed at once, and the first word after the timestamp names the event.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"

const char hold_usage[] =
	"usage: mapdirect hold [OPTIONS] PATH\n"
	"\n"
	"Take a layout lease on PATH, map it, and print each event with a\n"
	"timestamp. A break unmaps and releases the lease (exit 0) unless\n"
	"--ignore-breaks; SIGINT, SIGTERM and SIGHUP do too. A revoked lease\n"
	"(SIGBUS) exits 4.\n"
	"\n"
	"  -s, --signal SIG      learn of a break by signal SIG too: a\n"
	"                        number (1-64) or a name (USR1, RTMIN+2)\n"
	"  -i, --ignore-breaks   keep the lease through a break\n"
	"  -a, --allocate        fill holes first (MAPDIRECT_LEASE_ALLOCATE)\n"
	"  -x, --exclusive       exclusive lease (MAPDIRECT_LEASE_EXCLUSIVE)\n"
	"  -l, --len BYTES       map the first BYTES (suffix K, M, G) only\n"
	"  -r, --read-only       open and map the file read-only\n"
	"  -h, --help            this text\n";

static const struct option hold_opts[] = {
	{ "signal", required_argument, NULL, 's' },
	{ "ignore-breaks", no_argument, NULL, 'i' },
	{ "allocate", no_argument, NULL, 'a' },
	{ "exclusive", no_argument, NULL, 'x' },
	{ "len", required_argument, NULL, 'l' },
	{ "read-only", no_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

static const struct {
	const char *name;
	int signo;
} sig_names[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT },
	{ "ILL", SIGILL },   { "TRAP", SIGTRAP },   { "ABRT", SIGABRT },
	{ "BUS", SIGBUS },   { "FPE", SIGFPE },     { "USR1", SIGUSR1 },
	{ "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },   { "PIPE", SIGPIPE },
	{ "ALRM", SIGALRM }, { "TERM", SIGTERM },   { "STKFLT", SIGSTKFLT },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT },   { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },   { "URG", SIGURG },
	{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },   { "VTALRM", SIGVTALRM },
	{ "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "POLL", SIGPOLL }, { "PWR", SIGPWR },     { "SYS", SIGSYS },
};

static int parse_int(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return (int)v;
}

/*
 * A signal the lease may ask for and this process can read from a
 * signalfd: not KILL or STOP (cannot be blocked), nor 32 and 33 (glibc
 * keeps them for its threads). @return the number, or -1.
 */
static int parse_signal(const char *s)
{
	int signo = -1;

	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	if (*s >= '0' && *s <= '9') {
		signo = parse_int(s, 1, 64);
	} else if (!strncasecmp(s, "RTMIN", 5)) {
		signo = s[5] ? (s[5] == '+' ? parse_int(s + 6, 0, 30) : -1) : 0;
		signo = signo < 0 ? -1 : SIGRTMIN + signo;
	} else if (!strncasecmp(s, "RTMAX", 5)) {
		signo = s[5] ? (s[5] == '-' ? parse_int(s + 6, 0, 30) : -1) : 0;
		signo = signo < 0 ? -1 : SIGRTMAX - signo;
	} else {
		for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]);
		     i++)
			if (!strcasecmp(s, sig_names[i].name))
				signo = sig_names[i].signo;
	}
	if (signo < 1 || signo > 64 || signo == SIGKILL || signo == SIGSTOP ||
	    signo == 32 || signo == 33)
		return -1;
	return signo;
}

/* BYTES with an optional K, M or G (powers of 1024); 0 on error */
static size_t parse_len(const char *s)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return 0;
	}
	if (shift && *++end)
		return 0;
	if (v > (SIZE_MAX >> shift))
		return 0;
	return (size_t)(v << shift);
}

/* One event: UTC timestamp, the event, flushed at once. */
static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...)
{
	struct timespec ts;
	char when[32];
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%03ldZ ", when, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

struct hold {
	const char *path;
	int signo;		/* break signal, 0 = none */
	unsigned int flags;
	size_t len;
	bool ignore;
	bool read_only;
	struct mapdirect_map *map;
	uint64_t id;
	int sfd;		/* signalfd of the signals below */
	sigset_t sigs;
};

/* Why the file is busy (EAGAIN), as the daemon tells. @return true if told */
static bool busy_error(struct hold *h)
{
	struct mapdirect_file_status st;
	struct mapdirect_lease_entry *l;
	struct mapdirect_ctx *ctx;
	const char *writer = "open for writing by ";
	size_t wlen = strlen(writer);
	bool told = false, writing;

	/* the daemon leaves our own writable open out of its answer */
	if (mapdirect_status(h->path, &st))
		return false;
	writing = !st.eligible && !strncmp(st.reason, writer, wlen);
	if (writing) {
		cli_error("%s: cannot be leased now: %s", h->path, st.reason);
		return true;
	}
	if (st.state == MAPDIRECT_STATE_BREAKING) {
		cli_error("%s: cannot be leased now: a break is in progress "
			  "(%" PRIu64 " ms left)", h->path, st.ms_left);
		return true;
	}
	if (mapdirect_new(&ctx))
		return false;
	if (mapdirect_leases_load(ctx, h->path) > 0) {
		mapdirect_lease_foreach(ctx, l) {
			if (mapdirect_lease_get_flags(l) &
			    MAPDIRECT_LEASE_EXCLUSIVE) {
				cli_error("%s: cannot be leased now: pid %d "
					  "holds an exclusive lease", h->path,
					  (int)mapdirect_lease_get_pid(l));
				told = true;
				break;
			}
		}
	}
	mapdirect_unref(ctx);
	if (!told && (h->flags & MAPDIRECT_LEASE_EXCLUSIVE) && st.holders) {
		cli_error("%s: cannot take an exclusive lease: the file has "
			  "%u other lease%s", h->path, st.holders,
			  st.holders == 1 ? "" : "s");
		told = true;
	}
	return told;
}

/* why the lease could not be taken, in the daemon's words where it has any */
static int lease_error(struct hold *h, int err)
{
	struct mapdirect_file_status st;

	if (err == -EPERM && !mapdirect_status(h->path, &st) && !st.eligible) {
		cli_error("%s: not eligible for a lease: %s", h->path,
			  st.reason);
		return MD_EXIT_ERROR;
	}
	if (err == -EAGAIN && busy_error(h))
		return MD_EXIT_ERROR;
	if (err == -EACCES) {
		cli_error("%s: only the file's owner or a process with "
			  "CAP_LEASE may lease it", h->path);
		return MD_EXIT_ERROR;
	}
	if (err == -ESRCH) {
		cli_error("%s: the daemon cannot see this process: it runs in "
			  "another pid namespace, and a lease needs a holder "
			  "the daemon can watch and signal", h->path);
		return MD_EXIT_ERROR;
	}
	if (err == -EINVAL && h->len) {
		cli_error("%s: --len %zu: beyond the end of the file", h->path,
			  h->len);
		return MD_EXIT_ERROR;
	}
	return cli_path_error(h->path, err);
}

static int take(struct hold *h)
{
	char name[32];
	struct stat st;
	int fd, ret;

	/* before open(2): opening a FIFO read-only would wait for a writer */
	ret = cli_check_type(h->path, false);
	if (ret)
		return ret;
	fd = open(h->path, (h->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return cli_path_error(h->path, -errno);
	if (fstat(fd, &st)) {
		ret = cli_path_error(h->path, -errno);
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || !st.st_size) {
		cli_error("%s: %s", h->path, S_ISREG(st.st_mode) ?
			  "the file is empty: nothing to map" :
			  "not a regular file");
		close(fd);
		return MD_EXIT_ERROR;
	}
	ret = mapdirect_map_file(fd, h->len, PROT_READ |
				 (h->read_only ? 0 : PROT_WRITE), h->flags,
				 h->signo, &h->map);
	/* the map keeps its own descriptor of the same open file */
	close(fd);
	if (ret)
		return lease_error(h, ret);
	h->id = mapdirect_map_lease_id(h->map);
	event("leased id=%" PRIu64 " pid=%d path=%s flags=%s signal=%s", h->id,
	      (int)getpid(), h->path, lease_flags_name(h->flags),
	      cli_signal_name(h->signo, name, sizeof(name)));
	event("mapped len=%zu prot=%s pmem=%s userflush=%s",
	      mapdirect_map_len(h->map), h->read_only ? "read" : "read,write",
	      mapdirect_map_is_pmem(h->map) ? "yes" : "no",
	      mapdirect_map_userflush(h->map) ? "yes" : "no");
	return MD_EXIT_OK;
}

static int release(struct hold *h, int code)
{
	int ret = mapdirect_unmap(h->map);

	h->map = NULL;
	event("unmapped");
	if (!ret) {
		event("released id=%" PRIu64, h->id);
		return code;
	}
	if (ret == -ENOENT) {
		/* revoked while we were on our way out */
		event("revoked id=%" PRIu64 " (lease already ended)", h->id);
		return MD_EXIT_REVOKED;
	}
	cli_error("%s: release: %s", h->path, strerror(-ret));
	return MD_EXIT_ERROR;
}

enum outcome { GOING_ON, RELEASE, REVOKED, FAILED };

/* Read every pending signal; what the process must do next. */
static enum outcome read_signals(struct hold *h, bool *broken,
				 bool *via_signal)
{
	struct signalfd_siginfo si;
	char name[32];

	while (read(h->sfd, &si, sizeof(si)) == sizeof(si)) {
		int signo = (int)si.ssi_signo;

		/* the daemon queues it with the lease id (an int there) */
		if (h->signo && signo == h->signo &&
		    si.ssi_code == SI_QUEUE &&
		    (uint32_t)si.ssi_int == (uint32_t)h->id) {
			if (!*via_signal)
				event("break started via=signal signal=%s",
				      cli_signal_name(signo, name,
						      sizeof(name)));
			*via_signal = *broken = true;
		} else if (signo == SIGBUS) {
			event("revoked id=%" PRIu64 " signal=SIGBUS", h->id);
			return REVOKED;
		} else if (signo == SIGINT || signo == SIGTERM ||
			   signo == SIGHUP) {
			event("interrupted signal=%s",
			      cli_signal_name(signo, name, sizeof(name)));
			return RELEASE;
		}
		/* the break signal from someone else: not a break */
	}
	return GOING_ON;
}

/* Wait for the end: a break, a signal, or (ignoring breaks) revocation. */
static enum outcome wait_end(struct hold *h)
{
	bool broken = false, via_poll = false, via_signal = false;
	bool told = false;
	struct mapdirect_lease_info info;
	enum outcome o;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = h->sfd, .events = POLLIN },
			{ .fd = mapdirect_break_fd(h->map), .events = POLLPRI },
		};
		/* POLLPRI stays up while breaking: once seen, stop asking */
		nfds_t nfds = via_poll ? 1 : 2;
		/*
		 * A holder that ignores a break under revoke=none loses its
		 * lease without a word: look now and then.
		 */
		int n = poll(p, nfds, broken ? 250 : -1);

		if (n < 0 && errno != EINTR) {
			cli_error("poll: %s", strerror(errno));
			return FAILED;
		}
		if (n > 0 && nfds == 2 && (p[1].revents & POLLPRI)) {
			via_poll = broken = true;
			if (mapdirect_getlease(p[1].fd, &info))
				info.ms_left = 0;
			event("break started via=poll ms_left=%" PRIu64,
			      (uint64_t)info.ms_left);
		}
		o = read_signals(h, &broken, &via_signal);
		if (o != GOING_ON)
			return o;
		if (!broken)
			continue;
		if (!h->ignore)
			return RELEASE;
		if (!told) {
			event("break ignored");
			told = true;
		}
		if (!mapdirect_getlease(mapdirect_break_fd(h->map), &info) &&
		    info.lease_id != h->id) {
			event("revoked id=%" PRIu64 " (lease removed)", h->id);
			return REVOKED;
		}
	}
}

static int parse_args(struct hold *h, int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:iaxl:rh", hold_opts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			h->signo = parse_signal(optarg);
			if (h->signo < 0)
				return cli_usage_error("hold",
						       "bad signal '%s'",
						       optarg);
			break;
		case 'i':
			h->ignore = true;
			break;
		case 'a':
			h->flags |= MAPDIRECT_LEASE_ALLOCATE;
			break;
		case 'x':
			h->flags |= MAPDIRECT_LEASE_EXCLUSIVE;
			break;
		case 'l':
			h->len = parse_len(optarg);
			if (!h->len)
				return cli_usage_error("hold",
						       "bad length '%s'",
						       optarg);
			break;
		case 'r':
			h->read_only = true;
			break;
		case 'h':
			cli_help(hold_usage);
			return -1;
		case ':':
			return cli_usage_error("hold", "'%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("hold", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("hold", "one PATH expected");
	h->path = argv[optind];
	return 0;
}

int cmd_hold(int argc, char **argv)
{
	struct hold h = { .sfd = -1 };
	int code;

	code = parse_args(&h, argc, argv);
	if (code)
		return code < 0 ? MD_EXIT_OK : code;
	/* read, not caught, and blocked before the lease can send any */
	sigemptyset(&h.sigs);
	sigaddset(&h.sigs, SIGINT);
	sigaddset(&h.sigs, SIGTERM);
	sigaddset(&h.sigs, SIGHUP);
	sigaddset(&h.sigs, SIGBUS);
	if (h.signo)
		sigaddset(&h.sigs, h.signo);
	/*
	 * An ignored signal never reaches a signalfd: SIGBUS and the break
	 * signal must arrive whatever we inherited. SIGINT and SIGHUP keep
	 * an inherited SIG_IGN (background jobs, nohup).
	 */
	signal(SIGBUS, SIG_DFL);
	if (h.signo)
		signal(h.signo, SIG_DFL);
	if (sigprocmask(SIG_BLOCK, &h.sigs, NULL)) {
		cli_error("sigprocmask: %s", strerror(errno));
		return MD_EXIT_ERROR;
	}
	h.sfd = signalfd(-1, &h.sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (h.sfd < 0) {
		cli_error("signalfd: %s", strerror(errno));
		return MD_EXIT_ERROR;
	}
	code = take(&h);
	if (code)
		goto out;
	switch (wait_end(&h)) {
	case RELEASE:
		code = release(&h, MD_EXIT_OK);
		break;
	case REVOKED:
		/* the lease is gone; the mapping goes too */
		mapdirect_unmap(h.map);
		event("unmapped");
		code = MD_EXIT_REVOKED;
		break;
	default:
		release(&h, MD_EXIT_OK);
		code = MD_EXIT_ERROR;
		break;
	}
out:
	close(h.sfd);
	return code;
}
