/* plot: figures as image files, PNG, SVG or PDF, drawn by PLplot (Debian's libplplot-dev, with the cairo
 * driver for PNG and PDF and PLplot's own SVG driver, whose text stays text). Two layers:
 *   - drawing: a document (one file) holds pages; each page is one figure drawn from plain arrays
 *     (lines with a legend, a heatmap with a colour bar, bars, a grid of images). Nothing here reads a file.
 *   - figures: the seed's figures of one or more run directories (accuracy, loss, mse, top-5, confusion,
 *     ROC and its zoom, test images, per-class F1, and the comparisons across runs), read through train's
 *     run readers and computed with metrics.
 * Every file is written to a temporary name beside the target, fsync'ed and renamed, so a failure leaves
 * nothing half-written. PLplot keeps global state: one document is open at a time in a process (a mutex
 * serialises callers). */
#ifndef VGGTOP_PLOT_H
#define VGGTOP_PLOT_H

#include <stddef.h>

#include "vggtop/util.h"

typedef enum { PLOT_PNG = 0, PLOT_SVG, PLOT_PDF } plot_format;

/* The formats' names in flag order, NULL-terminated: "png", "svg", "pdf". */
extern const char *const plot_format_names[];
/* "png" -> PLOT_PNG; VT_EUSAGE naming flag and the choices otherwise. */
int plot_format_parse(const char *flag, const char *value, plot_format *out, vt_err *err);

typedef struct plot_opts {
    plot_format format;
    double width_in, height_in; /* the figure's size in inches (default 8 x 6, the seed's figsize) */
    int dpi;                    /* PNG pixels per inch (default 150: 1200 x 900 pixels) */
    const char *title;          /* overrides each figure's title when not NULL */
} plot_opts;

void plot_opts_default(plot_opts *o);
/* "--size 10x7.5" in inches, each side in [1, 100]; VT_EUSAGE with one line otherwise. */
int plot_size_parse(const char *flag, const char *value, plot_opts *o, vt_err *err);
/* PNG's pixel size of o (width x height), for checks and messages. */
void plot_pixels(const plot_opts *o, int *width, int *height);
/* The largest PNG plot_open accepts, in pixels per side (memory for the image and cairo's surface). */
#define PLOT_MAX_PIXELS 16384

/* ---- drawing ------------------------------------------------------------------------------------------ */

typedef struct plot_doc plot_doc;

/* Opens a document writing path (through a temporary file in the same folder). PNG and SVG hold one page,
 * PDF any number. VT_EUSAGE with one line when the folder cannot be written or the PLplot driver for the
 * format is not installed. Blocks while another document is open in this process. */
int plot_open(plot_doc **out, const char *path, const plot_opts *o, vt_err *err);
/* Finishes the document and renames it into place; frees d whatever happens. */
int plot_close(plot_doc *d, vt_err *err);
/* Drops the document: the temporary file is removed, the target untouched; frees d. */
void plot_abort(plot_doc *d);
/* Pages drawn so far. */
int plot_pages(const plot_doc *d);

#define PLOT_AUTO_COLOUR 0xff000000u /* the next colour of the cycle (matplotlib's ten) */

typedef enum { PLOT_SOLID = 0, PLOT_DASHED, PLOT_DOTTED } plot_dash;

typedef struct plot_series {
    const char *label;      /* legend entry; NULL: not in the legend */
    long n;
    const double *x, *y;    /* NaN values are gaps */
    unsigned rgb;           /* 0xRRGGBB or PLOT_AUTO_COLOUR */
    plot_dash dash;
    double width;           /* line width in points; 0: 1.5 */
    int markers;            /* 1: a dot on every point (for series of a few points) */
} plot_series;

typedef enum { PLOT_LEGEND_BEST = 0, PLOT_LEGEND_LOWER_RIGHT, PLOT_LEGEND_UPPER_RIGHT, PLOT_LEGEND_OUTSIDE } plot_legend;

typedef struct plot_axes {
    const char *title, *xlabel, *ylabel;
    double xmin, xmax, ymin, ymax; /* NaN: from the data (y padded by 5%) */
    int x_integer;                 /* ticks on whole numbers only (epochs) */
    plot_legend legend;
} plot_axes;

/* An axes spec with every range NaN (from the data) and the best legend position. */
void plot_axes_init(plot_axes *ax, const char *title, const char *xlabel, const char *ylabel);

/* A page of line series on one pair of axes, a legend of the labelled ones. */
int plot_lines(plot_doc *d, const plot_axes *ax, const plot_series *series, int n, vt_err *err);

/* A page with a rows x cols matrix as a heatmap (row 0 at the top, as a confusion matrix is printed), a
 * colour bar titled scale_label, and the row and column names on the axes where they fit (every k-th
 * otherwise; NULL: the indices). values: rows*cols, row-major; NaN cells are left white. */
typedef struct plot_heatmap_spec {
    const char *title, *xlabel, *ylabel, *scale_label;
    int rows, cols;
    const double *values;
    const char *const *row_names, *const *col_names;
    int annotate;                  /* write each cell's value in it (small matrices) */
    const char *annotate_format;   /* printf format for annotate, e.g. "%.0f" */
} plot_heatmap_spec;

int plot_heatmap(plot_doc *d, const plot_heatmap_spec *h, vt_err *err);

/* A page of n vertical bars in the order given, each named below (turned 90 degrees). */
typedef struct plot_bars_spec {
    const char *title, *xlabel, *ylabel;
    int n;
    const double *values;
    const char *const *names;
    double ymin, ymax;             /* NaN: 0 and the data's maximum */
    unsigned rgb;
} plot_bars_spec;

int plot_bars(plot_doc *d, const plot_bars_spec *b, vt_err *err);

/* A page of images in a grid, each with a caption under it (red and marked when wrong). Pixels are
 * (h, w, c) bytes, c = 1 (grey) or 3 (RGB). */
typedef struct plot_image {
    int h, w, c;
    const unsigned char *pixels;
    const char *caption;
    int wrong;
} plot_image;

int plot_images(plot_doc *d, const char *title, const plot_image *images, int n, int cols, vt_err *err);

/* Text as PLplot draws it: '#' is PLplot's escape character, doubled here. At most size - 1 bytes. */
void plot_text(char *buf, size_t size, const char *s);

#endif
