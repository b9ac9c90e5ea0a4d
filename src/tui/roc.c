/* tui/roc: screen 5, per-class, micro and macro ROC curves with their AUCs. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tui_internal.h"

/* ---- 5 ROC ------------------------------------------------------------------------------------------------- */

#define ROC_LIST 31
#define ROC_MAX_DRAWN 5

/* The ROC curves take a sort per class: computed when the screen first needs them (derived.c). */
void roc_enter(app *a) { derived_roc(a); }

void roc_reset(app *a, int classes_changed)
{
    if (!classes_changed)
        return;
    free(a->rv.drawn);
    a->rv.drawn = calloc((size_t)a->C, 1);
    for (int i = 0; a->rv.drawn && i < a->C && i < 3; i++)
        a->rv.drawn[i] = 1;
    a->rv.sel = a->rv.top = 0;
}

void roc_close(app *a)
{
    free(a->rv.drawn);
    a->rv.drawn = NULL;
}

void roc_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    if (!a->have_roc) {
        app_no_data(a, body, "ROC curves");
        return;
    }
    /* The names of `vggtop roc` and the man page. */
    tui_grid_printf(g, body.top, 1, ROC_LIST, ROLE_LABEL, 0, "micro AUC %.4f", a->micro.auc);
    tui_grid_printf(g, body.top + 1, 1, ROC_LIST, ROLE_LABEL, 0, "macro AUC (interpolated) %.4f", a->macro.auc);
    tui_grid_printf(g, body.top + 2, 1, ROC_LIST, ROLE_LABEL, 0, "macro AUC (mean) %.4f",
                    metrics_auc_macro_mean(a->roc, a->C));
    int list_h = body.height - 3, top = app_follow(a->rv.top, a->rv.sel, list_h); /* the keys keep rv.top */
    /* The list is the classes' legend: a drawn class shows its curve's letter (in its colour), so the chart's
     * own legend keeps to micro, macro and chance and fits 80 columns. */
    static const char markers[ROC_MAX_DRAWN] = {'a', 'b', 'c', 'd', 'e'};
    int letter_of[4096];
    for (int c = 0, k = 0; c < a->C && c < 4096; c++)
        letter_of[c] = a->rv.drawn[c] && k < ROC_MAX_DRAWN ? k++ : -1;
    for (int i = 0; i < list_h && top + i < a->C; i++) {
        int c = top + i;
        int role = c == a->rv.sel ? ROLE_SELECT : a->rv.drawn[c] ? ROLE_VALUE : ROLE_DEFAULT;
        int k = c < 4096 ? letter_of[c] : -1;
        tui_grid_printf(g, body.top + 3 + i, 1, ROC_LIST, role, 0, "[%c] %-17.17s %6.4f", k >= 0 ? markers[k] : ' ',
                        app_class_name(a, c), a->roc[c].auc);
        if (k >= 0 && c != a->rv.sel)
            tui_grid_put(g, body.top + 3 + i, 2, (uint32_t)(unsigned char)markers[k], ROLE_SERIES0 + 2 + k, 0);
    }
    tui_series s[ROC_MAX_DRAWN + 3];
    char names[ROC_MAX_DRAWN + 2][48];
    static const double diag[2] = {0, 1};
    int n = 0;
    snprintf(names[0], sizeof names[0], "micro %.3f", a->micro.auc);
    snprintf(names[1], sizeof names[1], "macro %.3f", a->macro.auc);
    s[n++] = (tui_series){names[0], a->micro.fpr, a->micro.tpr, (int)a->micro.n, ROLE_SERIES0, '*'};
    s[n++] = (tui_series){names[1], a->macro.fpr, a->macro.tpr, (int)a->macro.n, ROLE_SERIES0 + 1, '+'};
    for (int c = 0; c < a->C && n < ROC_MAX_DRAWN + 2; c++)
        if (a->rv.drawn[c]) {
            s[n] = (tui_series){NULL, a->roc[c].fpr, a->roc[c].tpr, (int)a->roc[c].n, ROLE_SERIES0 + n,
                                markers[n - 2]};
            n++;
        }
    s[n++] = (tui_series){"chance", diag, diag, 2, ROLE_FRAME, '.'};
    tui_chart c = {a->rv.zoom ? "ROC, zoomed: FPR 0-0.2, TPR 0.8-1 (z: whole)" : "ROC: TPR against FPR (z zooms)",
                   s, n, 1, 1, 0, a->rv.zoom ? 0.2 : 1, a->rv.zoom ? 0.8 : 0, 1, 2, 1, 0, "FPR", 0};
    tui_chart_draw(g, (tui_rect){body.top, ROC_LIST + 2, body.height, body.width - ROC_LIST - 2}, &c, app_chart_utf8(a));
}

int roc_key(app *a, int key, tui_action act)
{
    (void)key;
    if (!a->have_roc)
        return H_NONE;
    int page = app_body_height(a) - 4;
    if (app_list_move(&a->rv.sel, act, a->C, page)) {
        a->rv.top = app_follow(a->rv.top, a->rv.sel, app_body_height(a) - 3);
        return H_REDRAW;
    }
    switch (act) {
    case ACT_ZOOM: a->rv.zoom = !a->rv.zoom; break;
    case ACT_ALL: memset(a->rv.drawn, 0, (size_t)a->C); break;
    case ACT_TOGGLE: {
        int drawn = 0;
        for (int c = 0; c < a->C; c++)
            drawn += a->rv.drawn[c];
        int sel = a->rv.sel;
        if (!a->rv.drawn[sel] && drawn >= ROC_MAX_DRAWN)
            app_set_status(a, ROLE_WARN, "at most %d classes at once: hide one first (a hides all)", ROC_MAX_DRAWN);
        else
            a->rv.drawn[sel] = !a->rv.drawn[sel];
        break;
    }
    default: return H_NONE;
    }
    a->rv.top = app_follow(a->rv.top, a->rv.sel, app_body_height(a) - 3);
    return H_REDRAW;
}
