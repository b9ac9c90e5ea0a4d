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

#include "vggtop/data.h"
#include "vggtop/train.h"
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
/* A page of panels side by side, panel i the axes axes[i] with its n[i] series s[i] (as plot_lines draws one). */
int plot_line_panels(plot_doc *d, const plot_axes *axes, const plot_series *const *s, const int *n, int panels,
                     vt_err *err);

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

/* ---- figures of run directories ------------------------------------------------------------------------ */

typedef enum {
    PLOT_FIG_ACCURACY = 0, /* per run: train against validation per epoch */
    PLOT_FIG_LOSS,
    PLOT_FIG_MSE,
    PLOT_FIG_TOP5,
    PLOT_FIG_CONFUSION,    /* per run, from predictions.csv */
    PLOT_FIG_ROC,
    PLOT_FIG_ROC_ZOOM,
    PLOT_FIG_SAMPLES,      /* also needs the run's test images */
    PLOT_FIG_F1,
    PLOT_FIG_VAL_ACC,      /* across runs */
    PLOT_FIG_VAL_LOSS,
    PLOT_FIG_VAL_MSE,
    PLOT_FIG_COUNT,
} plot_figure;

/* The figures' names (file names and --what), by plot_figure; NULL-terminated. */
extern const char *const plot_figure_names[];
#define PLOT_MASK(fig) (1u << (fig))
#define PLOT_ALL_RUN (PLOT_MASK(PLOT_FIG_VAL_ACC) - 1u)
#define PLOT_ALL_COMPARE (PLOT_MASK(PLOT_FIG_VAL_ACC) | PLOT_MASK(PLOT_FIG_VAL_LOSS) | PLOT_MASK(PLOT_FIG_VAL_MSE))
#define PLOT_WHAT_ALL PLOT_MASK(PLOT_FIG_COUNT) /* "all": what a run lacks is skipped quietly, comparisons need 2 runs */
/* "accuracy,roc", "history" (accuracy, loss, mse, top5), "compare" (val_acc, val_loss, val_mse) or "all" into a
 * mask of PLOT_MASK bits; VT_EUSAGE naming flag and the names otherwise. */
int plot_what_parse(const char *flag, const char *list, unsigned *mask, vt_err *err);

#define PLOT_MAX_ROC 16      /* classes drawn on one ROC figure */
#define PLOT_MAX_SAMPLES 36  /* images on the samples figure */
#define PLOT_LABEL 200       /* a legend label of a run */

/* How a figure is shown: the command line's defaults, or what a front-end screen shows right now. */
typedef struct plot_view {
    int normalize;                     /* confusion: rows normalised (recall) instead of counts */
    int fold;                          /* confusion: CIFAR-100's 20 superclasses */
    int roc_classes[PLOT_MAX_ROC];     /* the classes drawn on the ROC figures (default 0, 1, 2 as the seed) */
    int n_roc_classes;
    long samples_first;                /* the first test image of the samples figure */
    int samples_count;                 /* how many (default 16) */
    int misclassified;                 /* only misclassified images */
    const char *data_dir;              /* where the run's data set is now (--data), NULL: where it was */
} plot_view;

void plot_view_default(plot_view *v);
/* Whether a run has what figure fig needs (history rows with its values, or predictions): 0 with why naming
 * the file that is missing. */
int plot_run_has(const run_data *run, plot_figure fig, char *why, size_t size);
/* Draws one figure of one run on a new page of d. The run must be loaded with the parts it needs (config,
 * history; predictions for the confusion, ROC, samples and F1 figures). */
int plot_run_figure(plot_doc *d, plot_figure fig, const run_data *run, const plot_view *v, vt_err *err);
/* Draws a comparison (PLOT_FIG_VAL_*) of n runs: one series per run, labelled by plot_run_labels. */
int plot_compare_figure(plot_doc *d, plot_figure fig, const run_data *runs, int n, vt_err *err);
/* Labels that tell the runs apart: the model, then every setting that differs (lr, batch, ...). */
void plot_run_labels(const run_data *runs, int n, char (*labels)[PLOT_LABEL]);
/* The run's test images as the run saw them (data_dir: where they are now). */
int plot_open_test_images(const run_data *run, const char *data_dir, dataset **out, vt_err *err);

/* ---- a sweep's figure ------------------------------------------------------------------------------------ */

/* How swept setting a shows on an x axis: categorical (its place among the list's values, 1, 2, ...: not all
 * are numbers), log (log10 of the value: a log: distribution, or positive values spanning a decade or more),
 * else the value. The Sweep screen's panels and the figure read their x from these. */
void plot_sweep_axis_kind(const sweep_plan *p, int a, int *categorical, int *log);
/* Where value text of setting a lies on that x (NaN: not one of a categorical list's values). */
double plot_sweep_x(const sweep_plan *p, int a, int categorical, int log, const char *text);
/* One page: a panel per swept setting, each trial with a finished epoch a point (x its value, y its best
 * val_acc), the best trial marked; the sweep in dir read through train's sweep readers. VT_EUSAGE naming
 * sweep.json when dir holds no sweep, or when no trial has finished an epoch. */
int plot_sweep_figure(plot_doc *d, const char *dir, vt_err *err);
/* Whether dir holds a sweep (its sweep.json). */
int plot_is_sweep(const char *dir);

/* What `vggtop plot` does, without its flags. */
typedef struct plot_job {
    const char *const *runs;   /* run directories */
    int n_runs;
    const char *out;           /* the folder; NULL: the run's figures/ for one run, ./figures for several */
    plot_opts opts;
    plot_view view;
    unsigned what;             /* PLOT_MASK bits (plot_what_parse) */
} plot_job;

/* Told each file written (note 0: its path) and each figure skipped (note 1: why, naming the file). */
typedef void (*plot_report_fn)(void *ctx, const char *text, int note);
/* A sweep folder alone (plot_is_sweep) gets its one figure, sweep.<format> (plot_sweep_figure). Else: writes
 * every figure asked for, each its own file named <figure>.<format> (prefixed by the run's folder name
 * when several runs or --out share a folder; comparisons compare-<metric>.<format>). A figure a run lacks the
 * files for is skipped with a note; VT_EUSAGE when nothing could be written, when a figure asked for by name
 * was skipped, for a run directory that cannot be read or a folder that cannot be written. */
int plot_write(const plot_job *job, plot_report_fn report, void *ctx, vt_err *err);

#endif
