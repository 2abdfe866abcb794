// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SPEC 4.1 (acquiring a layout lease: MAPDIRECT_IOC_LEASE and its errors,
 * but the break-time EAGAIN, which test_lease_break.c covers),
 * MAPDIRECT_IOC_UNLEASE (4.2.1) and MAPDIRECT_IOC_GETLEASE (4.4), and the
 * ABI of
 * include/mapdirect.h. Holders are agents (harness.h): real processes,
 * real files, a real mount over both transports, in both mediate= modes
 * (SPEC 3.1; MDFS_LEASE_TEST, as every test_lease_*.c).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIZE (64 << 10)
#define USER 1000

/* STYLE 13: the sizes are part of the ABI */
_Static_assert(sizeof(struct mapdirect_lease) == 56, "mapdirect_lease");
_Static_assert(sizeof(struct mapdirect_unlease) == 32, "mapdirect_unlease");
_Static_assert(sizeof(struct mapdirect_lease_info) == 64,
	       "mapdirect_lease_info");

/* SPEC 4: _IOR/_IOW/_IOWR encoding, magic 'M', structs carry their size */
Test(lease_abi, ioctl_encoding_and_layout)
{
	static const struct {
		unsigned long cmd;
		unsigned int nr, dir;
		size_t size;
	} c[] = {
		{ MAPDIRECT_IOC_LEASE, 1, _IOC_READ | _IOC_WRITE,
		  sizeof(struct mapdirect_lease) },
		{ MAPDIRECT_IOC_UNLEASE, 2, _IOC_WRITE,
		  sizeof(struct mapdirect_unlease) },
		{ MAPDIRECT_IOC_GETLEASE, 3, _IOC_READ | _IOC_WRITE,
		  sizeof(struct mapdirect_lease_info) },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cr_assert_eq(_IOC_TYPE(c[i].cmd), 'M', "ioctl %zu magic", i);
		cr_assert_eq(_IOC_NR(c[i].cmd), c[i].nr, "ioctl %zu nr", i);
		cr_assert_eq(_IOC_DIR(c[i].cmd), c[i].dir, "ioctl %zu dir", i);
		cr_assert_eq(_IOC_SIZE(c[i].cmd), c[i].size, "ioctl %zu size",
			     i);
	}
	cr_assert_eq(offsetof(struct mapdirect_lease, size), 0);
	cr_assert_eq(offsetof(struct mapdirect_unlease, size), 0);
	cr_assert_eq(offsetof(struct mapdirect_lease_info, size), 0);
	cr_assert_eq(offsetof(struct mapdirect_lease, lease_id) % 8, 0);
	cr_assert_eq(MAPDIRECT_LEASE_FLAGS,
		     MAPDIRECT_LEASE_ALLOCATE | MAPDIRECT_LEASE_EXCLUSIVE);
	cr_assert_eq(MAPDIRECT_STATE_NONE, 0);
	cr_assert_eq(MAPDIRECT_STATE_HELD, 1);
	cr_assert_eq(MAPDIRECT_STATE_BREAKING, 2);
}

/*
 * SPEC 4.1 "Returns the lease id"; 4.4 GETLEASE "on any fd of the file:
 * state, number of holders, the caller's lease id if any".
 */
MDFS_LEASE_TEST(lease_abi, lease_returns_id_getlease_reports_it, NULL)
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	struct mapdirect_lease_info i;
	long long id, id2;
	int fd, fd2, obs;

	lease_file(fs, "f", SIZE, 'a');
	lease_file(fs, "g", SIZE, 'b');
	obs = lease_obs(fs, "f");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_NONE, "state before any lease");
	cr_assert_eq(i.holders, 0);
	cr_assert_eq(i.lease_id, 0);

	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	id = LOP_OK(h, op_lease(fd, 0, 0));
	cr_assert_geq(id, 1, "lease id %lld", id);

	/* the holder, on its leased fd and on another fd of the file */
	lease_info(h, fd, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.holders, 1);
	cr_assert_eq(i.lease_id, (__u64)id);
	cr_assert_eq(i.lease_flags, 0);
	cr_assert_eq(i.ms_left, 0, "ms_left %llu outside a break",
		     (unsigned long long)i.ms_left);
	fd2 = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDONLY));
	lease_info(h, fd2, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.lease_id, (__u64)id,
		     "GETLEASE on the holder's other fd: id %llu, want %lld",
		     (unsigned long long)i.lease_id, id);

	/* another process: held, one holder, no lease of its own */
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.holders, 1);
	cr_assert_eq(i.lease_id, 0);
	cr_assert_eq(i.lease_flags, 0);

	/* the caller's flags; another file's lease has another id */
	fd2 = LOP_OK(h, op_open(mdfs_mpath(fs, "g"), O_RDWR));
	id2 = LOP_OK(h, op_lease(fd2, MAPDIRECT_LEASE_ALLOCATE, SIGUSR1));
	cr_assert_geq(id2, 1);
	cr_assert_neq(id2, id, "two leases with id %lld", id);
	lease_info(h, fd2, &i);
	cr_assert_eq(i.lease_id, (__u64)id2);
	cr_assert_eq(i.lease_flags, MAPDIRECT_LEASE_ALLOCATE);
	close(obs);
}

/* STATX_ATTR_DAX of the backing file @rel: what the machine says */
static bool backing_dax(struct mdfs_fs *fs, const char *rel)
{
	struct statx stx;

	cr_assert_eq(statx(AT_FDCWD, mdfs_bpath(fs, "%s", rel), 0,
			   STATX_BASIC_STATS, &stx), 0);
	return stx.stx_attributes_mask & STATX_ATTR_DAX &&
	       stx.stx_attributes & STATX_ATTR_DAX;
}

/*
 * SPEC 4.1 "Durable block map": the grant and GETLEASE say whether a CPU
 * cache flush makes the holder's stores durable: exactly where the
 * backing file is DAX (statx), while the lease is held, not once its
 * break started; never for a process without a lease.
 */
MDFS_LEASE_TEST(lease_abi, userflush_where_dax_until_the_break,
		"lease_break_time=5")
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	struct mdfs_agent *b = mdfs_agent_start(-1, -1);
	struct mapdirect_lease_info i;
	struct lop o;
	bool dax;
	int fd, bfd, obs;

	lease_file(fs, "f", SIZE, 'a');
	dax = backing_dax(fs, "f");
	obs = lease_obs(fs, "f");
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	o = op_lease(fd, 0, 0);
	cr_assert_geq(lop_run(h, &o), 1);
	cr_assert_eq(!!(o.info.out_flags & MAPDIRECT_OUT_USERFLUSH), dax,
		     "the grant's USERFLUSH is %u, the backing file's DAX %d",
		     o.info.out_flags, dax);
	cr_assert_eq(o.info.out_flags & ~MAPDIRECT_OUT_USERFLUSH, 0);
	lease_info(h, fd, &i);
	cr_assert_eq(!!(i.out_flags & MAPDIRECT_OUT_USERFLUSH), dax);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.out_flags, 0, "USERFLUSH for a process without lease");

	bfd = LOP_OK(b, op_open(mdfs_mpath(fs, "f"), O_RDWR | O_NONBLOCK));
	cr_assert_eq(lop_do(b, op_pwrite(bfd, 0, 'b', 10)), -EAGAIN);
	assert_lease_becomes(obs, MAPDIRECT_STATE_BREAKING, 1, 3000);
	lease_info(h, fd, &i);
	cr_assert_eq(i.out_flags, 0, "USERFLUSH while the lease breaks");
	LOP_OK(h, op_unlease(fd, 0));
	close(obs);
}

/* SPEC 4.1 "Taking a lease again on the same open file returns the same id" */
MDFS_LEASE_TEST(lease_abi, same_open_file_same_id, NULL)
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	struct mapdirect_lease_info i;
	long long id;
	int fd, dupfd, obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	id = LOP_OK(h, op_lease(fd, 0, 0));
	cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), id, "second LEASE");
	/* flags and signal do not make it another lease */
	cr_assert_eq(lop_do(h, op_lease(fd, MAPDIRECT_LEASE_ALLOCATE, SIGUSR2)),
		     id, "LEASE with other arguments");
	/* a dup()ed fd is the same open file */
	dupfd = (int)LOP_OK(h, op_dup(fd));
	cr_assert_eq(lop_do(h, op_lease(dupfd, 0, 0)), id, "LEASE on a dup");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1, "%u holders after leasing one open file "
		     "three times", i.holders);
	close(obs);
}

/* SPEC 4.1 "Several processes may hold leases on one file at once" */
MDFS_LEASE_TEST(lease_abi, several_processes_lease_one_file, NULL)
{
	struct mdfs_agent *h[3];
	struct mapdirect_lease_info i;
	long long id[3];
	int fd[3], obs, n;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	for (n = 0; n < 3; n++) {
		h[n] = mdfs_agent_start(-1, -1);
		fd[n] = LOP_OK(h[n], op_open(mdfs_mpath(fs, "f"), O_RDWR));
		id[n] = LOP_OK(h[n], op_lease(fd[n], 0, 0));
		for (int k = 0; k < n; k++)
			cr_assert_neq(id[n], id[k], "holders %d and %d share "
				      "lease id %lld", k, n, id[n]);
	}
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.holders, 3);
	for (n = 0; n < 3; n++) {
		lease_info(h[n], fd[n], &i);
		cr_assert_eq(i.lease_id, (__u64)id[n], "holder %d sees id "
			     "%llu, its lease is %lld", n,
			     (unsigned long long)i.lease_id, id[n]);
		cr_assert_eq(i.holders, 3);
	}
	LOP_OK(h[1], op_unlease(fd[1], (unsigned long long)id[1]));
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 2, "%u holders after one unleased", i.holders);
	lease_info(h[1], fd[1], &i);
	cr_assert_eq(i.lease_id, 0);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	close(obs);
}

static int raw_lease(int fd, struct mapdirect_lease *l)
{
	return ioctl(fd, MAPDIRECT_IOC_LEASE, l) ? errno : 0;
}

/*
 * include/mapdirect.h: out fields are ignored coming in, so a struct that
 * was answered can be sent again (a lease per fd in a loop, GETLEASE
 * polled): on DAX the first answer sets MAPDIRECT_OUT_USERFLUSH, and
 * refusing it made every second LEASE fail EINVAL there only.
 */
MDFS_LEASE_TEST(lease_abi, an_answered_struct_can_be_sent_again, NULL)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_lease_info i = { .size = sizeof(i) };
	__u64 first;
	int fd1, fd2;

	lease_file(fs, "f", SIZE, 'a');
	fd1 = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	fd2 = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert(fd1 >= 0 && fd2 >= 0);
	l.out_flags = ~0u;	/* as if answered, every bit */
	l.lease_id = 1ull << 40;
	cr_assert_eq(raw_lease(fd1, &l), 0, "LEASE with answered out fields: "
		     "%s", strerror(errno));
	first = l.lease_id;
	cr_assert_eq(l.out_flags & ~MAPDIRECT_OUT_USERFLUSH, 0,
		     "out_flags %#x: an input bit came back", l.out_flags);
	l.out_flags = ~0u;
	cr_assert_eq(raw_lease(fd2, &l), 0, "second LEASE, same struct: %s",
		     strerror(errno));
	cr_assert_neq(l.lease_id, first, "two open files, one lease id");

	memset(&i, 0xff, sizeof(i));
	i.size = sizeof(i);
	i.flags = 0;
	memset(i.reserved, 0, sizeof(i.reserved));
	cr_assert_eq(ioctl(fd1, MAPDIRECT_IOC_GETLEASE, &i), 0,
		     "GETLEASE with answered out fields: %s", strerror(errno));
	cr_assert(i.lease_id == first || i.lease_id == l.lease_id,
		  "GETLEASE: lease %llu, not one of ours",
		  (unsigned long long)i.lease_id);
	cr_assert_eq(i.holders, 2);
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	cr_assert_eq(i.ms_left, 0);
	cr_assert_eq(i.out_flags, l.out_flags, "the two leases disagree "
		     "on USERFLUSH");
	close(fd1);
	close(fd2);
}

/*
 * SPEC 4.1 EINVAL: "unknown flags, bad signal number, struct size
 * mismatch"; include/mapdirect.h: reserved fields must be zero. Nothing
 * is granted by a refused request.
 */
MDFS_LEASE_TEST(lease_abi, lease_einval_on_bad_arguments, NULL)
{
	const struct mapdirect_lease good = { .size = sizeof(good) };
	struct mapdirect_lease_info i;
	struct mapdirect_lease l;
	int fd, obs;

	lease_file(fs, "f", SIZE, 'a');
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	obs = lease_obs(fs, "f");

#define EXPECT_EINVAL(what, field, value)				\
	do {								\
		l = good;						\
		l.field = value;					\
		cr_assert_eq(raw_lease(fd, &l), EINVAL, "LEASE with %s: " \
			     "%s, expected EINVAL", what,		\
			     strerror(raw_lease(fd, &l)));		\
	} while (0)
	EXPECT_EINVAL("size 0", size, 0);
	EXPECT_EINVAL("size - 8", size, sizeof(l) - 8);
	EXPECT_EINVAL("size + 8", size, sizeof(l) + 8);
	EXPECT_EINVAL("reserved[0] 1", reserved[0], 1);
	EXPECT_EINVAL("reserved[3] 1", reserved[3], 1);
	EXPECT_EINVAL("flag 1 << 2", flags, 1u << 2);
	EXPECT_EINVAL("flag 1 << 31", flags, 1u << 31);
	EXPECT_EINVAL("flags ALLOCATE | 1 << 5", flags,
		      MAPDIRECT_LEASE_ALLOCATE | (1u << 5));
	EXPECT_EINVAL("signal 65", signal, 65);
	EXPECT_EINVAL("signal 1000", signal, 1000);
	EXPECT_EINVAL("signal -1", signal, ~0u);
#undef EXPECT_EINVAL
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 0, "a refused LEASE left %u leases",
		     i.holders);
	cr_assert_eq(i.state, MAPDIRECT_STATE_NONE);

	/* the largest signal number is fine */
	l = good;
	l.signal = 64;
	cr_assert_eq(raw_lease(fd, &l), 0, "LEASE with signal 64: %s",
		     strerror(raw_lease(fd, &l)));
	cr_assert_geq(l.lease_id, 1);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1);
	close(fd);
	close(obs);
}

/*
 * include/mapdirect.h for UNLEASE and GETLEASE: size, flags and reserved
 * fields are checked (EINVAL) and a refused UNLEASE ends nothing.
 */
MDFS_LEASE_TEST(lease_abi, unlease_getlease_einval_on_bad_arguments, NULL)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_unlease u, ugood = { .size = sizeof(u) };
	struct mapdirect_lease_info i, igood = { .size = sizeof(i) };
	int fd, obs;

	lease_file(fs, "f", SIZE, 'a');
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	obs = lease_obs(fs, "f");
	cr_assert_eq(ioctl(fd, MAPDIRECT_IOC_LEASE, &l), 0, "LEASE: %s",
		     strerror(errno));

#define EXPECT(ioc, var, good, what, field, value)			\
	do {								\
		var = good;						\
		var.field = value;					\
		errno = 0;						\
		cr_assert_eq(ioctl(fd, ioc, &var), -1, "%s with %s "	\
			     "succeeded", #ioc, what);			\
		cr_assert_eq(errno, EINVAL, "%s with %s: %s", #ioc,	\
			     what, strerror(errno));			\
	} while (0)
	EXPECT(MAPDIRECT_IOC_UNLEASE, u, ugood, "size 0", size, 0);
	EXPECT(MAPDIRECT_IOC_UNLEASE, u, ugood, "size + 1", size,
	       sizeof(u) + 1);
	EXPECT(MAPDIRECT_IOC_UNLEASE, u, ugood, "flags 1", flags, 1);
	EXPECT(MAPDIRECT_IOC_UNLEASE, u, ugood, "reserved[0]", reserved[0], 1);
	EXPECT(MAPDIRECT_IOC_UNLEASE, u, ugood, "reserved[1]", reserved[1], 1);
	EXPECT(MAPDIRECT_IOC_GETLEASE, i, igood, "size 0", size, 0);
	EXPECT(MAPDIRECT_IOC_GETLEASE, i, igood, "size - 4", size,
	       sizeof(i) - 4);
	EXPECT(MAPDIRECT_IOC_GETLEASE, i, igood, "flags 1", flags, 1);
	EXPECT(MAPDIRECT_IOC_GETLEASE, i, igood, "reserved[2]", reserved[2],
	       1);
#undef EXPECT
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1, "a refused UNLEASE ended the lease");
	cr_assert_eq(i.state, MAPDIRECT_STATE_HELD);
	close(fd);
	close(obs);
}

/*
 * SPEC 4.2.1 / mapdirect.h UNLEASE "on the open file that took it":
 * ENOENT when this open file has no lease, EINVAL when the id is not its
 * lease's; id 0 or the right id end it.
 */
MDFS_LEASE_TEST(lease_abi, unlease_enoent_einval_and_success, NULL)
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	struct mapdirect_lease_info i;
	long long id, id2;
	int fd, other, obs;

	lease_file(fs, "f", SIZE, 'a');
	obs = lease_obs(fs, "f");
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	other = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(h, op_unlease(fd, 0)), -ENOENT,
		     "UNLEASE with no lease at all");
	id = LOP_OK(h, op_lease(fd, 0, 0));
	/* the same process, another open file of the same file */
	cr_assert_eq(lop_do(h, op_unlease(other, 0)), -ENOENT,
		     "UNLEASE on an open file that took no lease");
	cr_assert_eq(lop_do(h, op_unlease(other, (unsigned long long)id)),
		     -ENOENT, "UNLEASE with the id, on another open file");
	cr_assert_eq(lop_do(h, op_unlease(fd, (unsigned long long)id + 1)),
		     -EINVAL, "UNLEASE with a wrong id");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1, "refused UNLEASEs ended the lease");
	cr_assert_eq(lop_do(h, op_unlease(fd, (unsigned long long)id)), 0,
		     "UNLEASE with its id");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 0);
	cr_assert_eq(i.state, MAPDIRECT_STATE_NONE);
	cr_assert_eq(lop_do(h, op_unlease(fd, 0)), -ENOENT, "second UNLEASE");

	/* id 0 ends whatever lease the open file has */
	id2 = LOP_OK(h, op_lease(fd, 0, 0));
	cr_assert_geq(id2, 1);
	cr_assert_eq(lop_do(h, op_unlease(fd, 0)), 0, "UNLEASE with id 0");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 0);
	close(obs);
}

/*
 * SPEC 4.1 "On an fd of a regular file in the mount": a directory fd is
 * refused, and the daemon keeps serving.
 */
MDFS_LEASE_TEST(lease_abi, lease_on_directory_refused, NULL)
{
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct mapdirect_unlease u = { .size = sizeof(u) };
	int dfd, fd;

	lease_file(fs, "f", SIZE, 'a');
	cr_assert_eq(mkdir(mdfs_bpath(fs, "d"), 0755), 0);
	dfd = open(mdfs_mpath(fs, "d"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dfd, 0, "open dir: %s", strerror(errno));
	errno = 0;
	cr_assert_eq(ioctl(dfd, MAPDIRECT_IOC_LEASE, &l), -1,
		     "LEASE on a directory succeeded (id %llu)",
		     (unsigned long long)l.lease_id);
	cr_assert(errno == EINVAL || errno == ENOTTY,
		  "LEASE on a directory: %s, expected EINVAL or ENOTTY",
		  strerror(errno));
	errno = 0;
	cr_assert_eq(ioctl(dfd, MAPDIRECT_IOC_UNLEASE, &u), -1);
	cr_assert(errno == ENOENT || errno == EINVAL || errno == ENOTTY,
		  "UNLEASE on a directory: %s", strerror(errno));
	close(dfd);
	cr_assert(mdfs_is_mounted(fs->mnt), "daemon gone");
	fd = open(mdfs_mpath(fs, "f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open after LEASE on a directory: %s",
		      strerror(errno));
	cr_assert_eq(ioctl(fd, MAPDIRECT_IOC_LEASE, &l), 0, "LEASE: %s",
		     strerror(errno));
	close(fd);
}

/* Agent: drop CAP_LEASE from the effective set (kept in the permitted) */
static long drop_cap_lease(void *buf)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_LEASE / 32].effective &= ~(1u << (CAP_LEASE % 32));
	return syscall(SYS_capset, &hdr, data);
}

/* Agent: act on files as fsuid @buf (an int) */
static long set_fsuid(void *buf)
{
	int uid = *(int *)buf;

	setfsuid((uid_t)uid);
	return setfsuid((uid_t)-1) == uid ? 0 : -1;
}

/*
 * SPEC 4.1 EACCES: "the caller's fsuid is not the file's owner and the
 * caller lacks CAP_LEASE". Files owned by root (0666) and by uid 1000.
 */
MDFS_LEASE_TEST(lease_abi, eacces_unless_owner_or_cap_lease, "allow_other")
{
	struct mdfs_agent *user = mdfs_agent_start(USER, USER);
	struct mdfs_agent *nocap = mdfs_agent_start(-1, -1);
	struct mdfs_agent *fsu = mdfs_agent_start(-1, -1);
	const char *rootf = mdfs_mpath(fs, "shared/rootf");
	const char *userf = mdfs_mpath(fs, "shared/userf");
	int fd, uid = USER, err;

	cr_assert_eq(mkdir(mdfs_bpath(fs, "shared"), 0777), 0);
	cr_assert_eq(chmod(mdfs_bpath(fs, "shared"), 0777), 0);
	lease_file(fs, "shared/rootf", SIZE, 'r');
	cr_assert_eq(chmod(mdfs_bpath(fs, "shared/rootf"), 0666), 0);

	/* uid 1000 may write root's file, but not lease it */
	fd = LOP_OK(user, op_open(rootf, O_RDWR));
	cr_assert_eq(lop_do(user, op_lease(fd, 0, 0)), -EACCES,
		     "uid %d leasing root's file", USER);
	/* its own file, created through the mount and filled */
	fd = LOP_OK(user, op_open(userf, O_RDWR | O_CREAT));
	cr_assert_eq(LOP_OK(user, op_pwrite(fd, 0, 'u', SIZE)), SIZE);
	cr_assert_eq(mdfs_lstat(mdfs_bpath(fs, "shared/userf")).st_uid, USER);
	cr_assert_geq(lop_do(user, op_lease(fd, 0, 0)), 1,
		      "uid %d leasing its own file", USER);

	/* root: CAP_LEASE lets it lease uid 1000's file */
	fd = LOP_OK(nocap, op_open(userf, O_RDWR));
	cr_assert_geq(LOP_OK(nocap, op_lease(fd, 0, 0)), 1,
		      "root (CAP_LEASE) leasing uid %d's file", USER);
	/* root without CAP_LEASE in its effective set may not */
	fd = LOP_OK(nocap, op_open(userf, O_RDWR));
	cr_assert_eq(mdfs_agent_call(nocap, drop_cap_lease, &err, sizeof(err),
				     &err), 0, "capset: %s", strerror(err));
	cr_assert_eq(lop_do(nocap, op_lease(fd, 0, 0)), -EACCES,
		     "root without CAP_LEASE leasing uid %d's file", USER);
	/* it is the fsuid that must own the file, not the uid */
	cr_assert_eq(mdfs_agent_call(fsu, drop_cap_lease, &err, sizeof(err),
				     &err), 0, "capset: %s", strerror(err));
	cr_assert_eq(mdfs_agent_call(fsu, set_fsuid, &uid, sizeof(uid), NULL),
		     0, "setfsuid");
	fd = LOP_OK(fsu, op_open(userf, O_RDWR));
	cr_assert_geq(lop_do(fsu, op_lease(fd, 0, 0)), 1,
		      "uid 0 with fsuid %d, no CAP_LEASE, leasing fsuid's file",
		      USER);
	fd = LOP_OK(fsu, op_open(rootf, O_RDWR));
	cr_assert_eq(lop_do(fsu, op_lease(fd, 0, 0)), -EACCES,
		     "uid 0 with fsuid %d, no CAP_LEASE, leasing root's file",
		     USER);
}

/* A backing file @rel of @size bytes with @byte at [data, data + len) */
static void sparse_file(struct mdfs_fs *fs, const char *rel, off_t size,
			off_t data, size_t len, int byte)
{
	int fd = open(mdfs_bpath(fs, "%s", rel),
		      O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char *buf = malloc(len + 1);

	cr_assert_geq(fd, 0);
	memset(buf, byte, len);
	cr_assert_eq(ftruncate(fd, size), 0);
	if (len)
		mdfs_pwrite_all(fd, buf, len, data);
	cr_assert_eq(fsync(fd), 0);
	close(fd);
	free(buf);
}

/*
 * SPEC 4.1 EPERM "holes ... in [0, size)"; MAPDIRECT_LEASE_ALLOCATE
 * "allocate and zero every hole ... first, then grant": the data stays,
 * the holes read zeros and the backing file has none left.
 */
static void holes_body(struct mdfs_fs *fs)
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	struct mapdirect_lease_info i;
	int fd, obs;

	/* all hole; and data, hole, data */
	sparse_file(fs, "sparse", 8192, 0, 0, 0);
	sparse_file(fs, "mid", 3 * 8192, 0, 4096, 'd');
	{
		int bfd = open(mdfs_bpath(fs, "mid"), O_RDWR | O_CLOEXEC);
		char tail[4096];

		memset(tail, 't', sizeof(tail));
		cr_assert_geq(bfd, 0);
		mdfs_pwrite_all(bfd, tail, sizeof(tail), 3 * 8192 - 4096);
		cr_assert_eq(fsync(bfd), 0);
		close(bfd);
	}
	cr_assert_lt(lease_backing_hole(fs, "sparse"), 8192,
		     "no hole in the backing: cannot test");
	cr_assert_lt(lease_backing_hole(fs, "mid"), 3 * 8192,
		     "no hole in the backing: cannot test");

	obs = lease_obs(fs, "sparse");
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "sparse"), O_RDWR));
	cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), -EPERM,
		     "LEASE on a file that is all hole");
	/* SPEC 4.1 "The reason is in user.mapdirect.eligible" */
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "sparse"),
				     "user.mapdirect.eligible"),
			 "no: hole at 0+8192\n");
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 0);
	cr_assert_geq(LOP_OK(h, op_lease(fd, MAPDIRECT_LEASE_ALLOCATE, 0)), 1,
		      "LEASE ALLOCATE on a file that is all hole");
	cr_assert_eq(lease_backing_hole(fs, "sparse"), 8192,
		     "a hole is left in the backing after ALLOCATE");
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "sparse"),
				     "user.mapdirect.eligible"), "yes\n");
	lease_assert_backing(fs, "sparse", 0, 8192, 0);
	cr_assert_eq(lease_backing_size(fs, "sparse"), 8192);
	lease_info(NULL, obs, &i);
	cr_assert_eq(i.holders, 1);
	close(obs);

	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "mid"), O_RDWR));
	cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), -EPERM,
		     "LEASE on a file with a hole in the middle");
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "mid"),
				     "user.mapdirect.eligible"),
			 "no: hole at 4096+16384\n");
	cr_assert_geq(LOP_OK(h, op_lease(fd, MAPDIRECT_LEASE_ALLOCATE, 0)), 1);
	cr_assert_eq(lease_backing_hole(fs, "mid"), 3 * 8192);
	lease_assert_backing(fs, "mid", 0, 4096, 'd');
	lease_assert_backing(fs, "mid", 4096, 2 * 8192, 0);
	lease_assert_backing(fs, "mid", 3 * 8192 - 4096, 4096, 't');
	cr_assert_eq(lease_backing_size(fs, "mid"), 3 * 8192);
}

MDFS_LEASE_TEST(lease_abi, eperm_on_holes_allocate_fills_them, NULL)
{
	holes_body(fs);
}

MDFS_LEASE_TEST_EXT4(lease_abi, eperm_on_holes_allocate_fills_them_ext4, NULL)
{
	holes_body(fs);
}

/*
 * SPEC 4.1 EPERM "unwritten extents in [0, size)" (fallocate mode 0 on
 * ext4), and ALLOCATE zeroes them: the backing reads zeros, has no hole
 * and no unwritten extent, and the written data is kept.
 */
MDFS_LEASE_TEST_EXT4(lease_abi, eperm_on_unwritten_extents_allocate_zeroes,
		     NULL)
{
	struct mdfs_agent *h = mdfs_agent_start(-1, -1);
	char data[4096];
	int bfd, fd;

	memset(data, 'w', sizeof(data));
	bfd = open(mdfs_bpath(fs, "f"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(bfd, 0);
	mdfs_pwrite_all(bfd, data, sizeof(data), 0);
	cr_assert_eq(fallocate(bfd, 0, 0, 64 << 10), 0, "fallocate: %s",
		     strerror(errno));
	cr_assert_eq(fsync(bfd), 0);
	close(bfd);
	cr_assert(lease_extent_flag(fs, "f", FIEMAP_EXTENT_UNWRITTEN),
		  "fallocate left no unwritten extent: cannot test");

	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), -EPERM,
		     "LEASE on a file with unwritten extents");
	cr_assert(!strncmp(lease_xattr(mdfs_mpath(fs, "f"),
				       "user.mapdirect.eligible"), "no: ", 4),
		  "user.mapdirect.eligible of a file with unwritten extents: "
		  "%s", lease_xattr(mdfs_mpath(fs, "f"),
				    "user.mapdirect.eligible"));
	cr_assert_geq(LOP_OK(h, op_lease(fd, MAPDIRECT_LEASE_ALLOCATE, 0)), 1,
		      "LEASE ALLOCATE on a file with unwritten extents");
	cr_assert_not(lease_extent_flag(fs, "f", FIEMAP_EXTENT_UNWRITTEN),
		      "unwritten extents left after ALLOCATE");
	cr_assert_eq(lease_backing_hole(fs, "f"), 64 << 10);
	lease_assert_backing(fs, "f", 0, sizeof(data), 'w');
	lease_assert_backing(fs, "f", sizeof(data), (64 << 10) - sizeof(data),
			     0);
	cr_assert_eq(lease_backing_size(fs, "f"), 64 << 10);
}

/*
 * SPEC 4.1 EPERM "shared (reflinked) extents": an xfs image with
 * reflink=1 on a loop device as BACKING (skipped where xfs is missing).
 */
MDFS_LEASE_TEST_NOMOUNT(lease_abi, eperm_on_shared_extents_xfs)
{
	struct mdfs_agent *h;
	char image[PATH_MAX];
	int fd;

	if (access("/usr/sbin/mkfs.xfs", X_OK) &&
	    access("/sbin/mkfs.xfs", X_OK))
		cr_skip_test("mkfs.xfs is not installed");
	mdfs_pathf(image, "%s/xfs.img", fs->tmp);
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 320 << 20), 0);
	close(fd);
	mdfs_cmd(fs, (const char *const[]){ "mkfs.xfs", "-q", "-f", "-m",
					    "reflink=1", image, NULL });
	mdfs_cmd(fs, (const char *const[]){ "mount", "-o", "loop", image,
					    fs->backing, NULL });
	cr_assert_eq(chmod(fs->backing, 0755), 0);
	lease_file(fs, "f", SIZE, 'x');
	mdfs_cmd(fs, (const char *const[]){ "cp", "--reflink=always",
					    mdfs_bpath(fs, "f"),
					    mdfs_bpath(fs, "g"), NULL });
	lease_file(fs, "plain", SIZE, 'p');
	cr_assert(lease_extent_flag(fs, "g", FIEMAP_EXTENT_SHARED),
		  "cp --reflink left no shared extent: cannot test");
	mdfs_start(fs, NULL, NULL);

	h = mdfs_agent_start(-1, -1);
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "g"), O_RDWR));
	cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), -EPERM,
		     "LEASE on a reflinked copy");
	cr_assert_str_eq(lease_xattr(mdfs_mpath(fs, "g"),
				     "user.mapdirect.eligible"),
			 "no: shared extents\n");
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "f"), O_RDWR));
	cr_assert_eq(lop_do(h, op_lease(fd, 0, 0)), -EPERM,
		     "LEASE on a reflink source");
	fd = LOP_OK(h, op_open(mdfs_mpath(fs, "plain"), O_RDWR));
	cr_assert_geq(lop_do(h, op_lease(fd, 0, 0)), 1,
		      "LEASE on an unshared file of the same xfs");
}

/*
 * user.mapdirect.stats leases_refused counts every refused LEASE, whoever
 * refuses it: a malformed request, not the owner, not eligible, an
 * unmediated writer (mediate=leased), a break in progress.
 */
MDFS_LEASE_TEST(lease_abi, every_refusal_is_counted, "allow_other")
{
	struct mdfs_agent *user = mdfs_agent_start(USER, USER);
	struct mdfs_agent *w = mdfs_agent_start(-1, -1);
	struct mapdirect_lease l = { .size = sizeof(l) };
	struct lease_holder h = { 0 };
	long long refused = lease_stat(fs, "leases_refused");
	int fd, ufd, wfd;
	struct lop op;

	lease_file(fs, "f", SIZE, 'a');
	cr_assert_eq(chmod(mdfs_bpath(fs, "f"), 0666), 0);
	fd = open(mdfs_mpath(fs, "f"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);

	l.flags = 1u << 31;
	cr_assert_eq(raw_lease(fd, &l), EINVAL);
	cr_assert_eq(lease_stat(fs, "leases_refused"), ++refused,
		     "a malformed request");

	ufd = LOP_OK(user, op_open(mdfs_mpath(fs, "f"), O_RDONLY));
	cr_assert_eq(lop_do(user, op_lease(ufd, 0, 0)), -EACCES);
	cr_assert_eq(lease_stat(fs, "leases_refused"), ++refused,
		     "not the owner");

	lease_hole_file(fs, "sparse", SIZE);
	{
		int sfd = open(mdfs_mpath(fs, "sparse"), O_RDONLY | O_CLOEXEC);

		cr_assert_geq(sfd, 0);
		l.flags = 0;
		cr_assert_eq(raw_lease(sfd, &l), EPERM);
		close(sfd);
	}
	cr_assert_eq(lease_stat(fs, "leases_refused"), ++refused,
		     "not eligible (a hole)");

	lease_hold(fs, &h, "f", 0, 0);
	wfd = LOP_OK(w, op_open(mdfs_mpath(fs, "f"), O_WRONLY | O_NONBLOCK));
	op = op_pwrite(wfd, 0, 'b', 4096);
	cr_assert_eq(lop_run(w, &op), -EAGAIN);
	cr_assert_eq(raw_lease(fd, &l), EAGAIN);
	cr_assert_eq(lease_stat(fs, "leases_refused"), ++refused,
		     "a break in progress");
	LOP_OK(h.a, op_unlease(h.fd, 0));

	/* the breaker's open stays mediated; this one is not */
	if (!mdfs_mediate_all(fs)) {
		LOP_OK(w, op_open(mdfs_mpath(fs, "f"), O_WRONLY));
		cr_assert_eq(raw_lease(fd, &l), EAGAIN);
		cr_assert_eq(lease_stat(fs, "leases_refused"), ++refused,
			     "an unmediated writer");
	}
	close(fd);
}
