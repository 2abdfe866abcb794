/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * builtin.h - the verbs of the mapdirect CLI, one file each (cmd_*.c),
 * and what they share. The CLI reaches mapdirectfs only through
 * libmapdirect.
 */
#ifndef MAPDIRECT_BUILTIN_H
#define MAPDIRECT_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>

#include "mapdirect.h"

/* exit codes, documented in mapdirect(1) */
enum {
	MD_EXIT_OK = 0,
	MD_EXIT_ERROR = 1,		/* an error on some path */
	MD_EXIT_USAGE = 2,		/* bad command line */
	MD_EXIT_NOT_MAPDIRECT = 3,	/* a path is not on mapdirectfs */
	MD_EXIT_REVOKED = 4,		/* hold: the lease was revoked */
};

struct cmd_struct {
	const char *cmd;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

int cmd_status(int argc, char **argv);
int cmd_leases(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_devices(int argc, char **argv);

extern const char status_usage[], leases_usage[], hold_usage[],
	devices_usage[];

/* "mapdirect: " and the message on stderr, one line */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * "mapdirect: PATH: what -@err means" on stderr.
 * @return MD_EXIT_NOT_MAPDIRECT for -ENOTTY, else MD_EXIT_ERROR
 */
int cli_path_error(const char *path, int err);
/*
 * stat() @path: 0 if it is a regular file, or a directory when @dir_ok.
 * Else "mapdirect: PATH: not a regular file" (or the stat error, or "Is a
 * directory") on stderr. @return 0 or the exit code (MD_EXIT_ERROR)
 */
int cli_check_type(const char *path, bool dir_ok);
/*
 * The name of signal @signo as text output shows it everywhere: "SIGUSR1",
 * "SIGRTMIN+2", "none" for 0, the number where it has no name.
 */
const char *cli_signal_name(int signo, char *buf, size_t len);
/* The exit code of a run of several paths, after one more result. */
int cli_worse(int code, int next);
/*
 * A usage error of @cmd ("mapdirect: status: MESSAGE (see mapdirect
 * status --help)"); @return MD_EXIT_USAGE
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The usage text of @cmd on stdout; @return MD_EXIT_OK */
int cli_help(const char *usage);

/* -- JSON (json.c): one *_to_json per object, NULL when out of memory -- */
struct json_object;

/* flags of the *_to_json functions */
#define MDJ_PATH (1u << 0)	/* lease objects carry "dev", "ino", "path" */

struct json_object *lease_to_json(const struct mapdirect_lease_entry *l,
				  unsigned int flags);
/* @ctx holds the leases of @path (mapdirect_leases_load()) */
struct json_object *status_to_json(const char *path,
				   const struct mapdirect_file_status *st,
				   struct mapdirect_ctx *ctx,
				   unsigned int flags);
struct json_object *mount_to_json(const struct mapdirect_mount *m,
				  unsigned int flags);
struct json_object *region_to_json(struct mapdirect_region *r,
				   unsigned int flags);
/* Append @val to array @arr; false (and @val dropped) on failure. */
bool json_append(struct json_object *arr, struct json_object *val);
/* Print @obj (pretty) and a newline on stdout, then drop it. @return 0/1 */
int json_print(struct json_object *obj);

/* "00:2d": major:minor in hex, as /proc/locks writes them */
const char *dev_name(dev_t dev, char *buf, size_t len);
/* "none", "allocate", "allocate,exclusive" */
const char *lease_flags_name(unsigned int flags);

#endif
