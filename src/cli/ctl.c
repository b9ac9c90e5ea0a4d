/* cli/ctl: `vggtop ctl RUN_DIR pause|resume|stop|lr RATE`, control of a live run from scripts and other
 * terminals (and of a sweep: `vggtop ctl SWEEP_DIR pause|resume|stop|more N`, src/cli/sweep_ctl.c). It writes the run directory's commands.json (train.h's command channel) and waits until the
 * engine acknowledges it in progress.json: exit 0 when taken, 2 for a bad command or a run no process
 * trains, 1 when the run did not answer in time. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"
#include "vggtop/train.h"

static const cli_option options[] = {
    {"wait", 'w' + CLI_LONG_ONLY, "SECONDS", "how long to wait for the acknowledgement (default 120; 0: do not wait)",
     NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    (void)key; /* --wait is the only one */
    return vt_flag_double("--wait", value, 0, 86400, "a number of seconds", ctx, err);
}

/* Taken, and (pause, resume, stop) in effect: the engine acts on it at the same step boundary. 1 taken, 0 not
 * yet, -1 the run ended before it took the command. */
static int acknowledged(const run_command *cmd, const run_progress *p)
{
    int ended = p->state == TRAIN_STOPPED || p->state == TRAIN_FINISHED || p->state == TRAIN_FAILED;
    int effect = cmd->kind == RUN_CMD_PAUSE    ? p->state == TRAIN_PAUSED
                 : cmd->kind == RUN_CMD_RESUME ? p->state != TRAIN_PAUSED
                 : cmd->kind == RUN_CMD_STOP   ? ended
                                               : 1;
    if (p->command_ack == cmd->seq && effect)
        return 1;
    return ended && p->command_ack != cmd->seq ? -1 : 0;
}

/* Polls progress.json until the run takes cmd or wait seconds pass. */
static int wait_for_ack(const char *dir, const char *verb, const run_command *cmd, double wait, vt_err *err)
{
    double end = vt_now() + wait;
    for (;;) {
        run_data run;
        vt_err ignored;
        int ack = 0;
        /* Only the session that holds the run answers (a progress.json of an earlier one, while a resume still
         * loads, is no answer), or the last one once nobody holds it. */
        long holder = run_live_pid(dir);
        if (run_load(dir, RUN_PART_PROGRESS, &run, &ignored) == VT_OK && (run.parts & RUN_PART_PROGRESS) &&
            (holder == 0 || run.progress.pid == holder)) {
            const run_progress *p = &run.progress;
            ack = acknowledged(cmd, p);
            if (ack > 0 && cmd->kind == RUN_CMD_LR)
                printf("%s: learning rate %g from the next step\n", dir, cmd->lr);
            else if (ack > 0 && cmd->kind == RUN_CMD_STOP)
                printf("%s: %s; continue it with vggtop train --resume %s\n", dir, train_state_name(p->state), dir);
            else if (ack > 0)
                printf("%s: %s\n", dir, train_state_name(p->state));
            else if (ack < 0)
                vt_fail(err, VT_EUSAGE, "%s: the run %s before it took the command", dir, train_state_name(p->state));
        }
        run_free(&run);
        if (ack)
            return ack > 0 ? VT_OK : VT_EUSAGE;
        if (vt_now() > end)
            break;
        usleep(100000);
    }
    return vt_fail(err, VT_EIO, "%s: the run has not acknowledged %s within %g s (a step may take longer; the command "
                   "was taken back)", dir, verb, wait);
}

/* The words RUN_DIR VERB [VALUE] start at argv[at]: lr takes the next word whatever it looks like ("lr -1" is
 * a rate, refused as one), the others a next word that is no option (which they refuse). Returns how many
 * words they are (2 or 3), or 0 when fewer than two. */
static int command_words(int argc, char **argv, int at)
{
    if (argc - at < 2)
        return 0;
    if (argc - at == 2)
        return 2;
    return strcmp(argv[at + 1], "lr") == 0 || argv[at + 2][0] != '-' ? 3 : 2;
}

/* Options go anywhere, as in every other command, yet the rate after lr is a value even when it starts with
 * '-': options are parsed in order up to RUN_DIR, the command words are taken, and what follows them is
 * parsed again as options (argv[0] stands in for the command's name). */
static int cmd_ctl(int argc, char **argv, vt_err *err)
{
    double wait = 120;
    int done;
    int rc = cli_parse(&cli_ctl_command, options, argc, argv, set_option, &wait, &done, err);
    if (rc != VT_OK || done)
        return rc;
    int at = optind, words = command_words(argc, argv, at);
    if (!words)
        return vt_fail(err, VT_EUSAGE, "give RUN_DIR and a command: pause, resume, stop or lr RATE (see vggtop ctl "
                       "--help)");
    const char *dir = argv[at], *verb = argv[at + 1], *value = words == 3 ? argv[at + 2] : NULL;
    if (value && strncmp(value, "--", 2) == 0)
        value = NULL; /* "lr --wait 10": the rate is missing, not "--wait" */
    int rest = argc - at - (value ? words : 2);
    char **tail = &argv[argc - rest - 1], *saved = *tail;
    *tail = argv[0];
    rc = cli_parse(&cli_ctl_command, options, rest + 1, tail, set_option, &wait, &done, err);
    if (rc == VT_OK && !done && optind < rest + 1)
        rc = vt_fail(err, VT_EUSAGE, "unexpected argument '%s' after the command (see vggtop ctl --help)",
                     tail[optind]);
    *tail = saved;
    if (rc != VT_OK || done)
        return rc;
    char plan[VT_PATH_MAX + 32];
    snprintf(plan, sizeof plan, "%s/%s", dir, SWEEP_PLAN);
    if (access(plan, F_OK) == 0) /* a sweep's folder */
        return cli_sweep_ctl(dir, verb, value, wait, err);
    run_command cmd;
    if ((rc = run_command_parse(verb, value, &cmd, err)) != VT_OK)
        return rc;
    if (wait == 0) {
        if ((rc = run_command_send(dir, &cmd, err)) == VT_OK)
            printf("sent %s to %s\n", verb, dir);
        return rc;
    }
    /* The channel is this process's until the run takes the command; one it did not take is taken back. */
    if ((rc = run_command_send_held(dir, &cmd, err)) != VT_OK)
        return rc;
    rc = wait_for_ack(dir, verb, &cmd, wait, err);
    run_command_finish(dir, &cmd, rc == VT_OK);
    return rc;
}

const cli_command cli_ctl_command = {
    .name = "ctl",
    .run = cmd_ctl,
    .summary = "pause, resume, stop or change the learning rate of a live run",
    .usage = "usage: vggtop ctl RUN_DIR pause|resume|stop|lr RATE [--wait SECONDS]\n"
             "       vggtop ctl SWEEP_DIR pause|resume|stop|more N [--wait SECONDS]\n",
    .about = "Controls the run that another vggtop (train, or the front end) is training in RUN_DIR, through\n"
             "its commands.json: pause, resume, stop after the current step with a checkpoint (continue it\n"
             "with vggtop train --resume RUN_DIR), or change the learning rate from the next step on.\n"
             "Waits until the run acknowledges the command (the engine takes commands between steps).\n"
             "On a sweep's folder: pause (no trial starts; the running ones pause), resume, stop (the\n"
             "trials with their checkpoints; vggtop sweep --resume continues), or more N trials of a random\n"
             "sweep (its plan grown atomically; with no sweep running, --resume then runs them).\n",
    .options = options,
    .notes = "exit status: 0 taken, 1 not acknowledged in time, 2 bad command or no live run\n",
    .flags = CLI_IN_ORDER | CLI_NO_MODEL,
};
