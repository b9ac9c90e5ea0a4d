/* train/control: the command channel through a run directory. Any process (vggtop ctl, vggtop watch) writes
 * commands.json atomically, {"seq": N, "command": "pause", "lr": X, "pid": P}; the engine that trains the
 * run reads it between batches (and while paused or evaluating), takes a seq it has not seen, and says so
 * in progress.json's "command_ack". One file holding only the latest command is enough: a sender waits
 * for the acknowledgement before it sends the next one, and a later command supersedes an earlier one. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "train_internal.h"

static const char *const command_names[] = {"", "pause", "resume", "stop", "lr"};

const char *run_command_name(run_command_kind kind)
{
    if ((int)kind < 0 || (size_t)kind >= sizeof command_names / sizeof command_names[0])
        return "";
    return command_names[kind];
}

static int kind_from_name(const char *name, run_command_kind *out)
{
    for (size_t i = 1; i < sizeof command_names / sizeof command_names[0]; i++)
        if (strcmp(name, command_names[i]) == 0)
            return *out = (run_command_kind)i, 0;
    return -1;
}

int run_command_parse(const char *verb, const char *value, run_command *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    if (!verb || kind_from_name(verb, &out->kind) != 0)
        return vt_fail(err, VT_EUSAGE, "unknown command '%s' (pause, resume, stop or lr RATE)", verb ? verb : "");
    if (out->kind != RUN_CMD_LR) {
        if (value)
            return vt_fail(err, VT_EUSAGE, "%s takes no value (got '%s')", verb, value);
        return VT_OK;
    }
    if (!value)
        return vt_fail(err, VT_EUSAGE, "lr needs the new learning rate (lr 0.005)");
    int rc = train_setting_parse("lr", "lr", value, &out->lr, err);
    if (rc)
        return rc;
    return VT_OK;
}

int run_command_read(const char *dir, run_command *out, vt_err *err)
{
    memset(out, 0, sizeof *out);
    char path[4200];
    int rc = run_path(path, sizeof path, dir, RUN_COMMANDS, err);
    if (rc)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? VT_OK : vt_fail(err, VT_EIO, "%s: %s", path, strerror(errno));
    if (st.st_size > 4096)
        return vt_fail(err, VT_EUSAGE, "%s: %lld bytes, a command is a few dozen (not written by vggtop?)", path,
                       (long long)st.st_size);
    char *text = NULL;
    if ((rc = vt_read_file(path, 4096, &text, NULL, err)))
        return rc;
    cJSON *o = cJSON_Parse(text);
    free(text);
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
    cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    cJSON *lr = cJSON_GetObjectItemCaseSensitive(o, "lr");
    run_command c = {0, RUN_CMD_NONE, 0};
    if (!cJSON_IsObject(o) || !cJSON_IsNumber(seq) || !(seq->valuedouble >= 1 && seq->valuedouble < 1e15) ||
        !cJSON_IsString(cmd) || kind_from_name(cmd->valuestring, &c.kind) != 0) {
        cJSON_Delete(o);
        return vt_fail(err, VT_EUSAGE, "%s: expected {\"seq\": N, \"command\": \"pause|resume|stop|lr\"}", path);
    }
    c.seq = (long)seq->valuedouble;
    if (c.kind == RUN_CMD_LR) {
        const train_field *rule = train_field_find("lr");
        if (!cJSON_IsNumber(lr) || !train_field_in_range(rule, lr->valuedouble)) {
            cJSON_Delete(o);
            return vt_fail(err, VT_EUSAGE, "%s: \"lr\" is missing or out of range", path);
        }
        c.lr = lr->valuedouble;
    }
    cJSON_Delete(o);
    *out = c;
    return VT_OK;
}

int run_command_send(const char *dir, run_command *cmd, vt_err *err)
{
    char path[4200];
    int rc = run_path(path, sizeof path, dir, RUN_PROGRESS, err);
    if (rc)
        return rc;
    if (access(path, F_OK) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: no %s: not a run directory", dir, RUN_PROGRESS);
    if (run_live_pid(dir) <= 0)
        return vt_fail(err, VT_EUSAGE, "%s: no process is training this run (it ended or was killed; a stopped run "
                       "continues with vggtop train --resume %s)", dir, dir);
    /* The next number after the last one sent; an unreadable old file starts again after the engine's ack. */
    run_command last;
    vt_err ignored;
    long seq = run_command_read(dir, &last, &ignored) == VT_OK ? last.seq : 0;
    run_data run;
    if (run_load(dir, RUN_PART_PROGRESS, &run, &ignored) == VT_OK && run.progress.command_ack > seq)
        seq = run.progress.command_ack;
    run_free(&run);
    cmd->seq = seq + 1;
    if ((rc = run_path(path, sizeof path, dir, RUN_COMMANDS, err)))
        return rc;
    char text[256];
    int len;
    if (cmd->kind == RUN_CMD_LR)
        len = snprintf(text, sizeof text, "{\"seq\": %ld, \"command\": \"lr\", \"lr\": %.17g, \"pid\": %ld}\n",
                       cmd->seq, cmd->lr, (long)getpid());
    else
        len = snprintf(text, sizeof text, "{\"seq\": %ld, \"command\": \"%s\", \"pid\": %ld}\n", cmd->seq,
                       run_command_name(cmd->kind), (long)getpid());
    return vt_write_file_atomic(path, text, (size_t)len, err);
}
