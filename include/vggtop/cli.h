/* cli: the subcommands of the vggtop binary. Each takes the arguments after its name (argv[0] is the
 * command name, as getopt_long expects) and returns the process exit status: 0 success, 1 a system
 * failure, 2 a usage or data error (after printing one line naming what is wrong), 130/143 when a
 * signal stopped a run. main only dispatches. */
#ifndef VGGTOP_CLI_H
#define VGGTOP_CLI_H

int cli_summary(int argc, char **argv);  /* vggtop summary: Keras-style model table (src/cli/summary.c) */
int cli_bench(int argc, char **argv);    /* vggtop bench: speed and memory (src/cli/bench.c) */
int cli_data(int argc, char **argv);     /* vggtop data: which data set is found (src/cli/data.c) */
int cli_train(int argc, char **argv);    /* vggtop train: headless training (src/cli/train.c) */
int cli_evaluate(int argc, char **argv); /* vggtop evaluate RUN_DIR (src/cli/runs.c) */
int cli_report(int argc, char **argv);   /* vggtop report RUN_DIR (src/cli/runs.c) */
int cli_confusion(int argc, char **argv);/* vggtop confusion RUN_DIR (src/cli/runs.c) */
int cli_roc(int argc, char **argv);      /* vggtop roc RUN_DIR (src/cli/runs.c) */
int cli_compare(int argc, char **argv);  /* vggtop compare RUN_DIR... (src/cli/runs.c) */
int cli_history(int argc, char **argv);  /* vggtop history RUN_DIR (src/cli/runs.c) */
int cli_ctl(int argc, char **argv);      /* vggtop ctl RUN_DIR pause|resume|stop|lr RATE (src/cli/ctl.c) */
int cli_layers(int argc, char **argv);   /* vggtop layers RUN_DIR (src/cli/runs.c) */
int cli_ui(int argc, char **argv);       /* vggtop [--ascii] with no command: the front end (src/cli/ui.c) */
int cli_watch(int argc, char **argv);    /* vggtop watch RUN_DIR: the front end following a run (src/cli/ui.c) */

/* The program's version string, e.g. "0.1.0". */
extern const char vggtop_version[];

#endif
