/* cli/ui: `vggtop [--ascii] [--runs DIR]` (the front end) and `vggtop watch [--ascii] RUN_DIR` (the front
 * end following a run another process trains). Both take the same options, parse them and run tui_run. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/train.h"
#include "vggtop/tui.h"

static const cli_option options[] = {
    {"ascii", 'a' + CLI_LONG_ONLY, NULL, "plain ASCII drawing (no UTF-8 blocks or braille)", NULL, NULL},
    {"runs", 'r' + CLI_LONG_ONLY, "DIR", "where new runs go and the Compare screen looks (default runs)", NULL, NULL},
    {"data", 'd' + CLI_LONG_ONLY, "DIR", "the data set of the runs shown, when it is no longer where they were "
                                         "trained (the Samples screen's images)", NULL, NULL},
    {"image", 'i' + CLI_LONG_ONLY, "FILE", "a PNG or JPEG of your own the Samples screen shows first, with the top 5 "
                                           "classes the run's model gives it (as vggtop predict)", NULL, NULL},
    {"notify", 'n' + CLI_LONG_ONLY, NULL, "the run shown's events (finished, early stop, stopped or killed, failed, "
     "a non-finite loss, a stall) as terminal notifications through SSH and tmux, as vggtop train --notify's, and "
     "on the status line; a run opened when it has ended already is not news", NULL, NULL},
    {"on-event", 'e' + CLI_LONG_ONLY, "CMD", "run CMD at each of those events, as vggtop train --on-event does", NULL,
     NULL},
    {"hook-timeout", 't' + CLI_LONG_ONLY, "SECONDS", "how long the --on-event command may run before it is killed "
     "(default 30)", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

/* --on-event and --hook-timeout by train's rules (the same checks and messages as vggtop train's). */
static int set_alert(tui_options *opt, const char *name, const char *value, vt_err *err)
{
    static train_config scratch;
    train_config_default(&scratch);
    int rc = train_config_set(&scratch, name, value, err);
    if (rc == VT_OK && strcmp(name, "on-event") == 0)
        opt->on_event = value;
    else if (rc == VT_OK)
        opt->hook_timeout = scratch.hook_timeout;
    return rc;
}

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    tui_options *opt = ctx;
    switch (key) {
    case 'a' + CLI_LONG_ONLY: opt->ascii = 1; return VT_OK;
    case 'n' + CLI_LONG_ONLY: opt->notify = 1; return VT_OK;
    case 'e' + CLI_LONG_ONLY: return set_alert(opt, "on-event", value, err);
    case 't' + CLI_LONG_ONLY: return set_alert(opt, "hook-timeout", value, err);
    case 'r' + CLI_LONG_ONLY: return vt_flag_path("--runs", value, &opt->runs_dir, err);
    case 'd' + CLI_LONG_ONLY: return vt_flag_path("--data", value, &opt->data_dir, err);
    case 'i' + CLI_LONG_ONLY: return vt_flag_path("--image", value, &opt->image, err);
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
}

static int parse(const cli_command *c, int argc, char **argv, tui_options *opt, int *done, vt_err *err)
{
    int rc = cli_parse(c, options, argc, argv, set_option, opt, done, err);
    if (rc != VT_OK || *done)
        return rc;
    if (c == &cli_watch_command) {
        if (optind != argc - 1)
            return vt_fail(err, VT_EUSAGE, "give exactly one RUN_DIR (see vggtop watch --help)");
        opt->watch_dir = argv[optind];
    } else if (optind != argc) {
        /* `vggtop --ascii watch RUN_DIR`: the front end's options before the command are as good after it. */
        if (strcmp(argv[optind], "watch") == 0)
            return parse(&cli_watch_command, argc - optind, argv + optind, opt, done, err);
        return vt_fail(err, VT_EUSAGE, "unexpected argument '%s' (a command comes first and takes its options after "
                       "it; see vggtop --help)", argv[optind]);
    }
    return VT_OK;
}

static int run_ui(const cli_command *c, int argc, char **argv, vt_err *err)
{
    train_config defaults;
    train_config_default(&defaults);
    tui_options opt = {.hook_timeout = defaults.hook_timeout};
    int done, status = 0;
    int rc = parse(c, argc, argv, &opt, &done, err);
    if (rc == VT_OK && !done)
        rc = tui_run(&opt, &status, err);
    if (rc != VT_OK && c != &cli_watch_command && opt.watch_dir && err->msg[0]) {
        /* `vggtop --ascii watch RUN_DIR`: its errors are watch's and say so, as `vggtop watch` itself does */
        char who[64];
        fprintf(stderr, "%s: %s\n", cli_who(&cli_watch_command, who, sizeof who), err->msg);
        err->msg[0] = '\0';
    }
    if (rc != VT_OK || done)
        return rc;
    /* tui_run's status: 0, or 128 + the signal that ended it */
    return status == 0 ? VT_OK : status == 128 + SIGINT || status == 128 + SIGTERM ? vt_signal_code(status - 128)
                                                                                     : VT_EIO;
}

static int run_front_end(int argc, char **argv, vt_err *err) { return run_ui(&cli_ui_command, argc, argv, err); }
static int run_watch(int argc, char **argv, vt_err *err) { return run_ui(&cli_watch_command, argc, argv, err); }

static const char usage[] = "usage: vggtop [--ascii] [--runs DIR] [--data DIR] [--image FILE] [--notify] "
                            "[--on-event CMD]\n"
                            "       vggtop watch [--ascii] [--runs DIR] [--data DIR] [--image FILE] [--notify]\n"
                            "                    [--on-event CMD] RUN_DIR|SWEEP_DIR\n";
static const char notes[] = "Keys: ? in the front end lists them all; see man vggtop.\n";

const cli_command cli_ui_command = {
    .name = "",
    .run = run_front_end,
    .summary = "the terminal front end",
    .usage = usage,
    .options = options,
    .notes = notes,
    .flags = CLI_IN_ORDER,
};

const cli_command cli_watch_command = {
    .name = "watch",
    .run = run_watch,
    .summary = "open the front end on a run directory, following it live",
    .usage = usage,
    .options = options,
    .notes = notes,
    .flags = 0, /* options after RUN_DIR too (`vggtop watch RUN --image cat.jpg`); only the bare front end
                 * stops at its first argument, to find "watch" */
};
