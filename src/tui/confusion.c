/* tui/confusion: screen 4, the confusion matrix as a heatmap with a cursor, the most confused pairs and the
 * CIFAR-100 fold to superclasses. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tui_internal.h"

/* ---- 4 Confusion --------------------------------------------------------------------------------------- */

#define CM_LABEL 12
#define CM_PANEL 30

/* The matrix shown: fine or folded, counts; names of its classes. Returns K (0: nothing). */
static int cm_view(app *a, long **counts, const char *const **names)
{
    if (!a->cm || a->C <= 0)
        return 0;
    const run_data *r = &a->run;
    if (a->cm_fold && r->coarse_classes > 0 && r->fine_to_coarse && r->classes == a->C) {
        int K = r->coarse_classes;
        long *f = calloc((size_t)K * (size_t)K, sizeof *f);
        if (!f)
            return 0;
        metrics_confusion_fold(a->cm, a->C, r->fine_to_coarse, K, f);
        *counts = f;
        *names = (const char *const *)r->coarse_names;
        return K;
    }
    *counts = a->cm;
    *names = (const char *const *)a->names;
    return a->C;
}

void confusion_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    long *cm;
    const char *const *names;
    int K = cm_view(a, &cm, &names);
    if (!K) {
        app_no_data(a, body, "Confusion matrix");
        return;
    }
    if (a->cm_row >= K)
        a->cm_row = K - 1;
    if (a->cm_col >= K)
        a->cm_col = K - 1;
    double *v = malloc(sizeof *v * (size_t)K * (size_t)K);
    confused_pair *pairs = malloc(sizeof *pairs * (size_t)(body.height > 0 ? body.height : 1));
    if (!v || !pairs) {
        free(v);
        free(pairs);
        if (cm != a->cm)
            free(cm);
        return;
    }
    if (a->cm_norm)
        metrics_confusion_normalize(cm, K, 0, v);
    else
        for (long i = 0; i < (long)K * K; i++)
            v[i] = (double)cm[i];
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD,
                    "Confusion matrix: rows true, columns predicted, %s%s", a->cm_norm ? "row-normalised (%)" : "counts",
                    K != a->C ? ", 20 superclasses" : "");
    /* The cell under the cursor, in words. */
    long support = 0;
    for (int j = 0; j < K; j++)
        support += cm[(long)a->cm_row * K + j];
    long count = cm[(long)a->cm_row * K + a->cm_col];
    tui_grid_printf(g, body.top + 1, 1, body.width - 2, ROLE_VALUE, 0, "true %s %s predicted %s: %ld, %.0f%% of %s",
                    names[a->cm_row], a->utf8 ? "\u2192" : "->", names[a->cm_col], count,
                    support ? 100.0 * (double)count / (double)support : 0.0, names[a->cm_row]);
    /* Cells as wide as the room allows (up to 6 characters), with their numbers when those fit. */
    int avail = body.width - CM_PANEL - 1;
    int cw = (avail - CM_LABEL - 1) / K;
    if (cw > 6)
        cw = 6;
    if (cw < 1)
        cw = 1;
    long maxc = 0;
    for (long i = 0; i < (long)K * K; i++)
        if (cm[i] > maxc)
            maxc = cm[i];
    char digits[32];
    /* Row-normalised cells hold whole percents: two digits (a 100 that does not fit is left out, the colour
     * says it), so they keep their numbers where counts would. */
    int nd = a->cm_norm ? 2 : snprintf(digits, sizeof digits, "%ld", maxc);
    int need = CM_LABEL + 1 + K * cw;
    tui_rect hr = {body.top + 3, 0, body.height - 3, need < avail ? need : avail};
    int room = a->depth == TUI_COLOR_256 ? cw - 1 : cw - 2;
    tui_heatmap h = {v, K, K, 0, a->cm_row, a->cm_col, a->cm_row0, a->cm_col0, names, CM_LABEL, cw, nd <= room,
                     a->cm_norm};
    int vis_r = K < hr.height ? K : hr.height;
    int vis_c = K < (hr.width - CM_LABEL - 1) / cw ? K : (hr.width - CM_LABEL - 1) / cw;
    tui_heatmap_follow(&h, vis_r, vis_c);
    a->cm_row0 = h.row0;
    a->cm_col0 = h.col0;
    tui_heatmap_draw(g, hr, &h, a->depth, &vis_r, &vis_c);
    /* A marker over the cursor's column, and the first visible column's number. */
    tui_grid_printf(g, body.top + 2, 0, CM_LABEL, ROLE_DIM, 0, "pred %d..", h.col0);
    tui_grid_put(g, body.top + 2, CM_LABEL + 1 + (a->cm_col - h.col0) * cw + cw - 1, a->utf8 ? 0x25bc : 'v',
                 ROLE_CURSOR, 0);

    int px = hr.left + hr.width + 2, pw = body.width - px - 1;
    tui_grid_text(g, body.top + 3, px, pw, ROLE_LABEL, TUI_BOLD, "Most confused (true > pred)");
    /* Whole names (a long pair wraps onto a second row) and the share of the true class, as the CLI's
     * vggtop confusion prints it; the scale's legend under them. */
    int bottom = body.top + body.height - 2, y = body.top + 4;
    int np = metrics_confused_pairs(cm, K, pairs, body.height - 5);
    for (int i = 0; i < np && y < bottom; i++) {
        long row_sum = 0;
        for (int j = 0; j < K; j++)
            row_sum += cm[(long)pairs[i].true_class * K + j];
        char line[600];
        snprintf(line, sizeof line, "%s > %s %ld (%.0f%%)", names[pairs[i].true_class], names[pairs[i].pred_class],
                 pairs[i].count, row_sum ? 100.0 * (double)pairs[i].count / (double)row_sum : 0.0);
        y += app_draw_wrapped(g, (tui_rect){y, px, bottom - y, pw}, line, ROLE_DEFAULT);
    }
    /* The scale: the nine levels, from the least to the most (the largest cell). */
    static const double levels[9] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5}; /* levels 1..9 of 9 */
    tui_heatmap scale = {levels, 1, 9, 9, -1, -1, 0, 0, NULL, 0, 2, 0, 0};
    char top_label[48];
    if (a->cm_norm)
        snprintf(top_label, sizeof top_label, "100%%");
    else
        snprintf(top_label, sizeof top_label, "%ld", maxc);
    tui_grid_text(g, bottom, px, pw, ROLE_DIM, 0, "0");
    int sr, sc;
    tui_heatmap_draw(g, (tui_rect){bottom, px + 2, 1, 18}, &scale, a->depth, &sr, &sc);
    tui_grid_text(g, bottom, px + 21, pw - 21, ROLE_DIM, 0, top_label);
    free(v);
    free(pairs);
    if (cm != a->cm)
        free(cm);
}

int confusion_key(app *a, int key, tui_action act)
{
    (void)key;
    long *cm;
    const char *const *names;
    int K = cm_view(a, &cm, &names);
    if (cm != a->cm)
        free(cm);
    if (!K)
        return H_NONE;
    int page = app_body_height(a) - 4;
    switch (act) {
    case ACT_UP: a->cm_row--; break;
    case ACT_DOWN: a->cm_row++; break;
    case ACT_LEFT: a->cm_col--; break;
    case ACT_RIGHT: a->cm_col++; break;
    case ACT_PGUP: a->cm_row -= page; break;
    case ACT_PGDN: a->cm_row += page; break;
    case ACT_HOME: a->cm_row = a->cm_col = 0; break;
    case ACT_END: a->cm_row = a->cm_col = K - 1; break;
    case ACT_NORMALIZE: a->cm_norm = !a->cm_norm; break;
    case ACT_FOLD:
        if (a->run.coarse_classes > 0 && a->run.fine_to_coarse && a->run.classes == a->C) {
            a->cm_fold = !a->cm_fold;
            a->cm_row = a->cm_col = a->cm_row0 = a->cm_col0 = 0;
        } else {
            app_set_status(a, ROLE_DIM, "folding needs CIFAR-100 with fine labels");
        }
        return H_REDRAW;
    default: return H_NONE;
    }
    K = cm_view(a, &cm, &names);
    if (cm != a->cm)
        free(cm);
    if (a->cm_row < 0)
        a->cm_row = 0;
    if (a->cm_col < 0)
        a->cm_col = 0;
    if (a->cm_row >= K)
        a->cm_row = K - 1;
    if (a->cm_col >= K)
        a->cm_col = K - 1;
    return H_REDRAW;
}
