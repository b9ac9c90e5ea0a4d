/* tui/follow: the run follower. A run directory shown from its files (vggtop watch, a finished run opened
 * on Compare, another process's live run) is polled: a file whose mtime changed is read again (config.json,
 * history.csv, progress.json, predictions.csv through run_load; curve.csv; each screen's own run_file), and
 * the Dashboard's snapshot is made from them as the engine would publish it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tui_internal.h"

static struct timespec mtime_of(const char *dir, const char *name)
{
    char path[VT_PATH_MAX + VT_PATH_EXTRA];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return (struct timespec){0, 0};
    return st.st_mtim;
}

static int ts_differs(struct timespec a, struct timespec b) { return a.tv_sec != b.tv_sec || a.tv_nsec != b.tv_nsec; }

int app_state_running(train_state s)
{
    return s == TRAIN_LOADING || s == TRAIN_TRAINING || s == TRAIN_EVALUATING || s == TRAIN_PAUSED ||
           s == TRAIN_STOPPING || s == TRAIN_IDLE;
}

/* Fills the dashboard's snapshot from the files (progress.json, history.csv, config.json). */
static void synthesise_snapshot(app *a)
{
    train_snapshot *s = a->snap;
    const run_data *r = &a->run;
    const run_progress *p = &r->progress;
    snprintf(s->model, sizeof s->model, "%s", r->config.model);
    train_config_get(&r->config, "precision", s->precision, sizeof s->precision);
    snprintf(s->dataset, sizeof s->dataset, "%s", r->dataset);
    snprintf(s->run_dir, sizeof s->run_dir, "%s", a->dir);
    s->height = r->height;
    s->width = r->width;
    s->channels = r->channels;
    s->classes = r->classes;
    s->params = r->params;
    s->n_train = r->n_train;
    s->n_test = r->n_test;
    s->n_history = r->n_history < TRAIN_MAX_EPOCHS ? r->n_history : TRAIN_MAX_EPOCHS;
    for (int i = 0; i < s->n_history; i++)
        s->history[i] = r->history[i];
    s->epochs_done = s->n_history;
    /* The writer's pid comes from the lock it holds, not from progress.json (which a copied or stale
     * directory can fill with anyone's): run_live_pid. */
    a->holder_pid = r->parts & RUN_PART_PROGRESS ? run_live_pid(r->dir) : 0;
    if (r->parts & RUN_PART_PROGRESS) {
        s->state = p->state;
        snprintf(s->message, sizeof s->message, "%s", p->message);
        /* A run that says it is training but whose process is gone was killed: say so, and how to go on. */
        if (a->holder_pid == 0 && run_is_dead(r, s->message, sizeof s->message)) /* held: live, no second look */
            s->state = TRAIN_STOPPED;
        s->epoch = p->epoch;
        s->epochs = p->epochs;
        s->batch = p->batch;
        s->batches = p->batches;
        s->samples = p->samples;
        s->loss = p->loss;
        s->acc = p->acc;
        s->mse = p->mse;
        s->top5 = p->top5;
        s->img_per_s = p->img_per_s;
        s->ms_per_step = p->ms_per_step;
        s->ranks = p->ranks;
        s->elapsed = p->elapsed;
        s->epoch_elapsed = p->ms_per_step * (double)p->batch / 1000; /* progress.json has no epoch clock */
        s->eta = p->eta;
        s->eta_run = p->eta_run;
        s->eval_batch = p->eval_batch;
        s->eval_batches = p->eval_batches;
        s->eval_eta = p->eval_eta;
        s->command_ack = p->command_ack;
        s->lr = p->lr;
        /* progress.json writes no NaN: before the first batch of an epoch its means are not there yet. */
        if (p->batch == 0)
            s->loss = s->acc = s->mse = s->top5 = NAN;
        /* The in-epoch curve: curve.csv holds the whole epoch so far (read by poll_dir); between two of its
         * writes, the latest progress.json point is added. */
        if (p->epoch != a->curve_epoch) {
            s->n_curve = 0;
            a->curve_epoch = p->epoch;
        }
        if (p->batch > 0 && (s->n_curve == 0 || s->curve_batch[s->n_curve - 1] < p->batch) &&
            s->n_curve < TRAIN_CURVE_MAX) {
            s->curve_batch[s->n_curve] = p->batch;
            s->curve_loss[s->n_curve] = (float)p->loss;
            s->curve_acc[s->n_curve] = (float)p->acc;
            s->n_curve++;
        }
    } else {
        s->state = r->n_history > 0 ? TRAIN_FINISHED : TRAIN_IDLE;
        s->epochs = r->config.epochs;
        s->epoch = s->epochs_done;
        s->lr = r->n_history > 0 ? r->history[r->n_history - 1].lr : r->config.lr;
    }
    if (s->epochs == 0)
        s->epochs = r->config.epochs;
}

/* The run_load parts a look compares, and their files: a->mt_parts[i] is the mtime of part_files[i] read last. */
static const int part_bits[4] = {RUN_PART_CONFIG, RUN_PART_HISTORY, RUN_PART_PROGRESS, RUN_PART_PREDICTIONS};
static const char *const part_files[4] = {RUN_CONFIG, RUN_HISTORY, RUN_PROGRESS, RUN_PREDICTIONS};

/* The parts whose files changed since the last look; now: their mtimes at this look. */
static int changed_parts(const app *a, struct timespec now[4])
{
    int parts = 0;
    for (int i = 0; i < 4; i++) {
        now[i] = mtime_of(a->dir, part_files[i]);
        if (ts_differs(now[i], a->mt_parts[i]))
            parts |= part_bits[i];
    }
    return parts;
}

/* Moves the parts of old that were not read again (parts: those that were) into fresh; old is freed. */
static void keep_unchanged(run_data *fresh, run_data *old, int parts)
{
    if (!(fresh->parts & RUN_PART_CONFIG) && (old->parts & RUN_PART_CONFIG)) {
        fresh->config = old->config;
        memcpy(fresh->version, old->version, sizeof fresh->version);
        memcpy(fresh->created, old->created, sizeof fresh->created);
        memcpy(fresh->dataset, old->dataset, sizeof fresh->dataset);
        memcpy(fresh->dataset_path, old->dataset_path, sizeof fresh->dataset_path);
        fresh->height = old->height;
        fresh->width = old->width;
        fresh->channels = old->channels;
        fresh->classes = old->classes;
        fresh->params = old->params;
        fresh->n_train = old->n_train;
        fresh->n_test = old->n_test;
        fresh->class_names = old->class_names;
        fresh->coarse_classes = old->coarse_classes;
        fresh->coarse_names = old->coarse_names;
        fresh->fine_to_coarse = old->fine_to_coarse;
        old->class_names = old->coarse_names = NULL;
        old->fine_to_coarse = NULL;
        fresh->parts |= RUN_PART_CONFIG;
    }
    if (!(parts & RUN_PART_HISTORY) && (old->parts & RUN_PART_HISTORY)) {
        fresh->n_history = old->n_history;
        fresh->history = old->history;
        old->history = NULL;
        old->n_history = 0;
        fresh->parts |= RUN_PART_HISTORY;
    }
    if (!(parts & RUN_PART_PROGRESS) && (old->parts & RUN_PART_PROGRESS)) {
        fresh->progress = old->progress;
        fresh->parts |= RUN_PART_PROGRESS;
    }
    if (!(parts & RUN_PART_PREDICTIONS) && (old->parts & RUN_PART_PREDICTIONS)) {
        fresh->n_pred = old->n_pred;
        fresh->pred_classes = old->pred_classes;
        fresh->y_true = old->y_true;
        fresh->y_pred = old->y_pred;
        fresh->probs = old->probs;
        fresh->pred_epoch = old->pred_epoch;
        fresh->pred_batch = old->pred_batch;
        old->y_true = old->y_pred = NULL;
        old->probs = NULL;
        fresh->parts |= RUN_PART_PREDICTIONS;
    }
    fresh->has_checkpoint = fresh->has_checkpoint || old->has_checkpoint;
    run_free(old);
}

/* The whole epoch's curve so far, as the engine last wrote it (curve.csv), into the snapshot. */
static void read_curve(app *a)
{
    int epoch = 0, n = 0;
    train_snapshot *sn = a->snap;
    vt_err cerr;
    if (run_read_curve(a->dir, &epoch, sn->curve_batch, sn->curve_loss, sn->curve_acc, TRAIN_CURVE_MAX, &n,
                       &cerr) == VT_OK && n > 0 && epoch == a->run.progress.epoch) {
        sn->n_curve = n;
        a->curve_epoch = epoch;
    }
}

/* Re-reads the files of the followed directory that changed since the last look. */
static void poll_dir(app *a)
{
    struct stat st;
    if (stat(a->dir, &st) != 0 && errno == ENOENT) {
        /* The run directory was deleted or moved: nothing trains there any more (the header kept saying
         * "watching training"). Said once; the files already read stay on the screens. */
        if (strcmp(a->snap->message, "the run directory is gone") != 0)
            app_set_status(a, ROLE_WARN, "%s is gone (deleted or moved): nothing to watch there now", a->dir);
        a->snap->state = TRAIN_STOPPED;
        a->holder_pid = 0;
        snprintf(a->snap->message, sizeof a->snap->message, "the run directory is gone");
        return;
    }
    struct timespec now[4];
    int parts = changed_parts(a, now);
    if (!parts) {
        if (a->have_run && !a->live)
            synthesise_snapshot(a); /* a killed trainer changes no file: look at its pid again */
        return;
    }
    /* Read everything asked for into a fresh run_data, then keep the old parts that did not change. */
    run_data fresh;
    vt_err err;
    /* What is sound is used; a damaged file is named and its last good reading kept (until it changes). */
    int rc = run_load_sound(a->dir, 0, parts, &fresh, &err);
    if (rc != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        run_free(&fresh);
        return; /* a half-written file: the next look will retry */
    }
    if (fresh.damaged)
        app_set_status(a, ROLE_BAD, "%s (the rest is shown)", fresh.damage);
    memcpy(a->mt_parts, now, sizeof a->mt_parts);
    if (a->have_run)
        keep_unchanged(&fresh, &a->run, parts & ~fresh.damaged);
    a->run = fresh;
    a->have_run = 1;
    if (!a->live && (parts & RUN_PART_PROGRESS) && (a->run.parts & RUN_PART_PROGRESS))
        read_curve(a);
    if (!a->live)
        synthesise_snapshot(a);
    if (parts & (RUN_PART_PREDICTIONS | RUN_PART_CONFIG))
        derived_compute(a);
}

void follow_files(app *a)
{
    if (!a->dir[0])
        return;
    for (int i = 0; i < TUI_N_SCREENS; i++) {
        const screen_ops *sc = &app_screens[i];
        if (!sc->run_file)
            continue;
        struct timespec t = mtime_of(a->dir, sc->run_file);
        if (ts_differs(t, a->mt_files[i])) {
            a->mt_files[i] = t;
            sc->files(a);
        }
    }
}

void follow_forget(app *a)
{
    for (int i = 0; i < TUI_N_SCREENS; i++) {
        const screen_ops *sc = &app_screens[i];
        if (!sc->files)
            continue;
        /* Read now, so the next look reads it again only when it changes; no run: read when one is shown. */
        if (sc->run_file)
            a->mt_files[i] = a->dir[0] ? mtime_of(a->dir, sc->run_file) : (struct timespec){-1, 0};
        sc->files(a);
    }
}

int app_open_dir(app *a, const char *dir, int follow, vt_err *err)
{
    run_data probe_run;
    int rc = run_load_sound(dir, 0, RUN_PART_CONFIG | RUN_PART_PROGRESS, &probe_run, err);
    /* A run still loading its data set has written progress.json but no config.json yet: follow it; so is one
     * whose config.json or progress.json is damaged (the other is shown, the damage named). */
    int ok = rc == VT_OK && (probe_run.parts & (RUN_PART_CONFIG | RUN_PART_PROGRESS));
    if (rc == VT_OK && !ok && probe_run.damaged)
        rc = vt_fail(err, VT_EUSAGE, "%s", probe_run.damage);
    run_free(&probe_run);
    if (rc != VT_OK)
        return rc;
    if (!ok)
        return vt_fail(err, VT_EUSAGE, "%s: no %s: not a run directory", dir, RUN_CONFIG);
    app_command_end(a, 0); /* a command still waiting for the run left: taken back */
    a->cmd_seq = 0;
    if (a->have_run)
        run_free(&a->run);
    a->have_run = 0;
    derived_free(a);
    a->C = 0;
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    a->following = follow;
    memset(a->mt_parts, 0, sizeof a->mt_parts);
    a->curve_epoch = -1;
    memset(a->snap, 0, sizeof *a->snap);
    follow_forget(a);
    poll_dir(a);
    return VT_OK;
}

/* Watch mode: says so once the run's progress.json acknowledges the command sent, with the state it led to:
 * the engine acknowledges a pause or a resume before its state changes, so the report waits for the state
 * (for at most 2 s) instead of saying "took resume (now paused)". */
static void check_ack(app *a)
{
    if (a->cmd_seq && a->cmd_sent > 0 && a->snap->command_ack < a->cmd_seq &&
        vt_now() - a->cmd_sent > CMD_TAKE_SECS) {
        app_command_end(a, 0);
        app_set_status(a, ROLE_BAD, "the run did not take %s in %d s: taken back", a->cmd_name, CMD_TAKE_SECS);
        a->cmd_seq = 0;
        return;
    }
    if (!a->cmd_seq || a->live || a->snap->command_ack < a->cmd_seq)
        return;
    train_state st = a->snap->state;
    int resume = strcmp(a->cmd_name, run_command_name(RUN_CMD_RESUME)) == 0;
    int pause = strcmp(a->cmd_name, run_command_name(RUN_CMD_PAUSE)) == 0;
    int pending = app_state_running(st) && ((resume && st == TRAIN_PAUSED) || (pause && st != TRAIN_PAUSED));
    if (a->cmd_acked == 0) {
        a->cmd_acked = vt_now();
        app_command_end(a, 1);
    }
    if (pending && vt_now() - a->cmd_acked < 2)
        return;
    app_set_status(a, ROLE_GOOD, "the run took %s (now %s)", a->cmd_name, train_state_name(st));
    a->cmd_seq = 0;
    a->cmd_acked = 0;
}

int follow_poll(app *a)
{
    if (!a->following || a->live || vt_now() < a->next_poll)
        return 0;
    poll_dir(a);
    check_ack(a);
    /* Faster while a command waits for its acknowledgement. */
    a->next_poll = vt_now() + (a->cmd_seq ? 0.2 : 0.5);
    return 1;
}
