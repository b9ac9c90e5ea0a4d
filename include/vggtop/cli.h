/* cli: the vggtop program's command line. cli_main takes main's argc and argv, runs the command named in
 * argv[1] (or the front end when there is none) and returns the process exit status: 0 success, 1 a system
 * failure, 2 a usage or data error (after printing one line naming what is wrong), 130/143 when a signal
 * stopped a run. The commands and their option tables live in src/cli (see src/cli/cli_internal.h). */
#ifndef VGGTOP_CLI_H
#define VGGTOP_CLI_H

int cli_main(int argc, char **argv);
/* Whether the command line runs a model (train, evaluate, bench, the front end...), so that main sets the
 * numeric libraries' environment first; 0 for commands that only read and draw (report, watch, ctl...) and
 * for --help and --version. */
int cli_runs_model(int argc, char **argv);

/* The program's version string, e.g. "0.1.0" (src/cli/commands.c). */
extern const char vggtop_version[];

#endif
