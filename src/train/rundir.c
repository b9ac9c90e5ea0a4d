/* train/rundir: a run directory as a whole: the table of its files (name, size limit, reader), loading the
 * parts asked for, listing the runs of a runs directory, and the helpers every file's reader and writer share.
 * Each file family has its own reader and writer: run_config.c, run_history.c, run_progress.c,
 * run_predictions.c (with per_class.csv), run_layers.c, curve.c, over run_rows.c's rows files. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "train_internal.h"

int run_path(char *buf, size_t size, const char *dir, const char *name, vt_err *err)
{
    if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", dir);
    return VT_OK;
}

int run_write_json(const char *path, cJSON *root, vt_err *err)
{
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* cJSON's buffer has room for its NUL: swap it for a newline */
    int rc = vt_write_file_atomic(path, text, len + 1, err);
    free(text);
    return rc;
}

void run_clean_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *tmp = strstr(e->d_name, ".tmp.");
        if (!tmp)
            continue;
        char *end;
        long pid = strtol(tmp + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        /* Called by the run lock's holder, the only writer of the run's own files; a pid past Linux's limit
         * is nobody (and kill() of it would mean something else), a live one may be a vggtop ctl's. */
        if (pid <= 4194304 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char path[VT_PATH_MAX + VT_PATH_EXTRA];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

/* The config's reader for run_load: a run without config.json yet (killed before it) is not an error. */
static int read_config_part(const char *dir, run_data *run, vt_err *err)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = run_path(path, sizeof path, dir, RUN_CONFIG, err);
    if (rc || access(path, F_OK) != 0)
        return rc;
    if (!(rc = run_read_config(dir, run, err)))
        run->parts |= RUN_PART_CONFIG;
    return rc;
}

/* The files a run directory holds that are read back: each one's largest size (the README's Checks and the
 * man page give them: far above what vggtop writes, so that a file past it is something else, refused before
 * anything is allocated) and, for the parts of run_data, its reader, in the order run_load reads them. A new
 * run file is a row here, its reader and writer in its own file, and its recorder entry (train_internal.h). */
static const struct run_file {
    const char *name;
    long long max;
    int part;
    int (*read)(const char *dir, run_data *run, vt_err *err); /* sets its part in run->parts when present */
} run_files[] = {
    {RUN_CONFIG, RUN_MAX_CONFIG_BYTES, RUN_PART_CONFIG, read_config_part},
    {RUN_HISTORY, RUN_MAX_HISTORY_BYTES, RUN_PART_HISTORY, run_read_history},
    {RUN_PROGRESS, RUN_MAX_PROGRESS_BYTES, RUN_PART_PROGRESS, run_read_progress},
    {RUN_PREDICTIONS, RUN_MAX_PREDICTIONS_BYTES, RUN_PART_PREDICTIONS, run_read_predictions},
    {RUN_PER_CLASS, RUN_MAX_PER_CLASS_BYTES, 0, NULL},
    {RUN_LAYERS, RUN_MAX_LAYERS_BYTES, 0, NULL},
};

long long run_file_max(const char *name)
{
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++)
        if (strcmp(run_files[i].name, name) == 0)
            return run_files[i].max;
    return RUN_MAX_PROGRESS_BYTES;
}

/* Reads a run file that may be absent (*text stays NULL). Present means anything lstat sees, so a dangling
 * link or a loop is reported as what it is, not taken for "no such file yet". */
int run_read_optional(const char *dir, const char *name, char *path, size_t size, char **text, vt_err *err)
{
    *text = NULL;
    int rc = run_path(path, size, dir, name, err);
    if (rc)
        return rc;
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return VT_OK;
    return vt_read_file(path, run_file_max(name), text, NULL, err);
}

/* Splits the next line off *cursor (NUL-terminating it); NULL at the end. */
char *run_next_line(char **cursor)
{
    char *s = *cursor;
    if (!s || !*s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else
        *cursor = s + strlen(s);
    size_t len = strlen(s);
    if (len && s[len - 1] == '\r')
        s[len - 1] = '\0';
    return s;
}

/* A wanted part that could not be read: left out, and named (the first reason kept). */
static void set_damaged(run_data *out, int part, const vt_err *why)
{
    out->parts &= ~part;
    if (!out->damaged)
        snprintf(out->damage, sizeof out->damage, "%s", why->msg);
    out->damaged |= part;
}

int run_load(const char *dir, int parts, run_data *out, vt_err *err)
{
    return run_load_sound(dir, parts, 0, out, err);
}

int run_load_sound(const char *dir, int need, int want, run_data *out, vt_err *err)
{
    int parts = need | want;
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(dir, &st) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return vt_fail(err, VT_EUSAGE, "%s: not a directory", dir);
    if (strlen(dir) >= sizeof out->dir)
        return vt_fail(err, VT_EUSAGE, "%s: path too long", dir);
    strcpy(out->dir, dir);
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = run_path(path, sizeof path, dir, RUN_CHECKPOINT, err);
    if (rc)
        return rc;
    /* Present is what lstat sees: an unreadable or odd checkpoint.bin is reported as what it is when it is
     * read, not taken for "no checkpoint yet". */
    struct stat ck;
    out->has_checkpoint = lstat(path, &ck) == 0;
    for (size_t i = 0; !rc && i < sizeof run_files / sizeof run_files[0]; i++) {
        int part = run_files[i].part;
        if (!(parts & part))
            continue;
        vt_err why;
        vt_err_clear(&why);
        rc = run_files[i].read(dir, out, &why);
        if (rc && !(need & part)) {
            set_damaged(out, part, &why);
            rc = VT_OK;
        } else if (rc)
            *err = why;
    }
    if (rc)
        return rc;
    /* Predictions must agree with the config's class count (an edited or foreign file otherwise), and a file
     * cut at a line end parses cleanly: only the test-set size in config.json catches it. */
    vt_err why;
    vt_err_clear(&why);
    if ((out->parts & RUN_PART_CONFIG) && (out->parts & RUN_PART_PREDICTIONS) && out->pred_classes != out->classes)
        vt_fail(&why, VT_EUSAGE, "%s/%s: %d classes, but %s says %d", dir, RUN_PREDICTIONS, out->pred_classes,
                RUN_CONFIG, out->classes);
    else if ((out->parts & RUN_PART_CONFIG) && (out->parts & RUN_PART_PREDICTIONS) && out->n_test > 0 &&
             out->n_pred != out->n_test)
        vt_fail(&why, VT_EUSAGE, "%s/%s: %ld rows, but %s says %ld test images (truncated? vggtop evaluate %s "
                "writes it again)", dir, RUN_PREDICTIONS, out->n_pred, RUN_CONFIG, out->n_test, dir);
    if (why.msg[0] && (need & RUN_PART_PREDICTIONS))
        return *err = why, why.code;
    if (why.msg[0])
        set_damaged(out, RUN_PART_PREDICTIONS, &why);
    if (!out->parts && !out->has_checkpoint && out->damaged)
        return vt_fail(err, VT_EUSAGE, "%s", out->damage);
    if (!out->parts && !out->has_checkpoint)
        return vt_fail(err, VT_EUSAGE, "%s: no %s, %s or %s here: not a run directory", dir, RUN_CONFIG, RUN_HISTORY,
                       RUN_PROGRESS);
    return VT_OK;
}

void run_free(run_data *run)
{
    if (!run)
        return;
    if (run->class_names)
        for (int i = 0; i < run->classes; i++)
            free(run->class_names[i]);
    free(run->class_names);
    if (run->coarse_names)
        for (int i = 0; i < run->coarse_classes; i++)
            free(run->coarse_names[i]);
    free(run->coarse_names);
    free(run->fine_to_coarse);
    free(run->history);
    free(run->y_true);
    free(run->y_pred);
    free(run->probs);
    memset(run, 0, sizeof *run);
}

/* The modification time of dir/name in seconds (0 when absent): "the newest runs" are the ones that wrote last,
 * whatever their names say. */
static double mtime_of(const char *dir, const char *name)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return 0;
    return (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const run_entry *)a)->name, ((const run_entry *)b)->name);
}

int run_list(const char *runs_dir, run_entry **entries, int *n, vt_err *err)
{
    *entries = NULL;
    *n = 0;
    DIR *d = opendir(runs_dir);
    if (!d) {
        if (errno == ENOENT)
            return VT_OK;
        return vt_fail(err, VT_EUSAGE, "%s: %s", runs_dir, strerror(errno));
    }
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof((run_entry *)0)->name)
            continue;
        char path[VT_PATH_MAX], cfgpath[VT_PATH_MAX + VT_PATH_EXTRA];
        if (snprintf(path, sizeof path, "%s/%s", runs_dir, e->d_name) >= (int)sizeof path)
            continue;
        snprintf(cfgpath, sizeof cfgpath, "%s/%s", path, RUN_CONFIG);
        if (access(cfgpath, F_OK) != 0)
            continue;
        run_data run;
        vt_err why;
        vt_err_clear(&why);
        /* A damaged run is listed as damaged (model "?", the reason in damage) and nothing else is read from
         * it, so one bad folder never stops the others from showing. */
        int bad = run_load(path, RUN_PART_CONFIG | RUN_PART_HISTORY | RUN_PART_PROGRESS, &run, &why);
        if (*n == cap) {
            run_entry *bigger = realloc(*entries, sizeof **entries * (size_t)(cap = cap ? cap * 2 : 16));
            if (!bigger) {
                run_free(&run);
                closedir(d);
                free(*entries);
                *entries = NULL;
                *n = 0;
                return vt_fail(err, VT_EIO, "%s: out of memory listing runs", runs_dir);
            }
            *entries = bigger;
        }
        run_entry *r = &(*entries)[(*n)++];
        memset(r, 0, sizeof *r);
        strcpy(r->name, e->d_name);
        strcpy(r->path, path);
        snprintf(r->model, sizeof r->model, "%s", (run.parts & RUN_PART_CONFIG) && !bad ? run.config.model : "?");
        snprintf(r->dataset, sizeof r->dataset, "%s", bad ? "" : run.dataset);
        if (bad)
            snprintf(r->damage, sizeof r->damage, "%s", why.msg);
        r->epochs = run.config.epochs;
        r->epochs_done = run.n_history;
        r->has_checkpoint = run.has_checkpoint;
        snprintf(r->state, sizeof r->state, "%s", bad ? "-" : run_state_word(&run));
        r->mtime = mtime_of(path, RUN_HISTORY);
        if (r->mtime == 0)
            r->mtime = mtime_of(path, RUN_CONFIG);
        r->best_val_acc = r->last_val_acc = r->last_val_loss = NAN;
        r->seconds = 0;
        for (int i = 0; i < run.n_history; i++) {
            if (isnan(r->best_val_acc) || run.history[i].val_acc > r->best_val_acc)
                r->best_val_acc = run.history[i].val_acc;
            r->seconds += run.history[i].seconds;
        }
        if (run.n_history) {
            r->last_val_acc = run.history[run.n_history - 1].val_acc;
            r->last_val_loss = run.history[run.n_history - 1].val_loss;
        }
        run_free(&run);
    }
    closedir(d);
    if (*n > 1)
        qsort(*entries, (size_t)*n, sizeof **entries, entry_cmp);
    return VT_OK;
}

int run_is_dead(const run_data *run, char *msg, size_t size)
{
    const run_progress *p = &run->progress;
    if (!(run->parts & RUN_PART_PROGRESS) || p->state == TRAIN_STOPPED || p->state == TRAIN_FINISHED ||
        p->state == TRAIN_FAILED || p->state == TRAIN_IDLE || run_live_pid(run->dir) != 0)
        return 0;
    char dir[sizeof run->dir]; /* the command works from any folder */
    train_path_absolute(run->dir, dir, sizeof dir);
    if (run->has_checkpoint)
        snprintf(msg, size, "its process %ld is gone: vggtop train --resume %.400s", p->pid, dir);
    else /* killed before its first checkpoint: nothing to resume from */
        snprintf(msg, size, "its process %ld is gone before writing a checkpoint; start the run again", p->pid);
    return 1;
}

const char *run_state_word(const run_data *run)
{
    char msg[512];
    if (run_live_pid(run->dir) != 0)
        return "live";
    if (run_is_dead(run, msg, sizeof msg))
        return "killed";
    if (!(run->parts & RUN_PART_PROGRESS))
        return "-";
    return train_state_name(run->progress.state);
}

int train_config_load(const char *run_dir, train_config *cfg, vt_err *err)
{
    run_data run;
    int rc = run_load(run_dir, RUN_PART_CONFIG, &run, err);
    if (!rc && !(run.parts & RUN_PART_CONFIG))
        rc = vt_fail(err, VT_EUSAGE, "%s: no %s here: not a run directory", run_dir, RUN_CONFIG);
    if (!rc)
        *cfg = run.config;
    run_free(&run);
    return rc;
}

const char *run_class_name(const run_data *run, int c, char *buf, size_t size)
{
    if (run->class_names && c >= 0 && c < run->classes && run->class_names[c] && run->class_names[c][0])
        return run->class_names[c];
    snprintf(buf, size, "%d", c);
    return buf;
}
