/* tui/diff: the Diff screen, two runs compared class by class as vggtop diff compares them (the numbers are
 * metrics_diff_predictions'): every class's F1, recall and precision in run A and run B with the change (B - A),
 * sortable, scrollable and searchable as Report is, the accuracy and averages pinned under the table, the
 * classes that got better and worse most and the confusion pairs that grew and shrank most; f shows CIFAR-100's
 * 20 superclasses. The runs are the two marked on Compare (x), or a sweep's trial and its best (Sweep's d). */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tui_internal.h"

/* The table: the class, then F1, recall and precision each as A, B and the change, then the support. */
static const tui_column diff_cols[DIFF_COLS - 1] = {
    {"class", 16, 0}, {"f1 A", 7, 1},   {"f1 B", 7, 1},   {"change", 7, 1}, {"rec A", 7, 1},   {"rec B", 7, 1},
    {"change", 7, 1}, {"prec A", 7, 1}, {"prec B", 7, 1}, {"change", 7, 1}, {"support", 7, 1},
};
enum { N_COLS = DIFF_COLS - 1, COL_CLASS = 0, COL_F1_CHANGE = 3, COL_SUPPORT = 10 };

/* ---- the marks ---- */

int diff_marked(const app *a, const char *path)
{
    for (int i = 0; i < a->dif.n_marked; i++)
        if (strcmp(a->dif.mark[i], path) == 0)
            return 'A' + i;
    return 0;
}

void diff_mark(app *a, const char *path)
{
    diff_view *v = &a->dif;
    int m = diff_marked(a, path);
    if (m) { /* unmarked: B, if any, becomes A */
        if (m == 'A' && v->n_marked == 2)
            memcpy(v->mark[0], v->mark[1], sizeof v->mark[0]);
        v->n_marked--;
        v->stale = 1;
        app_set_status(a, ROLE_DIM, "unmarked %s", path);
        return;
    }
    if (v->n_marked == 2) {
        app_set_status(a, ROLE_WARN, "two runs are marked already (A %s, B %s): x on one unmarks it", v->mark[0],
                       v->mark[1]);
        return;
    }
    snprintf(v->mark[v->n_marked++], sizeof v->mark[0], "%s", path);
    v->stale = 1;
    app_set_status(a, ROLE_GOOD, "marked %c: %s%s", 'A' + v->n_marked - 1, path,
                   v->n_marked == 2 ? " (d shows the diff, B - A)" : " (mark another, then d shows the diff)");
}

void diff_set(app *a, const char *a_dir, const char *b_dir)
{
    snprintf(a->dif.mark[0], sizeof a->dif.mark[0], "%s", a_dir);
    snprintf(a->dif.mark[1], sizeof a->dif.mark[1], "%s", b_dir);
    a->dif.n_marked = 2;
    a->dif.stale = 1;
}

/* ---- loading ---- */

static void table_free(diff_view *v)
{
    free(v->order);
    free(v->text);
    free(v->cells);
    free(v->roles);
    v->order = NULL;
    v->text = NULL;
    v->cells = NULL;
    v->roles = NULL;
    v->built = 0;
}

static void loaded_free(diff_view *v)
{
    for (int i = 0; i < 2 && v->have; i++)
        metrics_diff_free(&v->d[i]);
    for (int i = 0; i < 2; i++) {
        run_free(&v->run[i]);
        v->loaded[i][0] = '\0';
    }
    v->have = v->have_coarse = 0;
    table_free(v);
}

/* The front end ends: the diff, and Report's and Confusion's other run (read for the marks kept here). */
void diff_close(app *a)
{
    loaded_free(&a->dif);
    versus_close(a);
}

int diff_skipped(const app *a) { return a->dif.n_marked < 2; }

/* Why runs a and b cannot be compared class by class ("" when they can), as vggtop diff refuses them. */
static void check_runs(diff_view *v, char *why, size_t size)
{
    const run_data *r = v->run;
    why[0] = '\0';
    for (int i = 0; i < 2; i++)
        if (!(r[i].parts & RUN_PART_PREDICTIONS) || r[i].n_pred < 1) {
            snprintf(why, size, "%s has no predictions yet (no finished epoch)", v->mark[i]);
            return;
        }
    if (r[0].pred_classes != r[1].pred_classes)
        snprintf(why, size, "%s has %d classes and %s %d: not the same task", v->mark[0], r[0].pred_classes,
                 v->mark[1], r[1].pred_classes);
    for (int c = 0; !why[0] && r[0].class_names && r[1].class_names && c < r[0].classes && c < r[1].classes; c++)
        if (strcmp(r[0].class_names[c], r[1].class_names[c]) != 0)
            snprintf(why, size, "class %d is '%s' in A and '%s' in B: not the same classes", c, r[0].class_names[c],
                     r[1].class_names[c]);
}

/* Reads the marked runs and computes the diff of their classes (and superclasses when both have them). */
static void diff_load(app *a)
{
    diff_view *v = &a->dif;
    loaded_free(v);
    v->stale = 0;
    v->err[0] = '\0';
    if (v->n_marked < 2)
        return;
    vt_err err;
    for (int i = 0; i < 2; i++)
        if (run_load(v->mark[i], RUN_PART_CONFIG | RUN_PART_PREDICTIONS, &v->run[i], &err) != VT_OK) {
            snprintf(v->err, sizeof v->err, "%s", err.msg);
            memset(&v->run[i], 0, sizeof v->run[i]);
            loaded_free(v);
            return;
        }
    check_runs(v, v->err, sizeof v->err);
    const run_data *r = v->run;
    int coarse = !v->err[0] && r[0].fine_to_coarse && r[1].fine_to_coarse && r[0].classes == r[0].pred_classes &&
                 r[1].classes == r[1].pred_classes;
    for (int k = 0; k <= coarse && !v->err[0]; k++)
        if (metrics_diff_predictions(r[0].y_true, r[0].y_pred, r[0].n_pred, r[1].y_true, r[1].y_pred, r[1].n_pred,
                                     r[0].pred_classes, k ? r[0].fine_to_coarse : NULL, r[0].coarse_classes,
                                     DIFF_PAIRS, &v->d[k]) != 0) {
            snprintf(v->err, sizeof v->err, "out of memory");
            if (k)
                metrics_diff_free(&v->d[0]);
        }
    if (v->err[0]) {
        loaded_free(v);
        return;
    }
    v->have = 1;
    v->have_coarse = coarse;
    if (!coarse)
        v->coarse = 0;
    memcpy(v->loaded, v->mark, sizeof v->loaded);
}

/* ---- the table ---- */

static const metrics_diff *shown(const app *a) { return &a->dif.d[a->dif.coarse]; }

/* Class cls's name in the view shown (the superclass's with f), or its number. */
static const char *class_name(const app *a, int cls, char *buf, size_t size)
{
    const run_data *r = &a->dif.run[0];
    char **names = a->dif.coarse ? r->coarse_names : r->class_names;
    int n = a->dif.coarse ? r->coarse_classes : r->classes;
    if (names && cls < n)
        return names[cls];
    snprintf(buf, size, "%d", cls);
    return buf;
}

static double cell_value(const class_change *c, int col)
{
    static const int stride = 3;
    if (col == COL_SUPPORT)
        return (double)c->b.support;
    const class_scores *s = (col - 1) % stride == 0 ? &c->a : (col - 1) % stride == 1 ? &c->b : NULL;
    int which = (col - 1) / stride; /* 0 F1, 1 recall, 2 precision */
    if (s)
        return which == 0 ? s->f1 : which == 1 ? s->recall : s->precision;
    return which == 0 ? c->f1 : which == 1 ? c->recall : c->precision;
}

static const app *sort_app; /* qsort has no context argument */

static int row_cmp(const void *pa, const void *pb)
{
    const app *a = sort_app;
    const metrics_diff *d = shown(a);
    int ra = *(const int *)pa, rb = *(const int *)pb, r;
    if (a->dif.sort == COL_CLASS) {
        char x[16], y[16];
        r = strcasecmp(class_name(a, d->classes[ra].cls, x, sizeof x), class_name(a, d->classes[rb].cls, y, sizeof y));
    } else {
        double x = cell_value(&d->classes[ra], a->dif.sort), y = cell_value(&d->classes[rb], a->dif.sort);
        r = x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->dif.desc)
        r = -r;
    return r ? r : ra - rb; /* ties in the diff's own order: vggtop diff's */
}

/* The order and the texts of the view shown (after a load, f, a sort; never in the draw). */
static void table_build(app *a)
{
    diff_view *v = &a->dif;
    table_free(v);
    const metrics_diff *d = shown(a);
    size_t n = (size_t)d->C;
    v->order = malloc(n * sizeof *v->order);
    v->text = malloc(n * sizeof *v->text);
    v->cells = malloc(n * N_COLS * sizeof *v->cells);
    v->roles = malloc(n * sizeof *v->roles);
    if (!v->order || !v->text || !v->cells || !v->roles) {
        table_free(v);
        return;
    }
    for (int i = 0; i < d->C; i++)
        v->order[i] = i;
    sort_app = a;
    qsort(v->order, n, sizeof *v->order, row_cmp);
    for (int i = 0; i < d->C; i++) {
        const class_change *c = &d->classes[v->order[i]];
        char(*t)[DIFF_TEXT] = v->text[i];
        char num[16];
        snprintf(t[COL_CLASS], DIFF_TEXT, "%s", class_name(a, c->cls, num, sizeof num));
        for (int col = 1; col < COL_SUPPORT; col++)
            snprintf(t[col], DIFF_TEXT, col % 3 == 0 ? "%+.4f" : "%.4f", cell_value(c, col));
        if (c->a.support == c->b.support)
            snprintf(t[COL_SUPPORT], DIFF_TEXT, "%ld", c->a.support);
        else
            snprintf(t[COL_SUPPORT], DIFF_TEXT, "%ld>%ld", c->a.support, c->b.support);
        for (int k = 0; k < N_COLS; k++)
            v->cells[i * N_COLS + k] = t[k];
        /* Better and worse by at least the table's last digit. */
        v->roles[i] = c->f1 > 5e-5 ? ROLE_GOOD : c->f1 < -5e-5 ? ROLE_BAD : ROLE_DEFAULT;
    }
    if (v->sel >= d->C)
        v->sel = d->C - 1;
    if (v->sel < 0)
        v->sel = 0;
    v->built = 1;
}

/* The table's body rows: the body less the title, the summary, the table's header, the pinned rows and their
 * rule, and the four lines under it. */
static int visible_rows(const app *a) { return app_body_height(a) - 2 - 1 - 4 - 4; }

static void follow(app *a) { a->dif.top = app_follow(a->dif.top, a->dif.sel, visible_rows(a)); }

void diff_enter(app *a)
{
    diff_view *v = &a->dif;
    if (v->stale) { /* other runs: vggtop diff's order, the most improved first */
        diff_load(a);
        v->sel = v->top = 0;
        v->sort = COL_F1_CHANGE;
        v->desc = 1;
    }
    if (v->have && !v->built)
        table_build(a);
    if (v->built)
        follow(a);
}

/* ---- drawing ---- */

/* "better most: cat +0.0476, owl +0.0152" (sign 1) or "worse most: ..." (-1) into buf. */
static void most_line(const app *a, int sign, char *buf, size_t size)
{
    const metrics_diff *d = shown(a);
    size_t n = (size_t)snprintf(buf, size, "%s", sign > 0 ? "better most:" : "worse most: ");
    int k = 0;
    for (int i = 0; i < d->C && n < size; i++) {
        const class_change *c = &d->classes[sign > 0 ? i : d->C - 1 - i];
        if (c->f1 * sign <= 5e-5)
            break;
        char num[16];
        n += (size_t)snprintf(buf + n, size - n, "%s %s %+.4f", k++ ? "," : "", class_name(a, c->cls, num, sizeof num),
                              c->f1);
    }
    if (k == 0 && n < size)
        snprintf(buf + n, size - n, " none");
}

/* "grew:   cat -> dog +14 (3 -> 17), ..." for the pairs that grew (sign 1) or shrank (-1). */
static void pairs_line(const app *a, int sign, char *buf, size_t size)
{
    const metrics_diff *d = shown(a);
    const pair_change *p = sign > 0 ? d->grew : d->shrank;
    int np = sign > 0 ? d->n_grew : d->n_shrank, all = sign > 0 ? d->n_grew_all : d->n_shrank_all;
    size_t n = (size_t)snprintf(buf, size, "%s", sign > 0 ? "grew:   " : "shrank: ");
    for (int i = 0; i < np && n < size; i++) {
        char n1[16], n2[16];
        n += (size_t)snprintf(buf + n, size - n, "%s%s -> %s %+ld (%ld -> %ld)", i ? ", " : "",
                              class_name(a, p[i].true_class, n1, sizeof n1), class_name(a, p[i].pred_class, n2, sizeof n2),
                              p[i].b - p[i].a, p[i].a, p[i].b);
    }
    if (np == 0 && n < size)
        snprintf(buf + n, size - n, "none");
    else if (all > np && n < size)
        snprintf(buf + n, size - n, " (%d more)", all - np);
}

/* The pinned rows: the accuracy, the macro and the weighted averages, A, B and the change of each score. */
static void pinned_rows(const metrics_diff *d, char text[3][N_COLS][DIFF_TEXT], const char **cells)
{
    const class_scores *avg[2][2] = {{&d->a.macro, &d->b.macro}, {&d->a.weighted, &d->b.weighted}};
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < N_COLS; k++) {
            text[r][k][0] = '\0';
            cells[r * N_COLS + k] = text[r][k];
        }
        snprintf(text[r][COL_CLASS], DIFF_TEXT, "%s", r == 0 ? "accuracy" : r == 1 ? "macro avg" : "weighted avg");
        if (r == 0) {
            snprintf(text[0][1], DIFF_TEXT, "%.4f", d->a.accuracy);
            snprintf(text[0][2], DIFF_TEXT, "%.4f", d->b.accuracy);
            snprintf(text[0][3], DIFF_TEXT, "%+.4f", d->b.accuracy - d->a.accuracy);
            snprintf(text[0][COL_SUPPORT], DIFF_TEXT, "%ld", d->b.total);
            continue;
        }
        class_change c = {0, *avg[r - 1][0], *avg[r - 1][1], avg[r - 1][1]->precision - avg[r - 1][0]->precision,
                          avg[r - 1][1]->recall - avg[r - 1][0]->recall, avg[r - 1][1]->f1 - avg[r - 1][0]->f1};
        for (int col = 1; col < COL_SUPPORT; col++)
            snprintf(text[r][col], DIFF_TEXT, col % 3 == 0 ? "%+.4f" : "%.4f", cell_value(&c, col));
        snprintf(text[r][COL_SUPPORT], DIFF_TEXT, "%ld", c.b.support);
    }
}

void diff_draw(app *a, tui_rect body)
{
    tui_grid *g = &a->grid;
    diff_view *v = &a->dif;
    if (!v->have || !v->built) {
        char line[sizeof v->err + 256];
        if (v->err[0])
            snprintf(line, sizeof line, "No diff: %s.", v->err);
        else
            snprintf(line, sizeof line, "No runs to compare: mark two runs on Compare (x on each, %d marked), then d "
                     "shows what changed class by class; on Sweep, d compares the selected trial with the best.",
                     v->n_marked);
        app_draw_wrapped(g, (tui_rect){body.top + 1, 2, 4, body.width - 4}, line, v->err[0] ? ROLE_BAD : ROLE_DIM);
        return;
    }
    const metrics_diff *d = shown(a);
    tui_grid_printf(g, body.top, 1, body.width - 2, ROLE_TITLE, TUI_BOLD, "Diff: %d %s, change = B - A, sorted by %s%s%s",
                    d->C, v->coarse ? "superclasses" : "classes", diff_cols[v->sort].title,
                    v->sort % 3 == 0 && v->sort > 0 ? (v->sort == 3 ? " of F1" : v->sort == 6 ? " of recall"
                                                                                                : " of precision")
                                                    : "",
                    v->desc ? " (desc)" : "");
    int x = 1;
    for (int i = 0; i < 2; i++) {
        x += tui_grid_printf(g, body.top + 1, x, 4, ROLE_HEADER, TUI_BOLD, "%c ", 'A' + i);
        int w = (body.width - 8) / 2;
        x += app_draw_tail(a, body.top + 1, x, w, ROLE_VALUE, 0, v->loaded[i]) + 2;
    }
    char pin[3][N_COLS][DIFF_TEXT];
    const char *pinned[3 * N_COLS];
    pinned_rows(d, pin, pinned);
    int table_h = body.height - 2 - 4;
    tui_table t = {diff_cols, N_COLS, v->cells, v->roles, d->C, pinned, 3, v->sort, v->desc, v->top, v->sel};
    app_draw_table(a, (tui_rect){body.top + 2, 1, table_h, body.width - 2}, t);
    char line[2048];
    int y = body.top + 2 + table_h;
    for (int k = 0; k < 4; k++) {
        int sign = k % 2 == 0 ? 1 : -1;
        if (k < 2)
            most_line(a, sign, line, sizeof line);
        else
            pairs_line(a, sign, line, sizeof line);
        tui_grid_text(g, y + k, 1, body.width - 2, k < 2 ? (sign > 0 ? ROLE_GOOD : ROLE_BAD) : ROLE_DEFAULT, 0, line);
    }
}

/* ---- keys ---- */

static const char *name_at(const app *a, int i) { return a->dif.text[i][COL_CLASS]; }

int diff_key(app *a, int key, tui_action act)
{
    diff_view *v = &a->dif;
    if (!v->built) {
        v->search.on = 0;
        return H_NONE;
    }
    int n = shown(a)->C;
    if (v->search.on) {
        app_search_key(a, &v->search, key, &v->sel, n, name_at);
        follow(a);
        return H_REDRAW;
    }
    int page = visible_rows(a) > 1 ? visible_rows(a) - 1 : 1;
    if (app_list_move(&v->sel, act, n, page)) {
        follow(a);
        return H_REDRAW;
    }
    switch (act) {
    case ACT_SORT:
        v->sort = (v->sort + 1) % N_COLS;
        v->desc = v->sort != COL_CLASS; /* numbers: the largest first */
        table_build(a);
        break;
    case ACT_REVERSE:
        v->desc = !v->desc;
        table_build(a);
        break;
    case ACT_FOLD:
        if (!v->have_coarse) {
            app_set_status(a, ROLE_WARN, "no superclasses: only CIFAR-100 runs with fine labels have them");
            return H_REDRAW;
        }
        v->coarse = !v->coarse;
        v->sel = v->top = 0;
        table_build(a);
        break;
    case ACT_SEARCH: app_search_start(&v->search, v->sel); break;
    case ACT_SEARCH_NEXT: app_search_next(a, &v->search, &v->sel, n, name_at); break;
    default: return H_NONE;
    }
    follow(a);
    return H_REDRAW;
}
