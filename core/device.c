// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <limits.h>
#include <ndctl/libndctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "device.h"

static const char *mode_name(enum ndctl_namespace_mode m)
{
	switch (m) {
	case NDCTL_NS_MODE_FSDAX:
		return "fsdax";
	case NDCTL_NS_MODE_DEVDAX:
		return "devdax";
	case NDCTL_NS_MODE_SECTOR:
		return "sector";
	case NDCTL_NS_MODE_RAW:
		return "raw";
	default:
		return "unknown";
	}
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

int md_pmem_foreach(int (*fn)(void *arg, const struct md_pmem_ns *ns),
		    void *arg)
{
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;
	int n = 0, err;

	err = ndctl_new(&ctx);
	if (err)
		return err < 0 ? err : -ENOMEM;
	ndctl_bus_foreach(ctx, bus) {
		struct ndctl_region *region;

		ndctl_region_foreach(bus, region) {
			struct ndctl_namespace *ndns;

			ndctl_namespace_foreach(region, ndns) {
				struct ndctl_pfn *pfn = ndctl_namespace_get_pfn(ndns);
				struct md_pmem_ns ns = { 0 };
				const char *blk;

				if (!ndctl_namespace_is_active(ndns))
					continue;
				copy(ns.bus, sizeof(ns.bus),
				     ndctl_bus_get_provider(bus));
				copy(ns.region, sizeof(ns.region),
				     ndctl_region_get_devname(region));
				copy(ns.ns, sizeof(ns.ns),
				     ndctl_namespace_get_devname(ndns));
				copy(ns.mode, sizeof(ns.mode),
				     mode_name(ndctl_namespace_get_mode(ndns)));
				blk = pfn ? ndctl_pfn_get_block_device(pfn) :
					    ndctl_namespace_get_block_device(ndns);
				copy(ns.blockdev, sizeof(ns.blockdev), blk);
				ns.size = ndctl_namespace_get_size(ndns);
				n++;
				if (fn(arg, &ns))
					goto out;
			}
		}
	}
out:
	ndctl_unref(ctx);
	return n;
}

struct find {
	const char *disk;
	struct md_pmem_ns *out;
	int found;
};

static int match(void *arg, const struct md_pmem_ns *ns)
{
	struct find *f = arg;

	if (!ns->blockdev[0] || strcmp(ns->blockdev, f->disk))
		return 0;
	*f->out = *ns;
	f->found = 1;
	return 1;
}

int md_pmem_for_dev(dev_t dev, struct md_pmem_ns *out)
{
	char link[64], real[PATH_MAX], disk[PATH_MAX + 16];
	struct find f = { .out = out };
	char *base;
	int n;

	/* /sys/dev/block/M:m -> .../block/pmem0[/pmem0p1] */
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	if (!realpath(link, real))
		return 0;	/* not a block device: tmpfs, overlay... */
	snprintf(disk, sizeof(disk), "%s/partition", real);
	if (access(disk, F_OK) == 0)
		*strrchr(real, '/') = '\0';	/* a partition: its disk */
	base = strrchr(real, '/');
	f.disk = base ? base + 1 : real;
	if (strncmp(f.disk, "pmem", 4))
		return 0;
	n = md_pmem_foreach(match, &f);
	return n < 0 ? n : f.found;
}
