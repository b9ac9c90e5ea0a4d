/* cli/ctl: `vggtop ctl RUN_DIR pause|resume|stop|lr RATE`, control of a live run from scripts and other
 * terminals. It writes the run directory's commands.json (train.h's command channel) and waits until the
 * engine acknowledges it in progress.json: exit 0 when taken, 2 for a bad command or a run no process
 * trains, 1 when the run did not answer in time. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vggtop/cli.h"
#include "vggtop/train.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vggtop ctl [--wait SECONDS] RUN_DIR pause|resume|stop|lr RATE\n\n"
                 "Controls the run that another vggtop (train, or the front end) is training in RUN_DIR, through\n"
                 "its commands.json: pause, resume, stop after the current step with a checkpoint (continue it\n"
                 "with vggtop train --resume RUN_DIR), or change the learning rate from the next step on.\n"
                 "Waits until the run acknowledges the command (the engine takes commands between steps).\n\n"
                 "  --wait SECONDS  how long to wait for the acknowledgement (default 120; 0: do not wait)\n"
                 "  -h, --help      this help\n\n"
                 "exit status: 0 taken, 1 not acknowledged in time, 2 bad command or no live run\n");
}

int cli_ctl(int argc, char **argv)
{
    static const struct option longs[] = {
        {"wait", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double wait = 120;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", longs, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'w': {
            char *end;
            wait = strtod(optarg, &end);
            if (end == optarg || *end || !(wait >= 0 && wait <= 86400)) {
                fprintf(stderr, "vggtop ctl: --wait: '%s' is not a number of seconds in 0..86400\n", optarg);
                return 2;
            }
            break;
        }
        case ':':
            fprintf(stderr, "vggtop ctl: %s needs a value (see vggtop ctl --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "vggtop ctl: unknown option '%s' (see vggtop ctl --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    int left = argc - optind;
    if (left < 2 || left > 3) {
        fprintf(stderr, "vggtop ctl: give RUN_DIR and a command: pause, resume, stop or lr RATE (see vggtop ctl "
                "--help)\n");
        return 2;
    }
    const char *dir = argv[optind], *verb = argv[optind + 1], *value = left == 3 ? argv[optind + 2] : NULL;
    vt_err err;
    run_command cmd;
    int rc = run_command_parse(verb, value, &cmd, &err);
    if (rc == VT_OK)
        rc = run_command_send(dir, &cmd, &err);
    if (rc != VT_OK) {
        fprintf(stderr, "vggtop ctl: %s\n", err.msg);
        return vt_exit_status(rc);
    }
    if (wait == 0) {
        printf("sent %s to %s\n", verb, dir);
        return 0;
    }
    double end = vt_now() + wait;
    for (;;) {
        run_data run;
        vt_err ignored;
        if (run_load(dir, RUN_PART_PROGRESS, &run, &ignored) == VT_OK && (run.parts & RUN_PART_PROGRESS)) {
            const run_progress *p = &run.progress;
            int ended = p->state == TRAIN_STOPPED || p->state == TRAIN_FINISHED || p->state == TRAIN_FAILED;
            /* Taken, and (pause, resume, stop) in effect: the engine acts on it at the same step boundary. */
            int effect = cmd.kind == RUN_CMD_PAUSE    ? p->state == TRAIN_PAUSED
                         : cmd.kind == RUN_CMD_RESUME ? p->state != TRAIN_PAUSED
                         : cmd.kind == RUN_CMD_STOP   ? ended
                                                      : 1;
            if (p->command_ack >= cmd.seq && effect) {
                if (cmd.kind == RUN_CMD_LR)
                    printf("%s: learning rate %g from the next step\n", dir, cmd.lr);
                else if (cmd.kind == RUN_CMD_STOP)
                    printf("%s: %s; continue it with vggtop train --resume %s\n", dir, train_state_name(p->state),
                           dir);
                else
                    printf("%s: %s\n", dir, train_state_name(p->state));
                run_free(&run);
                return 0;
            }
            if (ended && p->command_ack < cmd.seq) {
                fprintf(stderr, "vggtop ctl: %s: the run %s before it took the command\n", dir,
                        train_state_name(p->state));
                run_free(&run);
                return 2;
            }
        }
        run_free(&run);
        if (vt_now() > end)
            break;
        usleep(100000);
    }
    fprintf(stderr, "vggtop ctl: %s: the run has not acknowledged %s within %g s (a step may take longer; it is "
            "still in commands.json)\n", dir, verb, wait);
    return 1;
}
