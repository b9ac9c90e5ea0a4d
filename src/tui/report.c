/* tui/report: screen 3, the per-class classification report: sortable, searchable, with the averages pinned. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tui_internal.h"

/* ---- 3 Report ------------------------------------------------------------------------------------------ */

static const tui_column rep_cols[6] = {
    {"#", 3, 1}, {"class", 20, 0}, {"precision", 9, 1}, {"recall", 9, 1}, {"f1-score", 9, 1}, {"support", 8, 1},
};

static const app *sort_app; /* qsort has no context argument */

static double rep_value(const app *a, int row, int col)
{
    const class_scores *c = &a->rep.rows[row];
    switch (col) {
    case 2: return c->precision;
    case 3: return c->recall;
    case 4: return c->f1;
    case 5: return (double)c->support;
    default: return a->rep.labels[row];
    }
}

static int rep_cmp(const void *pa, const void *pb)
{
    const app *a = sort_app;
    int ra = *(const int *)pa, rb = *(const int *)pb, r;
    if (a->rep_sort == 1) {
        r = strcasecmp(app_class_name(a, a->rep.labels[ra]), app_class_name(a, a->rep.labels[rb]));
    } else {
        double x = rep_value(a, ra, a->rep_sort), y = rep_value(a, rb, a->rep_sort);
        r = x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->rep_desc)
        r = -r;
    return r ? r : ra - rb;
}

static void rep_sort_rows(app *a)
{
    if (!a->have_rep || !a->rep_order)
        return;
    sort_app = a;
    qsort(a->rep_order, (size_t)a->rep.n_labels, sizeof *a->rep_order, rep_cmp);
}

void report_reset(app *a)
{
    free(a->rep_order);
    free(a->rep_text);
    free(a->rep_cells);
    free(a->rep_roles);
    a->rep_order = NULL;
    a->rep_text = NULL;
    a->rep_cells = NULL;
    a->rep_roles = NULL;
    if (!a->have_rep)
        return;
    /* Everything the table needs, sized once per report (the draw used to malloc it every frame). */
    size_t n = (size_t)(a->rep.n_labels > 0 ? a->rep.n_labels : 1);
    a->rep_order = malloc(sizeof *a->rep_order * n);
    a->rep_text = malloc(sizeof *a->rep_text * n);
    a->rep_cells = malloc(sizeof *a->rep_cells * 6 * n);
    a->rep_roles = malloc(sizeof *a->rep_roles * n);
    if (!a->rep_order || !a->rep_text || !a->rep_cells || !a->rep_roles) {
        free(a->rep_order);
        a->rep_order = NULL;
        return;
    }
    for (int i = 0; i < a->rep.n_labels; i++)
        a->rep_order[i] = i;
    rep_sort_rows(a);
    if (a->rep_sel >= a->rep.n_labels)
        a->rep_sel = a->rep.n_labels - 1;
    if (a->rep_sel < 0)
        a->rep_sel = 0;
}

static int rep_visible(const app *a) { return app_body_height(a) - 1 - 1 - 4; }

void report_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    if (!a->have_rep || !a->rep_order) {
        app_no_data(a, body, "Report");
        return;
    }
    const report *r = &a->rep;
    int n = r->n_labels;
    /* Which evaluation this is: the predictions are rewritten after every epoch (accuracy is pinned below). */
    char which[32] = "";
    if (a->snap->epochs_done > 0)
        snprintf(which, sizeof which, " (epoch %d)", a->snap->epochs_done);
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Report: %d classes, %ld images%s, sorted by %s%s",
                    n, r->total, which, rep_cols[a->rep_sort].title, a->rep_desc ? " (desc)" : "");
    char(*text)[6][24] = a->rep_text;
    const char **cells = a->rep_cells;
    int *roles = a->rep_roles;
    double macro = r->macro.f1;
    for (int i = 0; i < n; i++) {
        int row = a->rep_order[i];
        const class_scores *c = &r->rows[row];
        snprintf(text[i][0], 24, "%d", r->labels[row]);
        snprintf(text[i][1], 24, "%s", app_class_name(a, r->labels[row]));
        snprintf(text[i][2], 24, "%.4f", c->precision);
        snprintf(text[i][3], 24, "%.4f", c->recall);
        snprintf(text[i][4], 24, "%.4f", c->f1);
        snprintf(text[i][5], 24, "%ld", c->support);
        for (int k = 0; k < 6; k++)
            cells[i * 6 + k] = text[i][k];
        /* weak: F1 below half the macro F1; strong: above the midpoint between the macro F1 and 1 */
        roles[i] = c->f1 < 0.5 * macro ? ROLE_BAD : c->f1 > (macro + 1) / 2 ? ROLE_GOOD : ROLE_DEFAULT;
    }
    char pin[3][6][24];
    snprintf(pin[0][1], 24, "accuracy");
    pin[0][0][0] = pin[0][2][0] = pin[0][3][0] = '\0';
    snprintf(pin[0][4], 24, "%.4f", r->accuracy);
    snprintf(pin[0][5], 24, "%ld", r->total);
    const class_scores *avg[2] = {&r->macro, &r->weighted};
    for (int k = 0; k < 2; k++) {
        pin[k + 1][0][0] = '\0';
        snprintf(pin[k + 1][1], 24, "%s", k ? "weighted avg" : "macro avg");
        snprintf(pin[k + 1][2], 24, "%.4f", avg[k]->precision);
        snprintf(pin[k + 1][3], 24, "%.4f", avg[k]->recall);
        snprintf(pin[k + 1][4], 24, "%.4f", avg[k]->f1);
        snprintf(pin[k + 1][5], 24, "%ld", avg[k]->support);
    }
    const char *pinned[18];
    for (int i = 0; i < 18; i++)
        pinned[i] = pin[i / 6][i % 6];
    tui_table t = {rep_cols, 6, cells, roles, n, pinned, 3, a->rep_sort, a->rep_desc, a->rep_top, a->rep_sel};
    tui_rect tr = {body.top + 1, 1, body.height - 1, body.width - 2};
    int visible = tui_table_draw(g, tr, &t, a->utf8);
    tui_table_follow(&t, visible);
    if (t.top != a->rep_top) {
        a->rep_top = t.top;
        tui_table_draw(g, tr, &t, a->utf8);
    }
}

/* Display position of the first class whose name contains the search, from position `from` on. */
static int rep_find(const app *a, int from)
{
    int n = a->rep.n_labels;
    for (int k = 0; k < n; k++) {
        int i = (from + k) % n;
        if (strcasestr(app_class_name(a, a->rep.labels[a->rep_order[i]]), a->search))
            return i;
    }
    return -1;
}

static void rep_clamp(app *a)
{
    int n = a->rep.n_labels;
    if (a->rep_sel >= n)
        a->rep_sel = n - 1;
    if (a->rep_sel < 0)
        a->rep_sel = 0;
    tui_table t = {0};
    t.n_rows = n;
    t.selected = a->rep_sel;
    t.top = a->rep_top;
    tui_table_follow(&t, rep_visible(a));
    a->rep_top = t.top;
}

int report_key(app *a, int key, tui_action act)
{
    if (!a->have_rep || !a->rep_order) {
        a->searching = 0;
        return H_NONE;
    }
    if (a->searching) {
        if (key == 27) {
            a->searching = 0;
            a->rep_sel = a->search_saved_sel;
        } else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
            a->searching = 0;
        } else {
            app_line_edit(a->search, sizeof a->search, key);
        }
        if (a->searching && a->search[0]) {
            int i = rep_find(a, 0);
            if (i >= 0)
                a->rep_sel = i;
        }
        if (!a->searching && a->search[0] && rep_find(a, 0) < 0)
            app_set_status(a, ROLE_WARN, "no class matches '%s'", a->search);
        rep_clamp(a);
        return H_REDRAW;
    }
    int page = rep_visible(a) > 1 ? rep_visible(a) - 1 : 1;
    switch (act) {
    case ACT_UP: a->rep_sel--; break;
    case ACT_DOWN: a->rep_sel++; break;
    case ACT_PGUP: a->rep_sel -= page; break;
    case ACT_PGDN: a->rep_sel += page; break;
    case ACT_HOME: a->rep_sel = 0; break;
    case ACT_END: a->rep_sel = a->rep.n_labels - 1; break;
    case ACT_SORT:
        a->rep_sort = (a->rep_sort + 1) % 6;
        a->rep_desc = a->rep_sort >= 2; /* numbers: the largest first */
        rep_sort_rows(a);
        break;
    case ACT_REVERSE:
        a->rep_desc = !a->rep_desc;
        rep_sort_rows(a);
        break;
    case ACT_SEARCH:
        a->searching = 1;
        a->search[0] = '\0';
        a->search_saved_sel = a->rep_sel;
        break;
    case ACT_SEARCH_NEXT:
        if (!a->search[0]) {
            app_set_status(a, ROLE_DIM, "/ starts a search");
            break;
        }
        {
            int i = rep_find(a, a->rep_sel + 1);
            if (i >= 0)
                a->rep_sel = i;
            else
                app_set_status(a, ROLE_WARN, "no class matches '%s'", a->search);
        }
        break;
    default: return H_NONE;
    }
    rep_clamp(a);
    return H_REDRAW;
}
