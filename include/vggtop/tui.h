/* tui: the ncurses front end. Everything that draws does so into a character grid (a glyph, a colour role
 * and attributes per cell) through pure functions, so charts, the heatmap, tables, images and the
 * progress bar are unit-tested without a terminal; one function (tui_grid_blit, in src/tui/term.c) copies a
 * grid to curses. The keys live in ONE table (tui_keys) that drives dispatch, the footer, the `?` screen and
 * the man page. The front end reads the engine only through train.h and never touches tensors. */
#ifndef VGGTOP_TUI_H
#define VGGTOP_TUI_H

#include <stddef.h>
#include <stdint.h>

#include "vggtop/util.h"

/* ---- colour roles and schemes ------------------------------------------------------------------------ */

/* Semantic roles; a scheme maps each to colours for 256-colour, 8-colour and monochrome terminals. */
typedef enum tui_role {
    ROLE_DEFAULT = 0,
    ROLE_TITLE,      /* screen titles */
    ROLE_FRAME,      /* axes, rules, borders */
    ROLE_LABEL,      /* field names, axis labels */
    ROLE_VALUE,      /* numbers worth reading */
    ROLE_DIM,        /* hints, disabled things */
    ROLE_GOOD,       /* strong classes, success */
    ROLE_BAD,        /* weak classes, errors */
    ROLE_WARN,       /* warnings, paused */
    ROLE_SELECT,     /* the selected row */
    ROLE_CURSOR,     /* a cursor cell (heatmap) or the field being edited */
    ROLE_KEY,        /* a key in the footer */
    ROLE_KEYLABEL,   /* what a key does, in the footer */
    ROLE_TAB,        /* a screen tab */
    ROLE_TAB_ACTIVE, /* the current screen's tab */
    ROLE_HEADER,     /* table headers */
    ROLE_SERIES0,    /* chart series 0..7 */
    ROLE_SERIES7 = ROLE_SERIES0 + 7,
    ROLE_HEAT0,      /* heatmap levels 0..9, 0 = empty */
    ROLE_HEAT9 = ROLE_HEAT0 + 9,
    ROLE_ABOVE1,     /* a diverging heatmap's levels 1..3 above 0 and below it */
    ROLE_ABOVE3 = ROLE_ABOVE1 + 2,
    ROLE_BELOW1,
    ROLE_BELOW3 = ROLE_BELOW1 + 2,
    ROLE_COUNT
} tui_role;

/* Colour depth in use: decided once from the terminal, NO_COLOR and --ascii (which keeps colour). */
typedef enum { TUI_COLOR_NONE = 0, TUI_COLOR_8 = 8, TUI_COLOR_256 = 256 } tui_color_depth;

enum { TUI_BOLD = 1, TUI_REVERSE = 2, TUI_UNDERLINE = 4 };

/* How a role looks: palette colours (-1 = the terminal's default) and attributes, per depth. */
typedef struct tui_style {
    int16_t fg256, bg256;
    int16_t fg8, bg8;
    uint8_t attr_color; /* attributes used with either colour depth */
    uint8_t attr_mono;  /* attributes used without colour: the only way a role shows there */
} tui_style;

extern const tui_style tui_scheme[ROLE_COUNT];

/* ---- the character grid ------------------------------------------------------------------------------- */

/* One cell: a Unicode code point drawn one column wide, a role, attributes, and optional explicit palette
 * colours (images) that override the role's (-1 = use the role's). */
typedef struct tui_cell {
    uint32_t ch;
    uint8_t role;
    uint8_t attr;
    int16_t fg, bg;
} tui_cell;

typedef struct tui_grid {
    int rows, cols;
    tui_cell *cells; /* rows * cols, row-major */
} tui_grid;

/* A rectangle inside a grid; drawing outside it (or outside the grid) is clipped. */
typedef struct tui_rect {
    int top, left, height, width;
} tui_rect;

int tui_grid_init(tui_grid *g, int rows, int cols);   /* 0, or -1 out of memory */
int tui_grid_resize(tui_grid *g, int rows, int cols); /* keeps nothing; cleared */
void tui_grid_free(tui_grid *g);
void tui_grid_clear(tui_grid *g);
/* Sets one cell (clipped). */
void tui_grid_put(tui_grid *g, int row, int col, uint32_t ch, int role, int attr);
tui_cell *tui_grid_at(tui_grid *g, int row, int col); /* NULL outside */
/* Writes UTF-8 text from (row, col), one column per code point, at most maxw columns (maxw < 0: to the
 * grid's edge); returns the columns written. Invalid bytes show as '?'. */
int tui_grid_text(tui_grid *g, int row, int col, int maxw, int role, int attr, const char *utf8);
/* printf into the grid. */
int tui_grid_printf(tui_grid *g, int row, int col, int maxw, int role, int attr, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Fills a rectangle with a glyph and role. */
void tui_grid_fill(tui_grid *g, tui_rect r, uint32_t ch, int role, int attr);
/* One row as UTF-8 (for tests and for text dumps): out must hold cols * 4 + 1 bytes. */
char *tui_grid_row_utf8(const tui_grid *g, int row, char *out);
/* Encodes one code point as UTF-8 into out (>= 5 bytes); returns the byte count. */
int tui_utf8_encode(uint32_t cp, char *out);
/* What a cell's glyph is drawn as on a terminal whose locale can (unicode) or cannot show non-ASCII: for the
 * latter the header's separator is '-', an ellipsis '~' (as the ASCII drawing's), anything else '?' (curses
 * draws nothing there, leaving the last frame's character in the cell). */
uint32_t tui_glyph_shown(uint32_t cp, int unicode);

/* ---- renderers: pure functions into a grid ----------------------------------------------------------- */

/* Line chart. x may be NULL: the points are at x = 1, 2, ..., n (epochs). NaN y values are gaps. Segments
 * are clipped to the chart's box, so a fixed range (a zoom) cuts curves at its edges. */
typedef struct tui_series {
    const char *name;   /* NULL: drawn, but left out of the legend (named elsewhere, e.g. ROC's class list) */
    const double *x, *y;
    int n;
    int role;     /* ROLE_SERIESk */
    char marker;  /* the ASCII-mode glyph, e.g. '*' */
} tui_series;

typedef struct tui_chart {
    const char *title;       /* NULL: no title row */
    const tui_series *series;
    int n_series;
    int fixed_x, fixed_y;    /* 1: use the bounds below; 0: fit the data */
    double xmin, xmax, ymin, ymax;
    int y_decimals;          /* digits of the y axis labels */
    int legend;              /* 1: a legend row at the bottom */
    int x_ticks;             /* 1: a label at every whole x (every 2nd, 5th, 10th, ... when they do not fit) */
    const char *x_title;     /* NULL, or the x axis' name, at the right end of the label row ("epoch") */
    int overlap;             /* 1: a cell where two series meet is marked (ROLE_VALUE; '&' in ASCII) and the
                              * legend says so, so no series hides another unseen */
} tui_chart;

/* Layout inside r: [title row] plot rows, an axis row with x labels, [legend row]. The y labels take the
 * left columns (as wide as the widest label), then a '|' axis. UTF-8 mode plots with braille dots (2x4 per
 * cell), ASCII mode with each series' marker, one point per cell, segments joined. */
void tui_chart_draw(tui_grid *g, tui_rect r, const tui_chart *c, int utf8);

/* Heatmap of a rows x cols matrix, one character per cell (cell_width characters when it is > 1, so a
 * small matrix is not a speck). Level of a value v: 0 when v <= 0, else min(9, 1 + floor(9 v / vmax)).
 * 256 colours: spaces on the level's background; 8 colours: the density glyph in the level's colour; no
 * colour: the density glyph " .:-=+*#%@"[level]. With show_values each non-zero cell also holds its value
 * (a whole number, or a percentage of 1 with percent), right-aligned after a space; without 256 colours
 * the level's glyph stays in the cell's first column. A number that does not fit is left out. The
 * cursor cell is reversed. The view starts at (row0, col0); labels (may be NULL) are drawn left of each row,
 * clipped to label_width columns. */
typedef struct tui_heatmap {
    const double *v; /* rows * cols */
    int rows, cols;
    double vmax;     /* <= 0: the largest value */
    int cursor_row, cursor_col; /* -1: no cursor */
    int row0, col0;
    const char *const *row_labels;
    int label_width;
    int cell_width;  /* characters per cell; 0 means 1 */
    int show_values, percent;
    int diverging;   /* values of either sign: red for above 0, blue for below, by |v| (ASCII: + and -) */
} tui_heatmap;

extern const char tui_density_ramp[11]; /* " .:-=+*#%@" */
int tui_heat_level(double v, double vmax);
/* Draws into r; returns how many matrix rows and columns are visible (so the caller can scroll). */
void tui_heatmap_draw(tui_grid *g, tui_rect r, const tui_heatmap *h, tui_color_depth depth, int *vis_rows,
                      int *vis_cols);
/* Moves row0/col0 so the cursor is visible in a view of vis_rows x vis_cols. */
void tui_heatmap_follow(tui_heatmap *h, int vis_rows, int vis_cols);

/* A scrollable, sortable table. cells[r * n_cols + c] are the texts; pinned rows stay under the body. */
typedef struct tui_column {
    const char *title;
    int width;
    int align_right;
} tui_column;

typedef struct tui_table {
    const tui_column *cols;
    int n_cols;
    const char *const *cells;   /* n_rows * n_cols */
    const int *row_roles;       /* per row, may be NULL */
    int n_rows;
    const char *const *pinned;  /* n_pinned * n_cols */
    int n_pinned;
    int sort_col, sort_desc;    /* sort_col < 0: no sort marker */
    int top;                    /* first body row shown */
    int selected;               /* -1: none */
} tui_table;

/* Layout: header row, body rows, a rule, the pinned rows. Columns separated by one space. Returns the
 * number of body rows visible. The sort marker (UTF-8 "▲"/"▼", ASCII "^"/"v") follows the column title. */
int tui_table_draw(tui_grid *g, tui_rect r, const tui_table *t, int utf8);
/* Keeps selected inside [0, n_rows) and visible in `visible` rows by moving top. */
void tui_table_follow(tui_table *t, int visible);

/* An image, uint8 (h, w, channels) interleaved, channels 1 or 3. With 256 colours and UTF-8: upper
 * half blocks '▀' whose foreground is the upper pixel and background the lower (two pixels per cell);
 * 256 colours in ASCII mode: a space on the mean colour of the two pixels; otherwise the density ramp of the
 * two pixels' mean grey level. Each pixel takes `scale` columns and scale half-rows. */
void tui_image_draw(tui_grid *g, int top, int left, const uint8_t *img, int h, int w, int channels, int scale,
                    tui_color_depth depth, int utf8);
/* The xterm 256-colour palette index nearest to an RGB colour (6x6x6 cube or the grey ramp). */
int tui_rgb_to_256(int r, int g, int b);

/* The Keras progress line: "%*d/%d [bar] - " then "ETA: 12s" while running or "173s 3ms/step" when done.
 * bar_width as Keras' width (30). Returns buf. (The parts are util's vt_fmt_progbar, vt_fmt_eta and
 * vt_fmt_per_unit, which the CLI's log uses too.) */
char *tui_progress_text(char *buf, size_t size, long current, long target, int bar_width, double elapsed,
                        double eta);

/* A block of text (lines split at '\n'), starting at line `first`, clipped to r. Returns the line count. */
int tui_text_draw(tui_grid *g, tui_rect r, const char *text, int first, int role);

/* ---- the key table ------------------------------------------------------------------------------------ */

typedef enum tui_action {
    ACT_NONE = 0,
    ACT_SCREEN1, ACT_SCREEN2, ACT_SCREEN3, ACT_SCREEN4, ACT_SCREEN5, ACT_SCREEN6, ACT_SCREEN7, ACT_SCREEN8, ACT_SCREEN9,
    ACT_NEXT_SCREEN, ACT_PREV_SCREEN, ACT_HELP, ACT_QUIT,
    ACT_UP, ACT_DOWN, ACT_LEFT, ACT_RIGHT, ACT_PGUP, ACT_PGDN, ACT_HOME, ACT_END,
    ACT_ENTER, ACT_EDIT_LEFT, ACT_EDIT_RIGHT,
    ACT_PAUSE, ACT_STOP, ACT_LR_UP, ACT_LR_DOWN, ACT_RUNS,
    ACT_SORT, ACT_REVERSE, ACT_SEARCH, ACT_SEARCH_NEXT,
    ACT_NORMALIZE, ACT_FOLD, ACT_ZOOM, ACT_TOGGLE, ACT_ALL, ACT_MISSED,
    ACT_METRIC, ACT_VIEW, ACT_REFRESH, ACT_DETACH, ACT_RESUME_RUN, ACT_DOWNLOAD, ACT_CANCEL, ACT_SAVE_FIGURE,
    ACT_MARK, ACT_DIFF, ACT_VERSUS,
    ACT_COUNT
} tui_action;

/* The screens, numbered from 1 in tab order: the digit keys 1-9 show the first nine. Each has a row in the screen
 * table (src/tui/screens.c: its name, its digit key's help and its handlers), which the tabs, the digit keys
 * and the help read. Where a key works: a bit per screen (TUI_SCREEN_BIT), TUI_ALL_SCREENS everywhere. */
typedef enum tui_screen {
    TUI_SCREEN_SETUP = 1, TUI_SCREEN_DASHBOARD, TUI_SCREEN_REPORT, TUI_SCREEN_CONFUSION, TUI_SCREEN_ROC,
    TUI_SCREEN_COMPARE, TUI_SCREEN_SAMPLES, TUI_SCREEN_SUMMARY, TUI_SCREEN_LAYERS,
    TUI_SCREEN_SWEEP, /* past the digits: Tab and S-Tab reach it, and vggtop watch SWEEP_DIR opens on it */
    TUI_SCREEN_DIFF,  /* past the digits: Tab reaches it, and Compare's and Sweep's d open it */
    TUI_SCREEN_END /* one past the last */
} tui_screen;
enum { TUI_N_SCREENS = TUI_SCREEN_END - 1, TUI_ALL_SCREENS = (1 << TUI_N_SCREENS) - 1 };
#define TUI_SCREEN_BIT(s) (1u << ((s) - 1))

typedef struct tui_key {
    int key;            /* a curses key code or character */
    tui_action action;
    const char *label;  /* as shown: "q", "Tab", "PgUp" */
    const char *brief;  /* the footer's word ("Quit"), NULL: not in the footer */
    const char *help;   /* one line */
    unsigned screens;   /* bit n-1 for screen n */
    unsigned takers;    /* TUI_KEYS_*: also on the screens whose row in the screen table takes these keys */
} tui_key;

/* The moving keys that several screens share; each screen's row in the screen table says which it takes, so a
 * new screen needs no edit here: rows (Up/Down, k/j), pages (PgUp/PgDn, Home/End), a cursor (Left/Right, h/l:
 * a cell, an image or an epoch) and the mouse wheel. */
enum { TUI_KEYS_ROWS = 1, TUI_KEYS_PAGES = 2, TUI_KEYS_CURSOR = 4, TUI_KEYS_WHEEL = 8,
       TUI_KEYS_FIGURE = 16 /* the screens with a chart to save (a save hook in the screen table) */ };
/* The screens where k works: its own bits and the screens that take its kind of key. */
unsigned tui_key_screens(const tui_key *k);

extern const tui_key tui_keys[];
extern const int tui_n_keys;
/* A screen's name ("Setup", "Dashboard", ...: its tab), from the screen table. */
const char *tui_screen_name(tui_screen s);

/* The action of key on screen (1..TUI_N_SCREENS), ACT_NONE when the key does nothing there. The digit keys,
 * which show a screen, are not rows of tui_keys: they follow from the screen table (the help and the man page
 * list them from it too). */
tui_action tui_key_action(int key, int screen);
/* The man page's key list (roff), generated from the table: the same text is in man/vggtop.1 (a test
 * checks). malloc'ed. */
char *tui_keys_man(void);
/* The help screen's lines for a screen: every key, global first. malloc'ed, '\n'-separated. */
char *tui_keys_help(void);
/* Draws the footer: the keys of this screen that fit in one row ("F1 Help  q Quit ..."). brief (may be NULL)
 * gives each key's word in the current mode, or NULL to leave out a key that would do nothing now (p says
 * "Resume" on a paused run; no p/S/+/- without a run to control). */
void tui_footer_draw(tui_grid *g, int row, int screen, const char *(*brief)(const tui_key *k, void *ctx), void *ctx);

/* ---- the front end --------------------------------------------------------------------------------- */

typedef struct tui_options {
    int ascii;             /* --ascii: no UTF-8 glyphs */
    const char *runs_dir;  /* --runs: where new runs go and the Compare screen looks ("runs") */
    const char *watch_dir; /* vggtop watch RUN_DIR: follow this run, no Setup */
    const char *data_dir;  /* --data DIR: where the runs' test images are now (Samples), when they moved */
    const char *image;     /* --image FILE: a PNG or JPEG the Samples screen shows first, with the run's top 5 */
    int notify;            /* --notify: the run shown's events as terminal notifications (as vggtop train's) */
    const char *on_event;  /* --on-event CMD: run at each event (NULL: none) */
    int hook_timeout;      /* --hook-timeout SECONDS: its limit */
} tui_options;

/* Runs the front end until the user quits. On SIGHUP it leaves the terminal, lets a live run finish and
 * returns. Returns a vt error code (VT_EUSAGE: e.g. not a terminal, a bad run directory); on VT_OK
 * *exit_status is what the process should exit with (0, or 143 after SIGTERM). */
int tui_run(const tui_options *opt, int *exit_status, vt_err *err);

/* ---- the machine beside the run (the Dashboard's system line) ---------------------------------------- */

#define TUI_SYS_MAX_CORES 256

typedef struct tui_sysinfo {
    int cores;                     /* online CPUs */
    int has_cpu;                   /* cpu[] holds shares (from the second sample of a process on) */
    double cpu[TUI_SYS_MAX_CORES]; /* the share of each core the process used since the last sample, 0..1 */
    double cpu_total;              /* cores' worth: 1.9 is nearly two cores busy */
    long rss_kb;                   /* resident memory */
    int threads;
} tui_sysinfo;

/* What the next sample measures against. Start from {0}. */
typedef struct tui_sysinfo_prev {
    long long ticks[TUI_SYS_MAX_CORES];
    double t;
    long pid;
    int valid;
} tui_sysinfo_prev;

/* Samples process pid from /proc. 0, or -1 when it is gone or /proc cannot be read. */
int tui_sysinfo_sample(long pid, tui_sysinfo_prev *prev, tui_sysinfo *out);
/* "cpu 98% 95% - rss 412 MiB - 5 threads - 41 img/s over the last minute" (img_per_s < 0: left out). */
char *tui_sysinfo_line(char *buf, size_t size, const tui_sysinfo *s, double img_per_s);
/* The parsers: a /proc/<pid>/task/<tid>/stat line (utime + stime in ticks, the core it last ran on) and a
 * /proc/<pid>/status text (VmRSS in KiB, Threads). 0, or -1 when malformed. */
int tui_parse_stat(const char *line, long long *ticks, int *cpu);
int tui_parse_status(const char *text, long *rss_kb, int *threads);

#endif
