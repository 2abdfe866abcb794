// SPDX-License-Identifier: GPL-2.0-or-later
/* mapdirect status [--json] PATH... */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"

const char status_usage[] =
	"usage: mapdirect status [--json] PATH...\n"
	"\n"
	"The lease state, holders, eligibility for a lease and DAX of each\n"
	"file on a mapdirectfs mount.\n"
	"\n"
	"  -j, --json   one JSON array, an object per PATH that could be read\n"
	"  -h, --help   this text\n";

static const struct option status_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/* the same words as a user.mapdirect.leases entry, without the path */
static void print_lease(const struct mapdirect_lease_entry *l)
{
	char sig[32];

	printf("  lease:    id=%" PRIu64 " pid=%d comm=%s since=%s signal=%s "
	       "state=%s", mapdirect_lease_get_id(l),
	       (int)mapdirect_lease_get_pid(l), mapdirect_lease_get_comm(l),
	       mapdirect_lease_get_since(l),
	       cli_signal_name(mapdirect_lease_get_signal(l), sig,
			       sizeof(sig)),
	       mapdirect_state_name(mapdirect_lease_get_state(l)));
	if (mapdirect_lease_get_state(l) == MAPDIRECT_STATE_BREAKING)
		printf(" ms_left=%" PRIu64, mapdirect_lease_get_ms_left(l));
	printf(" flags=%s fd=%s\n",
	       lease_flags_name(mapdirect_lease_get_flags(l)),
	       mapdirect_lease_get_fd_open(l) ? "open" : "closed");
}

static void print_status(const char *path,
			 const struct mapdirect_file_status *st,
			 struct mapdirect_ctx *ctx)
{
	struct mapdirect_lease_entry *l;

	printf("%s\n", path);
	printf("  state:    %s", mapdirect_state_name(st->state));
	if (st->state == MAPDIRECT_STATE_BREAKING)
		printf(" (%" PRIu64 " ms left)", st->ms_left);
	printf("\n  holders:  %u\n", st->holders);
	if (st->eligible)
		printf("  eligible: yes\n");
	else
		printf("  eligible: no: %s\n", st->reason);
	printf("  dax:      %d\n", st->dax);
	mapdirect_lease_foreach(ctx, l)
		print_lease(l);
}

int cmd_status(int argc, char **argv)
{
	struct json_object *arr = NULL;
	struct mapdirect_file_status st;
	struct mapdirect_ctx *ctx;
	bool json = false;
	int c, ret, shown = 0, code = MD_EXIT_OK;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jh", status_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_help(status_usage);
		default:
			return cli_usage_error("status", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cli_usage_error("status", "no PATH given");
	ret = mapdirect_new(&ctx);
	if (ret) {
		cli_error("%s", strerror(-ret));
		return MD_EXIT_ERROR;
	}
	if (json && !(arr = json_object_new_array())) {
		mapdirect_unref(ctx);
		cli_error("out of memory");
		return MD_EXIT_ERROR;
	}
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];

		ret = cli_check_type(path, false);
		if (ret) {
			code = cli_worse(code, ret);
			continue;
		}
		ret = mapdirect_status(path, &st);
		if (!ret) {
			ret = mapdirect_leases_load(ctx, path);
			ret = ret < 0 ? ret : 0;
		}
		if (ret) {
			code = cli_worse(code, cli_path_error(path, ret));
			continue;
		}
		if (!json)
			print_status(path, &st, ctx);
		else if (!json_append(arr, status_to_json(path, &st, ctx, 0)))
			code = cli_worse(code, cli_path_error(path, -ENOMEM));
		else
			shown++;
	}
	mapdirect_unref(ctx);
	/* mapdirect(1): no document when nothing could be reported */
	if (json && shown)
		code = cli_worse(code, json_print(arr));
	else if (json)
		json_object_put(arr);
	return code;
}
