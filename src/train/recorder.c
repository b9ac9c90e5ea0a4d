/* train/recorder: the engine's records of a run (see train_internal.h). The directory recorder owns the run
 * directory for a training process: it picks and makes a new one or checks one to resume, holds its lock,
 * checks before every write that the directory is still the one it locked, writes through rundir.c's
 * writers, and removes a new run that failed before it had a config. The null recorder writes nothing. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train_internal.h"

typedef struct dir_recorder {
    recorder base;
    char dir[sizeof ((train_config *)0)->run_dir];
    int made;     /* the directory itself is new (a failed start removes it again) */
    int resumed;  /* a run to resume: never removed */
    int lock_fd;  /* run.lock, held while the recorder exists: the run is this process's alone */
    dev_t dev;    /* the directory locked: every write checks it is still the one */
    ino_t ino;
    int lost;     /* it was removed or replaced: nothing more is written */
    struct timespec opened; /* when the lock was taken: a command written before is an earlier session's */
} dir_recorder;

/* Whether dir holds anything but the run's lock. */
static int holds_files(const char *dir)
{
    DIR *d = opendir(dir);
    int entries = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, RUN_LOCK) != 0;
    if (d)
        closedir(d);
    return entries;
}

int train_check_new_run_dir(const char *dir, const char *flag, vt_err *err)
{
    char cfgpath[VT_PATH_MAX + VT_PATH_EXTRA], ckpath[VT_PATH_MAX + VT_PATH_EXTRA];
    if (run_path(cfgpath, sizeof cfgpath, dir, RUN_CONFIG, err) ||
        run_path(ckpath, sizeof ckpath, dir, RUN_CHECKPOINT, err))
        return VT_EUSAGE;
    if (access(cfgpath, F_OK) == 0 || access(ckpath, F_OK) == 0)
        return vt_fail(err, VT_EUSAGE, "%s: %s already holds a run (continue it with --resume %s, or pick another "
                       "directory)", flag, dir, dir);
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return vt_fail(err, VT_EUSAGE, "%s: %s is a file, not a directory", flag, dir);
    /* An exact directory must be new or empty: `--run-dir runs` (meant as --runs) would otherwise mix a run's
     * files with the runs beside it. */
    if (access(dir, F_OK) == 0 && holds_files(dir))
        return vt_fail(err, VT_EUSAGE, "%s: %s is not empty (a new run needs a new or empty directory; --runs %s "
                       "puts each run in its own folder under it)", flag, dir, dir);
    return VT_OK;
}

/* The run to resume: it has a config and a checkpoint; locked. */
static int open_resumed(dir_recorder *r, const train_config *cfg, vt_err *err)
{
    char cfgpath[VT_PATH_MAX + VT_PATH_EXTRA], ckpath[VT_PATH_MAX + VT_PATH_EXTRA];
    if (run_path(cfgpath, sizeof cfgpath, cfg->run_dir, RUN_CONFIG, err) ||
        run_path(ckpath, sizeof ckpath, cfg->run_dir, RUN_CHECKPOINT, err))
        return VT_EUSAGE;
    if (access(cfgpath, R_OK) != 0)
        return vt_fail(err, VT_EUSAGE, "--resume: %s: no readable %s (not a run directory?)", cfg->run_dir,
                       RUN_CONFIG);
    struct stat st;
    if (lstat(ckpath, &st) != 0 && errno == ENOENT)
        return vt_fail(err, VT_EUSAGE, "--resume: %s: no %s yet (the run never finished an epoch or stopped)",
                       cfg->run_dir, RUN_CHECKPOINT);
    /* Two processes writing one run directory would interleave their files: the lock lets one in. */
    return run_lock_take(cfg->run_dir, &r->lock_fd, NULL, err);
}

/* A new run: its directory picked (under --runs) or checked, made, and locked. */
static int open_new(dir_recorder *r, train_config *cfg, vt_err *err)
{
    const char *flag = cfg->run_dir[0] ? "--run-dir" : "--runs";
    if (!cfg->run_dir[0]) {
        char base[VT_PATH_MAX];
        run_default_dir(cfg, base, sizeof base);
        snprintf(cfg->run_dir, sizeof cfg->run_dir, "%s", base);
        /* Two runs started in the same second get -2, -3, ... */
        for (int i = 2; access(cfg->run_dir, F_OK) == 0 && i < 1000; i++)
            if (snprintf(cfg->run_dir, sizeof cfg->run_dir, "%s-%d", base, i) >= (int)sizeof cfg->run_dir)
                return vt_fail(err, VT_EUSAGE, "--runs: %s: path too long", cfg->runs);
    }
    int rc = train_check_new_run_dir(cfg->run_dir, flag, err);
    if (rc)
        return rc;
    vt_err mk;
    int existed = access(cfg->run_dir, F_OK) == 0;
    if (vt_mkdirs(cfg->run_dir, &mk) != VT_OK) {
        /* A full disk or a read-only one is the system's failure (exit 1); a bad path is the user's (2). */
        int e = errno;
        return vt_fail(err, e == ENOSPC || e == EDQUOT || e == EROFS || e == EIO ? VT_EIO : VT_EUSAGE, "%s: %s", flag,
                       mk.msg);
    }
    r->made = !existed;
    rc = run_lock_take(cfg->run_dir, &r->lock_fd, NULL, err);
    if (!rc)
        rc = run_lock_claim(r->lock_fd, cfg->run_dir, "trained", err);
    /* Checked again under the lock: another process may have started a run there since. */
    if (!rc && holds_files(cfg->run_dir)) {
        run_lock_release(r->lock_fd);
        r->lock_fd = -1;
        rc = vt_fail(err, VT_EUSAGE, "%s: %s was taken by another run just now", flag, cfg->run_dir);
    }
    if (rc && r->made) {
        char lockpath[VT_PATH_MAX + VT_PATH_EXTRA];
        if (!run_path(lockpath, sizeof lockpath, cfg->run_dir, RUN_LOCK, &mk) && !holds_files(cfg->run_dir))
            unlink(lockpath), rmdir(cfg->run_dir);
        r->made = 0;
    }
    return rc;
}

static int dir_open(recorder *base, train_config *cfg, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    r->resumed = cfg->resume;
    clock_gettime(CLOCK_REALTIME_COARSE, &r->opened); /* the clock file times are stamped with */
    int rc = cfg->resume ? open_resumed(r, cfg, err) : open_new(r, cfg, err);
    if (rc)
        return rc;
    snprintf(r->dir, sizeof r->dir, "%s", cfg->run_dir);
    /* The directory the lock was taken in: the one every write goes to. */
    struct stat st;
    if (stat(r->dir, &st) == 0) {
        r->dev = st.st_dev;
        r->ino = st.st_ino;
    } else
        r->lost = 1;
    return VT_OK;
}

/* The run directory must still be the one whose lock this recorder holds: one deleted or replaced (another
 * run moved into its place) while training is never written into. */
static int dir_check(recorder *base, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    struct stat st;
    if (!r->lost && stat(r->dir, &st) == 0 && st.st_dev == r->dev && st.st_ino == r->ino)
        return VT_OK;
    r->lost = 1;
    return vt_fail(err, VT_EIO, "%s: the run directory was removed or replaced while training; nothing more is "
                   "written to it (the run stops)", r->dir);
}

/* The files a run's writers replace (by a rename, which a directory in the way makes fail). */
static const char *const written[] = {RUN_CONFIG,      RUN_HISTORY, RUN_PROGRESS,  RUN_CURVE,      RUN_PREDICTIONS,
                                      RUN_PRED_EPOCH,  RUN_REPORT,  RUN_CONFUSION, RUN_PER_CLASS,  RUN_LAYERS,
                                      RUN_CHECKPOINT,  RUN_BEST,    RUN_ES_BEST,   RUN_COMMANDS};

/* The run to resume, checked and claimed before its first write: a run whose records could not all be written
 * (a directory in the place of one) is refused as it is, and only then does run.lock name this process. */
static int dir_resume(recorder *base, char *created, size_t size, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
        struct stat st;
        int rc = run_path(path, sizeof path, r->dir, written[i], err);
        if (rc)
            return rc;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return vt_fail(err, VT_EUSAGE, "--resume: %s: is a directory, where the run keeps a file (remove it)",
                           path);
    }
    int rc = run_lock_claim(r->lock_fd, r->dir, "trained", err);
    if (rc)
        return rc;
    run_clean_temporaries(r->dir);
    run_data old;
    vt_err ignored;
    if (run_load(r->dir, RUN_PART_CONFIG, &old, &ignored) == VT_OK)
        snprintf(created, size, "%s", old.created);
    run_free(&old);
    return VT_OK;
}

static int dir_config(recorder *base, const train_config *cfg, const dataset *ds, const model_config *mc,
                      long long params, const char *created, const run_ranks *ranks, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    return dir_check(base, err) ? VT_EIO : train_write_config(r->dir, cfg, ds, mc, params, created, ranks, err);
}

static int dir_progress(recorder *base, const train_snapshot *s, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    int rc = dir_check(base, err);
    return rc ? rc : (rc = run_write_progress(r->dir, s, err)) ? rc : run_write_curve(r->dir, s, err);
}

static int dir_layers(recorder *base, int epoch, const run_layer_row *rows, int n, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    return dir_check(base, err) ? VT_EIO : run_write_layers(r->dir, epoch, rows, n, err);
}

static int dir_evaluation(recorder *base, int epoch, const int *y_true, const float *probs, long n, int C,
                          const char *const *names, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    return dir_check(base, err) ? VT_EIO : run_write_evaluation(r->dir, epoch, 0, 1, y_true, probs, n, C, names, err);
}

static int dir_history(recorder *base, const train_epoch *rows, int n, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    return dir_check(base, err) ? VT_EIO : run_write_history(r->dir, rows, n, err);
}

static int dir_checkpoint(recorder *base, const char *name, const model *m, const void *blob, size_t len,
                          vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    int rc = dir_check(base, err);
    if (rc || (rc = run_path(path, sizeof path, r->dir, name, err)))
        return rc;
    return checkpoint_save(path, m, blob, len, err);
}

static int dir_restore(recorder *base, const char *name, model *m, void *blob, size_t cap, size_t *len, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    model_config stored;
    int rc = run_path(path, sizeof path, r->dir, name, err);
    if (rc || (rc = checkpoint_read_config(path, &stored, err)))
        return rc;
    const model_config *mc = model_get_config(m);
    if (strcmp(stored.name, mc->name) != 0 || stored.height != mc->height || stored.width != mc->width ||
        stored.channels != mc->channels || stored.classes != mc->classes)
        return vt_fail(err, VT_EUSAGE, "%s: holds a %s for %dx%dx%d input and %d classes, but the run is a %s for "
                       "%dx%dx%d and %d classes",
                       path, stored.name, stored.height, stored.width, stored.channels, stored.classes, mc->name,
                       mc->height, mc->width, mc->channels, mc->classes);
    return checkpoint_load(path, m, blob, cap, len, err);
}

/* The command another process sent this session: from the moment the run's lock was taken (a command sent
 * while the data loads is taken once training starts); one from before is an earlier session's, taken or
 * given up then, and reads as none. */
static int dir_command(recorder *base, run_command *c, vt_err *err)
{
    dir_recorder *r = (dir_recorder *)base;
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    struct stat st;
    int rc = run_command_read(r->dir, c, err);
    if (!rc && c->seq && !run_path(path, sizeof path, r->dir, RUN_COMMANDS, err) && stat(path, &st) == 0 &&
        (st.st_mtim.tv_sec < r->opened.tv_sec ||
         (st.st_mtim.tv_sec == r->opened.tv_sec && st.st_mtim.tv_nsec < r->opened.tv_nsec)))
        *c = (run_command){0, RUN_CMD_NONE, 0};
    return rc;
}

static void dir_discard(recorder *base)
{
    dir_recorder *r = (dir_recorder *)base;
    char cfgpath[VT_PATH_MAX + VT_PATH_EXTRA], path[VT_PATH_MAX + VT_PATH_EXTRA];
    vt_err ignored;
    if (r->resumed || r->lost || run_path(cfgpath, sizeof cfgpath, r->dir, RUN_CONFIG, &ignored) ||
        access(cfgpath, F_OK) == 0)
        return;
    /* The lock is still held by this process until the recorder goes; nobody else can want it. */
    const char *const files[] = {RUN_PROGRESS, RUN_CURVE, RUN_LOCK};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!run_path(path, sizeof path, r->dir, files[i], &ignored))
            unlink(path);
    if (r->made)
        rmdir(r->dir);
}

static void dir_release(recorder *base)
{
    dir_recorder *r = (dir_recorder *)base;
    run_lock_release(r->lock_fd);
    r->lock_fd = -1;
}

static void dir_destroy(recorder *base)
{
    dir_release(base);
    free(base);
}

static const recorder_ops dir_ops = {
    .open = dir_open,
    .check = dir_check,
    .resume = dir_resume,
    .config = dir_config,
    .progress = dir_progress,
    .layers = dir_layers,
    .evaluation = dir_evaluation,
    .history = dir_history,
    .checkpoint = dir_checkpoint,
    .restore = dir_restore,
    .command = dir_command,
    .discard = dir_discard,
    .release = dir_release,
    .destroy = dir_destroy,
};

int recorder_dir_create(recorder **out, vt_err *err)
{
    dir_recorder *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return vt_fail(err, VT_EIO, "out of memory for the run directory's recorder");
    r->base = (recorder){&dir_ops, 1};
    r->lock_fd = -1;
    *out = &r->base;
    return VT_OK;
}

/* ---- the null recorder --------------------------------------------------------------------------------- */

static int null_open(recorder *r, train_config *cfg, vt_err *err) { return (void)r, (void)cfg, (void)err, VT_OK; }
static int null_check(recorder *r, vt_err *err) { return (void)r, (void)err, VT_OK; }
static int null_resume(recorder *r, char *created, size_t size, vt_err *err)
{
    return (void)r, (void)created, (void)size, (void)err, VT_OK;
}

static int null_config(recorder *r, const train_config *cfg, const dataset *ds, const model_config *mc,
                       long long params, const char *created, const run_ranks *ranks, vt_err *err)
{
    return (void)r, (void)cfg, (void)ds, (void)mc, (void)params, (void)created, (void)ranks, (void)err, VT_OK;
}

static int null_progress(recorder *r, const train_snapshot *s, vt_err *err)
{
    return (void)r, (void)s, (void)err, VT_OK;
}

static int null_layers(recorder *r, int epoch, const run_layer_row *rows, int n, vt_err *err)
{
    return (void)r, (void)epoch, (void)rows, (void)n, (void)err, VT_OK;
}

static int null_evaluation(recorder *r, int epoch, const int *y_true, const float *probs, long n, int C,
                           const char *const *names, vt_err *err)
{
    return (void)r, (void)epoch, (void)y_true, (void)probs, (void)n, (void)C, (void)names, (void)err, VT_OK;
}

static int null_history(recorder *r, const train_epoch *rows, int n, vt_err *err)
{
    return (void)r, (void)rows, (void)n, (void)err, VT_OK;
}

static int null_checkpoint(recorder *r, const char *name, const model *m, const void *blob, size_t len, vt_err *err)
{
    return (void)r, (void)name, (void)m, (void)blob, (void)len, (void)err, VT_OK;
}

static int null_restore(recorder *r, const char *name, model *m, void *blob, size_t cap, size_t *len, vt_err *err)
{
    *len = 0;
    return (void)r, (void)name, (void)m, (void)blob, (void)cap, (void)err, VT_OK;
}

static int null_command(recorder *r, run_command *c, vt_err *err)
{
    *c = (run_command){0, RUN_CMD_NONE, 0};
    return (void)r, (void)err, VT_OK;
}

static void null_nothing(recorder *r) { (void)r; }

static const recorder_ops null_ops = {
    .open = null_open,
    .check = null_check,
    .resume = null_resume,
    .config = null_config,
    .progress = null_progress,
    .layers = null_layers,
    .evaluation = null_evaluation,
    .history = null_history,
    .checkpoint = null_checkpoint,
    .restore = null_restore,
    .command = null_command,
    .discard = null_nothing,
    .release = null_nothing,
    .destroy = null_nothing,
};

recorder *recorder_null(void)
{
    static recorder null = {&null_ops, 0};
    return &null;
}
