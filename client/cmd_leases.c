// SPDX-License-Identifier: GPL-2.0-or-later
/* mapdirect leases [--json] MOUNT: every lease of a mount, as /proc/locks */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"

const char leases_usage[] =
	"usage: mapdirect leases [--json] MOUNT\n"
	"\n"
	"Every lease of the mapdirectfs mount MOUNT (any directory in it),\n"
	"or of one file when MOUNT is a regular file. A path is shown where\n"
	"you could reach the file, its inode always.\n"
	"\n"
	"  -j, --json   one JSON array, an object per lease\n"
	"  -h, --help   this text\n";

static const struct option leases_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/*
 * @s with control characters as '?': names come as they are from the
 * ioctl, and a newline in one must not forge a line of the listing (nor
 * an escape sequence reach the terminal)
 */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
									  s[i];
	buf[i] = '\0';
	return buf;
}

static void print_lease(const struct mapdirect_lease_entry *l)
{
	const char *path = mapdirect_lease_get_path(l);
	char state[32], sig[32], dev[32], inode[64], comm[32], name[PATH_MAX];

	if (mapdirect_lease_get_state(l) == MAPDIRECT_STATE_BREAKING)
		snprintf(state, sizeof(state), "breaking(%" PRIu64 "ms)",
			 mapdirect_lease_get_ms_left(l));
	else
		snprintf(state, sizeof(state), "%s",
			 mapdirect_state_name(mapdirect_lease_get_state(l)));
	/* as /proc/locks: the file of a path the reader may not see */
	snprintf(inode, sizeof(inode), "%s:%" PRIu64,
		 dev_name(mapdirect_lease_get_dev(l), dev, sizeof(dev)),
		 mapdirect_lease_get_ino(l));
	printf("%-6" PRIu64 " %-8d %-16s %-18s %-11s %-18s %-6s %-24s %-20s "
	       "%s\n", mapdirect_lease_get_id(l),
	       (int)mapdirect_lease_get_pid(l),
	       printable(mapdirect_lease_get_comm(l), comm, sizeof(comm)),
	       state,
	       cli_signal_name(mapdirect_lease_get_signal(l), sig,
			       sizeof(sig)),
	       lease_flags_name(mapdirect_lease_get_flags(l)),
	       mapdirect_lease_get_fd_open(l) ? "open" : "closed",
	       mapdirect_lease_get_since(l), inode,
	       path ? printable(path, name, sizeof(name)) : "-");
}

int cmd_leases(int argc, char **argv)
{
	struct mapdirect_lease_entry *l;
	struct json_object *arr;
	struct mapdirect_ctx *ctx;
	bool json = false;
	int c, ret, code = MD_EXIT_OK;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jh", leases_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_help(leases_usage);
		default:
			return cli_usage_error("leases", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("leases", "one MOUNT expected");
	ret = mapdirect_new(&ctx);
	if (ret) {
		cli_error("%s", strerror(-ret));
		return MD_EXIT_ERROR;
	}
	code = cli_check_type(argv[optind], true);
	if (code)
		goto out;
	ret = mapdirect_leases_load(ctx, argv[optind]);
	if (ret < 0) {
		code = cli_path_error(argv[optind], ret);
		goto out;
	}
	if (!json) {
		printf("%-6s %-8s %-16s %-18s %-11s %-18s %-6s %-24s %-20s "
		       "%s\n", "ID", "PID", "COMM", "STATE", "SIGNAL", "FLAGS",
		       "FD", "SINCE", "INODE", "PATH");
		mapdirect_lease_foreach(ctx, l)
			print_lease(l);
		goto out;
	}
	arr = json_object_new_array();
	if (!arr) {
		cli_error("out of memory");
		code = MD_EXIT_ERROR;
		goto out;
	}
	mapdirect_lease_foreach(ctx, l) {
		if (!json_append(arr, lease_to_json(l, MDJ_PATH))) {
			json_object_put(arr);
			cli_error("out of memory");
			code = MD_EXIT_ERROR;
			goto out;
		}
	}
	code = json_print(arr);
out:
	mapdirect_unref(ctx);
	return code;
}
