/* train/sweep_control: the command channel of a sweep folder (`vggtop ctl SWEEP_DIR pause|resume|stop|more N`),
 * as a run directory has one: the sender writes dir/commands.json ({"seq": N, "command": ..., "n": N})
 * atomically while the sweep holds the folder's lock; the sweep reads it between its looks at the trials and
 * acknowledges the seq in sweep.json ("command_ack", with "paused"). And the plan's growth by more trials,
 * which only a random sweep has (a grid's trials are its lists' product). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cJSON.h>

#include "train_internal.h"

static const char *const names[] = {"", "pause", "resume", "stop", "more"};
enum { N_NAMES = sizeof names / sizeof names[0] };

static int kind_of(const char *verb)
{
    for (int k = 1; verb && k < N_NAMES; k++)
        if (strcmp(verb, names[k]) == 0)
            return k;
    return 0;
}

int sweep_command_parse(const char *verb, const char *value, sweep_command *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    out->kind = (sweep_command_kind)kind_of(verb);
    if (!out->kind)
        return vt_fail(err, VT_EUSAGE, "unknown command '%s' for a sweep (pause, resume, stop or more N)",
                       verb ? verb : "");
    if (out->kind != SWEEP_CMD_MORE)
        return value ? vt_fail(err, VT_EUSAGE, "%s takes no value (got '%s')", verb, value) : VT_OK;
    if (!value)
        return vt_fail(err, VT_EUSAGE, "more needs the number of trials to add (more 4)");
    return vt_flag_int("more", value, 1, SWEEP_MAX_TRIALS, &out->more, err);
}

int sweep_command_read(const char *dir, sweep_command *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    char path[VT_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, RUN_COMMANDS);
    if (access(path, F_OK) != 0)
        return VT_OK;
    cJSON *o;
    int rc = sweep_json_read(dir, RUN_COMMANDS, 4096, &o, path, sizeof path, err);
    if (rc != VT_OK)
        return rc;
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
    int kind = cJSON_IsString(cmd) ? kind_of(cmd->valuestring) : 0;
    int ok = cJSON_IsNumber(seq) && seq->valuedouble >= 1 && seq->valuedouble <= (double)RUN_COMMAND_SEQ_MAX && kind &&
             (kind != SWEEP_CMD_MORE || (cJSON_IsNumber(n) && n->valuedouble >= 1 && n->valuedouble <= SWEEP_MAX_TRIALS));
    if (ok)
        *out = (sweep_command){(long)seq->valuedouble, (sweep_command_kind)kind,
                               kind == SWEEP_CMD_MORE ? (int)n->valuedouble : 0};
    cJSON_Delete(o);
    return ok ? VT_OK : vt_fail(err, VT_EUSAGE, "%s: expected {\"seq\": N, \"command\": \"pause|resume|stop|more\"}",
                                path);
}

int sweep_command_send(const char *dir, sweep_command *cmd, vt_err *err)
{
    char role[16];
    if (run_live_holder(dir, role, sizeof role) == 0)
        return vt_fail(err, VT_EUSAGE, "%s: no sweep runs in this folder (vggtop sweep --resume %s continues it)", dir,
                       dir);
    /* Senders take turns: the last seq read and the next written under one lock on the folder. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return vt_fail(err, VT_EIO, "%s: cannot lock its commands: %s", dir, strerror(e));
    }
    sweep_command last;
    sweep_plan p;
    sweep_state *states;
    vt_err ignored;
    long seq = sweep_command_read(dir, &last, &ignored) == VT_OK ? last.seq : 0;
    if (sweep_load(dir, &p, &states, &ignored) == VT_OK) {
        seq = p.command_ack > seq ? p.command_ack : seq;
        free(states);
        sweep_plan_free(&p);
    }
    cmd->seq = seq >= RUN_COMMAND_SEQ_MAX ? 1 : seq + 1;
    char path[VT_PATH_MAX + 32], text[160];
    snprintf(path, sizeof path, "%s/%s", dir, RUN_COMMANDS);
    int len = snprintf(text, sizeof text, "{\"seq\": %ld, \"command\": \"%s\", \"n\": %d, \"pid\": %ld}\n", cmd->seq,
                       names[cmd->kind], cmd->more, (long)getpid());
    int rc = vt_write_file_atomic(path, text, (size_t)len, err);
    close(fd);
    return rc;
}

int sweep_add_trials(sweep_plan *p, sweep_state **states, int n, vt_err *err)
{
    if (!p->random)
        return vt_fail(err, VT_EUSAGE, "more %d: a grid's trials are every combination of its lists (%d); more trials "
                       "take a random sweep (--method random)", n, p->trials);
    if ((long)p->trials + n > SWEEP_MAX_TRIALS)
        return vt_fail(err, VT_EUSAGE, "more %d: %ld trials, more than the %d a sweep takes", n, (long)p->trials + n,
                       SWEEP_MAX_TRIALS);
    sweep_state *grown = realloc(*states, sizeof *grown * (size_t)(p->trials + n));
    if (!grown)
        return vt_fail(err, VT_EIO, "out of memory");
    for (int t = p->trials; t < p->trials + n; t++)
        grown[t] = SWEEP_PENDING;
    *states = grown;
    p->trials += n;
    return VT_OK;
}
