/* main: dispatches `vggtop COMMAND ...` to the subcommands in src/cli; with no command it opens the
 * front end. Only main decides the exit status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vggtop/cli.h"
#include "vggtop/nn.h"

const char vggtop_version[] = "0.1.0";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"train", cli_train, "train a model headless (Keras-style progress), writing a run directory"},
    {"watch", cli_watch, "open the front end on a run directory, following it live"},
    {"ctl", cli_ctl, "pause, resume, stop or change the learning rate of a live run"},
    {"summary", cli_summary, "print the Keras-style summary of a model"},
    {"data", cli_data, "show which data set is found and what it holds"},
    {"evaluate", cli_evaluate, "re-evaluate a run's checkpoint on the test set"},
    {"report", cli_report, "print a run's per-class classification report"},
    {"confusion", cli_confusion, "print a run's most confused pairs or its confusion matrix"},
    {"roc", cli_roc, "print a run's per-class, micro and macro ROC AUC"},
    {"history", cli_history, "print a run's per-epoch history"},
    {"compare", cli_compare, "compare the histories of several runs"},
    {"layers", cli_layers, "print a run's layer health per epoch (gradient norms, dead ReLUs)"},
    {"bench", cli_bench, "measure training and inference speed on this machine"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vggtop [--ascii] [--runs DIR]      open the terminal front end\n"
                 "       vggtop COMMAND [OPTIONS]          (vggtop COMMAND --help for its options)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\nexit status: 0 success, 1 system error, 2 usage or data error, 130/143 stopped by a signal\n"
                 "see man vggtop for the screens, keys and files\n");
}

/* Output that could not be written is a failure, never a success: every command's standard output goes
 * through here at the end (a full disk, a closed pipe, /dev/full), and a lost write turns status 0 into 1. */
static int finish_output(int status)
{
    /* fflush, not fclose: atexit handlers (the front end's terminal reset) may still write to stdout. */
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    if (bad && status == 0) {
        fprintf(stderr, "vggtop: cannot write the output: %s\n", errno ? strerror(errno) : "write error");
        return 1;
    }
    return status;
}

static int run_command(int argc, char **argv)
{
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(argv[1], commands[i].name) == 0)
                return commands[i].run(argc - 1, argv + 1);
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
    return cli_ui(argc, argv);
}

int main(int argc, char **argv)
{
    nn_blas_choose_kernel(argv);
    return finish_output(run_command(argc, argv));
}
