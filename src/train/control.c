/* train/control: the command channel through a run directory. Any process (vggtop ctl, vggtop watch) writes
 * commands.json atomically, {"seq": N, "command": "pause", "lr": X, "pid": P}; the engine that trains the
 * run reads it between batches (and while paused or evaluating), takes a seq other than the last it took, and
 * says so in progress.json's "command_ack". One file holding only the latest command is enough: senders take
 * turns (an flock on the run directory), and `vggtop ctl` keeps its turn until its command is acknowledged,
 * so a command is never overwritten before the engine took it; one not taken is taken back. A file older than
 * the process that trains the run is an earlier session's, never taken (recorder.c). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
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
    if (!cJSON_IsObject(o) || !cJSON_IsNumber(seq) ||
        !(seq->valuedouble >= 1 && seq->valuedouble <= (double)RUN_COMMAND_SEQ_MAX) ||
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

/* The hold a sender keeps on the channel: an flock on the run directory itself (no file of its own), from
 * reading the last seq until its command is taken or given up; and commands.json as it was before, to put
 * back a command that was not taken. One per process (a front end sends one command at a time). */
static struct {
    int fd;
    int had;           /* commands.json existed */
    size_t len;
    char before[4097];
} held = {-1, 0, 0, ""};

enum { SENDER_WAIT_MS = 10000 }; /* how long a sender waits for another one's turn to end */

static int hold_channel(const char *dir, int wait_ms, vt_err *err)
{
    if (held.fd >= 0)
        close(held.fd); /* this process's previous command: its turn is over */
    held.fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (held.fd < 0)
        return vt_fail(err, VT_EUSAGE, "%s: %s", dir, strerror(errno));
    for (int waited = 0; flock(held.fd, LOCK_EX | LOCK_NB) != 0; waited += 50) {
        if (errno != EWOULDBLOCK || waited >= wait_ms) {
            int e = errno;
            close(held.fd);
            held.fd = -1;
            if (e == EWOULDBLOCK && wait_ms == 0)
                return vt_fail(err, VT_EIO, "%s: another vggtop is sending it a command (try again in a moment)",
                               dir);
            return e == EWOULDBLOCK ? vt_fail(err, VT_EIO, "%s: another vggtop has been sending it a command for %d s "
                                              "(try again once it is done)", dir, wait_ms / 1000)
                                    : vt_fail(err, VT_EIO, "%s: cannot lock its commands: %s", dir, strerror(e));
        }
        usleep(50000);
    }
    return VT_OK;
}

/* commands.json's bytes as they are now, to put back (held.before; held.had 0 when there is none). */
static void keep_before(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    vt_err ignored;
    held.had = held.len = 0;
    if (access(path, F_OK) == 0 && vt_read_file(path, 4096, &text, &len, &ignored) == VT_OK) {
        held.had = 1;
        held.len = len;
        memcpy(held.before, text, len);
    } else
        held.had = access(path, F_OK) == 0 ? -1 : 0; /* there, but unreadable: left alone */
    free(text);
}

static int send_held(const char *dir, run_command *cmd, int wait_ms, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = run_path(path, sizeof path, dir, RUN_PROGRESS, err);
    if (rc)
        return rc;
    if (access(path, F_OK) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: no %s: not a run directory", dir, RUN_PROGRESS);
    /* A run being started holds its lock before it names itself (-1): its commands wait for it. */
    char role[16];
    long holder = run_live_holder(dir, role, sizeof role);
    if (holder == 0)
        return vt_fail(err, VT_EUSAGE, "%s: no process is training this run (it ended or was killed; a stopped run "
                       "continues with vggtop train --resume %s)", dir, dir);
    if (holder > 0 && strcmp(role, "evaluated") == 0)
        return vt_fail(err, VT_EUSAGE, "%s: is being evaluated by process %ld, not trained: there is nothing to "
                       "control", dir, holder);
    if ((rc = hold_channel(dir, wait_ms, err)))
        return rc;
    /* The next number after the last one sent or taken; after the largest, 1 again. */
    run_command last;
    vt_err ignored;
    long seq = run_command_read(dir, &last, &ignored) == VT_OK ? last.seq : 0;
    run_data run;
    if (run_load(dir, RUN_PART_PROGRESS, &run, &ignored) == VT_OK && run.progress.command_ack > seq)
        seq = run.progress.command_ack;
    run_free(&run);
    cmd->seq = seq >= RUN_COMMAND_SEQ_MAX ? 1 : seq + 1;
    if ((rc = run_path(path, sizeof path, dir, RUN_COMMANDS, err)))
        return rc;
    keep_before(path);
    char text[256];
    int len;
    if (cmd->kind == RUN_CMD_LR)
        len = snprintf(text, sizeof text, "{\"seq\": %ld, \"command\": \"lr\", \"lr\": %.17g, \"pid\": %ld}\n",
                       cmd->seq, cmd->lr, (long)getpid());
    else
        len = snprintf(text, sizeof text, "{\"seq\": %ld, \"command\": \"%s\", \"pid\": %ld}\n", cmd->seq,
                       run_command_name(cmd->kind), (long)getpid());
    if ((rc = vt_write_file_atomic(path, text, (size_t)len, err)))
        run_command_finish(dir, cmd, 1);
    return rc;
}

void run_command_finish(const char *dir, const run_command *cmd, int taken)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    vt_err ignored;
    run_command now;
    /* Taken back only while commands.json still holds this command (the channel is still held). */
    if (!taken && held.fd >= 0 && held.had >= 0 && !run_path(path, sizeof path, dir, RUN_COMMANDS, &ignored) &&
        run_command_read(dir, &now, &ignored) == VT_OK && now.seq == cmd->seq) {
        if (held.had)
            vt_write_file_atomic(path, held.before, held.len, &ignored);
        else
            unlink(path);
    }
    if (held.fd >= 0)
        close(held.fd);
    held.fd = -1;
}

int run_command_send_held(const char *dir, run_command *cmd, vt_err *err)
{
    return send_held(dir, cmd, SENDER_WAIT_MS, err);
}

int run_command_send_nowait(const char *dir, run_command *cmd, vt_err *err)
{
    return send_held(dir, cmd, 0, err);
}

int run_command_send(const char *dir, run_command *cmd, vt_err *err)
{
    int rc = run_command_send_held(dir, cmd, err);
    if (!rc)
        run_command_finish(dir, cmd, 1);
    return rc;
}
