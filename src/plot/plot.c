/* plot: the document (one file, through a temporary file and a rename), the page set-up every figure
 * shares (colours, fonts, axes, legend) and the line figure. PLplot's state is global, so one document is
 * open at a time (doc_lock, held from plot_open to plot_close or plot_abort).
 *
 * Colour map 0 (PLplot's indexed colours): 0 the white background, 1 black (frames, text), 2 the grid's
 * light grey, 3 red (wrong answers), 4 a scratch colour (pixels, bars), and from PLOT_SERIES0 one entry
 * per series of a page, set as the page is drawn. */
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot_internal.h"

const char *const plot_format_names[] = {"png", "svg", "pdf", NULL};
/* PLplot's device for each format: cairo for the raster and PDF, PLplot's own SVG driver (text as text). */
static const char *const devices[] = {"pngcairo", "svg", "pdfcairo"};

static pthread_mutex_t doc_lock = PTHREAD_MUTEX_INITIALIZER;

/* matplotlib's ten colours ("tab10"), the cycle for series without a colour of their own. */
static const unsigned cycle[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

void plot_opts_default(plot_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = PLOT_PNG;
    o->width_in = 8;
    o->height_in = 6;
    o->dpi = 150;
}

int plot_format_parse(const char *flag, const char *value, plot_format *out, vt_err *err)
{
    for (int i = 0; plot_format_names[i]; i++)
        if (strcmp(value, plot_format_names[i]) == 0) {
            *out = (plot_format)i;
            return VT_OK;
        }
    char shown[64];
    plot_text_shown(shown, sizeof shown, value);
    return vt_fail(err, VT_EUSAGE, "%s: '%s' is not a format: png, svg or pdf", flag, shown);
}

int plot_size_parse(const char *flag, const char *value, plot_opts *o, vt_err *err)
{
    char shown[64];
    plot_text_shown(shown, sizeof shown, value);
    const char *x = strchr(value, 'x');
    char w[32];
    double wv, hv;
    if (!x || (size_t)(x - value) >= sizeof w)
        return vt_fail(err, VT_EUSAGE, "%s: '%s' is not a size WIDTHxHEIGHT in inches (e.g. 8x6)", flag, shown);
    memcpy(w, value, (size_t)(x - value));
    w[x - value] = '\0';
    if (vt_parse_double(w, 1, 100, &wv) != 0 || vt_parse_double(x + 1, 1, 100, &hv) != 0)
        return vt_fail(err, VT_EUSAGE, "%s: '%s' is not a size WIDTHxHEIGHT in inches, each side 1 to 100 (e.g. 8x6)",
                       flag, shown);
    o->width_in = wv;
    o->height_in = hv;
    return VT_OK;
}

void plot_pixels(const plot_opts *o, int *width, int *height)
{
    *width = (int)lround(o->width_in * o->dpi);
    *height = (int)lround(o->height_in * o->dpi);
}

void plot_text(char *buf, size_t size, const char *s)
{
    size_t j = 0;
    if (size == 0)
        return;
    for (; s && *s && j + 1 < size; s++) {
        if (*s == '#') {
            if (j + 2 >= size)
                break;
            buf[j++] = '#';
        }
        buf[j++] = *s;
    }
    buf[j] = '\0';
}

/* For messages: at most size - 1 bytes of a user's value, non-printable bytes as '?'. */
void plot_text_shown(char *buf, size_t size, const char *s)
{
    snprintf(buf, size, "%s", s ? s : "");
    vt_scrub_text(buf);
}

/* ---- the document ------------------------------------------------------------------------------------- */

static int device_installed(const char *name)
{
    const char **menu = NULL, **devs = NULL;
    int n = 64;
    menu = calloc((size_t)n, sizeof *menu);
    devs = calloc((size_t)n, sizeof *devs);
    int found = 0;
    if (menu && devs) {
        plgDevs(&menu, &devs, &n);
        for (int i = 0; i < n; i++)
            if (devs[i] && strcmp(devs[i], name) == 0)
                found = 1;
    }
    free(menu);
    free(devs);
    return found;
}

/* plabort's messages (a PLplot call refused) are kept for the caller instead of going to stderr. */
static char abort_msg[256];
static void on_abort(PLCHAR_VECTOR msg) { snprintf(abort_msg, sizeof abort_msg, "%s", msg ? msg : "?"); }

static void set_colour(int index, unsigned rgb)
{
    plscol0(index, (int)(rgb >> 16 & 255), (int)(rgb >> 8 & 255), (int)(rgb & 255));
}

int plot_open(plot_doc **out, const char *path, const plot_opts *o, vt_err *err)
{
    *out = NULL;
    if (o->format < PLOT_PNG || o->format > PLOT_PDF || !(o->width_in >= 1 && o->width_in <= 100) ||
        !(o->height_in >= 1 && o->height_in <= 100) || o->dpi < 10 || o->dpi > 2400)
        return vt_fail(err, VT_EUSAGE, "%s: a figure of %gx%g inches at %d dpi cannot be drawn", path, o->width_in,
                       o->height_in, o->dpi);
    int pw, ph;
    plot_pixels(o, &pw, &ph);
    if (o->format == PLOT_PNG && (pw > PLOT_MAX_PIXELS || ph > PLOT_MAX_PIXELS))
        return vt_fail(err, VT_EUSAGE, "%s: %dx%d pixels is larger than %d a side: lower --dpi or --size", path, pw, ph,
                       PLOT_MAX_PIXELS);
    plot_doc *d = calloc(1, sizeof *d);
    if (!d)
        return vt_fail(err, VT_EIO, "%s: out of memory", path);
    pthread_mutex_lock(&doc_lock);
    if (!device_installed(devices[o->format])) {
        pthread_mutex_unlock(&doc_lock);
        free(d);
        return vt_fail(err, VT_EUSAGE, "%s: PLplot's %s driver is not installed (Debian: %s)", path,
                       devices[o->format], o->format == PLOT_SVG ? "libplplot17" : "plplot-driver-cairo");
    }
    int rc = vt_afile_open(&d->af, path, err);
    if (rc != VT_OK) {
        pthread_mutex_unlock(&doc_lock);
        free(d);
        /* A place the user named that cannot take the file (missing, read-only, not a folder): a usage error. */
        if (err)
            err->code = VT_EUSAGE;
        return VT_EUSAGE;
    }
    /* PLplot closes the stream it is given at plend, so it gets its own descriptor of the temporary file;
     * vt_afile_commit then fsyncs and renames through ours. */
    int fd = dup(fileno(d->af.f));
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        vt_afile_abort(&d->af);
        pthread_mutex_unlock(&doc_lock);
        free(d);
        return vt_fail(err, VT_EIO, "%s: %s", path, strerror(errno));
    }
    d->opts = *o;
    d->opts.title = NULL;
    abort_msg[0] = '\0';
    plsabort(on_abort);
    plsdev(devices[o->format]);
    plsfile(f);
    if (o->format == PLOT_PNG)
        plspage(o->dpi, o->dpi, pw, ph, 0, 0);
    else /* points: 72 to the inch */
        plspage(72, 72, (int)lround(o->width_in * 72), (int)lround(o->height_in * 72), 0, 0);
    plscmap0n(PLOT_SERIES0 + PLOT_MAX_SERIES);
    set_colour(0, 0xffffff);
    set_colour(1, 0x000000);
    set_colour(2, 0xdddddd);
    set_colour(3, 0xd62728);
    plsetopt("np", ""); /* no pause between pages */
    plinit();
    plfontld(1);
    d->title_override = o->title;
    *out = d;
    return VT_OK;
}

int plot_pages(const plot_doc *d) { return d->pages; }

int plot_close(plot_doc *d, vt_err *err)
{
    plend();
    int rc = VT_OK;
    if (d->pages == 0) {
        vt_afile_abort(&d->af);
        rc = vt_fail(err, VT_EINTERNAL, "%s: no figure was drawn", d->af.path);
    } else {
        rc = vt_afile_commit(&d->af, err);
    }
    pthread_mutex_unlock(&doc_lock);
    free(d);
    return rc;
}

void plot_abort(plot_doc *d)
{
    plend();
    vt_afile_abort(&d->af);
    pthread_mutex_unlock(&doc_lock);
    free(d);
}

int plot_page_begin(plot_doc *d, vt_err *err)
{
    if (d->pages > 0 && d->opts.format != PLOT_PDF)
        return vt_fail(err, VT_EINTERNAL, "%s: a %s file holds one figure", d->af.path,
                       plot_format_names[d->opts.format]);
    pladv(0);
    plschr(0, 1.0);
    plwidth(1);
    plcol0(1);
    d->pages++;
    d->series_used = 0;
    return VT_OK;
}

int plot_page_end(plot_doc *d, vt_err *err)
{
    if (abort_msg[0])
        return vt_fail(err, VT_EINTERNAL, "%s: PLplot: %s", d->af.path, abort_msg);
    return VT_OK;
}

const char *plot_title(const plot_doc *d, const char *title)
{
    return d->title_override ? d->title_override : title;
}

void plot_labels(const plot_doc *d, const char *title, const char *xlabel, const char *ylabel)
{
    char t[512], x[256], y[256];
    plot_text(t, sizeof t, plot_title(d, title));
    plot_text(x, sizeof x, xlabel);
    plot_text(y, sizeof y, ylabel);
    plcol0(1);
    pllab(x, y, t);
}

int plot_series_colour(plot_doc *d, unsigned rgb)
{
    int i = d->series_used++ % PLOT_MAX_SERIES;
    if (rgb == PLOT_AUTO_COLOUR)
        rgb = cycle[d->auto_used++ % (sizeof cycle / sizeof cycle[0])];
    set_colour(PLOT_SERIES0 + i, rgb);
    return PLOT_SERIES0 + i;
}

void plot_scratch_colour(unsigned rgb) { set_colour(PLOT_SCRATCH, rgb); }

/* ---- lines -------------------------------------------------------------------------------------------- */

void plot_axes_init(plot_axes *ax, const char *title, const char *xlabel, const char *ylabel)
{
    memset(ax, 0, sizeof *ax);
    ax->title = title;
    ax->xlabel = xlabel;
    ax->ylabel = ylabel;
    ax->xmin = ax->xmax = ax->ymin = ax->ymax = NAN;
}

static void data_range(const plot_series *s, int n, int y, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (long k = 0; k < s[i].n; k++) {
            double v = y ? s[i].y[k] : s[i].x[k];
            if (isfinite(v)) {
                *lo = v < *lo ? v : *lo;
                *hi = v > *hi ? v : *hi;
            }
        }
    if (!isfinite(*lo)) {
        *lo = 0;
        *hi = 1;
    }
}

/* The step of about n ticks over span, on 1, 2 or 5 times a power of ten. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void set_dash(plot_dash dash)
{
    static const PLINT dash_mark[] = {5000}, dash_space[] = {2500};
    static const PLINT dot_mark[] = {800}, dot_space[] = {1600};
    if (dash == PLOT_DASHED)
        plstyl(1, dash_mark, dash_space);
    else if (dash == PLOT_DOTTED)
        plstyl(1, dot_mark, dot_space);
    else
        plstyl(0, NULL, NULL);
}

/* Draws one series as its finite runs (NaN values are gaps). */
static void draw_series(const plot_series *s, int colour)
{
    plcol0(colour);
    plwidth(s->width > 0 ? s->width : 1.5);
    set_dash(s->dash);
    long start = -1;
    for (long k = 0; k <= s->n; k++) {
        int ok = k < s->n && isfinite(s->x[k]) && isfinite(s->y[k]);
        if (ok && start < 0)
            start = k;
        if (!ok && start >= 0) {
            if (k - start > 1)
                plline((PLINT)(k - start), s->x + start, s->y + start);
            if (s->markers || k - start == 1) {
                plssym(0, 0.8);
                plpoin((PLINT)(k - start), s->x + start, s->y + start, 17); /* Hershey 17: a filled circle */
            }
            start = -1;
        }
    }
    set_dash(PLOT_SOLID);
    plwidth(1);
}

/* The corner (of four) where the fewest points lie, for the legend. */
static int best_corner(const plot_series *s, int n, double x0, double x1, double y0, double y1)
{
    long count[4] = {0};
    for (int i = 0; i < n; i++)
        for (long k = 0; k < s[i].n; k++) {
            double fx = (s[i].x[k] - x0) / (x1 - x0), fy = (s[i].y[k] - y0) / (y1 - y0);
            if (!isfinite(fx) || !isfinite(fy))
                continue;
            if (fx > 0.55 && fy < 0.4) count[0]++;  /* lower right */
            if (fx > 0.55 && fy > 0.6) count[1]++;  /* upper right */
            if (fx < 0.45 && fy > 0.6) count[2]++;  /* upper left */
            if (fx < 0.45 && fy < 0.4) count[3]++;  /* lower left */
        }
    int best = 0;
    for (int c = 1; c < 4; c++)
        if (count[c] < count[best])
            best = c;
    return best;
}

void plot_legend_draw(const char *const *labels, const int *colours, const plot_dash *dashes, int n, int position)
{
    if (n == 0)
        return;
    PLINT opt[PLOT_MAX_SERIES], text_colours[PLOT_MAX_SERIES], line_colours[PLOT_MAX_SERIES],
        styles[PLOT_MAX_SERIES];
    PLFLT widths[PLOT_MAX_SERIES];
    char text[PLOT_MAX_SERIES][160];
    const char *texts[PLOT_MAX_SERIES];
    if (n > PLOT_MAX_SERIES)
        n = PLOT_MAX_SERIES;
    for (int i = 0; i < n; i++) {
        opt[i] = PL_LEGEND_LINE;
        text_colours[i] = 1;
        line_colours[i] = colours[i];
        styles[i] = dashes[i] == PLOT_DASHED ? 3 : dashes[i] == PLOT_DOTTED ? 2 : 1;
        widths[i] = 2;
        plot_text(text[i], sizeof text[i], labels[i]);
        texts[i] = text[i];
    }
    PLFLT w, h;
    plschr(0, n > 12 ? 0.6 : 0.8);
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position, 0.02, 0.02, 0.08, 0, 1, 1, 0, 0, n,
             opt, 0.8, 0.9, 1.6, 0.0, text_colours, texts, NULL, NULL, NULL, NULL, line_colours, styles, widths,
             NULL, NULL, NULL, NULL);
    plschr(0, 1.0);
}

/* One pair of axes with its series and legend, in the viewport vp (x0, x1, y0, y1 of the page, 0-1), or in
 * PLplot's standard one when vp is NULL. */
static void lines_panel(plot_doc *d, const plot_axes *ax, const plot_series *s, int n, const double *vp)
{
    double x0, x1, y0, y1;
    data_range(s, n, 0, &x0, &x1);
    data_range(s, n, 1, &y0, &y1);
    if (y1 - y0 < 1e-12 * (fabs(y0) + 1)) { /* a flat series: a band around it */
        y0 -= 0.5 * (fabs(y0) + 0.01);
        y1 += 0.5 * (fabs(y1) + 0.01);
    }
    double pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
    if (x1 <= x0)
        x1 = x0 + 1;
    if (isfinite(ax->xmin)) x0 = ax->xmin;
    if (isfinite(ax->xmax)) x1 = ax->xmax;
    if (isfinite(ax->ymin)) y0 = ax->ymin;
    if (isfinite(ax->ymax)) y1 = ax->ymax;
    if (vp)
        plvpor(vp[0], vp[1], vp[2], vp[3]);
    else if (ax->legend == PLOT_LEGEND_OUTSIDE)
        plvpor(0.1, 0.68, 0.12, 0.9);
    else
        plvsta();
    plwind(x0, x1, y0, y1);
    double xstep = ax->x_integer ? fmax(1, nice_step(x1 - x0, 8)) : 0;
    plcol0(2);
    plbox("g", xstep, 0, "g", 0, 0);
    plcol0(1);
    plbox("bcnst", xstep, ax->x_integer ? 1 : 0, "bcnstv", 0, 0);
    plot_labels(d, ax->title, ax->xlabel, ax->ylabel);

    const char *labels[PLOT_MAX_SERIES];
    int colours[PLOT_MAX_SERIES];
    plot_dash dashes[PLOT_MAX_SERIES];
    int nl = 0;
    for (int i = 0; i < n; i++) {
        int c = plot_series_colour(d, s[i].rgb);
        draw_series(&s[i], c);
        if (s[i].label && nl < PLOT_MAX_SERIES) {
            labels[nl] = s[i].label;
            colours[nl] = c;
            dashes[nl++] = s[i].dash;
        }
    }
    static const int corners[] = {
        PL_POSITION_INSIDE | PL_POSITION_RIGHT | PL_POSITION_BOTTOM,
        PL_POSITION_INSIDE | PL_POSITION_RIGHT | PL_POSITION_TOP,
        PL_POSITION_INSIDE | PL_POSITION_LEFT | PL_POSITION_TOP,
        PL_POSITION_INSIDE | PL_POSITION_LEFT | PL_POSITION_BOTTOM,
    };
    int position = ax->legend == PLOT_LEGEND_LOWER_RIGHT   ? corners[0]
                   : ax->legend == PLOT_LEGEND_UPPER_RIGHT ? corners[1]
                   : ax->legend == PLOT_LEGEND_OUTSIDE
                       ? PL_POSITION_OUTSIDE | PL_POSITION_RIGHT | PL_POSITION_TOP
                       : corners[best_corner(s, n, x0, x1, y0, y1)];
    plot_legend_draw(labels, colours, dashes, nl, position);
}

int plot_lines(plot_doc *d, const plot_axes *ax, const plot_series *s, int n, vt_err *err)
{
    int rc = plot_page_begin(d, err);
    if (rc != VT_OK)
        return rc;
    lines_panel(d, ax, s, n, NULL);
    return plot_page_end(d, err);
}

int plot_line_panels(plot_doc *d, const plot_axes *axes, const plot_series *const *s, const int *n, int panels,
                     vt_err *err)
{
    int rc = plot_page_begin(d, err);
    if (rc != VT_OK)
        return rc;
    /* Side by side, each with room on its left for the y labels; smaller letters for more than two. */
    double w = 0.88 / panels;
    for (int i = 0; i < panels; i++) {
        double vp[4] = {0.1 + i * w, 0.1 + (i + 1) * w - (panels > 1 ? 0.06 : 0.0), 0.14, 0.86};
        plschr(0, panels > 2 ? 0.7 : panels > 1 ? 0.85 : 1.0); /* each panel: the legend sets it back */
        lines_panel(d, &axes[i], s[i], n[i], vp);
    }
    plschr(0, 1.0);
    return plot_page_end(d, err);
}
