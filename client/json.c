// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * JSON of the CLI: one *_to_json per object, every json_object_new_*
 * checked. The keys are documented in mapdirect(1) and stay stable.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "builtin.h"

/* Add @val (NULL when its allocation failed) to @obj under @key. */
static bool put(struct json_object *obj, const char *key,
		struct json_object *val)
{
	if (!val)
		return false;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* a string, or null */
static bool put_str(struct json_object *obj, const char *key, const char *s)
{
	if (!s)
		return !json_object_object_add(obj, key, NULL);
	return put(obj, key, json_object_new_string(s));
}

static bool put_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return put(obj, key, json_object_new_uint64(v));
}

static bool put_int(struct json_object *obj, const char *key, int64_t v)
{
	return put(obj, key, json_object_new_int64(v));
}

static bool put_bool(struct json_object *obj, const char *key, bool v)
{
	return put(obj, key, json_object_new_boolean(v));
}

bool json_append(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return false;
	if (json_object_array_add(arr, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

const char *lease_flags_name(unsigned int flags)
{
	flags &= MAPDIRECT_LEASE_FLAGS;
	if (flags == (MAPDIRECT_LEASE_ALLOCATE | MAPDIRECT_LEASE_EXCLUSIVE))
		return "allocate,exclusive";
	if (flags == MAPDIRECT_LEASE_ALLOCATE)
		return "allocate";
	if (flags == MAPDIRECT_LEASE_EXCLUSIVE)
		return "exclusive";
	return "none";
}

/* ["allocate", "exclusive"], [] for none */
static struct json_object *flags_to_json(unsigned int flags)
{
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	if (((flags & MAPDIRECT_LEASE_ALLOCATE) &&
	     !json_append(arr, json_object_new_string("allocate"))) ||
	    ((flags & MAPDIRECT_LEASE_EXCLUSIVE) &&
	     !json_append(arr, json_object_new_string("exclusive")))) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

const char *dev_name(dev_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x", major(dev), minor(dev));
	return buf;
}

struct json_object *lease_to_json(const struct mapdirect_lease_entry *l,
				  unsigned int flags)
{
	struct json_object *o = json_object_new_object();
	char dev[32];

	if (!o)
		return NULL;
	if (!put_u64(o, "id", mapdirect_lease_get_id(l)) ||
	    !put_int(o, "pid", mapdirect_lease_get_pid(l)) ||
	    !put_str(o, "comm", mapdirect_lease_get_comm(l)) ||
	    !put_str(o, "since", mapdirect_lease_get_since(l)) ||
	    !put_int(o, "signal", mapdirect_lease_get_signal(l)) ||
	    !put_str(o, "state",
		     mapdirect_state_name(mapdirect_lease_get_state(l))) ||
	    !put_u64(o, "ms_left", mapdirect_lease_get_ms_left(l)) ||
	    !put(o, "flags", flags_to_json(mapdirect_lease_get_flags(l))) ||
	    !put_bool(o, "fd_open", mapdirect_lease_get_fd_open(l)) ||
	    ((flags & MDJ_PATH) &&
	     (!put_str(o, "dev", dev_name(mapdirect_lease_get_dev(l), dev,
					  sizeof(dev))) ||
	      !put_u64(o, "ino", mapdirect_lease_get_ino(l)) ||
	      !put_str(o, "path", mapdirect_lease_get_path(l))))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *status_to_json(const char *path,
				   const struct mapdirect_file_status *st,
				   struct mapdirect_ctx *ctx,
				   unsigned int flags)
{
	struct json_object *o = json_object_new_object();
	struct json_object *leases = json_object_new_array();
	struct mapdirect_lease_entry *l;

	if (!o || !leases)
		goto err_json;
	mapdirect_lease_foreach(ctx, l)
		if (!json_append(leases, lease_to_json(l, flags & ~MDJ_PATH)))
			goto err_json;
	if (!put_str(o, "path", path) ||
	    !put_str(o, "state", mapdirect_state_name(st->state)) ||
	    !put_u64(o, "holders", st->holders) ||
	    !put_u64(o, "ms_left", st->ms_left) ||
	    !put_bool(o, "eligible", st->eligible) ||
	    !put_str(o, "reason", st->eligible ? NULL : st->reason) ||
	    !put_bool(o, "dax", st->dax))
		goto err_json;
	if (!put(o, "leases", leases)) {
		leases = NULL;	/* put() dropped it */
		goto err_json;
	}
	return o;

err_json:
	json_object_put(leases);
	json_object_put(o);
	return NULL;
}

static struct json_object *device_to_json(const struct mapdirect_mount *m)
{
	static const char *const keys[] = { "bus", "region", "namespace",
					    "mode", "blockdev" };
	const char *size = mapdirect_mount_get_device(m, "size");
	struct json_object *o;

	if (!mapdirect_mount_get_device(m, "region"))
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *val = mapdirect_mount_get_device(m, keys[i]);

		if (!put_str(o, keys[i], val))
			goto err_json;
	}
	if (!put_u64(o, "size", size ? strtoull(size, NULL, 10) : 0))
		goto err_json;
	return o;

err_json:
	json_object_put(o);
	return NULL;
}

struct json_object *mount_to_json(const struct mapdirect_mount *m,
				  unsigned int flags)
{
	const char *pt = mapdirect_mount_get_config(m, "passthrough_active");
	const char *da = mapdirect_mount_get_config(m, "dax_active");
	struct json_object *o = json_object_new_object();
	int err = mapdirect_mount_get_error(m);
	bool ok;

	if (!o)
		return NULL;
	ok = put_str(o, "mountpoint", mapdirect_mount_get_path(m)) &&
	     put_str(o, "backing", mapdirect_mount_get_backing(m)) &&
	     put_str(o, "dax", mapdirect_mount_get_config(m, "dax")) &&
	     put_str(o, "backing_dax", mapdirect_mount_get_backing_dax(m)) &&
	     put_str(o, "transport",
		     mapdirect_mount_get_config(m, "transport"));
	if (ok && pt)
		ok = put_bool(o, "passthrough", pt[0] == '1');
	else if (ok)
		ok = put_str(o, "passthrough", NULL);
	if (ok && da)
		ok = put_bool(o, "dax_active", da[0] == '1');
	else if (ok)
		ok = put_str(o, "dax_active", NULL);
	if (ok && mapdirect_mount_get_device(m, "region"))
		ok = put(o, "device", device_to_json(m));
	else if (ok)
		ok = put_str(o, "device", NULL);
	if (ok)
		ok = put_str(o, "error", err ? strerror(-err) : NULL);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *ns_to_json(const struct mapdirect_namespace *ns)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (!put_str(o, "name", mapdirect_namespace_get_name(ns)) ||
	    !put_str(o, "mode", mapdirect_namespace_get_mode(ns)) ||
	    !put_str(o, "blockdev", mapdirect_namespace_get_blockdev(ns)) ||
	    !put_u64(o, "size", mapdirect_namespace_get_size(ns))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *region_to_json(struct mapdirect_region *r,
				   unsigned int flags)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct mapdirect_namespace *ns;

	if (!o || !arr)
		goto err_json;
	mapdirect_namespace_foreach(r, ns)
		if (!json_append(arr, ns_to_json(ns)))
			goto err_json;
	if (!put_str(o, "name", mapdirect_region_get_name(r)) ||
	    !put_str(o, "bus", mapdirect_region_get_bus(r)) ||
	    !put_u64(o, "size", mapdirect_region_get_size(r)) ||
	    !put_u64(o, "available", mapdirect_region_get_available(r)))
		goto err_json;
	if (!put(o, "namespaces", arr)) {
		arr = NULL;
		goto err_json;
	}
	return o;

err_json:
	json_object_put(arr);
	json_object_put(o);
	return NULL;
}

int json_print(struct json_object *obj)
{
	const char *s;
	int ret = MD_EXIT_OK;

	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s) {
		cli_error("out of memory");
		ret = MD_EXIT_ERROR;
	} else {
		puts(s);
	}
	json_object_put(obj);
	return ret;
}
