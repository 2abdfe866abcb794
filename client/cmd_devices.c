// SPDX-License-Identifier: GPL-2.0-or-later
/* mapdirect devices [--json]: pmem (libndctl) and the mapdirectfs mounts */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"

const char devices_usage[] =
	"usage: mapdirect devices [--json]\n"
	"\n"
	"The persistent-memory regions and namespaces of this machine, and\n"
	"each mapdirectfs mount with the DAX state of its backing.\n"
	"\n"
	"  -j, --json   one JSON object: {\"regions\": [], \"mounts\": []}\n"
	"  -h, --help   this text\n";

static const struct option devices_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

static void print_regions(struct mapdirect_ctx *ctx, int n)
{
	struct mapdirect_namespace *ns;
	struct mapdirect_region *r;

	if (n == 0) {
		printf("no persistent memory found\n");
		return;
	}
	mapdirect_region_foreach(ctx, r) {
		printf("%s bus=%s size=%" PRIu64 " available=%" PRIu64 "\n",
		       mapdirect_region_get_name(r),
		       mapdirect_region_get_bus(r),
		       mapdirect_region_get_size(r),
		       mapdirect_region_get_available(r));
		mapdirect_namespace_foreach(r, ns) {
			const char *blk = mapdirect_namespace_get_blockdev(ns);

			printf("  %s mode=%s blockdev=%s size=%" PRIu64 "\n",
			       mapdirect_namespace_get_name(ns),
			       mapdirect_namespace_get_mode(ns),
			       blk ? blk : "-",
			       mapdirect_namespace_get_size(ns));
		}
	}
}

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

#define device mapdirect_mount_get_device
#define config mapdirect_mount_get_config

static void print_mounts(struct mapdirect_ctx *ctx, int n)
{
	struct mapdirect_mount *m;

	if (n == 0) {
		printf("no mapdirectfs mounts\n");
		return;
	}
	mapdirect_mount_foreach(ctx, m) {
		const char *region = device(m, "region");
		int err = mapdirect_mount_get_error(m);

		printf("mount %s backing=%s", mapdirect_mount_get_path(m),
		       mapdirect_mount_get_backing(m));
		if (err) {
			printf(" error=\"%s\"\n", strerror(-err));
			continue;
		}
		printf(" dax=%s dax_active=%s backing_dax=%s",
		       or_dash(config(m, "dax")),
		       or_dash(config(m, "dax_active")),
		       or_dash(mapdirect_mount_get_backing_dax(m)));
		if (region)
			printf(" device=%s/%s/%s mode=%s", region,
			       or_dash(device(m, "namespace")),
			       or_dash(device(m, "blockdev")),
			       or_dash(device(m, "mode")));
		else
			printf(" device=none");
		printf(" transport=%s passthrough=%s\n",
		       or_dash(config(m, "transport")),
		       or_dash(config(m, "passthrough_active")));
	}
}

static int print_json(struct mapdirect_ctx *ctx)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *regions = json_object_new_array();
	struct json_object *mounts = json_object_new_array();
	struct mapdirect_region *r;
	struct mapdirect_mount *m;

	if (!doc || !regions || !mounts)
		goto err_json;
	mapdirect_region_foreach(ctx, r)
		if (!json_append(regions, region_to_json(r, 0)))
			goto err_json;
	mapdirect_mount_foreach(ctx, m)
		if (!json_append(mounts, mount_to_json(m, 0)))
			goto err_json;
	/* the document owns each array once it is added, even on failure */
	if (json_object_object_add(doc, "regions", regions)) {
		json_object_put(mounts);
		mounts = NULL;
		goto err_json;
	}
	regions = NULL;
	if (json_object_object_add(doc, "mounts", mounts)) {
		mounts = NULL;
		goto err_json;
	}
	return json_print(doc);

err_json:
	json_object_put(regions);
	json_object_put(mounts);
	json_object_put(doc);
	cli_error("out of memory");
	return MD_EXIT_ERROR;
}

int cmd_devices(int argc, char **argv)
{
	struct mapdirect_ctx *ctx;
	bool json = false;
	int c, ret, regions, mounts, code;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jh", devices_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_help(devices_usage);
		default:
			return cli_usage_error("devices", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("devices", "no arguments expected");
	ret = mapdirect_new(&ctx);
	if (ret) {
		cli_error("%s", strerror(-ret));
		return MD_EXIT_ERROR;
	}
	regions = mapdirect_pmem_load(ctx);
	if (regions < 0) {
		cli_error("libndctl: %s", strerror(-regions));
		code = MD_EXIT_ERROR;
		goto out;
	}
	mounts = mapdirect_mounts_load(ctx);
	if (mounts < 0) {
		cli_error("/proc/self/mountinfo: %s", strerror(-mounts));
		code = MD_EXIT_ERROR;
		goto out;
	}
	if (json) {
		code = print_json(ctx);
	} else {
		print_regions(ctx, regions);
		print_mounts(ctx, mounts);
		code = MD_EXIT_OK;
	}
out:
	mapdirect_unref(ctx);
	return code;
}
