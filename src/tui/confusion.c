/* tui/confusion: screen 4, the confusion matrix as a heatmap with a cursor and column labels, the most
 * confused pairs, the scale's legend and the CIFAR-100 fold to superclasses. What the draw shows is built by
 * confusion_enter when the predictions or the view's options change; the draw allocates nothing. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_internal.h"

/* ---- 4 Confusion --------------------------------------------------------------------------------------- */

#define CM_LABEL 12 /* the row labels' least width; they widen to the longest name, to a third of the room */
#define CM_PANEL 30

static int can_fold(const app *a)
{
    const run_data *r = &a->run;
    return r->coarse_classes > 0 && r->fine_to_coarse && r->coarse_names && r->classes == a->C;
}

void confusion_reset(app *a)
{
    confusion_view *v = &a->conf;
    free(v->folded);
    free(v->cells);
    free(v->other);
    if (v->have_changed)
        metrics_diff_free(&v->changed);
    v->have_changed = 0;
    v->folded = v->other = NULL;
    v->cells = NULL;
    v->counts = NULL;
    v->built = v->K = v->n_pairs = 0;
}

void confusion_changed(app *a, int classes_changed)
{
    confusion_reset(a);
    if (classes_changed)
        a->conf.row = a->conf.col = a->conf.row0 = a->conf.col0 = 0;
}

/* The vs mode's cells: this run's counts (or row shares) minus the other run's, folded as this run's are, and
 * the pairs that changed from that run to this. 0, or -1 when out of memory. */
static int versus_cells(app *a, const long *cm, int K)
{
    confusion_view *v = &a->conf;
    const long *ocm = a->vs.cm;
    if (v->folded) {
        if (!(v->other = calloc((size_t)K * (size_t)K, sizeof *v->other)))
            return -1;
        metrics_confusion_fold(a->vs.cm, a->C, a->run.fine_to_coarse, K, v->other);
        ocm = v->other;
    }
    if (metrics_diff_runs(ocm, cm, K, CM_MAX_PAIRS, &v->changed) != 0)
        return -1;
    v->have_changed = 1;
    double *theirs = malloc(sizeof *theirs * (size_t)K * (size_t)K);
    if (!theirs)
        return -1;
    v->maxc = 0;
    for (long i = 0; i < (long)K * K; i++) {
        v->cells[i] = (double)cm[i];
        theirs[i] = (double)ocm[i];
        long d = labs(cm[i] - ocm[i]);
        v->maxc = d > v->maxc ? d : v->maxc;
    }
    if (v->norm) {
        metrics_confusion_normalize(cm, K, 0, v->cells);
        metrics_confusion_normalize(ocm, K, 0, theirs);
    }
    for (long i = 0; i < (long)K * K; i++)
        v->cells[i] -= theirs[i];
    free(theirs);
    return 0;
}

void confusion_enter(app *a)
{
    confusion_view *v = &a->conf;
    /* Built again when the vs mode (c) or the other run's load changed. */
    int versus = a->cm && a->vs.on_confusion && versus_ready(a);
    if (versus != v->versus || (versus && a->vs.gen != v->versus_gen))
        v->built = 0;
    if (v->built)
        return;
    confusion_reset(a);
    v->built = 1;
    v->versus = versus;
    v->versus_gen = a->vs.gen;
    if (!a->cm || a->C <= 0)
        return;
    int K = a->C;
    const long *cm = a->cm;
    if (v->fold && can_fold(a)) {
        K = a->run.coarse_classes;
        if (!(v->folded = calloc((size_t)K * (size_t)K, sizeof *v->folded)))
            return;
        metrics_confusion_fold(a->cm, a->C, a->run.fine_to_coarse, K, v->folded);
        cm = v->folded;
    }
    if (!(v->cells = malloc(sizeof *v->cells * (size_t)K * (size_t)K)))
        return;
    v->maxc = 0;
    for (long i = 0; i < (long)K * K; i++) {
        v->cells[i] = (double)cm[i];
        if (cm[i] > v->maxc)
            v->maxc = cm[i];
    }
    if (v->norm)
        metrics_confusion_normalize(cm, K, 0, v->cells);
    if (versus && versus_cells(a, cm, K) != 0) {
        confusion_reset(a);
        v->built = 1;
        return;
    }
    v->n_pairs = metrics_confused_pairs(cm, K, v->pairs, CM_MAX_PAIRS);
    v->counts = cm;
    v->K = K;
    if (v->row >= K)
        v->row = K - 1;
    if (v->col >= K)
        v->col = K - 1;
}

static const char *const *view_names(const app *a)
{
    return a->conf.folded ? (const char *const *)a->run.coarse_names : (const char *const *)a->names;
}

/* Where the heatmap goes in body: cells as wide as the room allows (up to 6 characters), how many rows and
 * columns show. The keys use it too, to keep the cursor in view. */
typedef struct cm_layout {
    tui_rect map;
    int lw, cw, vis_r, vis_c; /* the row labels' width, a cell's */
} cm_layout;

static cm_layout layout(const app *a, tui_rect body)
{
    int K = a->conf.K, avail = body.width - CM_PANEL - 1;
    cm_layout l;
    /* Row labels as wide as the longest name (CIFAR-100's "aquarium_fish" was cut at 12), at most a third of
     * the room, at least CM_LABEL. */
    const char *const *names = view_names(a);
    int longest = 0, most = avail / 3 > CM_LABEL ? avail / 3 : CM_LABEL;
    for (int i = 0; names && i < K; i++)
        if (names[i] && app_text_columns(names[i]) > longest)
            longest = app_text_columns(names[i]);
    l.lw = longest < CM_LABEL ? CM_LABEL : longest > most ? most : longest;
    l.cw = (avail - l.lw - 1) / K;
    l.cw = l.cw > 6 ? 6 : l.cw < 1 ? 1 : l.cw;
    int need = l.lw + 1 + K * l.cw;
    l.map = (tui_rect){body.top + 3, 0, body.height - 3, need < avail ? need : avail};
    l.vis_r = K < l.map.height ? K : l.map.height;
    l.vis_c = K < (l.map.width - l.lw - 1) / l.cw ? K : (l.map.width - l.lw - 1) / l.cw;
    return l;
}

static tui_heatmap heatmap_of(const app *a, const cm_layout *l, int nd)
{
    const confusion_view *v = &a->conf;
    int room = a->depth == TUI_COLOR_256 ? l->cw - 1 : l->cw - 2;
    tui_heatmap h = {v->cells, v->K, v->K, 0, v->row, v->col, v->row0, v->col0, view_names(a), l->lw, l->cw,
                     nd <= room, v->norm, v->versus};
    tui_heatmap_follow(&h, l->vis_r, l->vis_c);
    return h;
}

/* Row 2, over the columns: their class names where 3 characters fit, else their numbers where those fit, else
 * the first one's number; the cell's last column holds the cursor's marker. */
static void column_labels(app *a, const cm_layout *l, const tui_heatmap *h, int y)
{
    tui_grid *g = &a->grid;
    const char *const *names = view_names(a);
    int room = l->cw - 1, digits = a->conf.K > 100 ? 3 : a->conf.K > 10 ? 2 : 1;
    int by_name = room >= 3, by_number = !by_name && room >= digits;
    if (by_name || by_number)
        tui_grid_text(g, y, 0, l->lw, ROLE_DIM, 0, "predicted");
    else
        tui_grid_printf(g, y, 0, l->lw, ROLE_DIM, 0, "pred %d..", h->col0);
    for (int j = 0; (by_name || by_number) && j < l->vis_c; j++) {
        int c = h->col0 + j, x = l->lw + 1 + j * l->cw, role = c == a->conf.col ? ROLE_CURSOR : ROLE_LABEL;
        if (by_name)
            tui_grid_text(g, y, x, room, role, 0, names[c]);
        else
            tui_grid_printf(g, y, x, room, role, 0, "%*d", room, c);
    }
    tui_grid_put(g, y, l->lw + 1 + (a->conf.col - h->col0) * l->cw + l->cw - 1, a->utf8 ? 0x25bc : 'v',
                 ROLE_CURSOR, 0);
}

/* The cell under the cursor, in words: its count and share of the true class, or in the vs mode its count here
 * and in the other run and the change. */
static void cursor_line(app *a, tui_rect body, const char *arrow)
{
    const confusion_view *v = &a->conf;
    const char *const *names = view_names(a);
    long at = (long)v->row * v->K + v->col, count = v->counts[at];
    if (v->versus) {
        long theirs = (v->other ? v->other : a->vs.cm)[at];
        tui_grid_printf(&a->grid, body.top + 1, 1, body.width - 2, ROLE_VALUE, 0,
                        "true %s %s predicted %s: %ld here, %ld there, %+ld", names[v->row], arrow, names[v->col],
                        count, theirs, count - theirs);
        return;
    }
    long support = 0;
    for (int j = 0; j < v->K; j++)
        support += v->counts[(long)v->row * v->K + j];
    tui_grid_printf(&a->grid, body.top + 1, 1, body.width - 2, ROLE_VALUE, 0, "true %s %s predicted %s: %ld, %.0f%% of %s",
                    names[v->row], arrow, names[v->col], count,
                    support ? 100.0 * (double)count / (double)support : 0.0, names[v->row]);
}

/* One list of the panel from row *y: the most confused pairs (count and share of the true class), or in the vs
 * mode those that grew or shrank (sign) with their counts there and here. */
static void panel_list(app *a, int px, int pw, int *y, int bottom, int sign)
{
    const confusion_view *v = &a->conf;
    const char *const *names = view_names(a);
    const char *arrow = a->utf8 ? "\u2192" : "->";
    char line[600];
    int n = !v->versus ? v->n_pairs : sign > 0 ? v->changed.n_grew : v->changed.n_shrank;
    if (n == 0) /* an empty list said nothing */
        *y += app_draw_wrapped(&a->grid, (tui_rect){*y, px, bottom - *y, pw},
                               v->versus ? "none" : "none: every test image is classified correctly", ROLE_DIM);
    for (int i = 0; i < n && *y < bottom; i++) {
        if (v->versus) {
            const pair_change *p = &(sign > 0 ? v->changed.grew : v->changed.shrank)[i];
            snprintf(line, sizeof line, "%s %s %s %+ld (%ld %s %ld)", names[p->true_class], arrow,
                     names[p->pred_class], p->b - p->a, p->a, arrow, p->b);
        } else {
            const confused_pair *p = &v->pairs[i];
            snprintf(line, sizeof line, "%s %s %s %ld (%.0f%%)", names[p->true_class], arrow, names[p->pred_class],
                     p->count, 100.0 * p->share);
        }
        *y += app_draw_wrapped(&a->grid, (tui_rect){*y, px, bottom - *y, pw}, line, ROLE_DEFAULT);
    }
}

/* The scale under the panel: the nine levels from 0 to the largest cell, or in the vs mode three below 0 and
 * three above, from the largest fall to the largest growth. */
static void scale_legend(app *a, int px, int pw, int bottom)
{
    const confusion_view *v = &a->conf;
    tui_grid *g = &a->grid;
    static const double levels[9] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5}; /* levels 1..9 of 9 */
    static const double signed_levels[6] = {-9, -5, -1, 1, 5, 9};
    char low[48], high[48];
    if (v->norm)
        snprintf(high, sizeof high, v->versus ? "+100%%" : "100%%");
    else
        snprintf(high, sizeof high, v->versus ? "+%ld" : "%ld", v->maxc);
    snprintf(low, sizeof low, "%s", !v->versus ? "0" : v->norm ? "-100%" : "");
    if (v->versus && !v->norm)
        snprintf(low, sizeof low, "-%ld", v->maxc);
    int lw = (int)strlen(low);
    tui_grid_text(g, bottom, px, pw, ROLE_DIM, 0, low);
    tui_heatmap scale = {v->versus ? signed_levels : levels, 1, v->versus ? 6 : 9, 9, -1, -1, 0, 0, NULL, 0,
                         v->versus ? 3 : 2, 0, 0, v->versus};
    int sr, sc;
    tui_heatmap_draw(g, (tui_rect){bottom, px + lw + 1, 1, 18}, &scale, a->depth, &sr, &sc);
    tui_grid_text(g, bottom, px + lw + 20, pw - lw - 20, ROLE_DIM, 0, high);
}

void confusion_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    const confusion_view *v = &a->conf;
    int K = v->K;
    if (!K) {
        app_no_data(a, body, "Confusion matrix");
        return;
    }
    if (v->versus)
        tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD,
                        "Confusion: this run minus %s, %s%s", a->vs.dir, v->norm ? "row shares (%)" : "counts",
                        v->folded ? ", 20 superclasses" : "");
    else
        tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD,
                        "Confusion matrix: rows true, columns predicted, %s%s%s",
                        v->norm ? "row-normalised (%)" : "counts", v->folded ? ", 20 superclasses" : "",
                        a->vs.on_confusion ? " (vs: no other run to compare with)" : "");
    /* One arrow everywhere: → in UTF-8, -> in ASCII (the cursor's line and vggtop confusion's). */
    const char *arrow = a->utf8 ? "\u2192" : "->";
    cursor_line(a, body, arrow);
    /* Row-normalised cells hold whole percents: two digits (a 100 that does not fit is left out, the colour
     * says it), so they keep their numbers where counts would not; the vs mode's have a sign. */
    char digits[32];
    int nd = (v->norm ? 2 : snprintf(digits, sizeof digits, "%ld", v->maxc)) + v->versus;
    cm_layout l = layout(a, body);
    tui_heatmap h = heatmap_of(a, &l, nd);
    int vr, vc;
    tui_heatmap_draw(g, l.map, &h, a->depth, &vr, &vc);
    column_labels(a, &l, &h, body.top + 2);

    int px = l.map.left + l.map.width + 2, pw = body.width - px - 1;
    char title[64];
    /* Whole names (a long pair wraps onto a second row) and the share of the true class, as the CLI's
     * vggtop confusion prints it; the scale's legend under them. */
    int bottom = body.top + body.height - 2, y = body.top + 3;
    for (int sign = 1; sign >= (v->versus ? -1 : 1); sign -= 2) {
        if (v->versus)
            snprintf(title, sizeof title, "%s most (here vs there)", sign > 0 ? "Grew" : "Shrank");
        else
            snprintf(title, sizeof title, "Most confused (true %s pred)", arrow);
        if (y < bottom)
            tui_grid_text(g, y++, px, pw, ROLE_LABEL, TUI_BOLD, title);
        panel_list(a, px, pw, &y, sign > 0 && v->versus ? (y + bottom) / 2 : bottom, sign);
    }
    scale_legend(a, px, pw, bottom);
}

int confusion_key(app *a, int key, tui_action act)
{
    (void)key;
    confusion_view *v = &a->conf;
    if (!v->K)
        return H_NONE;
    int page = app_body_height(a) - 4;
    switch (act) {
    case ACT_UP: v->row--; break;
    case ACT_DOWN: v->row++; break;
    case ACT_LEFT: v->col--; break;
    case ACT_RIGHT: v->col++; break;
    case ACT_PGUP: v->row -= page; break;
    case ACT_PGDN: v->row += page; break;
    case ACT_HOME: v->row = v->col = 0; break;
    case ACT_END: v->row = v->col = v->K - 1; break;
    case ACT_NORMALIZE:
        v->norm = !v->norm;
        v->built = 0;
        break;
    case ACT_VERSUS: versus_toggle(a, &a->vs.on_confusion); break;
    case ACT_FOLD:
        if (!can_fold(a)) {
            app_set_status(a, ROLE_DIM, "folding needs CIFAR-100 with fine labels");
            return H_REDRAW;
        }
        v->fold = !v->fold;
        v->row = v->col = v->row0 = v->col0 = 0;
        v->built = 0;
        break;
    default: return H_NONE;
    }
    confusion_enter(a); /* rebuilt when the fold or the normalisation changed */
    if (!v->K)
        return H_REDRAW;
    v->row = v->row < 0 ? 0 : v->row >= v->K ? v->K - 1 : v->row;
    v->col = v->col < 0 ? 0 : v->col >= v->K ? v->K - 1 : v->col;
    /* The view follows the cursor here, not in the draw. */
    cm_layout l = layout(a, (tui_rect){app_body_top(a), 0, app_body_height(a), a->cols});
    tui_heatmap h = heatmap_of(a, &l, 0);
    v->row0 = h.row0;
    v->col0 = h.col0;
    return H_REDRAW;
}
