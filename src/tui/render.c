/* tui/render: the pure renderers: line charts (braille or ASCII markers), the confusion heatmap, tables,
 * images in half blocks, the Keras progress line and text blocks. Each draws into a tui_grid only. */
#include "vggtop/tui.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char tui_density_ramp[11] = " .:-=+*#%@";

/* ---- line chart --------------------------------------------------------------------------------------- */

static double series_x(const tui_series *s, int i) { return s->x ? s->x[i] : (double)(i + 1); }

/* Braille dot bits: column 0 rows 0..3, then column 1 rows 0..3 (Unicode's dot order 1,2,3,7 / 4,5,6,8). */
static const uint8_t braille_bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

typedef struct plot_area {
    tui_grid *g;
    int top, left, h, w; /* in cells */
    int utf8;
    int overlap;         /* mark cells two series share */
    int overlaps;        /* how many were marked */
} plot_area;

#define OVERLAP_ROLE ROLE_VALUE
#define OVERLAP_MARK '&'

/* Whether drawing series s into cell c meets another series there (a cell already marked stays marked). */
static int meets_other(const plot_area *p, const tui_cell *c, const tui_series *s)
{
    if (!p->overlap || c->ch == ' ' || c->ch == 0)
        return 0;
    if (c->role == OVERLAP_ROLE && (c->ch == OVERLAP_MARK || (c->ch >= 0x2800 && c->ch <= 0x28ff)))
        return 1;
    if (!p->utf8) /* ASCII: the plot holds only markers; another series' marker, or the same in another role */
        return c->ch != (uint32_t)(unsigned char)s->marker || c->role != s->role;
    return c->role >= ROLE_SERIES0 && c->role <= ROLE_SERIES7 && c->role != s->role;
}

/* Sets one point in plot units: dots (w*2 x h*4) in UTF-8 mode, cells otherwise. */
static void plot_point(plot_area *p, int px, int py, const tui_series *s)
{
    if (p->utf8) {
        int cx = px / 2, cy = py / 4;
        tui_cell *c = tui_grid_at(p->g, p->top + cy, p->left + cx);
        if (!c || cx >= p->w || cy >= p->h || px < 0 || py < 0)
            return;
        uint32_t bits = (c->ch >= 0x2800 && c->ch <= 0x28ff) ? c->ch - 0x2800 : 0;
        int both = meets_other(p, c, s);
        bits |= braille_bit[px % 2][py % 4];
        p->overlaps += both && c->role != OVERLAP_ROLE;
        *c = (tui_cell){0x2800 + bits, (uint8_t)(both ? OVERLAP_ROLE : s->role), both ? TUI_BOLD : 0, -1, -1};
    } else {
        if (px < 0 || py < 0 || px >= p->w || py >= p->h)
            return;
        tui_cell *c = tui_grid_at(p->g, p->top + py, p->left + px);
        if (c && meets_other(p, c, s)) {
            p->overlaps += c->role != OVERLAP_ROLE;
            tui_grid_put(p->g, p->top + py, p->left + px, OVERLAP_MARK, OVERLAP_ROLE, TUI_BOLD);
            return;
        }
        tui_grid_put(p->g, p->top + py, p->left + px, (uint32_t)(unsigned char)s->marker, s->role, 0);
    }
}

/* Bresenham between two points, inclusive. */
static void plot_line(plot_area *p, int x0, int y0, int x1, int y1, const tui_series *s)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        plot_point(p, x0, y0, s);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

/* A data value's position in plot units (n of them): x from the left, y (flip) from the top. */
static int to_unit(double v, double lo, double hi, int n, int flip)
{
    if (!(hi > lo))
        return 0;
    double f = (v - lo) / (hi - lo);
    return (int)lround((flip ? 1 - f : f) * (n - 1));
}

/* Liang-Barsky: clips the segment to box = {xmin, xmax, ymin, ymax}; 0 when nothing of it is inside. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, const double box[4])
{
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {*x0 - box[0], box[1] - *x0, *y0 - box[2], box[3] - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return 0;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0) {
            if (t > t1)
                return 0;
            if (t > t0)
                t0 = t;
        } else {
            if (t < t0)
                return 0;
            if (t < t1)
                t1 = t;
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy;
    *x1 = *x0 + t1 * dx;
    *y1 = *y0 + t1 * dy;
    *x0 = ax;
    *y0 = ay;
    return 1;
}

static void fmt_axis(char *buf, size_t size, double v, int decimals)
{
    snprintf(buf, size, "%.*f", decimals, v);
    if (strcmp(buf, "-0") == 0 || strncmp(buf, "-0.", 3) == 0) {
        /* "-0.00" is a rounding artefact: show "0.00" */
        int zero = 1;
        for (const char *q = buf + 1; *q; q++)
            zero &= *q == '0' || *q == '.';
        if (zero)
            memmove(buf, buf + 1, strlen(buf));
    }
}

/* Whether len cells of a row from col are blank (and inside the grid). */
static int span_free(tui_grid *g, int row, int col, int len)
{
    for (int i = 0; i < len; i++) {
        tui_cell *c = tui_grid_at(g, row, col + i);
        if (!c || c->ch != ' ')
            return 0;
    }
    return 1;
}

/* Where a chart's parts go in its rect: the plot's first row and size (ph x pw cells), the y labels' width,
 * the axis column, the x labels' row, and the data box shown, {xmin, xmax, ymin, ymax}. */
typedef struct chart_layout {
    int row, ph, pw, lw, axis_col, plot_left, lrow;
    double box[4];
} chart_layout;

/* The box: the fixed bounds, or the data's (finite points only; none: 0..1), a single y value padded. */
static void chart_box(const tui_chart *c, double box[4])
{
    box[0] = c->xmin, box[1] = c->xmax, box[2] = c->ymin, box[3] = c->ymax;
    if (!c->fixed_x || !c->fixed_y) {
        double ax = INFINITY, bx = -INFINITY, ay = INFINITY, by = -INFINITY;
        for (int k = 0; k < c->n_series; k++)
            for (int i = 0; i < c->series[k].n; i++) {
                double x = series_x(&c->series[k], i), y = c->series[k].y[i];
                if (!isfinite(x) || !isfinite(y))
                    continue;
                ax = fmin(ax, x);
                bx = fmax(bx, x);
                ay = fmin(ay, y);
                by = fmax(by, y);
            }
        if (!isfinite(ax)) {
            ax = ay = 0;
            bx = by = 1;
        }
        if (!c->fixed_x)
            box[0] = ax, box[1] = bx;
        if (!c->fixed_y)
            box[2] = ay, box[3] = by;
    }
    if (box[3] - box[2] < 1e-12) {
        /* one value (a single epoch): centre it, with a margin in proportion to it */
        double pad = fabs(box[3]) > 1e-12 ? fabs(box[3]) * 0.1 : 0.5;
        box[2] -= pad;
        box[3] += pad;
    }
}

/* y labels: top, bottom and (tall enough) middle row, right-aligned in the widest label's width; then the axes.
 * Fills l's columns; 0 when the plot has no room. */
static int chart_y_axis(tui_grid *g, tui_rect r, const tui_chart *c, int utf8, chart_layout *l)
{
    char top_l[32], bot_l[32], mid_l[32];
    double ymin = l->box[2], ymax = l->box[3];
    /* As many digits as tell the labels apart (a val_mse axis of 0.00985..0.00994 read 0.0099 at top and
     * bottom), from the chart's own; at most 8 more. */
    for (int d = c->y_decimals; d <= c->y_decimals + 8; d++) {
        fmt_axis(top_l, sizeof top_l, ymax, d);
        fmt_axis(bot_l, sizeof bot_l, ymin, d);
        fmt_axis(mid_l, sizeof mid_l, (ymin + ymax) / 2, d);
        if (strcmp(top_l, bot_l) != 0 && (l->ph < 5 || (strcmp(mid_l, top_l) != 0 && strcmp(mid_l, bot_l) != 0)))
            break;
    }
    int lw = (int)strlen(top_l), ph = l->ph, row = l->row;
    if ((int)strlen(bot_l) > lw)
        lw = (int)strlen(bot_l);
    if (ph >= 5 && (int)strlen(mid_l) > lw)
        lw = (int)strlen(mid_l);
    int pw = r.width - lw - 1;
    if (pw < 2)
        return 0;
    l->lw = lw;
    l->pw = pw;
    l->axis_col = r.left + lw;
    l->plot_left = l->axis_col + 1;
    l->lrow = row + ph + 1;
    tui_grid_printf(g, row, r.left, lw, ROLE_LABEL, 0, "%*s", lw, top_l);
    tui_grid_printf(g, row + ph - 1, r.left, lw, ROLE_LABEL, 0, "%*s", lw, bot_l);
    if (ph >= 5)
        tui_grid_printf(g, row + (ph - 1) / 2, r.left, lw, ROLE_LABEL, 0, "%*s", lw, mid_l);
    for (int y = 0; y < ph; y++)
        tui_grid_put(g, row + y, l->axis_col, utf8 ? 0x2502 : '|', ROLE_FRAME, 0);
    tui_grid_put(g, row + ph, l->axis_col, utf8 ? 0x2514 : '+', ROLE_FRAME, 0);
    for (int x = 0; x < pw; x++)
        tui_grid_put(g, row + ph, l->plot_left + x, utf8 ? 0x2500 : '-', ROLE_FRAME, 0);
    return 1;
}

/* With x_ticks, a label (and a tick on the axis) at every whole x whose place is free, between the first
 * label (ending at last_end) and the last (from right_at). */
static void chart_x_ticks(tui_grid *g, const chart_layout *l, int utf8, int last_end, int right_at, int widest)
{
    double xmin = l->box[0], xmax = l->box[1];
    /* The step: 1, 2, 5, 10, 20, 50, ... whole x, the smallest that leaves a free column between two. */
    double cols_per_x = (double)(l->pw - 1) / (xmax - xmin), step = 1;
    for (int k = 0; k < 30 && step * cols_per_x < widest + 1; k++)
        step *= k % 3 == 1 ? 2.5 : 2;
    for (double v = ceil(xmin / step) * step; v < xmax; v += step) {
        char t[32];
        snprintf(t, sizeof t, "%g", v);
        int at = l->plot_left + to_unit(v, xmin, xmax, l->pw, 0), col = at - (int)strlen(t) / 2;
        if (v <= xmin || col <= last_end || col + (int)strlen(t) >= right_at)
            continue;
        tui_grid_text(g, l->lrow, col, -1, ROLE_LABEL, 0, t);
        tui_grid_put(g, l->row + l->ph, at, utf8 ? 0x252c : '+', ROLE_FRAME, 0);
        last_end = col + (int)strlen(t);
    }
}

/* x labels under the axis: the first at the left, the last right-aligned at the right (and the ticks between);
 * one x alone (a one-epoch chart, with x_ticks) in the middle, under its point, the box widened around it. */
static void chart_x_labels(tui_grid *g, const tui_chart *c, int utf8, chart_layout *l)
{
    char xl[32], xr[32];
    int pw = l->pw, plot_left = l->plot_left, lrow = l->lrow;
    if (c->x_ticks && !(l->box[1] > l->box[0])) {
        double v = l->box[0];
        l->box[0] = v - 1;
        l->box[1] = v + 1;
        snprintf(xl, sizeof xl, "%g", v);
        int at = plot_left + to_unit(v, l->box[0], l->box[1], pw, 0), col = at - (int)strlen(xl) / 2;
        tui_grid_text(g, lrow, col > plot_left ? col : plot_left, pw, ROLE_LABEL, 0, xl);
        tui_grid_put(g, l->row + l->ph, at, utf8 ? 0x252c : '+', ROLE_FRAME, 0);
        return;
    }
    snprintf(xl, sizeof xl, "%g", l->box[0]);
    snprintf(xr, sizeof xr, "%g", l->box[1]);
    tui_grid_text(g, lrow, plot_left, pw, ROLE_LABEL, 0, xl);
    int right_at = plot_left + pw - (int)strlen(xr);
    if (l->box[1] != l->box[0] && (int)(strlen(xl) + strlen(xr)) < pw)
        tui_grid_text(g, lrow, right_at, -1, ROLE_LABEL, 0, xr);
    if (c->x_ticks) {
        int widest = (int)strlen(xr) > (int)strlen(xl) ? (int)strlen(xr) : (int)strlen(xl);
        chart_x_ticks(g, l, utf8, plot_left + (int)strlen(xl), right_at, widest);
    }
}

/* Each series' points and the segments between them (a NaN is a gap), clipped to the box. */
static void chart_series(plot_area *p, const tui_chart *c, const double box[4])
{
    int ux = p->utf8 ? p->w * 2 : p->w, uy = p->utf8 ? p->h * 4 : p->h; /* plot units */
    double xmin = box[0], xmax = box[1], ymin = box[2], ymax = box[3];
    for (int k = 0; k < c->n_series; k++) {
        const tui_series *s = &c->series[k];
        int have = 0;
        double lx = 0, ly = 0; /* the previous point, in data units */
        for (int i = 0; i < s->n; i++) {
            double x = series_x(s, i), y = s->y[i];
            if (!isfinite(x) || !isfinite(y)) {
                have = 0;
                continue;
            }
            if (have) {
                /* the segment from the previous point, clipped to the visible box (a zoom cuts curves) */
                double x0 = lx, y0 = ly, x1 = x, y1 = y;
                if (clip_segment(&x0, &y0, &x1, &y1, box))
                    plot_line(p, to_unit(x0, xmin, xmax, ux, 0), to_unit(y0, ymin, ymax, uy, 1),
                              to_unit(x1, xmin, xmax, ux, 0), to_unit(y1, ymin, ymax, uy, 1), s);
            } else if (x >= xmin && x <= xmax && y >= ymin && y <= ymax) {
                plot_point(p, to_unit(x, xmin, xmax, ux, 0), to_unit(y, ymin, ymax, uy, 1), s);
            }
            have = 1;
            lx = x;
            ly = y;
        }
    }
}

/* The legend row: each named series' marker and name, and "both" when two series met; returns its end. */
static int chart_legend(tui_grid *g, tui_rect r, const tui_chart *c, int utf8, int ly, int overlaps)
{
    int x = r.left;
    for (int k = 0; k < c->n_series && x < r.left + r.width; k++) {
        const tui_series *s = &c->series[k];
        if (!s->name)
            continue;
        tui_grid_put(g, ly, x, utf8 ? 0x25a0 : (uint32_t)(unsigned char)s->marker, s->role, 0);
        x += 2;
        x += tui_grid_text(g, ly, x, r.left + r.width - x, ROLE_DEFAULT, 0, s->name);
        x += 2;
    }
    if (overlaps && x + 6 <= r.left + r.width) {
        tui_grid_put(g, ly, x, utf8 ? 0x25a0 : OVERLAP_MARK, OVERLAP_ROLE, TUI_BOLD);
        x += 2 + tui_grid_text(g, ly, x + 2, r.left + r.width - x - 2, ROLE_DEFAULT, 0, "both");
    }
    return x;
}

void tui_chart_draw(tui_grid *g, tui_rect r, const tui_chart *c, int utf8)
{
    tui_grid_fill(g, r, ' ', ROLE_DEFAULT, 0);
    chart_layout l = {.row = r.top};
    if (c->title) {
        tui_grid_text(g, l.row, r.left, r.width, ROLE_TITLE, TUI_BOLD, c->title);
        l.row++;
    }
    l.ph = r.top + r.height - l.row - 2 - (c->legend ? 1 : 0);
    if (l.ph < 1 || r.width < 8)
        return;
    chart_box(c, l.box);
    if (!chart_y_axis(g, r, c, utf8, &l))
        return;
    chart_x_labels(g, c, utf8, &l);
    plot_area p = {g, l.row, l.plot_left, l.ph, l.pw, utf8, c->overlap, 0};
    chart_series(&p, c, l.box);
    int legend_end = c->legend ? chart_legend(g, r, c, utf8, l.row + l.ph + 2, p.overlaps) : r.left;
    /* The x axis' title: centred on the label row when that is free, else at the legend row's right end. */
    if (c->x_title) {
        int len = (int)strlen(c->x_title), at = l.plot_left + (l.pw - len) / 2;
        if (span_free(g, l.lrow, at - 1, len + 2))
            tui_grid_text(g, l.lrow, at, len, ROLE_DIM, 0, c->x_title);
        else if (c->legend && r.left + r.width - len - 1 >= legend_end)
            tui_grid_text(g, l.row + l.ph + 2, r.left + r.width - len, len, ROLE_DIM, 0, c->x_title);
    }
}

/* ---- heatmap ---------------------------------------------------------------------------------------- */

int tui_heat_level(double v, double vmax)
{
    if (!(v > 0) || !(vmax > 0))
        return 0;
    double l = 1 + floor(9 * v / vmax);
    return l > 9 ? 9 : (int)l;
}

void tui_heatmap_draw(tui_grid *g, tui_rect r, const tui_heatmap *h, tui_color_depth depth, int *vis_rows,
                      int *vis_cols)
{
    tui_grid_fill(g, r, ' ', ROLE_DEFAULT, 0);
    double vmax = h->vmax;
    if (!(vmax > 0)) {
        vmax = 0;
        for (long i = 0; i < (long)h->rows * h->cols; i++)
            if ((h->diverging ? fabs(h->v[i]) : h->v[i]) > vmax)
                vmax = h->diverging ? fabs(h->v[i]) : h->v[i];
    }
    int lw = h->row_labels && h->label_width > 0 ? h->label_width + 1 : 0;
    int cw = h->cell_width > 1 ? h->cell_width : 1;
    int vr = h->rows - h->row0, vc = h->cols - h->col0;
    if (vr > r.height)
        vr = r.height;
    if (vc > (r.width - lw) / cw)
        vc = (r.width - lw) / cw;
    if (vr < 0)
        vr = 0;
    if (vc < 0)
        vc = 0;
    for (int i = 0; i < vr; i++) {
        int mr = h->row0 + i, y = r.top + i;
        if (lw)
            tui_grid_text(g, y, r.left, lw - 1, mr == h->cursor_row ? ROLE_CURSOR : ROLE_LABEL, 0,
                          h->row_labels[mr]);
        for (int j = 0; j < vc; j++) {
            int mc = h->col0 + j;
            double v = h->v[(long)mr * h->cols + mc];
            int level = tui_heat_level(h->diverging ? fabs(v) : v, vmax), role = ROLE_HEAT0 + level;
            uint32_t ch = depth == TUI_COLOR_256 ? ' ' : (uint32_t)tui_density_ramp[level];
            if (h->diverging && level > 0) { /* levels 1-3, 4-6, 7-9 of |v| */
                role = (v > 0 ? ROLE_ABOVE1 : ROLE_BELOW1) + (level - 1) / 3;
                ch = depth == TUI_COLOR_256 ? ' ' : v > 0 ? '+' : '-';
            }
            int attr = (mr == h->cursor_row && mc == h->cursor_col) ? TUI_REVERSE : 0;
            int x = r.left + lw + j * cw;
            for (int k = 0; k < cw; k++)
                tui_grid_put(g, y, x + k, ch, role, attr);
            if (h->show_values) {
                /* the level's glyph stays in the first column (without 256 colours it is the only cue), the
                 * number is right-aligned after at least one space; zeros stay blank, as empty cells */
                char num[32];
                int n = snprintf(num, sizeof num, h->diverging ? "%+.0f" : "%.0f", h->percent ? v * 100 : v);
                int room = depth == TUI_COLOR_256 ? cw - 1 : cw - 2;
                for (int k = depth == TUI_COLOR_256 ? 0 : 1; k < cw; k++)
                    tui_grid_put(g, y, x + k, ' ', role, attr);
                if (level > 0 && n <= room)
                    tui_grid_text(g, y, x + cw - n, n, role, attr, num);
            }
        }
    }
    if (vis_rows)
        *vis_rows = vr;
    if (vis_cols)
        *vis_cols = vc;
}

void tui_heatmap_follow(tui_heatmap *h, int vis_rows, int vis_cols)
{
    if (h->cursor_row >= 0 && vis_rows > 0) {
        if (h->cursor_row < h->row0)
            h->row0 = h->cursor_row;
        if (h->cursor_row >= h->row0 + vis_rows)
            h->row0 = h->cursor_row - vis_rows + 1;
    }
    if (h->cursor_col >= 0 && vis_cols > 0) {
        if (h->cursor_col < h->col0)
            h->col0 = h->cursor_col;
        if (h->cursor_col >= h->col0 + vis_cols)
            h->col0 = h->cursor_col - vis_cols + 1;
    }
    if (h->row0 < 0)
        h->row0 = 0;
    if (h->col0 < 0)
        h->col0 = 0;
}

/* ---- table ----------------------------------------------------------------------------------------- */

/* Writes text aligned in width columns (truncated when longer). */
static void cell_text(tui_grid *g, int y, int x, int width, int right, int role, int attr, const char *text)
{
    int n = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++)
        n += (*s & 0xc0) != 0x80;
    int pad = right && n < width ? width - n : 0;
    tui_grid_text(g, y, x + pad, width - pad, role, attr, text);
}

static void table_row(tui_grid *g, tui_rect r, int y, const tui_table *t, const char *const *cells, int role)
{
    if (role != ROLE_DEFAULT)
        tui_grid_fill(g, (tui_rect){y, r.left, 1, r.width}, ' ', role, 0);
    int x = r.left;
    for (int c = 0; c < t->n_cols && x < r.left + r.width; c++) {
        int w = t->cols[c].width;
        if (x + w > r.left + r.width)
            w = r.left + r.width - x;
        cell_text(g, y, x, w, t->cols[c].align_right, role, 0, cells[c] ? cells[c] : "");
        x += t->cols[c].width + 1;
    }
}

int tui_table_draw(tui_grid *g, tui_rect r, const tui_table *t, int utf8)
{
    tui_grid_fill(g, r, ' ', ROLE_DEFAULT, 0);
    if (r.height < 1)
        return 0;
    tui_grid_fill(g, (tui_rect){r.top, r.left, 1, r.width}, ' ', ROLE_HEADER, 0);
    int x = r.left;
    for (int c = 0; c < t->n_cols && x < r.left + r.width; c++) {
        int w = t->cols[c].width;
        char title[128];
        const char *mark = "";
        if (c == t->sort_col)
            mark = utf8 ? (t->sort_desc ? "\u25bc" : "\u25b2") : (t->sort_desc ? "v" : "^");
        /* A title that fills its column keeps its marker in the gap before it ("precision" in 9 columns
         * used to lose its ▼); only the first column, with no gap, cuts the title for it. */
        int gap_mark = mark[0] && c > 0 && (int)strlen(t->cols[c].title) + 1 > w;
        snprintf(title, sizeof title, "%s%s", t->cols[c].title, gap_mark ? "" : mark);
        if (x + w > r.left + r.width)
            w = r.left + r.width - x;
        cell_text(g, r.top, x, w, t->cols[c].align_right, ROLE_HEADER, 0, title);
        if (gap_mark)
            tui_grid_text(g, r.top, x - 1, 1, ROLE_HEADER, TUI_BOLD, mark);
        x += t->cols[c].width + 1;
    }
    int pinned_rows = t->n_pinned > 0 ? t->n_pinned + 1 : 0;
    int visible = r.height - 1 - pinned_rows;
    if (visible < 0)
        visible = 0;
    for (int i = 0; i < visible && t->top + i < t->n_rows; i++) {
        int row = t->top + i;
        int role = row == t->selected ? ROLE_SELECT : t->row_roles ? t->row_roles[row] : ROLE_DEFAULT;
        table_row(g, r, r.top + 1 + i, t, t->cells + (long)row * t->n_cols, role);
    }
    if (pinned_rows && r.height > 1 + visible) {
        int y = r.top + 1 + visible;
        for (int xx = 0; xx < r.width; xx++)
            tui_grid_put(g, y, r.left + xx, utf8 ? 0x2500 : '-', ROLE_FRAME, 0);
        for (int p = 0; p < t->n_pinned && y + 1 + p < r.top + r.height; p++)
            table_row(g, r, y + 1 + p, t, t->pinned + (long)p * t->n_cols, ROLE_DEFAULT);
    }
    return visible;
}

void tui_table_follow(tui_table *t, int visible)
{
    if (t->n_rows <= 0) {
        t->selected = -1;
        t->top = 0;
        return;
    }
    if (t->selected >= t->n_rows)
        t->selected = t->n_rows - 1;
    if (t->selected < 0)
        t->selected = 0;
    if (visible < 1)
        visible = 1;
    if (t->selected < t->top)
        t->top = t->selected;
    if (t->selected >= t->top + visible)
        t->top = t->selected - visible + 1;
    if (t->top > t->n_rows - visible)
        t->top = t->n_rows - visible;
    if (t->top < 0)
        t->top = 0;
}

/* ---- images ------------------------------------------------------------------------------------------ */

static int cube_level(int v) { return v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40; }

int tui_rgb_to_256(int r, int g, int b)
{
    static const int steps[6] = {0, 95, 135, 175, 215, 255};
    int cr = cube_level(r), cg = cube_level(g), cb = cube_level(b);
    int dr = steps[cr] - r, dg = steps[cg] - g, db = steps[cb] - b;
    long cube_d = (long)dr * dr + (long)dg * dg + (long)db * db;
    /* grey ramp 232..255 is 8, 18, ..., 238 */
    int mean = (r + g + b) / 3;
    int gi = mean < 8 ? 0 : (mean - 8 + 5) / 10;
    if (gi > 23)
        gi = 23;
    int gv = 8 + 10 * gi;
    long grey_d = (long)(gv - r) * (gv - r) + (long)(gv - g) * (gv - g) + (long)(gv - b) * (gv - b);
    if (grey_d < cube_d)
        return 232 + gi;
    return 16 + 36 * cr + 6 * cg + cb;
}

static void pixel_rgb(const uint8_t *img, int w, int ch, int y, int x, int *r, int *g, int *b)
{
    const uint8_t *p = img + ((long)y * w + x) * ch;
    *r = p[0];
    *g = ch >= 3 ? p[1] : p[0];
    *b = ch >= 3 ? p[2] : p[0];
}

static int grey_of(int r, int g, int b) { return (299 * r + 587 * g + 114 * b + 500) / 1000; }

void tui_image_draw(tui_grid *g, int top, int left, const uint8_t *img, int h, int w, int channels, int scale,
                    tui_color_depth depth, int utf8)
{
    if (scale < 1)
        scale = 1;
    int half_rows = h * scale, cols = w * scale;
    for (int cy = 0; cy * 2 < half_rows; cy++)
        for (int cx = 0; cx < cols; cx++) {
            int px = cx / scale, y0 = (cy * 2) / scale;
            int has_low = cy * 2 + 1 < half_rows;
            int y1 = has_low ? (cy * 2 + 1) / scale : y0;
            int r0, g0, b0, r1, g1, b1;
            pixel_rgb(img, w, channels, y0, px, &r0, &g0, &b0);
            pixel_rgb(img, w, channels, y1, px, &r1, &g1, &b1);
            tui_cell *c = tui_grid_at(g, top + cy, left + cx);
            if (!c)
                continue;
            if (depth == TUI_COLOR_256 && utf8) {
                *c = (tui_cell){0x2580, ROLE_DEFAULT, 0, (int16_t)tui_rgb_to_256(r0, g0, b0),
                                has_low ? (int16_t)tui_rgb_to_256(r1, g1, b1) : -1};
            } else if (depth == TUI_COLOR_256) {
                *c = (tui_cell){' ', ROLE_DEFAULT, 0, -1,
                                (int16_t)tui_rgb_to_256((r0 + r1) / 2, (g0 + g1) / 2, (b0 + b1) / 2)};
            } else {
                int grey = (grey_of(r0, g0, b0) + grey_of(r1, g1, b1)) / 2;
                *c = (tui_cell){(uint32_t)tui_density_ramp[grey * 10 / 256], ROLE_DEFAULT, 0, -1, -1};
            }
        }
}

/* ---- Keras progress line --------------------------------------------------------------------------- */

char *tui_progress_text(char *buf, size_t size, long current, long target, int bar_width, double elapsed,
                        double eta)
{
    int n = vt_fmt_progbar(buf, size, current, target, bar_width);
    char t[32];
    if (current < target)
        snprintf(buf + n, size - (size_t)n, " - ETA: %s", vt_fmt_eta(t, sizeof t, eta));
    else
        snprintf(buf + n, size - (size_t)n, " - %.0fs %s", elapsed,
                 vt_fmt_per_unit(t, sizeof t, current > 0 ? elapsed / (double)current : 0, "step"));
    return buf;
}

/* ---- text -------------------------------------------------------------------------------------------- */

int tui_text_draw(tui_grid *g, tui_rect r, const char *text, int first, int role)
{
    int line = 0;
    const char *p = text ? text : "";
    while (*p || line == 0) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int y = line - first;
        if (y >= 0 && y < r.height) {
            char buf[1024];
            if (len >= sizeof buf)
                len = sizeof buf - 1;
            memcpy(buf, p, len);
            buf[len] = '\0';
            tui_grid_text(g, r.top + y, r.left, r.width, role, 0, buf);
        }
        line++;
        if (!e)
            break;
        p = e + 1;
    }
    return line;
}
