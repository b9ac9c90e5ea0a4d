/* plot's internals: the document and the page helpers every figure file shares (src/plot/plot.c). */
#ifndef VGGTOP_PLOT_INTERNAL_H
#define VGGTOP_PLOT_INTERNAL_H

#include "vggtop/plot.h"

#define PLOT_SCRATCH 4        /* colour map 0 entry for one-off colours (pixels, bars) */
#define PLOT_SERIES0 16       /* the first entry for series colours */
#define PLOT_MAX_SERIES 48    /* series with their own colour on one page (and legend entries) */

struct plot_doc {
    vt_afile af;
    plot_opts opts;
    const char *title_override;
    int pages;
    int series_used, auto_used;
};

/* Starts a page: VT_EINTERNAL when a PNG or SVG document already has its one page. */
int plot_page_begin(plot_doc *d, vt_err *err);
/* VT_EINTERNAL with PLplot's message when it refused a call on this page. */
int plot_page_end(plot_doc *d, vt_err *err);
/* The title to draw: the user's --title when given, else the figure's own. */
const char *plot_title(const plot_doc *d, const char *title);
/* Title and axis labels in black (PLplot's '#' escaped). */
void plot_labels(const plot_doc *d, const char *title, const char *xlabel, const char *ylabel);
/* A colour map 0 index holding rgb (or the cycle's next colour) for the page's next series. */
int plot_series_colour(plot_doc *d, unsigned rgb);
void plot_scratch_colour(unsigned rgb);
/* A legend of n line entries at a PL_POSITION_* position. */
void plot_legend_draw(const char *const *labels, const int *colours, const plot_dash *dashes, int n, int position);
void plot_text_shown(char *buf, size_t size, const char *s);

#endif
