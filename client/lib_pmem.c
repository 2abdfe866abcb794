// SPDX-License-Identifier: LGPL-2.1-or-later
/* Persistent-memory regions and their namespaces, as libndctl sees them. */
#include <errno.h>
#include <ndctl/libndctl.h>
#include <linux/ndctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib_private.h"

struct mapdirect_namespace {
	struct mapdirect_namespace *next;
	char name[32];
	char mode[16];
	char blockdev[32];	/* "" for devdax */
	uint64_t size;
};

struct mapdirect_region {
	struct mapdirect_region *next;
	char name[32];
	char bus[64];
	uint64_t size;
	uint64_t available;
	struct mapdirect_namespace *ns;
};

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

void mdc_pmem_free(struct mapdirect_ctx *ctx)
{
	struct mapdirect_region *r, *rn;
	struct mapdirect_namespace *ns, *nn;

	for (r = ctx->regions; r; r = rn) {
		rn = r->next;
		for (ns = r->ns; ns; ns = nn) {
			nn = ns->next;
			free(ns);
		}
		free(r);
	}
	ctx->regions = NULL;
	ctx->n_regions = 0;
}

/* The active namespaces of @region, in libndctl's order. */
static int load_namespaces(struct mapdirect_region *r,
			   struct ndctl_region *region)
{
	struct mapdirect_namespace **tail = &r->ns;
	struct ndctl_namespace *ndns;

	ndctl_namespace_foreach(region, ndns) {
		struct ndctl_pfn *pfn = ndctl_namespace_get_pfn(ndns);
		struct mapdirect_namespace *ns;

		/* the idle seed namespace of every region is no device */
		if (!ndctl_namespace_is_active(ndns))
			continue;
		ns = calloc(1, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		copy(ns->name, sizeof(ns->name),
		     ndctl_namespace_get_devname(ndns));
		copy(ns->mode, sizeof(ns->mode),
		     mode_name(ndctl_namespace_get_mode(ndns)));
		copy(ns->blockdev, sizeof(ns->blockdev),
		     pfn ? ndctl_pfn_get_block_device(pfn) :
			   ndctl_namespace_get_block_device(ndns));
		ns->size = ndctl_namespace_get_size(ndns);
		*tail = ns;
		tail = &ns->next;
	}
	return 0;
}

int mapdirect_pmem_load(struct mapdirect_ctx *ctx)
{
	struct mapdirect_region **tail;
	struct ndctl_ctx *nd;
	struct ndctl_bus *bus;
	int ret;

	if (!ctx)
		return -EINVAL;
	mdc_pmem_free(ctx);
	ret = ndctl_new(&nd);
	if (ret)
		return ret < 0 ? ret : -ENOMEM;
	tail = &ctx->regions;
	ndctl_bus_foreach(nd, bus) {
		struct ndctl_region *region;

		ndctl_region_foreach(bus, region) {
			struct mapdirect_region *r;

			if (ndctl_region_get_type(region) !=
			    ND_DEVICE_REGION_PMEM)
				continue;
			r = calloc(1, sizeof(*r));
			if (!r) {
				ret = -ENOMEM;
				goto err_load;
			}
			*tail = r;
			tail = &r->next;
			ctx->n_regions++;
			copy(r->name, sizeof(r->name),
			     ndctl_region_get_devname(region));
			copy(r->bus, sizeof(r->bus),
			     ndctl_bus_get_provider(bus));
			r->size = ndctl_region_get_size(region);
			r->available = ndctl_region_get_available_size(region);
			ret = load_namespaces(r, region);
			if (ret)
				goto err_load;
		}
	}
	ndctl_unref(nd);
	return (int)ctx->n_regions;

err_load:
	ndctl_unref(nd);
	mdc_pmem_free(ctx);
	return ret;
}

struct mapdirect_region *mapdirect_region_get_first(struct mapdirect_ctx *ctx)
{
	return ctx ? ctx->regions : NULL;
}

struct mapdirect_region *mapdirect_region_get_next(
	struct mapdirect_region *region)
{
	return region ? region->next : NULL;
}

const char *mapdirect_region_get_name(const struct mapdirect_region *region)
{
	return region->name;
}

const char *mapdirect_region_get_bus(const struct mapdirect_region *region)
{
	return region->bus;
}

uint64_t mapdirect_region_get_size(const struct mapdirect_region *region)
{
	return region->size;
}

uint64_t mapdirect_region_get_available(const struct mapdirect_region *region)
{
	return region->available;
}

struct mapdirect_namespace *mapdirect_namespace_get_first(
	struct mapdirect_region *region)
{
	return region ? region->ns : NULL;
}

struct mapdirect_namespace *mapdirect_namespace_get_next(
	struct mapdirect_namespace *ns)
{
	return ns ? ns->next : NULL;
}

const char *mapdirect_namespace_get_name(const struct mapdirect_namespace *ns)
{
	return ns->name;
}

const char *mapdirect_namespace_get_mode(const struct mapdirect_namespace *ns)
{
	return ns->mode;
}

const char *mapdirect_namespace_get_blockdev(
	const struct mapdirect_namespace *ns)
{
	return ns->blockdev[0] ? ns->blockdev : NULL;
}

uint64_t mapdirect_namespace_get_size(const struct mapdirect_namespace *ns)
{
	return ns->size;
}
