/* train/sweep_board: a sweep's leaderboard, the one reading of it that `vggtop sweep --status` prints and the
 * front end's Sweep screen shows: each trial's row from its run directory (best val_acc and its epoch, epochs,
 * time) and the sort by any column (the trial, a swept value, the best val_acc, its epoch, the state, the
 * time); and the events told from it (a trial's end, the sweep's), by vggtop sweep and the front end alike. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_internal.h"

void sweep_row_read(const char *dir, int t, sweep_state state, sweep_row *r)
{
    char tdir[VT_PATH_MAX + 64];
    sweep_trial_dir(dir, t, tdir, sizeof tdir);
    *r = (sweep_row){.t = t, .state = state, .best = NAN};
    run_data run;
    vt_err err;
    if (access(tdir, F_OK) != 0)
        return;
    if (run_load(tdir, RUN_PART_CONFIG | RUN_PART_HISTORY, &run, &err) == VT_OK) {
        r->of = run.config.epochs;
        r->epochs = run.n_history;
        for (int e = 0; e < run.n_history; e++) {
            r->seconds += run.history[e].seconds;
            if (e == 0 || run.history[e].val_acc > r->best) {
                r->best = run.history[e].val_acc;
                r->best_epoch = e + 1;
            }
        }
    }
    run_free(&run);
}

/* A row's sort key: a number when the column is one (a swept value that parses whole), else text. */
typedef struct sort_key {
    int row, t;  /* its index before the sort, its trial (ties) */
    int missing; /* no finished epoch, for the best and its epoch: last either way */
    int numeric;
    double num;
    char text[64];
} sort_key;

static int compare_keys(const void *x, const void *y, void *ctx)
{
    const sort_key *a = x, *b = y;
    int desc = *(const int *)ctx, c = 0;
    if (a->missing != b->missing)
        return a->missing - b->missing;
    if (!a->missing && a->numeric && b->numeric)
        c = a->num < b->num ? -1 : a->num > b->num;
    else if (!a->missing)
        c = a->numeric != b->numeric ? b->numeric - a->numeric : strcmp(a->text, b->text);
    c = desc ? -c : c;
    return c ? c : a->t - b->t;
}

static void key_of(const sweep_row *r, const sweep_plan *p, int col, sort_key *k)
{
    int n_axes = p->n_axes;
    k->numeric = 1;
    k->missing = 0;
    k->text[0] = '\0';
    if (col == SWEEP_COL_TRIAL)
        k->num = r->t;
    else if (col < SWEEP_COL_BEST(n_axes)) {
        sweep_value(p, r->t, col - SWEEP_COL_AXIS, k->text, sizeof k->text);
        char *end;
        k->num = strtod(k->text, &end);
        k->numeric = k->text[0] && !*end;
    } else if (col == SWEEP_COL_BEST(n_axes) || col == SWEEP_COL_EPOCH(n_axes)) {
        k->missing = r->epochs == 0;
        k->num = col == SWEEP_COL_BEST(n_axes) ? r->best : r->best_epoch;
    } else if (col == SWEEP_COL_STATE(n_axes)) {
        k->numeric = 0;
        snprintf(k->text, sizeof k->text, "%s", sweep_state_names[r->state]);
    } else
        k->num = r->seconds;
}

void sweep_rows_sort(sweep_row *rows, int n, const sweep_plan *p, int col, int desc)
{
    sort_key *keys = malloc(sizeof *keys * (size_t)(n > 0 ? n : 1));
    sweep_row *copy = malloc(sizeof *copy * (size_t)(n > 0 ? n : 1));
    if (!keys || !copy) { /* out of memory: left in the order it was */
        free(keys);
        free(copy);
        return;
    }
    for (int i = 0; i < n; i++) {
        keys[i].row = i;
        keys[i].t = rows[i].t;
        key_of(&rows[i], p, col, &keys[i]);
        copy[i] = rows[i];
    }
    qsort_r(keys, (size_t)n, sizeof *keys, compare_keys, &desc);
    for (int i = 0; i < n; i++)
        rows[i] = copy[keys[i].row];
    free(keys);
    free(copy);
}

/* ---- events -------------------------------------------------------------------------------------------- */

/* Trial t's swept values as its flags ("--lr 0.1 --momentum 0"). */
static void trial_values(const sweep_plan *p, int t, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int a = 0; a < p->n_axes && n < size; a++) {
        char val[64];
        sweep_value(p, t, a, val, sizeof val);
        n += (size_t)snprintf(buf + n, size - n, "%s--%s %s", a ? " " : "", p->axes[a].flag, val);
    }
}

int sweep_trial_event(const sweep_plan *p, const sweep_row *r, int code, notify_event *e)
{
    char values[200], status[32] = "";
    trial_values(p, r->t, values, sizeof values);
    if (code > 0)
        snprintf(status, sizeof status, " with status %d", code);
    if (r->state == SWEEP_FAILED)
        *e = (notify_event){.kind = NOTIFY_FAILED};
    else if (r->state == SWEEP_PRUNED)
        *e = (notify_event){.kind = NOTIFY_PRUNED};
    else if (r->state == SWEEP_DONE)
        *e = (notify_event){.kind = NOTIFY_FINISHED};
    else
        return 0;
    int n = snprintf(e->text, sizeof e->text, "trial %d/%d (%s) ", r->t + 1, p->trials, values);
    size_t left = n < (int)sizeof e->text ? sizeof e->text - (size_t)n : 0;
    if (r->state == SWEEP_FAILED)
        snprintf(e->text + n, left, "failed%s", status);
    else if (r->state == SWEEP_PRUNED)
        snprintf(e->text + n, left, "pruned after %d epochs, best val_acc %.4f", r->epochs, r->best);
    else
        snprintf(e->text + n, left, "finished, best val_acc %.4f at epoch %d", r->best, r->best_epoch);
    return 1;
}

void sweep_end_event(const char *dir, const sweep_plan *p, const sweep_row *rows, int n, notify_event *e)
{
    int count[SWEEP_PRUNED + 1] = {0}, best = -1;
    for (int i = 0; i < n; i++) {
        count[rows[i].state]++;
        if (rows[i].epochs > 0 && (best < 0 || rows[i].best > rows[best].best))
            best = i;
    }
    char values[200] = "";
    if (best >= 0)
        trial_values(p, rows[best].t, values, sizeof values);
    *e = (notify_event){.kind = NOTIFY_SWEEP_END};
    snprintf(e->text, sizeof e->text, "sweep %s finished: %d done, %d failed, %d pruned; best trial %d (%s), "
             "val_acc %.4f", dir, count[SWEEP_DONE], count[SWEEP_FAILED], count[SWEEP_PRUNED],
             best >= 0 ? rows[best].t + 1 : 0, values, best >= 0 ? rows[best].best : 0.0);
}

train_snapshot *sweep_event_snapshot(const char *dir, int t)
{
    train_snapshot *s = calloc(1, sizeof *s);
    if (!s || t < 0) {
        if (s)
            snprintf(s->run_dir, sizeof s->run_dir, "%s", dir);
        return s;
    }
    sweep_trial_dir(dir, t, s->run_dir, sizeof s->run_dir);
    run_data run;
    vt_err err;
    if (run_load(s->run_dir, RUN_PART_CONFIG | RUN_PART_HISTORY, &run, &err) == VT_OK) {
        s->epochs = run.config.epochs;
        s->n_history = run.n_history < TRAIN_MAX_EPOCHS ? run.n_history : TRAIN_MAX_EPOCHS;
        memcpy(s->history, run.history, sizeof *s->history * (size_t)s->n_history);
    }
    run_free(&run);
    return s;
}
