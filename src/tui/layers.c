/* tui/layers: screen 9, layer health from layers.csv: one row per weighted layer (Keras names) of an epoch
 * (the latest; Left/Right step through the others), its gradient norm and dead-ReLU share as numbers and
 * bars, the vanishing-gradient flag of `vggtop layers` (train's run_layer_vanishing: one rule for both) and,
 * when a layer is flagged, what to try. Loaded when the file changes (layers_load), drawn from memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_internal.h"

/* The gradient bar spans four decades below the epoch's largest gradient: a vanishing layer is 2 or more
 * decades down, which a linear bar would show as nothing at all. */
#define GRAD_DECADES 4.0

void layers_free(app *a)
{
    free(a->lay.rows);
    free(a->lay.flag);
    free(a->lay.text);
    free(a->lay.cells);
    free(a->lay.roles);
    a->lay.rows = NULL;
    a->lay.flag = NULL;
    a->lay.text = NULL;
    a->lay.cells = NULL;
    a->lay.roles = NULL;
    a->lay.n = 0;
}

void layers_load(app *a)
{
    int was_last = a->lay.epoch >= a->lay.last; /* showing the latest epoch: go on showing the latest */
    layers_free(a);
    a->lay.err[0] = '\0';
    if (!a->dir[0])
        return; /* no run shown (yet) */
    a->lay.last = 0;
    vt_err err;
    if (run_read_layers(a->dir, &a->lay.rows, &a->lay.n, &err) != VT_OK) {
        snprintf(a->lay.err, sizeof a->lay.err, "%s", err.msg);
        a->lay.n = 0;
        return;
    }
    /* The table shows one epoch: its texts for at most the rows an epoch may have, not for the whole file. */
    size_t n = (size_t)(a->lay.n > 0 ? a->lay.n : 1), shown = (size_t)(a->lay.n < RUN_MAX_LAYERS ? n : RUN_MAX_LAYERS);
    a->lay.flag = calloc(n, 1);
    a->lay.text = malloc(sizeof *a->lay.text * shown);
    a->lay.cells = malloc(sizeof *a->lay.cells * 6 * shown);
    a->lay.roles = malloc(sizeof *a->lay.roles * shown);
    if (!a->lay.flag || !a->lay.text || !a->lay.cells || !a->lay.roles) {
        layers_free(a);
        return;
    }
    for (long i = 0; i < a->lay.n; i++) {
        a->lay.flag[i] = (unsigned char)run_layer_vanishing(a->lay.rows, a->lay.n, i);
        if (a->lay.rows[i].epoch > a->lay.last)
            a->lay.last = a->lay.rows[i].epoch;
    }
    if (was_last || a->lay.epoch > a->lay.last || a->lay.epoch < 1)
        a->lay.epoch = a->lay.last;
}

/* A bar of share (0..1) of width cells: whole blocks, then an eighth block for the rest (UTF-8), or '#'s. */
static void bar_text(char *buf, size_t size, double share, int width, int utf8)
{
    size_t n = 0;
    buf[0] = '\0';
    if (!(share > 0))
        return;
    if (share > 1)
        share = 1;
    int eighths = (int)lround(share * width * 8);
    if (!utf8) {
        for (int i = 0; i < (eighths + 4) / 8 && n + 1 < size; i++)
            buf[n++] = '#';
        buf[n] = '\0';
        return;
    }
    for (int i = 0; i < eighths / 8 && n + 4 < size; i++)
        n += (size_t)tui_utf8_encode(0x2588, buf + n); /* █ */
    if (eighths % 8 && n + 4 < size)
        n += (size_t)tui_utf8_encode(0x2590 - (uint32_t)(eighths % 8), buf + n); /* ▏ (1/8) .. ▉ (7/8) */
    buf[n] = '\0';
}

/* The rows of the epoch shown, in the file's (the model's) order: how many; *first: the index of the first
 * (run_write_layers keeps an epoch's rows together). */
static int epoch_rows(const app *a, long *first)
{
    int k = 0;
    *first = -1;
    for (long i = 0; i < a->lay.n; i++)
        if (a->lay.rows[i].epoch == a->lay.epoch) {
            if (*first < 0)
                *first = i;
            k++;
        }
    return k;
}

/* The bars' widths in a body width columns: what the numbers leave, two thirds for the gradient, a third for
 * dead ReLUs. */
static void bar_widths(int width, int *gw, int *dw)
{
    int room = width - 2 - (16 + 1 + 9 + 1 + 1 + 6 + 1 + 1 + 9);
    *gw = room * 2 / 3;
    *dw = room - *gw;
    if (*gw > 40)
        *gw = 40;
    if (*dw > 20)
        *dw = 20;
}

/* How many of the epoch's k rows from first are flagged vanishing. */
static int flagged_rows(const app *a, long first, int k)
{
    int flagged = 0;
    for (int r = 0; r < k; r++)
        flagged += a->lay.flag[first + r];
    return flagged;
}

/* The table's texts and roles of the epoch shown, for the terminal's width (before every draw, never in it). */
void layers_enter(app *a)
{
    long first;
    int k = a->lay.rows ? epoch_rows(a, &first) : 0, gw, dw;
    bar_widths(a->cols, &gw, &dw);
    double top = 0;
    for (int r = 0; r < k; r++)
        if (a->lay.rows[first + r].grad_norm > top)
            top = a->lay.rows[first + r].grad_norm;
    for (int r = 0; r < k; r++) {
        const run_layer_row *row = &a->lay.rows[first + r];
        char(*t)[128] = a->lay.text[r];
        snprintf(t[0], 128, "%s", row->layer);
        snprintf(t[1], 128, "%.3g", row->grad_norm);
        double share = top > 0 && row->grad_norm > 0 ? 1 + log10(row->grad_norm / top) / GRAD_DECADES : 0;
        bar_text(t[2], 128, share, gw, a->utf8);
        if (isnan(row->dead_relu)) {
            snprintf(t[3], 128, "-");
            t[4][0] = '\0';
        } else {
            snprintf(t[3], 128, "%.1f%%", 100 * row->dead_relu);
            bar_text(t[4], 128, row->dead_relu, dw, a->utf8);
        }
        snprintf(t[5], 128, "%s", a->lay.flag[first + r] ? "vanishing" : "");
        for (int c = 0; c < 6; c++)
            a->lay.cells[r * 6 + c] = t[c];
        a->lay.roles[r] = a->lay.flag[first + r] ? ROLE_BAD : ROLE_DEFAULT;
    }
}

static int lay_visible(const app *a) { return app_body_height(a) - 2 - 1 - 3; }

/* The table's rows that the draw shows of the epoch's k rows from first: the advice takes 3 when one is
 * flagged. */
static int table_rows(const app *a, long first, int k)
{
    return app_body_height(a) - 2 - (flagged_rows(a, first, k) ? 3 : 0) - 1;
}

void layers_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    long first;
    int k = a->lay.rows ? epoch_rows(a, &first) : 0;
    if (k == 0) {
        app_draw_wrapped(g, (tui_rect){body.top + 1, 2, 4, body.width - 4},
                         a->lay.err[0] ? a->lay.err
                         : a->dir[0]   ? "Layers: no layer statistics yet: layers.csv is written after each epoch (runs "
                                         "made before vggtop kept it have none)."
                                       : "Layers: no run yet: start one on the Setup screen (1), or open one on Compare (6).",
                         a->lay.err[0] ? ROLE_BAD : ROLE_DIM);
        return;
    }
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Layers: epoch %d of %d (Left/Right), %d layers",
                    a->lay.epoch, a->lay.last, k);
    tui_grid_printf(g, body.top + 1, 1, body.width - 2, ROLE_DIM, 0,
                    "vanishing: gradient below %g%% of the largest layer's or of its own in epoch 1",
                    100 * RUN_VANISHING);
    int gw, dw;
    bar_widths(body.width, &gw, &dw);
    char scale[32];
    snprintf(scale, sizeof scale, "log scale, %g decades", GRAD_DECADES);
    tui_column cols[6] = {{"layer", 16, 0}, {"gradient", 9, 1}, {scale, gw, 0}, {"dead", 6, 1}, {"ReLUs at 0", dw, 0},
                          {"", 9, 0}};
    int flagged = flagged_rows(a, first, k), hint = flagged ? 3 : 0;
    tui_table t = {cols, 6, a->lay.cells, a->lay.roles, k, NULL, 0, -1, 0, a->lay.top, a->lay.sel};
    app_draw_table(a, (tui_rect){body.top + 2, 1, body.height - 2 - hint, body.width - 2}, t);
    if (flagged) {
        char advice[512];
        app_draw_wrapped(g, (tui_rect){body.top + body.height - hint, 1, hint, body.width - 2},
                         run_layers_advice(advice, sizeof advice, flagged), ROLE_WARN);
    }
}

int layers_key(app *a, int key, tui_action act)
{
    (void)key;
    long first;
    int k = a->lay.rows ? epoch_rows(a, &first) : 0;
    if (k == 0)
        return H_NONE;
    int page = lay_visible(a) > 1 ? lay_visible(a) - 1 : 1;
    if (app_list_move(&a->lay.sel, act, k, page)) {
        a->lay.top = app_follow(a->lay.top, a->lay.sel, table_rows(a, first, k));
        return H_REDRAW;
    }
    switch (act) {
    case ACT_LEFT:
    case ACT_RIGHT: {
        /* The nearest epoch with rows that way (a resumed run's file may skip none, an edited one may). */
        int step = act == ACT_LEFT ? -1 : 1, best = a->lay.epoch;
        for (long i = 0; i < a->lay.n; i++) {
            int e = a->lay.rows[i].epoch;
            if ((e - a->lay.epoch) * step > 0 && (best == a->lay.epoch || (e - best) * step < 0))
                best = e;
        }
        a->lay.epoch = best;
        break;
    }
    default: return H_NONE;
    }
    k = epoch_rows(a, &first);
    if (a->lay.sel >= k)
        a->lay.sel = k - 1;
    if (a->lay.sel < 0)
        a->lay.sel = 0;
    a->lay.top = app_follow(a->lay.top, a->lay.sel, table_rows(a, first, k));
    return H_REDRAW;
}
