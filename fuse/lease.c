// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The lease engine's embedding: one thread waits on an epoll set of the
 * break timer (timerfd), every holder's pidfd (exit noticed at once) and
 * a signalfd for SIGTERM/SIGINT/SIGHUP; it carries out what the engine
 * decides. Dispose lists from worker threads are carried out there too.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mdfs.h"
#include "proc.h"

#define TAG_TIMER (1ULL << 62)
#define TAG_SIGNAL (2ULL << 62)
#define TAG_WAKE (3ULL << 62)

extern unsigned int mdfs_uring_parked;

static int epfd = -1, timerfd = -1, sigfd = -1, wakefd = -1;
static pthread_t engine_thread, loop_thread;
static bool engine_running;

/*
 * Long event lists (a break start that tells thousands of holders) are
 * carried out by the engine thread: over io_uring a worker's answer is
 * only sent when its handler returns, and its CPU's queue waits too.
 */
#define HANDOFF_EVENTS 16
struct handoff {
	struct md_dispose d;
	struct handoff *next;
};
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handoff *handoff_head, **handoff_tail = &handoff_head;

static uint64_t mono_ms(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void arm(void *ctx, uint64_t deadline_ms)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(deadline_ms / 1000);
	its.it_value.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	/* an all-zero value disarms; a past deadline fires at once */
	if (timerfd_settime(timerfd, TFD_TIMER_ABSTIME, &its, NULL))
		md_err("timerfd_settime: %m\n");
}

static int watch(void *ctx, pid_t pid)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0) {
		md_log_limited(LOG_WARNING, "lease refused to pid %d: "
			       "pidfd_open: %s", pid, strerror(errno));
		return -1;
	}
	ev.data.u64 = (uint64_t)(uint32_t)pid;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		md_err("epoll_ctl(pidfd %d): %m\n", pid);
		close(fd);
		return -1;
	}
	return fd;
}

static void unwatch(void *ctx, int fd)
{
	/* closing removes it from the epoll set */
	close(fd);
}

/* The process behind @pidfd is still there (-1: not known) */
static bool alive(int pidfd)
{
	return pidfd < 0 || !syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
}

static int census(void *ctx, pid_t pid, int pidfd, const struct md_lfile *lf)
{
	uint64_t dev = __atomic_load_n(&mdfs.map_dev, __ATOMIC_RELAXED);
	int ret;

	if (!dev && !md_mount_dev(mdfs.mountpoint, &dev))
		__atomic_store_n(&mdfs.map_dev, dev, __ATOMIC_RELAXED);
	/* /proc/PID/maps is the holder's only while it is alive after the
	 * read: a pid that has gone may be someone else's already */
	ret = md_census_maps(pid, dev, lf->dev, lf->ino);
	return alive(pidfd) ? ret : -ESRCH;
}

static const struct md_engine_ops engine_ops = {
	.now_ms = mono_ms,
	.arm = arm,
	.watch = watch,
	.unwatch = unwatch,
	.maps = census,
};

#ifndef PIDFD_SIGNAL_THREAD
#define PIDFD_SIGNAL_THREAD (1U << 0)
#endif

/*
 * Queue @ev->signo to the thread that took the lease, else to its process
 * (SPEC 4.3.1), through the pidfds taken while they were known to be the
 * holder's: a pid may be reused once its process has gone. Without pidfds
 * (none could be opened), tgkill(): a thread id must then still be in the
 * holder's thread group.
 */
static void queue_signal(const struct md_event *ev)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = ev->signo;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = (int)ev->id;
	if (ev->tidfd >= 0 &&
	    !syscall(SYS_pidfd_send_signal, ev->tidfd, ev->signo, &si,
		     PIDFD_SIGNAL_THREAD))
		return;
	if (ev->pidfd >= 0) {
		if (!syscall(SYS_pidfd_send_signal, ev->pidfd, ev->signo, &si,
			     0))
			return;
	} else if (!syscall(SYS_rt_tgsigqueueinfo, ev->pid, ev->tid,
			    ev->signo, &si)) {
		return;
	}
	md_dbg("lease %u: signal %d to pid %d: %m\n", ev->id, ev->signo,
	       ev->pid);
}

/* revoke=kill: the holder's process, by pidfd where there is one */
static void kill_holder(const struct md_event *ev)
{
	if (ev->pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, ev->pidfd, SIGKILL, NULL, 0))
			md_dbg("SIGKILL to pid %d: %m\n", ev->pid);
	} else if (syscall(SYS_tgkill, ev->pid, ev->tid, SIGKILL)) {
		md_dbg("SIGKILL to pid %d: %m\n", ev->pid);
	}
}

/* The file of @ev as a path in the mount, for messages; else its inode */
static void event_path(const struct md_event *ev, char *buf, size_t len)
{
	struct mdfs_inode *inode = mdfs_inode_pin(ev->dev, ev->ino);
	char rel[PATH_MAX];
	bool found = inode && mdfs_inode_path(inode, rel, sizeof(rel));

	if (inode)
		mdfs_forget_one(inode, 1);
	if (found)
		snprintf(buf, len, "%s/%s", mdfs.mountpoint, rel);
	else
		snprintf(buf, len, "inode %llu", (unsigned long long)ev->ino);
}

static void run_events(struct md_dispose *d)
{
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < d->n; i++) {
		struct md_event *ev = &d->ev[i];

		switch (ev->type) {
		case MD_EV_BREAK:
			md_dbg("lease %u of pid %d: break started\n", ev->id,
			       ev->pid);
			if (ev->poll) {
				fuse_lowlevel_notify_poll(ev->poll);
				fuse_pollhandle_destroy(ev->poll);
			}
			if (ev->signo)
				queue_signal(ev);
			break;
		case MD_EV_REVOKE:
			event_path(ev, path, sizeof(path));
			md_warn("revoked lease %u of pid %d (%s) on %s: break "
				"time over%s\n", ev->id, ev->pid, ev->comm,
				path, ev->signo == SIGKILL ? ", killed" :
				ev->signo == SIGBUS ? ", sent SIGBUS" : "");
			/* SIGBUS queued with the lease id, like the break
			 * signal: a holder can tell which lease it lost */
			if (ev->signo == SIGKILL)
				kill_holder(ev);
			else if (ev->signo)
				queue_signal(ev);
			break;
		case MD_EV_POLL_PUT:
			fuse_pollhandle_destroy(ev->poll);
			break;
		case MD_EV_ENDED:
			mdfs_lease_ended(ev->dev, ev->ino);
			break;
		}
	}
	if (d->oom)
		md_err("out of memory: lease events lost\n");
}

/* false: not handed off (few events, no engine thread, no memory) */
static bool handoff(struct md_dispose *d)
{
	struct handoff *h;

	if (d->n < HANDOFF_EVENTS ||
	    !__atomic_load_n(&engine_running, __ATOMIC_ACQUIRE) ||
	    pthread_equal(pthread_self(), engine_thread))
		return false;
	h = malloc(sizeof(*h));
	if (!h)
		return false;
	md_dispose_init(&h->d);
	h->d.ev = d->ev;
	h->d.n = d->n;
	h->d.cap = d->cap;
	h->d.oom = d->oom;
	d->ev = NULL;
	d->n = d->cap = 0;
	d->oom = false;
	h->next = NULL;
	mdfs_lock(&handoff_lock, MDFS_LOCK_LEAF);
	*handoff_tail = h;
	handoff_tail = &h->next;
	mdfs_unlock(&handoff_lock, MDFS_LOCK_LEAF);
	mdfs_lease_wake();
	return true;
}

static void run_handoffs(void)
{
	struct handoff *h, *next;

	mdfs_lock(&handoff_lock, MDFS_LOCK_LEAF);
	h = handoff_head;
	handoff_head = NULL;
	handoff_tail = &handoff_head;
	mdfs_unlock(&handoff_lock, MDFS_LOCK_LEAF);
	for (; h; h = next) {
		next = h->next;
		run_events(&h->d);
		md_dispose_fini(&h->d);
		free(h);
	}
}

void mdfs_dispose_run(struct md_dispose *d)
{
	struct md_parked *p, *next;

	/* a census to do: the engine thread reads /proc, no handler does */
	if (d->census && !pthread_equal(pthread_self(), engine_thread))
		mdfs_lease_wake();
	if (!handoff(d))
		run_events(d);
	for (p = d->run; p; p = next) {
		next = p->next;
		mdfs_parked_run((struct mdfs_parked *)p);
	}
	md_dispose_fini(d);
}

/* how long a shutdown waits for the closes of mdfs_stop_watch() */
#define STOP_GRACE_MS 1000
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static unsigned int stop_files;	/* watched, not released yet */

void mdfs_stop_watch(struct mdfs_file *f)
{
	if (!f || !__atomic_load_n(&mdfs.stopping, __ATOMIC_SEQ_CST))
		return;
	mdfs_lock(&stop_lock, MDFS_LOCK_LEAF);
	if (!f->stop_watch) {
		f->stop_watch = true;
		stop_files++;
	}
	mdfs_unlock(&stop_lock, MDFS_LOCK_LEAF);
}

void mdfs_stop_released(struct mdfs_file *f)
{
	/* a file in release has no request left to be watched by */
	if (!__atomic_load_n(&mdfs.stopping, __ATOMIC_SEQ_CST))
		return;
	mdfs_lock(&stop_lock, MDFS_LOCK_LEAF);
	if (f->stop_watch && --stop_files == 0)
		pthread_cond_broadcast(&stop_cond);
	f->stop_watch = false;
	mdfs_unlock(&stop_lock, MDFS_LOCK_LEAF);
}

static void stop_grace(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_GRACE_MS / 1000;
	until.tv_nsec += (STOP_GRACE_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	mdfs_lock(&stop_lock, MDFS_LOCK_LEAF);
	while (stop_files &&
	       pthread_cond_timedwait(&stop_cond, &stop_lock, &until) == 0)
		;
	if (stop_files)
		md_info("%u file(s) answered at shutdown not closed after "
			"%d ms: unmounting\n", stop_files, STOP_GRACE_MS);
	mdfs_unlock(&stop_lock, MDFS_LOCK_LEAF);
}

static void stop_everything(void)
{
	struct md_dispose d;

	md_info("signal: ending breaks, answering parked requests, "
		"unmounting\n");
	/* a fill excludes breakers, which stopping would let through */
	mdfs_grants_wait();
	__atomic_store_n(&mdfs.stopping, true, __ATOMIC_SEQ_CST);
	run_handoffs();
	md_dispose_init(&d);
	md_engine_shutdown(mdfs.eng, &d);
	mdfs_dispose_run(&d);
	/* the callers just answered close next: before the unmount, or
	 * their close(2) fails although their data is in */
	stop_grace();
	fuse_session_exit(mdfs.se);
	/* a single-threaded loop sits in read(): EINTR makes it look */
	pthread_kill(loop_thread, SIGUSR2);
}

static void wake(int sig)
{
}

static void *engine_main(void *arg)
{
	struct epoll_event evs[16];
	struct md_dispose d;

	for (;;) {
		int timeout = __atomic_load_n(&mdfs_uring_parked,
					      __ATOMIC_RELAXED) ? 10 : 1000;
		int n = epoll_wait(epfd, evs, 16, timeout);
		bool stop = false;

		md_dispose_init(&d);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_TIMER) {
				uint64_t ticks;

				if (read(timerfd, &ticks, sizeof(ticks)) < 0 &&
				    errno != EAGAIN)
					md_err("timerfd: %m\n");
				md_engine_expire(mdfs.eng, &d);
			} else if (tag == TAG_WAKE) {
				uint64_t v;

				if (read(wakefd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					md_err("eventfd: %m\n");
			} else if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;

				if (read(sigfd, &si, sizeof(si)) == sizeof(si))
					stop = si.ssi_signo != 0;
			} else {
				md_holder_exited(mdfs.eng, (pid_t)tag, &d);
			}
		}
		mdfs_dispose_run(&d);
		run_handoffs();
		md_dispose_init(&d);
		md_engine_census(mdfs.eng, &d);
		mdfs_dispose_run(&d);
		if (__atomic_load_n(&mdfs_uring_parked, __ATOMIC_RELAXED))
			mdfs_uring_interrupts();
		mdfs_orphans_sweep();
		if (stop) {
			stop_everything();
			return NULL;
		}
	}
}

int mdfs_lease_init(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;

	mdfs.eng = md_engine_new(&engine_ops, NULL, mdfs.cfg.lease_break_ms,
				 mdfs.cfg.revoke);
	if (!mdfs.eng)
		return -ENOMEM;
	/* signals are read, not caught: every thread blocks them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);
	/* no SA_RESTART: the interrupted read() returns */
	if (sigaction(SIGUSR2, &(struct sigaction){ .sa_handler = wake }, NULL))
		return -errno;
	loop_thread = pthread_self();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || timerfd < 0 || sigfd < 0 || wakefd < 0)
		return -errno;
	ev.data.u64 = TAG_WAKE;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev))
		return -errno;
	ev.data.u64 = TAG_TIMER;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, timerfd, &ev))
		return -errno;
	ev.data.u64 = TAG_SIGNAL;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev))
		return -errno;
	return 0;
}

void mdfs_lease_wake(void)
{
	uint64_t one = 1;

	if (write(wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		md_err("eventfd: %m\n");
}

int mdfs_lease_start(void)
{
	int err = pthread_create(&engine_thread, NULL, engine_main, NULL);

	if (err)
		return -err;
	__atomic_store_n(&engine_running, true, __ATOMIC_RELEASE);
	return 0;
}

void mdfs_lease_stop(void)
{
	struct md_dispose d;

	mdfs_grants_stop();
	if (engine_running) {
		/* the loop may have ended some other way: stop the thread */
		if (!__atomic_load_n(&mdfs.stopping, __ATOMIC_SEQ_CST))
			pthread_kill(engine_thread, SIGTERM);
		pthread_join(engine_thread, NULL);
		__atomic_store_n(&engine_running, false, __ATOMIC_RELEASE);
		/* handed off after the thread's last look */
		run_handoffs();
	}
	if (mdfs.eng) {
		md_dispose_init(&d);
		md_engine_shutdown(mdfs.eng, &d);
		mdfs_dispose_run(&d);
		md_engine_free(mdfs.eng);
		mdfs.eng = NULL;
	}
	if (sigfd >= 0)
		close(sigfd);
	if (wakefd >= 0)
		close(wakefd);
	if (timerfd >= 0)
		close(timerfd);
	if (epfd >= 0)
		close(epfd);
	sigfd = timerfd = epfd = wakefd = -1;
}
