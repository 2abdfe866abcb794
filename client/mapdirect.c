// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mapdirect - inspect and hold layout leases on mapdirectfs (SPEC 5).
 * One file per verb; this one dispatches and checks that what a verb
 * wrote to stdout really got out (ndctl's run_builtin).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buildconf.h"
#include "builtin.h"

static const char main_usage[] =
	"usage: mapdirect [-V|--version] [-h|--help] COMMAND [ARGS]\n"
	"\n"
	"  status [--json] PATH...   lease state, eligibility, DAX of files\n"
	"  leases [--json] MOUNT     every lease of a mapdirectfs mount\n"
	"  hold [OPTIONS] PATH       take a lease, map, release on a break\n"
	"  devices [--json]          pmem regions and mapdirectfs mounts\n"
	"  help [COMMAND]            the manual page\n"
	"\n"
	"See mapdirect(1); mapdirect COMMAND --help for a command's options.\n";

static const struct cmd_struct commands[] = {
	{ "status", cmd_status, status_usage },
	{ "leases", cmd_leases, leases_usage },
	{ "hold", cmd_hold, hold_usage },
	{ "devices", cmd_devices, devices_usage },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd_struct *find_cmd(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].cmd, name))
			return &commands[i];
	return NULL;
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mapdirect: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_path_error(const char *path, int err)
{
	if (err == -ENOTTY) {
		cli_error("%s: not on a mapdirectfs mount", path);
		return MD_EXIT_NOT_MAPDIRECT;
	}
	cli_error("%s: %s", path, strerror(-err));
	return MD_EXIT_ERROR;
}

int cli_check_type(const char *path, bool dir_ok)
{
	struct stat st;

	if (stat(path, &st))
		return cli_path_error(path, -errno);
	if (S_ISREG(st.st_mode) || (dir_ok && S_ISDIR(st.st_mode)))
		return MD_EXIT_OK;
	if (S_ISDIR(st.st_mode))
		return cli_path_error(path, -EISDIR);
	/* a FIFO's ioctls are the pipe's: their ENOTTY is not ours */
	cli_error("%s: not a regular file%s", path,
		  dir_ok ? " or directory" : "");
	return MD_EXIT_ERROR;
}

const char *cli_signal_name(int signo, char *buf, size_t len)
{
	const char *abbrev = signo > 0 ? sigabbrev_np(signo) : NULL;
	int mid = SIGRTMIN + (SIGRTMAX - SIGRTMIN) / 2;

	if (signo == 0)
		snprintf(buf, len, "none");
	else if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	/* as kill -l names them, and hold --signal reads them */
	else if (signo == SIGRTMIN)
		snprintf(buf, len, "SIGRTMIN");
	else if (signo > SIGRTMIN && signo <= mid)
		snprintf(buf, len, "SIGRTMIN+%d", signo - SIGRTMIN);
	else if (signo > mid && signo < SIGRTMAX)
		snprintf(buf, len, "SIGRTMAX-%d", SIGRTMAX - signo);
	else if (signo == SIGRTMAX)
		snprintf(buf, len, "SIGRTMAX");
	else
		snprintf(buf, len, "%d", signo);
	return buf;
}

int cli_worse(int code, int next)
{
	/* any real error outranks "not on mapdirectfs" */
	if (code == MD_EXIT_ERROR || next == MD_EXIT_ERROR)
		return MD_EXIT_ERROR;
	return code ? code : next;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "mapdirect: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see mapdirect %s --help)\n", cmd);
	return MD_EXIT_USAGE;
}

int cli_help(const char *usage)
{
	fputs(usage, stdout);
	return MD_EXIT_OK;
}

/* Is @page installed where man(1) finds it? Quietly. */
static bool man_has(const char *page)
{
	int st, null;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("man", "man", "-w", page, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/*
 * help [COMMAND]: the manual page, mapdirect(1) or mapdirect-COMMAND(1);
 * the built-in usage where the pages are not installed.
 */
static int cmd_help(int argc, char **argv)
{
	const struct cmd_struct *c = NULL;
	char page[64];

	if (argc > 2)
		return cli_usage_error("help", "one command at most");
	if (argc == 2) {
		c = find_cmd(argv[1]);
		if (!c) {
			cli_error("help: unknown command '%s' (see mapdirect "
				  "--help)", argv[1]);
			return MD_EXIT_USAGE;
		}
	}
	snprintf(page, sizeof(page), "mapdirect%s%s", c ? "-" : "",
		 c ? c->cmd : "");
	if (man_has(page)) {
		fflush(NULL);
		execlp("man", "man", page, (char *)NULL);
	}
	return cli_help(c ? c->usage : main_usage);
}

/* After the verb: did stdout get everything? (ndctl util/main.c) */
static int finish_stdout(int status)
{
	struct stat st;

	if (fstat(fileno(stdout), &st))
		return status;	/* closed by someone: nothing to check */
	if (fflush(stdout)) {
		cli_error("write error on standard output: %s",
			  strerror(errno));
		return MD_EXIT_ERROR;
	}
	if (ferror(stdout)) {
		cli_error("write error on standard output");
		return MD_EXIT_ERROR;
	}
	if (fclose(stdout)) {
		cli_error("close of standard output failed: %s",
			  strerror(errno));
		return MD_EXIT_ERROR;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct cmd_struct *c;
	const char *verb;
	int status;

	if (argc < 2) {
		fputs(main_usage, stderr);
		return MD_EXIT_USAGE;
	}
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h"))
		return finish_stdout(cli_help(main_usage));
	if (!strcmp(verb, "--version") || !strcmp(verb, "-V")) {
		printf("mapdirect %s\n", MDFS_VERSION);
		return finish_stdout(MD_EXIT_OK);
	}
	if (!strcmp(verb, "help"))
		return finish_stdout(cmd_help(argc - 1, argv + 1));
	c = find_cmd(verb);
	if (!c) {
		cli_error("unknown command '%s' (see mapdirect --help)", verb);
		return MD_EXIT_USAGE;
	}
	status = c->fn(argc - 1, argv + 1);
	return finish_stdout(status);
}
