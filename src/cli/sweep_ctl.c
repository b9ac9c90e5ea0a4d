/* cli/sweep_ctl: `vggtop ctl SWEEP_DIR pause|resume|stop|more N`, ctl's part for a sweep folder (a folder with
 * sweep.json). The command goes through the folder's channel (train's sweep_command_send) to the sweep that
 * runs there, and ctl waits until sweep.json acknowledges it. more N on a sweep that no process runs grows the
 * plan itself, under the folder's lock, written atomically: --resume then runs the new trials. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli_internal.h"
#include "vggtop/train.h"

/* more N with no sweep running: the plan grown in place (the lock keeps a sweep from starting meanwhile). */
static int grow_offline(const char *dir, int n, vt_err *err)
{
    int fd;
    int rc = sweep_lock(dir, &fd, err);
    if (rc != VT_OK)
        return rc;
    sweep_plan p;
    sweep_state *states;
    if ((rc = sweep_load(dir, &p, &states, err)) == VT_OK) {
        if ((rc = sweep_add_trials(&p, &states, n, err)) == VT_OK && (rc = sweep_save(dir, &p, states, err)) == VT_OK)
            printf("%s: %d more trials, %d in all; vggtop sweep --resume %s runs them\n", dir, n, p.trials, dir);
        free(states);
        sweep_plan_free(&p);
    }
    close(fd);
    return rc;
}

/* What the sweep says once it took c (its plan as sweep.json has it now). */
static void say_taken(const char *dir, const sweep_command *c, const sweep_plan *p)
{
    if (c->kind == SWEEP_CMD_PAUSE)
        printf("%s: paused (no trial starts; the running ones pause)\n", dir);
    else if (c->kind == SWEEP_CMD_RESUME)
        printf("%s: resumed\n", dir);
    else if (c->kind == SWEEP_CMD_STOP)
        printf("%s: stopping (the running trials with their checkpoints); vggtop sweep --resume %s continues it\n",
               dir, dir);
    else
        printf("%s: %d more trials, %d in all\n", dir, c->more, p->trials);
}

int cli_sweep_ctl(const char *dir, const char *verb, const char *value, double wait, vt_err *err)
{
    sweep_command c;
    sweep_plan p;
    sweep_state *states;
    int rc = sweep_command_parse(verb, value, &c, err);
    if (rc != VT_OK || (rc = sweep_load(dir, &p, &states, err)) != VT_OK)
        return rc;
    if (c.kind == SWEEP_CMD_MORE) /* refused here, as the sweep would refuse it: a grid, too many trials */
        rc = sweep_add_trials(&p, &states, c.more, err);
    free(states);
    sweep_plan_free(&p);
    if (rc != VT_OK)
        return rc;
    if (c.kind == SWEEP_CMD_MORE && run_live_pid(dir) == 0)
        return grow_offline(dir, c.more, err);
    if ((rc = sweep_command_send(dir, &c, err)) != VT_OK)
        return rc;
    if (wait == 0) {
        printf("sent %s to %s\n", verb, dir);
        return VT_OK;
    }
    for (double end = vt_now() + wait;; usleep(100000)) {
        vt_err ignored;
        int taken = 0;
        if (sweep_load(dir, &p, &states, &ignored) == VT_OK) {
            if ((taken = p.command_ack == c.seq))
                say_taken(dir, &c, &p);
            free(states);
            sweep_plan_free(&p);
        }
        if (taken)
            return VT_OK;
        if (run_live_pid(dir) == 0)
            return vt_fail(err, VT_EUSAGE, "%s: the sweep ended before it took the command", dir);
        if (vt_now() > end)
            return vt_fail(err, VT_EIO, "%s: the sweep has not acknowledged %s within %g s", dir, verb, wait);
    }
}
