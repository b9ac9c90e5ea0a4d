/* tui/app: the screen manager. One event loop (poll on the terminal, the engine's wake pipe and the Setup
 * probe's pipe), the snapshot copied once per loop and every screen drawn from that copy into one grid,
 * which term_blit puts on the terminal. Also what feeds the screens: a live run of this process, or a run
 * directory followed from its files (vggtop watch, or a finished run opened for browsing). */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tui_internal.h"

#define MIN_ROWS 24
#define MIN_COLS 80

#define STATUS_SECONDS 5.0 /* a transient message's life (errors twice that) */
#define STATUS_MAX_ROWS 3

void app_set_status(app *a, int role, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->status, sizeof a->status, fmt, ap);
    va_end(ap);
    a->status_role = role;
    a->status_until = vt_now() + (role == ROLE_BAD ? 2 : 1) * STATUS_SECONDS;
}

/* Clears a message whose time is up; 1 when one was cleared (a redraw is due). */
static int expire_status(app *a, double now)
{
    if (!a->status[0] || now < a->status_until)
        return 0;
    a->status[0] = '\0';
    return 1;
}


/* Rows: 0 tabs, 1 the header naming the run, 2.. the status line (a long message wraps onto up to three
 * rows, never cut), body, footer. */
static int status_rows(const app *a)
{
    const char *text = a->status;
    if (!a->status[0] || a->confirm || a->rpt.searching)
        return 1;
    int n = app_draw_wrapped(NULL, (tui_rect){0, 0, STATUS_MAX_ROWS, a->cols > 0 ? a->cols : 80}, text, 0);
    return n < 1 ? 1 : n;
}
int app_body_top(const app *a) { return 2 + status_rows(a); }
int app_body_height(const app *a) { return a->rows - app_body_top(a) - 1; }

const char *app_class_name(const app *a, int cls)
{
    if (a->names && cls >= 0 && cls < a->C)
        return a->names[cls];
    return "?";
}

/* ---- derived data: confusion matrix, report, ROC from the run's predictions ---- */

static void free_derived(app *a)
{
    confusion_reset(a);
    free(a->cm);
    a->cm = NULL;
    if (a->have_rep)
        metrics_report_free(&a->rep);
    a->have_rep = 0;
    if (a->roc) {
        for (int i = 0; i < a->C; i++)
            metrics_roc_free(&a->roc[i]);
        free(a->roc);
        a->roc = NULL;
    }
    if (a->have_roc) {
        metrics_roc_free(&a->micro);
        metrics_roc_free(&a->macro);
    }
    a->have_roc = 0;
    if (a->owned_names) {
        for (int i = 0; i < a->C; i++)
            free(a->owned_names[i]);
        free(a->owned_names);
        a->owned_names = NULL;
    }
    a->names = NULL;
}

static void compute_derived(app *a)
{
    int oldC = a->C;
    free_derived(a);
    a->C = 0;
    if (!a->have_run || !(a->run.parts & RUN_PART_PREDICTIONS) || a->run.n_pred <= 0)
        return;
    int C = a->run.pred_classes;
    a->C = C;
    a->cm = calloc((size_t)C * (size_t)C, sizeof *a->cm);
    if (!a->cm) {
        a->C = 0;
        return;
    }
    metrics_confusion(a->run.y_true, a->run.y_pred, a->run.n_pred, C, a->cm);
    /* The classes present in y_true or y_pred, as sklearn's default and report.txt: the same numbers everywhere. */
    a->have_rep = metrics_report(a->cm, C, 0, &a->rep) == 0;
    if (a->run.class_names && a->run.classes == C) {
        a->names = a->run.class_names;
    } else {
        a->owned_names = calloc((size_t)C, sizeof *a->owned_names);
        for (int i = 0; a->owned_names && i < C; i++) {
            char b[16];
            snprintf(b, sizeof b, "%d", i);
            a->owned_names[i] = strdup(b);
        }
        a->names = a->owned_names;
    }
    if (C != oldC) {
        free(a->rv.drawn);
        a->rv.drawn = calloc((size_t)C, 1);
        for (int i = 0; a->rv.drawn && i < C && i < 3; i++)
            a->rv.drawn[i] = 1;
        a->conf.row = a->conf.col = a->conf.row0 = a->conf.col0 = 0;
        a->rv.sel = a->rv.top = 0;
        a->smp.sample = 0;
    }
    report_reset(a);
}

/* The ROC curves take a sort per class: computed when the ROC screen first needs them (its enter). */
void roc_enter(app *a)
{
    if (a->have_roc || a->C <= 0)
        return;
    a->roc = calloc((size_t)a->C, sizeof *a->roc);
    if (!a->roc)
        return;
    for (int c = 0; c < a->C; c++)
        metrics_roc_class(a->run.probs, a->run.y_true, a->run.n_pred, a->C, c, &a->roc[c]);
    metrics_roc_micro(a->run.probs, a->run.y_true, a->run.n_pred, a->C, &a->micro);
    metrics_roc_macro(a->roc, a->C, &a->macro);
    a->have_roc = 1;
}

/* ---- following a run directory ---- */

static struct timespec mtime_of(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return (struct timespec){0, 0};
    return st.st_mtim;
}

static int ts_differs(struct timespec a, struct timespec b) { return a.tv_sec != b.tv_sec || a.tv_nsec != b.tv_nsec; }

static int is_running(train_state s)
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

/* Re-reads the files of the followed directory that changed since the last look. */
static void poll_dir(app *a)
{
    struct timespec c = mtime_of(a->dir, RUN_CONFIG), h = mtime_of(a->dir, RUN_HISTORY),
                    p = mtime_of(a->dir, RUN_PROGRESS), q = mtime_of(a->dir, RUN_PREDICTIONS);
    int parts = 0;
    if (ts_differs(c, a->mt_config))
        parts |= RUN_PART_CONFIG;
    if (ts_differs(h, a->mt_history))
        parts |= RUN_PART_HISTORY;
    if (ts_differs(p, a->mt_progress))
        parts |= RUN_PART_PROGRESS;
    if (ts_differs(q, a->mt_pred))
        parts |= RUN_PART_PREDICTIONS;
    if (!parts) {
        if (a->have_run && !a->live)
            synthesise_snapshot(a); /* a killed trainer changes no file: look at its pid again */
        return;
    }
    /* Read everything asked for into a fresh run_data, then keep the old parts that did not change. */
    run_data fresh;
    vt_err err;
    int rc = run_load(a->dir, parts, &fresh, &err);
    if (rc != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        run_free(&fresh);
        return; /* a half-written file: the next look will retry */
    }
    a->mt_config = c;
    a->mt_history = h;
    a->mt_progress = p;
    a->mt_pred = q;
    if (a->have_run) {
        run_data *old = &a->run;
        if (!(fresh.parts & RUN_PART_CONFIG) && (old->parts & RUN_PART_CONFIG)) {
            /* move the config part over */
            fresh.config = old->config;
            memcpy(fresh.version, old->version, sizeof fresh.version);
            memcpy(fresh.created, old->created, sizeof fresh.created);
            memcpy(fresh.dataset, old->dataset, sizeof fresh.dataset);
            memcpy(fresh.dataset_path, old->dataset_path, sizeof fresh.dataset_path);
            fresh.height = old->height;
            fresh.width = old->width;
            fresh.channels = old->channels;
            fresh.classes = old->classes;
            fresh.params = old->params;
            fresh.n_train = old->n_train;
            fresh.n_test = old->n_test;
            fresh.class_names = old->class_names;
            fresh.coarse_classes = old->coarse_classes;
            fresh.coarse_names = old->coarse_names;
            fresh.fine_to_coarse = old->fine_to_coarse;
            old->class_names = old->coarse_names = NULL;
            old->fine_to_coarse = NULL;
            fresh.parts |= RUN_PART_CONFIG;
        }
        if (!(parts & RUN_PART_HISTORY) && (old->parts & RUN_PART_HISTORY)) {
            fresh.n_history = old->n_history;
            fresh.history = old->history;
            old->history = NULL;
            old->n_history = 0;
            fresh.parts |= RUN_PART_HISTORY;
        }
        if (!(parts & RUN_PART_PROGRESS) && (old->parts & RUN_PART_PROGRESS)) {
            fresh.progress = old->progress;
            fresh.parts |= RUN_PART_PROGRESS;
        }
        if (!(parts & RUN_PART_PREDICTIONS) && (old->parts & RUN_PART_PREDICTIONS)) {
            fresh.n_pred = old->n_pred;
            fresh.pred_classes = old->pred_classes;
            fresh.y_true = old->y_true;
            fresh.y_pred = old->y_pred;
            fresh.probs = old->probs;
            fresh.pred_epoch = old->pred_epoch;
            fresh.pred_batch = old->pred_batch;
            old->y_true = old->y_pred = NULL;
            old->probs = NULL;
            fresh.parts |= RUN_PART_PREDICTIONS;
        }
        fresh.has_checkpoint = fresh.has_checkpoint || old->has_checkpoint;
        run_free(old);
    }
    a->run = fresh;
    a->have_run = 1;
    if (!a->live && (parts & RUN_PART_PROGRESS) && (a->run.parts & RUN_PART_PROGRESS)) {
        /* The whole epoch's curve so far, as the engine last wrote it. */
        int epoch = 0, n = 0;
        train_snapshot *sn = a->snap;
        vt_err cerr;
        if (run_read_curve(a->dir, &epoch, sn->curve_batch, sn->curve_loss, sn->curve_acc, TRAIN_CURVE_MAX, &n,
                           &cerr) == VT_OK && n > 0 && epoch == a->run.progress.epoch) {
            sn->n_curve = n;
            a->curve_epoch = epoch;
        }
    }
    if (!a->live)
        synthesise_snapshot(a);
    if (parts & (RUN_PART_PREDICTIONS | RUN_PART_CONFIG))
        compute_derived(a);
}

/* Report's history and the Layers screen: per_class.csv and layers.csv, re-read when they change (the
 * evaluation after each epoch rewrites them). */
static void poll_epoch_files(app *a)
{
    if (!a->dir[0])
        return;
    struct timespec pc = mtime_of(a->dir, RUN_PER_CLASS), ly = mtime_of(a->dir, RUN_LAYERS);
    if (ts_differs(pc, a->mt_per_class)) {
        a->mt_per_class = pc;
        report_load_history(a);
    }
    if (ts_differs(ly, a->mt_layers)) {
        a->mt_layers = ly;
        layers_load(a);
    }
}

/* Another run is shown: what was read of the last one's per-epoch files goes. */
static void forget_epoch_files(app *a)
{
    a->mt_per_class = a->mt_layers = (struct timespec){-1, 0};
    report_free_history(a);
    layers_free(a);
    a->rpt.err[0] = a->lay.err[0] = '\0';
    a->dash.have_sys = 0;
    a->dash.rate.n = 0;
    a->dash.prev.valid = 0;
}

int app_open_dir(app *a, const char *dir, int follow, vt_err *err)
{
    run_data probe_run;
    int rc = run_load(dir, RUN_PART_CONFIG | RUN_PART_PROGRESS, &probe_run, err);
    /* A run still loading its data set has written progress.json but no config.json yet: follow it. */
    int ok = rc == VT_OK && (probe_run.parts & (RUN_PART_CONFIG | RUN_PART_PROGRESS));
    run_free(&probe_run);
    if (rc != VT_OK)
        return rc;
    if (!ok)
        return vt_fail(err, VT_EUSAGE, "%s: no %s: not a run directory", dir, RUN_CONFIG);
    if (a->have_run)
        run_free(&a->run);
    a->have_run = 0;
    free_derived(a);
    a->C = 0;
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    a->following = follow;
    a->mt_config = a->mt_history = a->mt_progress = a->mt_pred = (struct timespec){0, 0};
    a->curve_epoch = -1;
    memset(a->snap, 0, sizeof *a->snap);
    forget_epoch_files(a);
    poll_dir(a);
    poll_epoch_files(a);
    return VT_OK;
}

/* ---- a live run of this process ---- */

static void update_live(app *a);

int app_training(const app *a) { return (a->tr && a->live) || a->parked; }

int app_browse(app *a, const char *dir, vt_err *err)
{
    int park = a->tr && a->live;
    if (park && !a->parked_snap && !(a->parked_snap = calloc(1, sizeof *a->parked_snap)))
        return vt_fail(err, VT_EIO, "out of memory");
    if (park) {
        snprintf(a->parked_dir, sizeof a->parked_dir, "%s", a->dir);
        a->parked = a->tr;
        a->tr = NULL;
        a->live = 0;
    }
    int rc = app_open_dir(a, dir, 1, err);
    if (rc != VT_OK)
        app_return_live(a);
    return rc;
}

void app_return_live(app *a)
{
    if (!a->parked)
        return;
    a->tr = a->parked;
    a->parked = NULL;
    a->live = 1;
    a->following = 0;
    a->cmd_seq = 0;
    snprintf(a->dir, sizeof a->dir, "%s", a->parked_dir);
    if (a->have_run)
        run_free(&a->run);
    a->have_run = 0;
    free_derived(a);
    a->C = 0;
    update_live(a); /* its snapshot, and its files read again */
}

/* The parked run trains on unseen: its snapshot keeps its wake pipe drained, and its end is said (and the
 * trainer given back) when it comes. */
static void watch_parked(app *a)
{
    trainer_snapshot(a->parked, a->parked_snap);
    if (is_running(a->parked_snap->state))
        return;
    app_set_status(a, a->parked_snap->state == TRAIN_FAILED ? ROLE_BAD : ROLE_GOOD, "the live run %s: %s",
                   train_state_name(a->parked_snap->state), a->parked_dir);
    trainer_destroy(a->parked);
    a->parked = NULL;
    compare_scan(a);
}

int app_start_training(app *a) { return app_start_run(a, &a->cfg); }

int app_start_run(app *a, const train_config *cfg)
{
    if (app_training(a)) {
        app_set_status(a, ROLE_WARN, "%s", a->parked ? "a run is live: stop it first (6, Enter on its row, then S)"
                                                     : "a run is live: stop it first (Dashboard, S)");
        return H_REDRAW;
    }
    vt_err err;
    if (train_config_check(cfg, &err) != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return H_REDRAW;
    }
    if (a->tr) {
        trainer_destroy(a->tr);
        a->tr = NULL;
    }
    if (trainer_create(cfg, &a->tr, &err) != VT_OK || trainer_start(a->tr, &err) != VT_OK) {
        trainer_destroy(a->tr);
        a->tr = NULL;
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return H_REDRAW;
    }
    a->live = 1;
    a->following = 0;
    a->dir[0] = '\0';
    if (a->have_run)
        run_free(&a->run);
    a->have_run = 0;
    free_derived(a);
    a->C = 0;
    a->eval_seen = 0;
    forget_epoch_files(a);
    a->screen = 2;
    a->cmd_seq = 0;
    app_set_status(a, ROLE_GOOD, "%s %s: p pauses, S stops with a checkpoint, D detaches",
                   cfg->resume ? "resuming" : "training", cfg->model);
    return H_REDRAW;
}

void app_send_command(app *a, run_command *c)
{
    vt_err err;
    if (run_command_send(a->dir, c, &err) != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return;
    }
    a->cmd_seq = c->seq;
    snprintf(a->cmd_name, sizeof a->cmd_name, "%s", run_command_name(c->kind));
    app_set_status(a, ROLE_DIM, "sent %s to process %ld: it takes it between two steps", a->cmd_name,
                   a->holder_pid > 0 ? a->holder_pid : a->run.progress.pid);
}

/* Watch mode: says so once the run's progress.json acknowledges the command sent. */
static void check_ack(app *a)
{
    if (!a->cmd_seq || a->live || a->snap->command_ack < a->cmd_seq)
        return;
    app_set_status(a, ROLE_GOOD, "the run took %s (now %s)", a->cmd_name, train_state_name(a->snap->state));
    a->cmd_seq = 0;
}

int app_can_control(const app *a)
{
    if (a->tr && a->live)
        return 1;
    /* A followed run: its progress.json names a live process in a running state. */
    return a->following && a->have_run && (a->run.parts & RUN_PART_PROGRESS) && is_running(a->snap->state) &&
           a->snap->state != TRAIN_IDLE;
}

int app_can_resume(const app *a)
{
    if (a->live || !a->dir[0] || !a->have_run || !(a->run.parts & RUN_PART_CONFIG))
        return 0;
    return a->snap->state == TRAIN_STOPPED && a->run.has_checkpoint;
}

/* Takes the engine's snapshot; reloads the run files when an evaluation rewrote them. */
static void update_live(app *a)
{
    trainer_snapshot(a->tr, a->snap);
    if (a->snap->run_dir[0] && strcmp(a->dir, a->snap->run_dir) != 0)
        snprintf(a->dir, sizeof a->dir, "%s", a->snap->run_dir);
    if (a->dir[0] && (a->snap->eval_generation != a->eval_seen || !a->have_run)) {
        run_data fresh;
        vt_err err;
        int rc = run_load(a->dir, RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &fresh, &err);
        if (rc == VT_OK && (fresh.parts & RUN_PART_CONFIG)) {
            if (a->have_run)
                run_free(&a->run);
            a->run = fresh;
            a->have_run = 1;
            a->eval_seen = a->snap->eval_generation;
            compute_derived(a);
            compare_scan(a); /* the live run is on Compare with its new epoch, without r */
        } else {
            run_free(&fresh);
        }
    }
    if (!is_running(a->snap->state)) {
        a->live = 0;
        if (a->snap->state == TRAIN_FAILED)
            app_set_status(a, ROLE_BAD, "%s", a->snap->message[0] ? a->snap->message : "the run failed");
        else
            app_set_status(a, ROLE_GOOD, "run %s: %s", train_state_name(a->snap->state), a->dir);
        compare_scan(a);
    }
}

/* ---- drawing the frame: tabs, status line, footer, help, "enlarge" ---- */

static void draw_tabs(app *a)
{
    tui_grid *g = &a->grid;
    tui_grid_fill(g, (tui_rect){0, 0, 1, g->cols}, ' ', ROLE_TAB, 0);
    int x = 0;
    for (int i = 0; i < TUI_N_SCREENS; i++) {
        int active = a->screen == i + 1;
        x += tui_grid_printf(g, 0, x, -1, active ? ROLE_TAB_ACTIVE : ROLE_TAB, 0, "%d%s", i + 1,
                             tui_screen_names[i]);
        x += 1;
    }
    const char *name = "vggtop";
    if ((int)strlen(name) + x + 1 < g->cols)
        tui_grid_text(g, 0, g->cols - (int)strlen(name), -1, ROLE_TAB, TUI_BOLD, name);
}

/* Row 1, always: which run the screens show (its folder, data set, state and process), so a message on the
 * status line never hides it. */
static void draw_header(app *a)
{
    tui_grid *g = &a->grid;
    const train_snapshot *s = a->snap;
    if (!a->live && !a->dir[0]) {
        tui_grid_text(g, 1, 0, -1, ROLE_DIM, 0, "no run yet: pick a model and press Enter to train (? lists every key)");
        return;
    }
    long pid = a->live ? (long)getpid() : a->have_run ? a->holder_pid : 0;
    char facts[256], pidtext[48] = "";
    if (pid > 0 && (a->live || is_running(s->state)))
        snprintf(pidtext, sizeof pidtext, " · pid %ld", pid);
    /* Browsing another run: the parked live run stays one key away (6, Enter on its row). */
    snprintf(facts, sizeof facts, "%s%s · %s · %s%s%s", a->live ? "live " : a->parked ? "browsing " :
             a->following ? "watching " : "", train_state_name(s->state), s->model[0] ? s->model : "?",
             s->dataset[0] ? s->dataset : "data set ?", pidtext, a->parked ? " · live run: 6, Enter" : "");
    int role = s->state == TRAIN_FAILED ? ROLE_BAD : s->state == TRAIN_PAUSED || s->state == TRAIN_STOPPED
                                                        ? ROLE_WARN : ROLE_LABEL;
    /* The folder first; when it and the facts do not fit, its head gives way ("…" marks the cut). */
    int fw = app_text_columns(facts) + 3, room = g->cols - fw;
    int x = room > 4 ? app_draw_tail(a, 1, 0, room, ROLE_VALUE, TUI_BOLD, a->dir[0] ? a->dir : s->run_dir) : 0;
    x += tui_grid_text(g, 1, x, -1, ROLE_DIM, 0, " · ");
    tui_grid_text(g, 1, x, -1, role, 0, facts);
}

/* Rows 2..: a question, the search being typed, or the latest message (wrapped, never cut). */
static void draw_status(app *a)
{
    tui_grid *g = &a->grid;
    int row = 2;
    if (a->confirm == CONFIRM_QUIT) {
        tui_grid_text(g, row, 0, -1, ROLE_WARN, TUI_BOLD,
                      "A run is live. Quit and stop it (a checkpoint is saved)? y/n  (D detaches instead)");
        return;
    }
    if (a->confirm == CONFIRM_STOP) {
        tui_grid_text(g, row, 0, -1, ROLE_WARN, TUI_BOLD,
                      "Stop the run after this step and save a checkpoint? y/n");
        return;
    }
    if (a->rpt.searching) {
        tui_grid_printf(g, row, 0, -1, ROLE_CURSOR, 0, "/%s", a->rpt.search);
        tui_grid_text(g, row, (int)strlen(a->rpt.search) + 2, -1, ROLE_DIM, 0, "(type a class name, Enter keeps, Esc cancels)");
        return;
    }
    if (a->status[0])
        app_draw_wrapped(g, (tui_rect){row, 0, STATUS_MAX_ROWS, g->cols}, a->status, a->status_role);
}

/* The overlay's text, made once when ? is first pressed (a key handler: the draw only reads it). */
static const char *help_text(app *a)
{
    if (!a->help_text)
        a->help_text = tui_keys_help();
    return a->help_text ? a->help_text : "";
}

static void draw_help(app *a, tui_rect body)
{
    tui_grid_fill(&a->grid, body, ' ', ROLE_DEFAULT, 0);
    tui_grid_text(&a->grid, body.top, body.left, -1, ROLE_TITLE, TUI_BOLD,
                  "Keys (Up/Down/PgUp/PgDn scroll, any other key closes)");
    tui_rect r = {body.top + 1, body.left + 1, body.height - 1, body.width - 1};
    tui_text_draw(&a->grid, r, a->help_text ? a->help_text : "", a->help_top, ROLE_DEFAULT);
}

/* The footer's word for a key in the current mode, or NULL to leave the key out (it would do nothing). */
static const char *footer_brief(const tui_key *k, void *ctx)
{
    const app *a = ctx;
    switch (k->action) {
    case ACT_PAUSE:
        return !app_can_control(a) ? NULL : a->snap->state == TRAIN_PAUSED ? "Resume" : k->brief;
    case ACT_STOP:
    case ACT_LR_UP:
    case ACT_LR_DOWN:
        return app_can_control(a) ? k->brief : NULL;
    case ACT_RESUME_RUN:
        return app_can_resume(a) ? k->brief : NULL;
    case ACT_DETACH:
        return a->live || a->following ? k->brief : NULL;
    case ACT_VIEW:
        return a->rpt.heatmap ? "Table" : k->brief; /* Report: what v goes to */
    case ACT_ENTER:
        return a->screen == 1 && a->following ? NULL : k->brief; /* Setup is read-only when watching */
    default:
        return k->brief;
    }
}

static void draw(app *a)
{
    tui_grid *g = &a->grid;
    if (g->rows != a->rows || g->cols != a->cols)
        tui_grid_resize(g, a->rows, a->cols);
    tui_grid_clear(g);
    if (a->rows < MIN_ROWS || a->cols < MIN_COLS) {
        char msg[128];
        snprintf(msg, sizeof msg, "enlarge the terminal to at least %dx%d (now %dx%d)", MIN_COLS, MIN_ROWS,
                 a->cols, a->rows);
        int len = (int)strlen(msg);
        int x = a->cols > len ? (a->cols - len) / 2 : 0;
        tui_grid_text(g, a->rows / 2, x, -1, ROLE_WARN, TUI_BOLD, msg);
        term_blit(g, a->depth);
        return;
    }
    draw_tabs(a);
    draw_header(a);
    draw_status(a);
    tui_rect body = {app_body_top(a), 0, app_body_height(a), a->cols};
    if (a->help) {
        draw_help(a, body);
    } else {
        const screen_ops *sc = &app_screens[a->screen - 1];
        if (sc->enter)
            sc->enter(a);
        sc->draw(a, body);
    }
    tui_footer_draw(g, a->rows - 1, a->screen, footer_brief, a);
    term_blit(g, a->depth);
}

/* ---- keys ---- */

/* The screens in tab order (their names: tui_screen_names). */
const screen_ops app_screens[TUI_N_SCREENS] = {
    {setup_draw, setup_key, NULL},
    {dash_draw, dash_key, NULL},
    {report_draw, report_key, report_enter},
    {confusion_draw, confusion_key, confusion_enter},
    {roc_draw, roc_key, roc_enter},
    {compare_draw, compare_key, NULL},
    {samples_draw, samples_key, samples_enter},
    {summary_draw, summary_key, summary_prepare},
    {layers_draw, layers_key, layers_enter},
};

static int screen_key(app *a, int key, tui_action act)
{
    const screen_ops *sc = &app_screens[a->screen - 1];
    if (sc->enter)
        sc->enter(a); /* keys may come before the first draw */
    int r = sc->key(a, key, act);
    if (r & H_DASHBOARD) /* a reaction: the screen asks, the app switches */
        a->screen = 2;
    return r & ~H_DASHBOARD;
}

static int ask_quit(app *a)
{
    if (app_training(a)) {
        a->confirm = CONFIRM_QUIT;
        return H_REDRAW;
    }
    return H_QUIT;
}

/* Stops the run shown: this process's engine, or another process's through commands.json. */
static void stop_run(app *a)
{
    if (a->tr && a->live) {
        trainer_stop(a->tr);
        app_set_status(a, ROLE_WARN, "stopping after this step; the checkpoint allows vggtop train --resume %s", a->dir);
        return;
    }
    run_command c = {0, RUN_CMD_STOP, 0};
    app_send_command(a, &c);
}

int app_handle_key(app *a, int key)
{
    if (key == KEY_RESIZE)
        return H_REDRAW;
    if (a->confirm) {
        int what = a->confirm;
        a->confirm = CONFIRM_NONE;
        int yes = key == 'y' || key == 'Y';
        if (what == CONFIRM_QUIT && key == 'D')
            return H_DETACH;
        if (what == CONFIRM_QUIT && yes)
            return H_QUIT;
        if (what == CONFIRM_STOP && yes && app_can_control(a))
            stop_run(a);
        else
            app_set_status(a, ROLE_DIM, "%s", what == CONFIRM_QUIT ? "not quitting" : "not stopping");
        return H_REDRAW;
    }
    /* A field being edited (Setup) or a search being typed (Report) takes every key. */
    if ((a->screen == 1 && a->form.editing) || (a->screen == 3 && a->rpt.searching))
        return screen_key(a, key, ACT_NONE) | H_REDRAW;
    if (key == KEY_MOUSE) {
        MEVENT ev;
        if (getmouse(&ev) != OK)
            return H_NONE;
        tui_action act = ev.bstate & BUTTON4_PRESSED ? ACT_UP : ev.bstate & BUTTON5_PRESSED ? ACT_DOWN : ACT_NONE;
        if (act == ACT_NONE)
            return H_NONE;
        int r = H_NONE;
        for (int i = 0; i < 3; i++)
            r |= screen_key(a, key, act);
        return r | H_REDRAW;
    }
    if (a->help) {
        /* The overlay is a text: it scrolls as the Summary's text does, whatever screen is under it (the
         * Dashboard has no PgUp/PgDn of its own, Samples no Up/Down). */
        tui_action act = tui_key_action(key, 8);
        if (act == ACT_UP || act == ACT_DOWN || act == ACT_PGUP || act == ACT_PGDN) {
            /* Not past the last line: the overlay used to scroll on into blank pages. */
            app_scroll(&a->help_top, act, app_count_lines(help_text(a)), app_body_height(a) - 1);
        } else {
            a->help = 0;
        }
        return H_REDRAW;
    }
    a->status[0] = '\0';
    tui_action act = tui_key_action(key, a->screen);
    if (act == ACT_STOP && a->screen == 2 && app_can_control(a)) {
        a->confirm = CONFIRM_STOP; /* as q asks before it stops a run */
        return H_REDRAW;
    }
    if (act >= ACT_SCREEN1 && act <= ACT_SCREEN9) {
        a->screen = act - ACT_SCREEN1 + 1;
        return H_REDRAW;
    }
    switch (act) {
    case ACT_NEXT_SCREEN: a->screen = a->screen % TUI_N_SCREENS + 1; return H_REDRAW;
    case ACT_PREV_SCREEN: a->screen = (a->screen + TUI_N_SCREENS - 2) % TUI_N_SCREENS + 1; return H_REDRAW;
    case ACT_HELP: a->help = 1; a->help_top = 0; help_text(a); return H_REDRAW;
    case ACT_QUIT: return ask_quit(a);
    case ACT_DETACH:
        if (a->live || a->following)
            return H_DETACH;
        app_set_status(a, ROLE_DIM, "no run to detach from: D leaves a run training and quits");
        return H_REDRAW;
    default: break;
    }
    return screen_key(a, key, act) | H_REDRAW;
}

/* ---- the loop ---- */

/* SIGHUP: the terminal is gone. Leave curses without touching it again and let a live run finish (its run
 * directory stays current). SIGTERM or SIGINT still stop it the clean way: after the batch, with a
 * checkpoint. Returns the exit status. */
static int hang_up(app *a)
{
    term_close();
    app_return_live(a);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > 2)
            close(fd);
    }
    if (!(a->tr && a->live))
        return 0;
    int status = 0;
    for (;;) {
        if (term_got_term || term_got_int) {
            status = term_got_term ? 143 : 130;
            trainer_stop(a->tr);
        }
        struct pollfd p = {trainer_wake_fd(a->tr), POLLIN, 0};
        poll(&p, 1, 500);
        trainer_snapshot(a->tr, a->snap);
        if (a->snap->state >= TRAIN_STOPPED)
            break;
    }
    trainer_join(a->tr);
    return status;
}

/* D: leave the run training and give the terminal back. A run of this process stops after its step with a
 * checkpoint and goes on at once in a background `vggtop train --resume` (its log in the run directory's
 * train.log), which resumes it exactly; a followed run simply goes on. tui_run then prints the `vggtop watch`
 * line to come back with. */
static int detach(app *a)
{
    a->detached = 1;
    app_return_live(a); /* D leaves this process's run training, shown or parked */
    if (!(a->tr && a->live))
        return 0;
    app_set_status(a, ROLE_WARN, "detaching: finishing the step and saving a checkpoint...");
    a->confirm = CONFIRM_NONE;
    draw(a);
    trainer_stop(a->tr);
    train_state st = trainer_join(a->tr);
    trainer_snapshot(a->tr, a->snap);
    a->live = 0;
    trainer_destroy(a->tr); /* and with it the run's lock, which the background process takes */
    a->tr = NULL;
    if (st != TRAIN_STOPPED)
        return 0; /* it finished (or failed) in that step: nothing goes on */
    char log[4200];
    snprintf(log, sizeof log, "%s/train.log", a->dir);
    /* posix_spawn, not fork: no atfork handlers run (OpenBLAS's would stop its thread pool), and the child
     * starts in its own session (no terminal, so no SIGHUP), stdin from /dev/null, output to train.log. */
    char *argv[] = {"vggtop", "train", "--resume", a->dir, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&fa) == 0) {
        if (posix_spawnattr_init(&at) == 0) {
            sigset_t all, none;
            sigfillset(&all);
            sigemptyset(&none);
            posix_spawnattr_setsigdefault(&at, &all);
            posix_spawnattr_setsigmask(&at, &none);
            posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
            posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
            /* Never through a link into another file, nor blocking on a FIFO (the spawn would wait on it). */
            posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log,
                                             O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0644);
            posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
            if (posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ) != 0)
                pid = -1;
            posix_spawnattr_destroy(&at);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    a->detached_pid = pid > 0 ? (long)pid : -1;
    return 0;
}

static int run_loop(app *a)
{
    int redraw = 1;
    for (;;) {
        if (term_got_hup)
            return hang_up(a);
        if (term_got_term) {
            app_return_live(a);
            if (a->tr && a->live)
                trainer_stop(a->tr);
            return 143;
        }
        if (term_got_int) {
            term_got_int = 0;
            if (ask_quit(a) & H_QUIT)
                return 0;
            redraw = 1;
        }
        double stopped = vt_stop_watch_tick(&a->tick, a->live ? 0.5 : 1.25); /* Ctrl-Z */
        if (a->tr && a->live)
            trainer_suspended(a->tr, stopped);
        if (a->parked) {
            trainer_suspended(a->parked, stopped);
            watch_parked(a);
        }
        if (a->tr && a->live) {
            update_live(a); /* the one copy of the engine's state this loop draws from */
            redraw = 1;
        }
        if (a->live || a->following)
            poll_epoch_files(a);
        if (dash_sample(a, vt_now()))
            redraw = 1;
        if (a->following && !a->live && vt_now() >= a->next_poll) {
            poll_dir(a);
            check_ack(a);
            /* Faster while a command waits for its acknowledgement. */
            a->next_poll = vt_now() + (a->cmd_seq ? 0.2 : 0.5);
            redraw = 1;
        }
        if (expire_status(a, vt_now()))
            redraw = 1;
        if (a->pr && a->facts.generation != a->probe_gen) {
            probe_get(a->pr, &a->facts);
            redraw = 1;
        }
        term_size(&a->rows, &a->cols);
        if (redraw)
            draw(a);
        redraw = 0;

        struct pollfd fds[4];
        int n = 0;
        fds[n++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
        int fetch_at = -1;
        if (a->fetch) {
            fetch_at = n;
            fds[n++] = (struct pollfd){data_fetch_wake_fd(a->fetch), POLLIN, 0};
        }
        if (a->tr && a->live)
            fds[n++] = (struct pollfd){trainer_wake_fd(a->tr), POLLIN, 0};
        if (a->pr)
            fds[n++] = (struct pollfd){probe_wake_fd(a->pr), POLLIN, 0};
        int timeout = a->following ? 500 : a->live ? 250 : 1000;
        int pr = poll(fds, (nfds_t)n, timeout);
        if (pr < 0 && errno != EINTR)
            return 1;
        for (int i = 1; i < n; i++)
            if (fds[i].revents)
                redraw = 1;
        if (a->pr && fds[n - 1].revents) {
            probe_get(a->pr, &a->facts);
            redraw = 1;
        }
        if (fetch_at >= 0 && fds[fetch_at].revents)
            setup_fetch_update(a); /* the snapshot the next draw shows */
        int key;
        while ((key = getch()) != ERR) {
            int r = app_handle_key(a, key);
            if (r & H_DETACH)
                return detach(a);
            if (r & H_QUIT) {
                app_return_live(a);
                if (a->tr && a->live) {
                    app_set_status(a, ROLE_WARN, "stopping: finishing the step and saving a checkpoint...");
                    a->confirm = CONFIRM_NONE;
                    draw(a);
                    trainer_stop(a->tr);
                }
                return 0;
            }
            if (r & H_REDRAW)
                redraw = 1;
        }
        if (pr == 0 && a->live)
            redraw = 1; /* elapsed time moves on */
    }
}

int tui_run(const tui_options *opt, int *exit_status, vt_err *err)
{
    *exit_status = 0;
    app *a = calloc(1, sizeof *a);
    if (!a)
        return vt_fail(err, VT_EIO, "out of memory");
    a->opt = *opt;
    a->snap = calloc(1, sizeof *a->snap);
    a->screen = 1;
    a->curve_epoch = -1;
    int rc = a->snap ? VT_OK : vt_fail(err, VT_EIO, "out of memory");
    /* Watching runs/<run> without --runs: compare it with its siblings. */
    static char parent[4096];
    if (opt->watch_dir && !opt->runs_dir) {
        snprintf(parent, sizeof parent, "%s", opt->watch_dir);
        size_t len = strlen(parent);
        while (len > 1 && parent[len - 1] == '/')
            parent[--len] = '\0';
        char *slash = strrchr(parent, '/');
        if (!slash)
            snprintf(parent, sizeof parent, ".");
        else if (slash == parent)
            parent[1] = '\0';
        else
            *slash = '\0';
        a->opt.runs_dir = parent;
    }
    setup_init(a);
    if (!rc && opt->watch_dir) {
        rc = app_open_dir(a, opt->watch_dir, 1, err);
        a->screen = 2;
        if (!rc) {
            a->cfg = a->run.config;
            a->cfg.resume = 0;
        }
    }
    if (!rc && !opt->watch_dir)
        rc = probe_create(&a->pr, err);
    if (!rc)
        rc = term_open(opt->ascii, &a->depth, &a->utf8, err);
    int status = 0;
    if (!rc) {
        term_signals_install();
        vt_stop_watch_install();
        tui_grid_init(&a->grid, 0, 0);
        term_size(&a->rows, &a->cols); /* Compare places its first choice of runs in the rows there are */
        compare_scan(a);
        if (a->pr) {
            a->probe_gen++;
            probe_request(a->pr, &a->cfg, 1);
        }
        status = run_loop(a);
        if (!term_got_hup)
            term_clear();
        term_close();
        tui_grid_free(&a->grid);
        /* The screen is gone: say what the seconds until exit are for (a VGG step can take many). */
        if (a->detached && a->detached_pid > 0)
            fprintf(stderr, "vggtop: the run goes on in process %ld (log: %s/train.log); come back with:\n"
                    "  vggtop watch %s\n", a->detached_pid, a->dir, a->dir);
        else if (a->detached && a->detached_pid < 0)
            fprintf(stderr, "vggtop: could not start the background process; continue the run with vggtop train "
                    "--resume %s\n", a->dir);
        else if (a->detached && a->dir[0] && a->following)
            fprintf(stderr, "vggtop: the run goes on; come back with:\n  vggtop watch %s\n", a->dir);
        else if (a->detached && a->dir[0])
            fprintf(stderr, "vggtop: the run %s: %s\n", train_state_name(a->snap->state), a->snap->message);
        else if (!term_got_hup && a->tr && a->live)
            fprintf(stderr, "vggtop: stopping the run after its step and saving a checkpoint; continue it with "
                    "vggtop train --resume %s\n", a->dir);
        else if (!term_got_hup && a->pr && probe_busy(a->pr))
            fprintf(stderr, "vggtop: finishing the Setup screen's timing step...\n");
    }
    /* A download still running is cancelled (its partial file kept for the next one) and joined. */
    data_fetch_destroy(a->fetch);
    /* Waits for a stopping run to write its checkpoint. */
    trainer_destroy(a->tr);
    trainer_destroy(a->parked);
    free(a->parked_snap);
    free(a->help_text);
    probe_destroy(a->pr);
    free(a->facts.summary);
    if (a->have_run)
        run_free(&a->run);
    free_derived(a);
    free(a->rv.drawn);
    report_free(a);
    report_free_history(a);
    layers_free(a);
    compare_free(a);
    if (a->smp.test)
        data_destroy(a->smp.test);
    free(a->sum.model_text);
    free(a->snap);
    free(a);
    *exit_status = status;
    return rc;
}
