/* plot: the figures that are not lines: a heatmap with its colour bar (the confusion matrix), bars (per-class
 * F1) and a grid of images with captions (test images with their true and predicted class). */
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"

/* Names along one side of a grid of n cells, left (horizontal text) or bottom (turned 90 degrees, reading
 * downwards), every k-th where all would not fit at a readable size. Returns the depth they take in
 * character heights of the default size, for the axis label beyond them. */
/* A name as an axis shows it: at most NAME_CHARS characters, a longer one cut with an ellipsis. */
#define NAME_CHARS 22
static void axis_name(char *buf, size_t size, const char *const *names, int i)
{
    char raw[160];
    if (names)
        plot_text(raw, sizeof raw, names[i]);
    else
        snprintf(raw, sizeof raw, "%d", i);
    /* Count characters, not bytes (UTF-8 continuation bytes are 10xxxxxx). */
    size_t chars = 0, cut = 0;
    for (size_t k = 0; raw[k]; k++)
        if (((unsigned char)raw[k] & 0xc0) != 0x80 && ++chars == NAME_CHARS)
            cut = k;
    if (chars > NAME_CHARS)
        snprintf(buf, size, "%.*s\u2026", (int)cut, raw);
    else
        snprintf(buf, size, "%s", raw);
}

/* How many characters the longest name of n takes on an axis. */
static int longest_name(const char *const *names, int n)
{
    int longest = 0;
    for (int i = 0; i < n; i++) {
        char text[200];
        axis_name(text, sizeof text, names, i);
        int chars = 0;
        for (const char *p = text; *p; p++)
            chars += ((unsigned char)*p & 0xc0) != 0x80;
        longest = chars > longest ? chars : longest;
    }
    return longest;
}

/* The scale of the names on an axis of cells cell_mm apart. */
static double name_scale(double cell_mm) { return cell_mm >= 4.0 ? 0.7 : 0.5; }

/* The share of the page's width (horizontal 1) or height that names of `chars` characters at scale take, with
 * room for the axis label beyond them: the margin a viewport keeps for them. A character is about 0.8 of
 * PLplot's nominal height wide, measured on the cairo and SVG output. */
static double name_margin(int chars, double scale, int horizontal)
{
    PLFLT def, ht, x0, x1, y0, y1;
    plgchr(&def, &ht);
    plgspa(&x0, &x1, &y0, &y1);
    double mm = def * (scale * (0.8 * chars + 1.0) + 3.0);
    double share = mm / (horizontal ? x1 - x0 : y1 - y0);
    return share < 0.1 ? 0.1 : share > 0.45 ? 0.45 : share;
}

/* Names along one side of a grid of n cells, left (horizontal text) or bottom (turned 90 degrees, reading
 * downwards), every k-th where all would not fit at a readable size. Returns the depth they take in
 * character heights of the default size, for the axis label beyond them. */
static double cell_names(const char *const *names, int n, int left, double cell_mm)
{
    /* At 0.5 of PLplot's default size a name is about 2 mm high: below 2.6 mm a cell only every k-th. */
    double scale = name_scale(cell_mm);
    int every = cell_mm >= 2.6 ? 1 : (int)ceil(2.6 / cell_mm);
    plschr(0, scale);
    plcol0(1);
    for (int i = 0; i < n; i += every) {
        char text[200];
        axis_name(text, sizeof text, names, i);
        double pos = (i + 0.5) / n;
        if (left)
            plmtex("lv", 0.5, 1.0 - pos, 1.0, text);
        else
            plmtex("bv", 0.5, pos, 1.0, text);
    }
    plschr(0, 1.0);
    return scale * (0.8 * longest_name(names, n) + 1.0);
}

/* A sequential colour map for cmap1, white to dark blue (like matplotlib's "Blues"). */
static void blues(void)
{
    PLFLT pos[] = {0.0, 0.25, 0.5, 0.75, 1.0};
    PLFLT r[] = {0.97, 0.78, 0.42, 0.13, 0.03};
    PLFLT g[] = {0.98, 0.86, 0.68, 0.44, 0.19};
    PLFLT b[] = {1.00, 0.94, 0.84, 0.71, 0.42};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

/* The title above the viewport, and the axis labels beyond names that take `below` and `left` character
 * heights (as cell_names returns them). */
static void margin_labels(const plot_doc *d, const char *title, const char *xlabel, const char *ylabel, double below,
                          double left)
{
    char t[512], x[256], y[256];
    plot_text(t, sizeof t, plot_title(d, title));
    plot_text(x, sizeof x, xlabel);
    plot_text(y, sizeof y, ylabel);
    plcol0(1);
    plmtex("t", 1.5, 0.5, 0.5, t);
    plmtex("b", below + 1.5, 0.5, 0.5, x);
    plmtex("l", left + 1.0, 0.5, 0.5, y);
}

/* The finite values' range (0..1 when there are none; a flat one widened by 1). */
static void heat_range(const plot_heatmap_spec *h, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (long i = 0; i < (long)h->rows * h->cols; i++)
        if (isfinite(h->values[i])) {
            *lo = fmin(*lo, h->values[i]);
            *hi = fmax(*hi, h->values[i]);
        }
    if (!isfinite(*lo))
        *lo = 0, *hi = 1;
    if (*hi <= *lo)
        *hi = *lo + 1;
}

/* Row 0 at the top. Each cell a filled rectangle in colour map 1 (PLplot's plimage draws small matrices off by
 * a cell); runs of equal cells in a row are one rectangle, so a mostly empty 100 x 100 confusion matrix stays a
 * small SVG. NaN cells are left white. With annotate, each cell's number, white on dark cells. */
static void heat_cells(const plot_heatmap_spec *h, double lo, double hi)
{
    for (int r = 0; r < h->rows; r++) {
        const double *row = h->values + (long)r * h->cols;
        for (int c = 0, end; c < h->cols; c = end) {
            double v = row[c];
            for (end = c + 1; end < h->cols && (row[end] == v || (isnan(v) && isnan(row[end]))); end++)
                ;
            if (isfinite(v)) {
                double y0 = h->rows - 1 - r;
                PLFLT x[] = {c, end, end, c}, y[] = {y0, y0, y0 + 1, y0 + 1};
                plcol1((v - lo) / (hi - lo));
                plfill(4, x, y);
            }
        }
    }
    if (!h->annotate || (long)h->rows * h->cols > 400)
        return;
    plschr(0, h->rows > 12 ? 0.45 : 0.7);
    for (int r = 0; r < h->rows; r++)
        for (int c = 0; c < h->cols; c++) {
            double v = h->values[(long)r * h->cols + c];
            char text[32];
            snprintf(text, sizeof text, h->annotate_format ? h->annotate_format : "%.0f", v);
            plcol0((v - lo) / (hi - lo) > 0.6 ? 0 : 1);
            plptex(c + 0.5, h->rows - 1 - r + 0.5, 1, 0, 0.5, text);
        }
    plschr(0, 1.0);
}

/* The colour scale right of the viewport, lo to hi, titled label. */
static void colour_bar(const char *label, double lo, double hi)
{
    PLFLT w, hgt;
    PLINT label_opts[] = {PL_COLORBAR_LABEL_RIGHT};
    char scale[160];
    plot_text(scale, sizeof scale, label ? label : "");
    const char *labels[] = {scale};
    const char *axis_opts[] = {"bcvtm"};
    PLFLT ticks[] = {0}; /* automatic */
    PLINT sub_ticks[] = {0};
    PLINT n_values[] = {2};
    PLFLT range[] = {lo, hi};
    const PLFLT *values[] = {range};
    plschr(0, 0.7);
    plcolorbar(&w, &hgt, PL_COLORBAR_IMAGE, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT, 0.03,
               0, 0.04, 1.0, 0, 1, 1, 0, 0, 0, 0, 1, label_opts, labels, 1, axis_opts, ticks, sub_ticks, n_values,
               (PLFLT_MATRIX)values);
    plschr(0, 1.0);
}

/* The viewport's size in mm per cell of a rows x cols grid, across (x) and down (y; 0 for no rows). */
static void cell_size(int rows, int cols, double *x_mm, double *y_mm)
{
    PLFLT xmin_mm, xmax_mm, ymin_mm, ymax_mm, vx0, vx1, vy0, vy1;
    plgspa(&xmin_mm, &xmax_mm, &ymin_mm, &ymax_mm);
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    *x_mm = (vx1 - vx0) * (xmax_mm - xmin_mm) / cols;
    *y_mm = rows > 0 ? (vy1 - vy0) * (ymax_mm - ymin_mm) / rows : 0;
}

int plot_heatmap(plot_doc *d, const plot_heatmap_spec *h, vt_err *err)
{
    if (h->rows < 1 || h->cols < 1)
        return vt_fail(err, VT_EINTERNAL, "%s: a heatmap needs cells", d->af.path);
    int rc = plot_page_begin(d, err);
    if (rc != VT_OK)
        return rc;
    double lo, hi;
    heat_range(h, &lo, &hi);
    /* Room on the left and below for the names (as long as they are), on the right for the colour bar. The
     * cells' size is guessed from the page before the viewport exists: a square grid in about 60% of it. */
    PLFLT sx0, sx1, sy0, sy1;
    plgspa(&sx0, &sx1, &sy0, &sy1);
    double guess_mm = 0.6 * (sy1 - sy0) / (h->rows > h->cols ? h->rows : h->cols);
    double left = name_margin(longest_name(h->row_names, h->rows), name_scale(guess_mm), 1);
    double bottom = name_margin(longest_name(h->col_names, h->cols), name_scale(guess_mm), 0);
    plvpas(left, 0.80, bottom, 0.92, (double)h->rows / h->cols);
    plwind(0, h->cols, 0, h->rows);
    blues();
    heat_cells(h, lo, hi);
    plcol0(1);
    plbox("bc", 0, 0, "bc", 0, 0);
    double x_mm, y_mm;
    cell_size(h->rows, h->cols, &x_mm, &y_mm);
    double names_left = cell_names(h->row_names, h->rows, 1, y_mm);
    double below = cell_names(h->col_names, h->cols, 0, x_mm);
    margin_labels(d, h->title, h->xlabel, h->ylabel, below, names_left);
    colour_bar(h->scale_label, lo, hi);
    return plot_page_end(d, err);
}

int plot_bars(plot_doc *d, const plot_bars_spec *b, vt_err *err)
{
    if (b->n < 1)
        return vt_fail(err, VT_EINTERNAL, "%s: no bars", d->af.path);
    int rc = plot_page_begin(d, err);
    if (rc != VT_OK)
        return rc;
    double hi = 0;
    for (int i = 0; i < b->n; i++)
        if (isfinite(b->values[i]))
            hi = fmax(hi, b->values[i]);
    double y0 = isfinite(b->ymin) ? b->ymin : 0, y1 = isfinite(b->ymax) ? b->ymax : (hi > 0 ? hi * 1.05 : 1);
    plvpor(0.1, 0.95, 0.25, 0.9);
    plwind(0, b->n, y0, y1);
    plcol0(2);
    plbox("", 0, 0, "g", 0, 0);
    plot_scratch_colour(b->rgb ? b->rgb : 0x1f77b4);
    for (int i = 0; i < b->n; i++) {
        double v = isfinite(b->values[i]) ? fmin(fmax(b->values[i], y0), y1) : y0;
        PLFLT x[] = {i + 0.1, i + 0.9, i + 0.9, i + 0.1}, y[] = {y0, y0, v, v};
        plcol0(PLOT_SCRATCH);
        plfill(4, x, y);
    }
    plcol0(1);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    double x_mm, y_mm;
    cell_size(0, b->n, &x_mm, &y_mm);
    double below = cell_names(b->names, b->n, 0, x_mm);
    margin_labels(d, b->title, b->xlabel, b->ylabel, below, 3.0);
    return plot_page_end(d, err);
}

/* One image into the current window (0..w, 0..h), a filled square per pixel; runs of one colour in a row are
 * drawn as one rectangle. */
static void draw_pixels(const plot_image *im)
{
    for (int r = 0; r < im->h; r++) {
        int c = 0;
        while (c < im->w) {
            const unsigned char *p = im->pixels + ((size_t)r * im->w + c) * im->c;
            unsigned rgb = im->c >= 3 ? (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2]
                                      : (unsigned)p[0] * 0x010101u;
            int end = c + 1;
            while (end < im->w) {
                const unsigned char *q = im->pixels + ((size_t)r * im->w + end) * im->c;
                unsigned next = im->c >= 3 ? (unsigned)q[0] << 16 | (unsigned)q[1] << 8 | q[2]
                                           : (unsigned)q[0] * 0x010101u;
                if (next != rgb)
                    break;
                end++;
            }
            double y0 = im->h - r - 1, y1 = im->h - r;
            PLFLT x[] = {c, end, end, c}, y[] = {y0, y0, y1, y1};
            plot_scratch_colour(rgb);
            plcol0(PLOT_SCRATCH);
            plfill(4, x, y);
            c = end;
        }
    }
}

int plot_images(plot_doc *d, const char *title, const plot_image *images, int n, int cols, vt_err *err)
{
    if (n < 1 || cols < 1)
        return vt_fail(err, VT_EINTERNAL, "%s: no images", d->af.path);
    int rc = plot_page_begin(d, err);
    if (rc != VT_OK)
        return rc;
    int rows = (n + cols - 1) / cols;
    char t[512];
    plot_text(t, sizeof t, plot_title(d, title));
    plvpor(0.02, 0.98, 0.02, 0.92);
    plwind(0, 1, 0, 1);
    plcol0(1);
    plmtex("t", 1.0, 0.5, 0.5, t);
    /* Each cell: the image, square, in its top part; two caption lines under it. */
    double cw = 0.96 / cols, ch = 0.88 / rows;
    for (int i = 0; i < n; i++) {
        const plot_image *im = &images[i];
        int gr = i / cols, gc = i % cols;
        double x0 = 0.02 + gc * cw, y1 = 0.90 - gr * ch;
        plvpas(x0 + 0.1 * cw, x0 + 0.9 * cw, y1 - 0.75 * ch, y1 - 0.02 * ch, (double)im->h / im->w);
        plwind(0, im->w, 0, im->h);
        draw_pixels(im);
        plcol0(im->wrong ? 3 : 1);
        plwidth(im->wrong ? 3 : 0.5);
        plbox("bc", 0, 0, "bc", 0, 0);
        plwidth(1);
        char line[2][160];
        const char *nl = im->caption ? strchr(im->caption, '\n') : NULL;
        char first[160];
        snprintf(first, sizeof first, "%.*s", nl ? (int)(nl - im->caption) : 159, im->caption ? im->caption : "");
        plot_text(line[0], sizeof line[0], first);
        plot_text(line[1], sizeof line[1], nl ? nl + 1 : "");
        plschr(0, cols > 6 ? 0.45 : 0.6);
        plmtex("b", 1.2, 0.5, 0.5, line[0]);
        plmtex("b", 2.4, 0.5, 0.5, line[1]);
        plschr(0, 1.0);
    }
    return plot_page_end(d, err);
}
