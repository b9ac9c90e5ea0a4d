/* tui internals: the front end's state (one struct app), the terminal layer (term.c), the Setup probe
 * thread (probe.c), the screen manager (app.c) and what feeds it (live.c, follow.c, derived.c), the shared
 * widgets (widgets.c) and the screens (one file each, a row each in the screen table, screens.c). Not a public
 * header: only src/tui includes it. */
#ifndef VGGTOP_TUI_INTERNAL_H
#define VGGTOP_TUI_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "vggtop/data.h"
#include "vggtop/metrics.h"
#include "vggtop/train.h"
#include "vggtop/tui.h"

/* Handler results, htop style. */
enum { H_NONE = 0, H_HANDLED = 1, H_REDRAW = 2, H_QUIT = 4, H_DETACH = 8, H_DASHBOARD = 16 /* show screen 2 */,
       H_DIFF = 32 /* show the Diff screen */ };

/* A question on the status line, answered with y (anything else says no). */
enum { CONFIRM_NONE = 0, CONFIRM_QUIT, CONFIRM_STOP };

/* ---- term.c: curses and signals ---- */
int term_open(int ascii, tui_color_depth *depth, int *utf8, vt_err *err);
void term_close(void); /* restores the terminal; safe to call twice */
void term_clear(void); /* blanks the screen before a normal exit (not after a hang-up: no terminal then) */
void term_blit(const tui_grid *g, tui_color_depth depth);
void term_size(int *rows, int *cols);
/* Flags set by signal handlers (and only there). */
extern volatile sig_atomic_t term_got_hup, term_got_int, term_got_term;
void term_signals_install(void);

/* ---- probe.c: data set facts, model summary and epoch time for the Setup screen, off the UI thread ---- */
typedef struct probe_result {
    unsigned long generation; /* of the request this answers */
    int done_data, done_summary, done_estimate;
    char dataset[64], notice[1024], error[512];
    int height, width, channels, classes;
    long n_train, n_test;
    long n_train_file;        /* training images the files hold (n_train: those kept after the limit) */
    char *summary;            /* malloc'ed, owned by the probe until copied */
    long long params;
    double seconds;           /* NaN until measured */
} probe_result;

typedef struct probe probe;
int probe_create(probe **out, vt_err *err);
void probe_destroy(probe *p);
/* 1 while the helper works on a request (probe_destroy then waits for at most one training step). */
int probe_busy(probe *p);
/* Asks for the facts of cfg (a newer request supersedes an older one); estimate: time a few steps too. */
void probe_request(probe *p, const train_config *cfg, int estimate);
/* Copies the latest result (the summary text is strdup'ed into *out; free the old one first). */
void probe_get(probe *p, probe_result *out);
int probe_wake_fd(const probe *p);

/* ---- the screens' own state ---- */

#define CM_MAX_PAIRS 64

/* Confusion (confusion.c): the cursor and the view's options, and what the draw shows, built by
 * confusion_enter when the predictions, the fold or the normalisation changed (confusion_reset drops it). */
typedef struct confusion_view {
    int row, col, row0, col0, norm, fold;
    int built, K;           /* K x K: the matrix shown (0: nothing) */
    const long *counts;     /* the app's matrix, or folded */
    long *folded;           /* the 20 superclasses' counts, when folding */
    double *cells;          /* the heatmap's values: counts or row shares */
    long maxc;              /* the largest count (the scale's top) */
    confused_pair pairs[CM_MAX_PAIRS];
    int n_pairs;
    /* The vs mode (c): cells hold this run's minus the other run's (vs.cm, folded too when folding: other),
     * and changed the pairs that grew and shrank from that run to this (the diff of other to counts). */
    int versus;
    unsigned long versus_gen;
    long *other;
    metrics_diff changed;
    int have_changed;
} confusion_view;

/* Setup (setup.c): the form's cursor and first row, the field being edited (its text and why it is refused,
 * "" when it is fine) and the model summary's scroll. */
typedef struct setup_view {
    int field, editing, field_top;
    char edit[VT_PATH_MAX + VT_PATH_EXTRA];
    char edit_err[512];
    int summary_top;
} setup_view;

/* Summary (summary.c): the model summary of the run shown (built by its enter, once per model) and its
 * scroll. */
typedef struct summary_view {
    char *model_text;
    char model_text_for[64];
    int text_top;
} summary_view;

/* Compare (compare.c): the runs of the runs directory, the ones on the chart and their histories (read when
 * a run is put on the chart, never in the draw), the cursor, the first row shown and the metric charted. */
typedef struct compare_view {
    run_entry *runs;
    int n, sel, top, metric;
    unsigned char *shown;
    train_epoch **hist;
    int *hist_n;
} compare_view;

/* Samples (samples.c): the run's test images (loaded by its enter, once per run), or why they are not here;
 * the image shown and whether only the misclassified are stepped through. */
typedef struct samples_view {
    dataset *test;
    char test_dir[VT_PATH_MAX]; /* the run they belong to */
    char test_err[512];
    long sample;           /* the test image shown; -1: the user's own image (--image) */
    int missed_only;
    /* --image FILE, loaded on enter for the run in image_dir: its pixels as the model gets them (image_h, image_w,
     * 3) and the run's probabilities (image_classes), or why not (image_err). */
    char image_dir[VT_PATH_MAX];
    uint8_t *image;
    int image_h, image_w;
    float *image_probs;
    int image_classes;
    char image_err[512];
    int image_stale;       /* the run's predictions were reloaded (a new epoch): predict it again on enter */
} samples_view;

/* ROC (roc.c): the class list's cursor and first row, the zoom, and which classes' curves are drawn (C flags,
 * the first three when the classes change). */
typedef struct roc_view {
    int sel, top, zoom;
    unsigned char *drawn;
} roc_view;

/* A search typed over a list (Report's and Diff's /, widgets.c): on while it is typed, its text, and the
 * cursor before it (Esc goes back there). */
typedef struct list_search {
    int on;
    char text[64];
    int saved_sel;
} list_search;

/* Report (report.c): the table's sort, cursor and first row, the row order and what the table shows (sized by
 * report_reset, filled by report_enter), the search being typed; the history from per_class.csv (loaded when
 * the file changes: report_load_history): f1 and recall hold epochs x classes scores (epoch-major), NaN where
 * a class has no row; and what the heatmap and the trend marks show (built by report_enter when dirty). */
enum { REPORT_COLS = 8 }; /* #, class, precision, recall, f1-score, support; in the vs mode the other F1, change */
typedef struct report_view {
    int sort, desc, sel, top;
    int *order;
    char (*text)[REPORT_COLS][24];
    const char **cells;
    int *roles;
    int versus;               /* the table holds the other run's F1 and the change (c, vs.gen its load) */
    unsigned long versus_gen;
    list_search search;
    int epochs, classes;
    double *f1, *recall;
    double *heat;             /* the heatmap's matrix: report rows in display order x epochs */
    signed char *trend;       /* per report row, in display order: +1 up, -1 down, 0 since the previous epoch */
    int dirty;                /* heat, trend and the table's texts are to be rebuilt before the next draw */
    int heatmap;              /* 0 the table, 1 the heatmap (v) */
    int show_recall;          /* the heatmap and trends show recall, not F1 (m) */
    int heat_col, heat_row0, heat_col0; /* the heatmap's cursor epoch (0-based) and first row and column */
    const char **labels;      /* the heatmap's row labels, in display order */
    char err[512];            /* why per_class.csv could not be read ("" when it could, or is absent) */
} report_view;

/* Images per second over the last minute, from (time, images trained so far) points of about one a second. */
#define DASH_RATE_POINTS 64
typedef struct dash_rate {
    double t[DASH_RATE_POINTS], images[DASH_RATE_POINTS];
    int n, head; /* points held; the slot of the next */
} dash_rate;
void dash_rate_add(dash_rate *r, double t, double images);
/* Images per second from the oldest point of the last 60 s to the newest; -1 with fewer than 2 points. */
double dash_rate_get(const dash_rate *r);

/* Layers (layers.c), from layers.csv (loaded when the file changes: layers_load): its rows, the epoch shown
 * (Left/Right) and the latest in the file, the table's cursor and first row (the keys keep it), why the file
 * could not be read. */
typedef struct layers_view {
    run_layer_row *rows;
    long n;
    unsigned char *flag;      /* per row: run_layer_vanishing */
    int epoch, last;
    int sel, top;
    char err[512];
    char (*text)[6][128];     /* the table's texts, cells and roles: sized by layers_load, filled by layers_enter */
    const char **cells;
    int *roles;
} layers_view;

/* The Dashboard's system line (dash.c): the training process sampled from /proc about once a second
 * (dash_sample, from the loop, never in a draw), when the next sample is due, and the images it trained in
 * the last minute. */
typedef struct dash_view {
    tui_sysinfo sys;
    tui_sysinfo_prev prev;
    int have_sys;
    double next;
    dash_rate rate;
} dash_view;

/* Sweep (sweep.c): the sweep folder shown (vggtop watch SWEEP_DIR, or --runs SWEEP_DIR; "" none), its plan and
 * a row per trial (read by sweep_poll about once a second, never in a draw) in the order shown, the sort
 * column and direction, the cursor (the trial it is on stays under it across re-sorts) and first row, and what
 * the draw shows, made by sweep_enter when dirty: the table's texts and each swept setting's panel (a point
 * per trial with an epoch: x its value, y its best val_acc). */
#define SWEEP_TEXT 24
typedef struct sweep_panel {
    int categorical;   /* x is the value's place (1, 2, ...) among the list's values: not all are numbers */
    int log;           /* x is log10 of the value: the values span a decade or more */
    char title[160];
    double *x, *y;     /* 2 slots per trial: a point, then NaN (a gap: points, not a line) */
    int n;             /* slots used */
    double sel_x, sel_y; /* the selected trial's point (NaN: it has none) */
    int fixed_x;       /* log: x spans whole decades, xmin..xmax, so its labels are round */
    double xmin, xmax;
} sweep_panel;

typedef struct sweep_view {
    char dir[VT_PATH_MAX];
    int have_plan;
    sweep_plan plan;
    sweep_row *rows;
    int n;
    int sort, desc, sel, top;
    int dirty;
    double next;               /* vt_now() of the next look at the folder */
    char err[512];             /* why sweep.json could not be read ("" when it could) */
    char (*text)[SWEEP_TEXT];  /* n x SWEEP_COLS(n_axes) */
    const char **cells;
    int *roles;
    sweep_panel panels[SWEEP_MAX_AXES];
} sweep_view;

/* Diff (diff.c): two runs compared class by class, the numbers vggtop diff prints (metrics_diff_predictions).
 * The runs marked on Compare (x: at most two, by path, A the first marked; kept across rescans) or chosen by
 * Sweep's d; what diff_load read for them (both runs' predictions and the diff of their classes, and of their
 * superclasses when both have them), made again when the marks change (stale); the view: superclasses or
 * classes (f), the sort, cursor, first row and search, and the table's texts in display order. */
enum { DIFF_COLS = 12, DIFF_TEXT = 24, DIFF_PAIRS = 20 };
typedef struct diff_view {
    char mark[2][VT_PATH_MAX];
    int n_marked;
    int stale;                 /* the marks changed: diff_load reads again on the next enter */
    char loaded[2][VT_PATH_MAX];
    int have;                  /* d[0] (and d[1] when have_coarse) hold the diff of loaded[0] and loaded[1] */
    run_data run[2];
    metrics_diff d[2];         /* [0] the classes, [1] the superclasses */
    int have_coarse, coarse;
    char err[2 * VT_PATH_MAX + 256]; /* why there is no diff ("" when there is, or no runs are marked) */
    int sort, desc, sel, top;
    list_search search;
    int *order;                /* display position -> row of d[coarse].classes */
    char (*text)[DIFF_COLS][DIFF_TEXT];
    const char **cells;
    int *roles;
    int built;                 /* order and texts are of the view shown */
} diff_view;

/* "This run vs that run" on Report and Confusion (versus.c): whether each shows it (c), the other run (the run
 * marked on Compare that is not the run shown), its predictions' confusion matrix (C x C, the classes of the run
 * shown) and report, read by versus_ready when the other run or the classes change, never in a draw; why it
 * could not be read. */
typedef struct versus_view {
    int on_report, on_confusion;
    char dir[VT_PATH_MAX];     /* the run loaded ("" none) */
    int C, have;
    unsigned long gen;         /* counts the loads (a screen's texts of an older load are stale) */
    long *cm;
    report rep;
    char err[VT_PATH_MAX + 256];
} versus_view;

/* --notify and --on-event (alerts.c): the sink, the watcher of the run shown (begun afresh when another run is
 * shown: dir) and the events seen but not yet told (told after the frame is on the terminal). */
#define ALERTS_PENDING 8
typedef struct tui_alerts {
    int on, begun;
    notify_sink sink;
    notify_watch watch;
    char dir[VT_PATH_MAX];
    notify_event pending[ALERTS_PENDING];
    int trial[ALERTS_PENDING]; /* whose: ALERTS_RUN_SHOWN, a sweep's trial, or -1 the sweep's own end */
    int n_pending;
} tui_alerts;
enum { ALERTS_RUN_SHOWN = -2 };

/* ---- the front end's state ---- */
typedef struct app {
    tui_options opt;
    int utf8;
    tui_color_depth depth;
    int rows, cols;
    tui_grid grid;
    int screen;           /* 1..TUI_N_SCREENS */
    int help, help_top;   /* the ? overlay and its scroll */
    int acc_full;         /* Dashboard: the accuracy charts span 0-1 (z); 0: fitted to the data */
    char *help_text;      /* its text (tui_keys_help) wrapped to help_cols columns, made again at another width */
    int help_cols;
    int confirm;          /* CONFIRM_*: the question the next key answers */
    char status[1024];    /* a message for the user, shown until the next key or for a few seconds */
    int status_role;
    double status_until;  /* vt_now() when it expires */

    /* What is shown: a live run of this process, or a run directory (watch or browse). */
    trainer *tr;
    int live;             /* tr is running (not yet finished) */
    train_snapshot *snap; /* the copy the screens draw from (synthesised from files in watch mode) */
    char dir[VT_PATH_MAX];       /* the run directory shown ("" before any run) */
    int following;        /* dir is re-read when its files change */
    long holder_pid;      /* the process holding dir's run.lock at the last look (> 0), else 0 or -1 */
    struct timespec mt_parts[4]; /* follow.c: the mtimes of config, history, progress and predictions read */
    double next_poll;
    double tick;          /* the loop's last turn, for vt_stop_watch_tick (Ctrl-Z) */
    run_data run;         /* config and predictions (and in watch mode history and progress) of dir */
    int have_run;
    unsigned long eval_seen;
    int curve_epoch;      /* watch mode: the epoch the synthesised curve belongs to */
    long cmd_seq;         /* watch mode: the last command sent through commands.json (0: none), */
    char cmd_name[16];    /* its name, until progress.json acknowledges it */
    double cmd_acked;     /* when progress.json acknowledged it (0: not yet): the state it leads to may follow */
    run_command cmd;      /* the command sent, while this process holds the channel (as ctl does) until the */
    double cmd_sent;      /* run takes it or CMD_TAKE_SECS pass; cmd_sent 0: nothing held */
    int detached;         /* d was pressed: the run goes on without this front end */
    /* Parked: this process's live run while the screens show another run's files (Compare's Enter on it):
     * it trains on, and app_return_live (Compare's Enter on its row, or quitting) brings it back. */
    trainer *parked;
    train_snapshot *parked_snap;
    char parked_dir[VT_PATH_MAX];
    long detached_pid;    /* the background vggtop train --resume (-1: could not start it) */

    /* Derived from the predictions. */
    int C;
    long *cm;             /* C x C */
    report rep;
    int have_rep;
    roc_curve *roc, micro, macro;
    int have_roc;
    char **names;         /* C class names (the run's, or "0".."C-1") */
    char **owned_names;   /* the fallback names we allocated */

    /* Setup: the settings of the next run, the form (its own struct), the probe's facts and a download. */
    train_config cfg;
    setup_view form;
    probe *pr;
    unsigned long probe_gen;
    probe_result facts;
    data_fetch_job *fetch;       /* the d key's download, NULL when none runs */
    data_fetch_status fetch_st;  /* its latest snapshot, the one setup_draw draws */

    report_view rpt;

    confusion_view conf;

    roc_view rv;

    compare_view cmp;

    samples_view smp;

    summary_view sum;

    layers_view lay;
    struct timespec mt_files[TUI_N_SCREENS]; /* follow.c: the mtime of each screen's run_file read last */

    dash_view dash;

    sweep_view swp;

    diff_view dif;

    versus_view vs;

    tui_alerts alerts;
} app;

/* app.c: the screen manager */
/* Handles one key (the loop's dispatch: confirmations, editing, help, screens); H_* flags. */
int app_handle_key(app *a, int key);
/* Prepares what the screen shown draws (its enter): before a draw or a key, never inside a draw. */
void app_enter(app *a);

/* frame.c: around the screen shown */
/* A message on the status line, for a few seconds (errors twice as long). */
void app_set_status(app *a, int role, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Clears a message whose time is up; 1 when one was cleared (a redraw is due). */
int app_status_expire(app *a, double now);
/* The body's first row (under the tabs, the header and the status line, which a long message makes taller)
 * and its rows (above the footer). */
int app_body_top(const app *a);
int app_body_height(const app *a);
/* The help overlay's text wrapped to the terminal's width: made when ? is first pressed, and again by the
 * draw after a resize. */
const char *app_help_text(app *a);
/* Draws the frame and the screen shown (its enter has run: the loop calls app_enter first). */
void app_draw(app *a);

/* follow.c: the run follower */
/* Shows run directory dir (follow: re-read as it changes). */
int app_open_dir(app *a, const char *dir, int follow, vt_err *err);
/* Re-reads the followed run's files that changed, when the next look is due; 1 when it looked. */
int follow_poll(app *a);
/* Re-reads the screens' run files (app_screens' run_file) that changed. */
void follow_files(app *a);
/* Another run is shown (a->dir, "" for none): every screen's files hook, run files read afresh. */
void follow_forget(app *a);
/* A state in which a run's process is at work (or will be: idle before it starts). */
int app_state_running(train_state s);

/* derived.c: what is computed from the predictions */
/* Frees the matrix, report, names and curves (the screens' resets drop their views of them). */
void derived_free(app *a);
/* Computes them again from a->run's predictions. */
void derived_compute(app *a);
/* The ROC curves, once per predictions (they take a sort per class). */
void derived_roc(app *a);
const char *app_class_name(const app *a, int cls);

/* live.c: a live run of this process */
/* Shows dir's files (followed, read-only as vggtop watch shows them); a live run of this process is parked
 * meanwhile and trains on. */
int app_browse(app *a, const char *dir, vt_err *err);
/* Shows the parked live run again (nothing when none is parked). */
void app_return_live(app *a);
/* Whether this process trains a run, shown or parked. */
int app_training(const app *a);
int app_start_training(app *a);
/* Whether the Dashboard's p, S, + and - act on the run shown: a live run of this process, or a followed run
 * that another live process trains (through commands.json). */
int app_can_control(const app *a);
/* Sends c to the followed run's process through commands.json (status line says what happened), holding the
 * channel until the run takes it (app_command_end), never waiting for another sender's turn. */
void app_send_command(app *a, run_command *c);
/* Gives the channel back: the command was taken (taken 1), or is taken back (0: the run did not take it in
 * CMD_TAKE_SECS, or the front end leaves the run). Nothing when no command is held. */
void app_command_end(app *a, int taken);
enum { CMD_TAKE_SECS = 10 };
/* Whether the run shown has stopped (or its process was killed) with a checkpoint to resume from. */
int app_can_resume(const app *a);
/* Starts training cfg (a new run, or cfg->resume). */
int app_start_run(app *a, const train_config *cfg);
/* Takes the engine's snapshot (the one copy the loop draws from); reloads the run files an evaluation rewrote. */
void live_update(app *a);
/* The parked run trains on unseen: its end is said when it comes. */
void live_watch_parked(app *a);
/* SIGHUP: leaves the terminal and lets a live run finish; the exit status. */
int live_hang_up(app *a);
/* D: the run goes on in the background; tui_run prints how to come back. */
int live_detach(app *a);

/* widgets.c: what the screens draw and move with */
/* The one line editor (Setup's fields, Report's search): Backspace, Ctrl-U (clear) and printable ASCII,
 * within size bytes. Returns 1 when it took the key, 0 for a key it leaves to the caller (Enter, Esc, ...). */
int app_line_edit(char *buf, size_t size, int key);
/* Draws text in w columns at (row, col); a text too long keeps its end, cut at a whole character, with "…"
 * ("~" in ASCII) for the lost head (paths: their end is what tells them apart). Returns the columns used. */
int app_draw_tail(app *a, int row, int col, int w, int role, int attr, const char *text);
/* Lines of a text as tui_text_draw counts them. */
int app_count_lines(const char *text);
/* The one scrolling rule of lists and texts: moves *top by act (a line, a page, Home, End) within
 * [0, n - visible]; H_REDRAW, or H_NONE when act does not scroll. */
int app_scroll(int *top, tui_action act, int n, int visible);
/* The first row of a list to show so that row sel is among its rows rows, moving top as little as possible
 * (the keys keep it; a draw uses it as is, or a resize's copy). */
int app_follow(int top, int sel, int rows);
/* Draws table t into r, its first row moved to show the selection on t, a copy (the keys keep the first row;
 * after a resize the copy shows the selection). */
void app_draw_table(app *a, tui_rect r, tui_table t);
/* Row 1: which run the screens show (its folder, state, model, data set and process; a fact not known yet left
 * out). */
void app_draw_header(app *a);
/* The footer row: the keys of the screen that work now (from the key table), or, while a field is edited or a
 * search typed, the keys that end it. */
void app_draw_footer(app *a);
/* The notice of a terminal smaller than the front end needs, into a's grid (whole at any size). */
void app_draw_too_small(app *a);
/* Word-wraps text (at spaces, and at '\n') into r; returns the rows used. */
int app_draw_wrapped(tui_grid *g, tui_rect r, const char *text, int role);
/* Columns of a UTF-8 text: one per character, as the grid counts them. */
int app_text_columns(const char *text);
/* The search typed on the screen shown (Report's, Diff's), or NULL when none is being typed. */
const list_search *app_search_typed(const app *a);
/* A key while s is typed: Esc goes back to where it started, Enter keeps the cursor where it is, any other key
 * edits the text; the cursor goes to the first of n rows whose name (name(a, i), i in display order) holds it
 * (a warning on the status line when Enter keeps a search that matches none). */
void app_search_key(app *a, list_search *s, int key, int *sel, int n, const char *(*name)(const app *a, int i));
/* / and n: starts s at *sel, or moves *sel to the next match after it. */
void app_search_start(list_search *s, int sel);
void app_search_next(app *a, list_search *s, int *sel, int n, const char *(*name)(const app *a, int i));
/* The one cursor rule of lists: Up/Down a row, PgUp/PgDn a page, Home/End the first and last of n rows, the
 * cursor kept in [0, n). 1 when act is one of these (moved or not), 0 for another action. */
int app_list_move(int *sel, tui_action act, int n, int page);
/* the "nothing to show yet" line, and whether charts use braille (which tells
 * series apart by colour alone, so not without colour). */
void app_no_data(app *a, tui_rect body, const char *what);
int app_chart_utf8(const app *a);

/* setup.c */
void setup_init(app *a);
void setup_draw(app *a, tui_rect body);
int setup_key(app *a, int key, tui_action act);
/* Takes the download's latest snapshot (after its wake fd fired); when it has finished, joins it and
 * switches Setup to the CIFAR-100 it installed, or says why it failed. */
void setup_fetch_update(app *a);

/* The screen table (screens.c): a row per screen, app_screens[id - 1], each screen's code in its own file.
 * draw only draws from what the app holds; key returns H_* reactions (H_DASHBOARD asks the app to show the
 * Dashboard: a screen never switches screens itself). The other hooks may be NULL:
 * - enter prepares what the screen shows before it is drawn or gets a key (the loop calls it, never a draw);
 * - reset: the run's predictions changed (what is derived from them was freed or rebuilt; classes_changed:
 *   their number of classes too): drop what was built from them;
 * - files: the run shown changed, or run_file (a file of its directory the screen reads itself) did: re-read it
 *   (a->dir "" when no run is shown);
 * - free: the front end ends: free everything the screen holds. */
typedef struct screen_ops {
    tui_screen id;
    const char *name;   /* the tab's and the help's */
    const char *about;  /* its digit key's help, after the name */
    unsigned keys;      /* TUI_KEYS_*: the shared moving keys it takes */
    void (*draw)(app *a, tui_rect body);
    int (*key)(app *a, int key, tui_action act);
    void (*enter)(app *a);
    void (*reset)(app *a, int classes_changed);
    const char *run_file;
    void (*files)(app *a);
    void (*free)(app *a);
    /* P: saves the screen's chart as shown into <run>/figures (figure.c), its path in out; NULL: no chart. */
    int (*save)(app *a, char *out, size_t size, vt_err *err);
    /* 1 when Tab and S-Tab pass the screen by now (it has nothing to show and opens from another screen); NULL:
     * never. */
    int (*skipped)(const app *a);
} screen_ops;
extern const screen_ops app_screens[TUI_N_SCREENS];
/* The row of the screen shown. */
const screen_ops *app_screen(const app *a);
/* Calls every screen's reset, or free. */
void app_screens_reset(app *a, int classes_changed);
void app_screens_close(app *a);


/* figure.c: P, the chart of the screen shown as a PNG file (the screen's save hook); H_* flags. */
int app_save_figure(app *a);
int dash_save_figure(app *a, char *out, size_t size, vt_err *err);
int report_save_figure(app *a, char *out, size_t size, vt_err *err);
int confusion_save_figure(app *a, char *out, size_t size, vt_err *err);
int roc_save_figure(app *a, char *out, size_t size, vt_err *err);
int compare_save_figure(app *a, char *out, size_t size, vt_err *err);
int samples_save_figure(app *a, char *out, size_t size, vt_err *err);
int sweep_save_figure(app *a, char *out, size_t size, vt_err *err);

/* setup.c (its draw and keys above); free: the download, when one runs. */
void setup_close(app *a);

/* dash.c */
void dash_draw(app *a, tui_rect body);
int dash_key(app *a, int key, tui_action act);
/* Samples the process training the run shown (when due: at most once a second) for the system line; 1 when
 * the Dashboard shows something new. */
int dash_sample(app *a, double now);
/* Another run is shown: the system line's samples were another process's. */
void dash_forget(app *a);

/* report.c */
void report_draw(app *a, tui_rect body);
int report_key(app *a, int key, tui_action act);
void report_enter(app *a);
/* Sizes the table for the report of the predictions (none: frees it). */
void report_reset(app *a, int classes_changed);
/* Frees the table's buffers report_reset built (NULL after). */
void report_free(app *a);
/* (Re)reads per_class.csv of the run shown (an absent file: no history). */
void report_load_history(app *a);
void report_free_history(app *a);
/* Both. */
void report_close(app *a);

/* confusion.c */
void confusion_draw(app *a, tui_rect body);
int confusion_key(app *a, int key, tui_action act);
void confusion_enter(app *a);
/* Drops what confusion_enter built (it builds again on the next enter). */
void confusion_reset(app *a);
/* confusion_reset, and the cursor back to the corner when the classes changed. */
void confusion_changed(app *a, int classes_changed);

/* roc.c */
void roc_draw(app *a, tui_rect body);
int roc_key(app *a, int key, tui_action act);
void roc_enter(app *a);
/* New classes: the first three drawn, the cursor on the first. */
void roc_reset(app *a, int classes_changed);
void roc_close(app *a);

/* compare.c */
void compare_draw(app *a, tui_rect body);
int compare_key(app *a, int key, tui_action act);
void compare_scan(app *a);
/* The Compare table's row (1-based) of the run this process trains, live or parked; 0 when it is not listed. */
int compare_live_row(const app *a);
void compare_free(app *a);

/* samples.c */
void samples_enter(app *a);
void samples_draw(app *a, tui_rect body);
int samples_key(app *a, int key, tui_action act);
/* New classes: back to the first image. */
void samples_reset(app *a, int classes_changed);
void samples_close(app *a);

/* summary.c */
/* Builds (once per model) the summary text of the run shown. */
void summary_prepare(app *a);
void summary_draw(app *a, tui_rect body);
int summary_key(app *a, int key, tui_action act);
void summary_close(app *a);

/* alerts.c */
/* The sink of --notify and --on-event (the options'): VT_OK, or the command's error. */
int alerts_open(app *a, vt_err *err);
/* The run shown's events since the last look: said on the status line, kept to be told; 1 when there were. */
int alerts_observe(app *a, double now);
/* Keeps a sweep's event (of trial t, or t -1 the sweep's end) to be told, and says it on the status line. */
void alerts_tell(app *a, const notify_event *e, int trial);
/* Tells the kept events (after the frame is drawn and flushed): notification bytes and hooks. */
void alerts_flush(app *a);
/* Waits for the hooks (each at most until its limit). */
void alerts_close(app *a);

/* sweep.c */
/* Shows the sweep in dir on the Sweep screen when dir holds one (its sweep.json): 1, else 0. */
int sweep_open(app *a, const char *dir);
/* Reads the sweep folder again when the next look is due (about once a second); 1 when what it shows changed. */
int sweep_poll(app *a, double now);
/* Makes what the draw shows (the table's texts, the panels) when the rows or the cursor changed. */
void sweep_enter(app *a);
void sweep_draw(app *a, tui_rect body);
int sweep_key(app *a, int key, tui_action act);
void sweep_close(app *a);

/* diff.c */
/* Compare's x: marks the run at path (A, then B), or unmarks it; a third mark is refused (status line). */
void diff_mark(app *a, const char *path);
/* Whether path is marked: 'A' or 'B', 0 when not. */
int diff_marked(const app *a, const char *path);
/* Sweep's d and tests: the diff of runs a_dir (A) and b_dir (B), marked in place of the marks. */
void diff_set(app *a, const char *a_dir, const char *b_dir);
/* Reads the marked runs and computes their diff when the marks changed (never in a draw). */
void diff_enter(app *a);
void diff_draw(app *a, tui_rect body);
int diff_key(app *a, int key, tui_action act);
/* Frees the diff and the vs mode's other run (versus_close). */
void diff_close(app *a);
/* Tab and S-Tab pass the Diff screen by while no two runs are marked. */
int diff_skipped(const app *a);

/* versus.c */
/* The run Report and Confusion compare the run shown with: the last marked on Compare that is not the run
 * shown; NULL when none is. */
const char *versus_other(const app *a);
/* c on Report (on points to vs.on_report) or Confusion: the vs mode on or off (on only with another run
 * marked; the status line says how). H_* flags. */
int versus_toggle(app *a, int *on);
/* Reads the other run's predictions when it or the classes of the run shown changed: 1 when vs.cm and vs.rep
 * hold the other run's (of a->C classes), else 0 with vs.err saying why. */
int versus_ready(app *a);
void versus_close(app *a);

/* layers.c */
/* (Re)reads layers.csv of the run shown. */
void layers_load(app *a);
void layers_free(app *a);
void layers_enter(app *a);
void layers_draw(app *a, tui_rect body);
int layers_key(app *a, int key, tui_action act);

#endif
