/* cli/ui: `vggtop [--ascii] [--runs DIR]` (the front end) and `vggtop watch [--ascii] RUN_DIR` (the front
 * end following a run another process trains). Parses the flags, runs tui_run, turns errors into one line
 * and an exit status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vggtop/cli.h"
#include "vggtop/train.h"
#include "vggtop/tui.h"

static void ui_usage(FILE *out)
{
    fprintf(out, "usage: vggtop [--ascii] [--runs DIR] [--data DIR]\n"
                 "       vggtop watch [--ascii] [--runs DIR] [--data DIR] RUN_DIR\n"
                 "  --ascii      plain ASCII drawing (no UTF-8 blocks or braille)\n"
                 "  --runs DIR   where new runs go and the Compare screen looks (default runs)\n"
                 "  --data DIR   the data set of the runs shown, when it is no longer where they were trained\n"
                 "               (the Samples screen's images)\n"
                 "Keys: ? in the front end lists them all; see man vggtop.\n");
}

/* Shared by both commands: returns -1 to go on, or an exit status. */
static int parse(int argc, char **argv, tui_options *opt, int watch)
{
    static const struct option longs[] = {
        {"ascii", no_argument, NULL, 'a'},   {"runs", required_argument, NULL, 'r'},
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},    {"man-keys", no_argument, NULL, 'm'},
        {"man-options", no_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", longs, NULL)) != -1) {
        switch (c) {
        case 'a': opt->ascii = 1; break;
        case 'r': opt->runs_dir = optarg; break;
        case 'd': opt->data_dir = optarg; break;
        case 'h': ui_usage(stdout); return 0;
        case 'm':
        case 'o': {
            /* Prints the man page's key list from the key table, or its list of vggtop train's options from the
             * settings table (how man/vggtop.1 is regenerated: tests/tools/gen-man.sh). */
            char *text = c == 'm' ? tui_keys_man() : train_fields_man();
            if (!text)
                return 1;
            fputs(text, stdout);
            free(text);
            return 0;
        }
        case ':':
            fprintf(stderr, "vggtop: %s: %s needs a value (try vggtop --help)\n", watch ? "watch" : "front end",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "vggtop: %s: unknown option '%s' (try vggtop --help)\n", watch ? "watch" : "front end",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (watch) {
        if (optind != argc - 1) {
            fprintf(stderr, "vggtop: watch: give exactly one RUN_DIR (try vggtop watch --help)\n");
            return 2;
        }
        opt->watch_dir = argv[optind];
    } else if (optind != argc) {
        /* `vggtop --ascii watch RUN_DIR`: the front end's options before the command are as good after it. */
        if (strcmp(argv[optind], "watch") == 0)
            return parse(argc - optind, argv + optind, opt, 1);
        fprintf(stderr, "vggtop: unexpected argument '%s' (a command comes first and takes its options after it; "
                "try vggtop --help)\n", argv[optind]);
        return 2;
    }
    return -1;
}

static int run(tui_options *opt)
{
    vt_err err;
    vt_err_clear(&err);
    int status = 0;
    int rc = tui_run(opt, &status, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "vggtop: %s\n", err.msg);
        return vt_exit_status(rc);
    }
    return status;
}

int cli_ui(int argc, char **argv)
{
    tui_options opt = {0, NULL, NULL, NULL};
    int rc = parse(argc, argv, &opt, 0);
    return rc >= 0 ? rc : run(&opt);
}

int cli_watch(int argc, char **argv)
{
    tui_options opt = {0, NULL, NULL, NULL};
    int rc = parse(argc, argv, &opt, 1);
    return rc >= 0 ? rc : run(&opt);
}
