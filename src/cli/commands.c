/* cli/commands: the command table, and `vggtop COMMAND ...` dispatched through it. A new command is its file
 * (src/cli/<name>.c, with its cli_command row and option table) plus one line here. */
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/cli.h"
#include "vggtop/tui.h"

const char vggtop_version[] = "0.1.0";

/* vggtop --help's order. The front end (cli_ui_command) is no command: vggtop without one. */
const cli_command *const cli_commands[] = {
    &cli_train_command,
    &cli_sweep_command,
    &cli_watch_command,
    &cli_ctl_command,
    &cli_summary_command,
    &cli_data_command,
    &cli_evaluate_command,
    &cli_report_command,
    &cli_confusion_command,
    &cli_roc_command,
    &cli_history_command,
    &cli_compare_command,
    &cli_diff_command,
    &cli_layers_command,
    &cli_plot_command,
    &cli_export_command,
    &cli_predict_command,
    &cli_bench_command,
    NULL,
};

const cli_command *cli_command_find(const char *name)
{
    if (!name[0])
        return &cli_ui_command;
    for (int i = 0; cli_commands[i]; i++)
        if (strcmp(name, cli_commands[i]->name) == 0)
            return cli_commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: vggtop [--ascii] [--runs DIR]      open the terminal front end\n"
                 "       vggtop COMMAND [OPTIONS]          (vggtop COMMAND --help for its options)\n\n"
                 "commands:\n");
    for (int i = 0; cli_commands[i]; i++)
        fprintf(out, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
    fprintf(out, "\nexit status: 0 success, 1 system error, 2 usage or data error, 130/143 stopped by a signal\n"
                 "see man vggtop for the screens, keys and files\n");
}

/* How man/vggtop.1 is regenerated (tests/tools/gen-man.sh): `vggtop --man-keys` prints the key list from the front
 * end's key table, `vggtop --man-options [COMMAND]` a command's option list (train's by default; "" for the
 * front end's) and `vggtop --man-synopsis COMMAND` its synopsis. */
static int print_man(int argc, char **argv)
{
    char *text = NULL;
    if (strcmp(argv[1], "--man-keys") == 0)
        text = tui_keys_man();
    else {
        const cli_command *c = cli_command_find(argc > 2 ? argv[2] : "train");
        if (!c) {
            fprintf(stderr, "vggtop: %s: unknown command '%s'\n", argv[1], argv[2]);
            return 2;
        }
        text = strcmp(argv[1], "--man-options") == 0 ? cli_options_man(c) : cli_synopsis_man(c);
    }
    if (!text)
        return 1;
    fputs(text, stdout);
    free(text);
    return 0;
}

int cli_runs_model(int argc, char **argv)
{
    if (argc < 2 || !argv[1][0])
        return 1; /* the front end: it trains */
    if (argv[1][0] == '-') /* --help, --version, --man-*: nothing runs; any other option: the front end */
        return !(strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                 strcmp(argv[1], "--version") == 0 || strncmp(argv[1], "--man-", 6) == 0);
    const cli_command *c = cli_command_find(argv[1]);
    return c && !(c->flags & CLI_NO_MODEL);
}

int cli_main(int argc, char **argv)
{
    if (argc >= 2 && argv[1][0] != '-') {
        const cli_command *c = argv[1][0] ? cli_command_find(argv[1]) : NULL;
        if (c)
            return cli_command_run(c, argc - 1, argv + 1);
        fprintf(stderr, "vggtop: unknown command '%s' (try vggtop --help)\n", argv[1]);
        return 2;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("vggtop %s\n", vggtop_version);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--man-keys") == 0 || strcmp(argv[1], "--man-options") == 0 ||
                      strcmp(argv[1], "--man-synopsis") == 0))
        return print_man(argc, argv);
    return cli_command_run(&cli_ui_command, argc, argv);
}
