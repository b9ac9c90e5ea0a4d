/* tui/setup: screen 1, the form of every `vggtop train` setting (validated as typed through train.h's
 * validator, a bad value marked and explained, never accepted), with the data set in use, the model's
 * summary and parameter count, and the measured time per epoch from the probe thread. When the data set
 * is not CIFAR-100, d downloads it on the data module's download thread (data_fetch_start); the screen
 * draws the job's snapshot and switches to CIFAR-100 when it is in place. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_internal.h"

/* The defaults a new user sees: a first finished epoch within a few minutes on Fashion-MNIST or CIFAR. */
void setup_init(app *a)
{
    train_config_default(&a->cfg);
    a->cfg.epochs = 5;
    a->cfg.limit_train = 5000;
    a->cfg.limit_test = 1000;
    if (a->opt.runs_dir)
        snprintf(a->cfg.runs, sizeof a->cfg.runs, "%s", a->opt.runs_dir);
    a->facts.seconds = NAN;
}

static int n_fields(void)
{
    int n = 0;
    while (train_fields[n].name)
        n++;
    return n;
}

static int read_only(const app *a) { return a->opt.watch_dir != NULL; }

static void reprobe(app *a)
{
    if (!a->pr)
        return;
    a->probe_gen++;
    probe_request(a->pr, &a->cfg, !app_training(a));
}

static void fmt_seconds(char *buf, size_t size, double s)
{
    if (s < 0.95) /* an mlp's epoch: "0 s" read as nothing measured */
        snprintf(buf, size, "<1 s");
    else if (s < 9.95)
        snprintf(buf, size, "%.1f s", s);
    else if (s < 90)
        snprintf(buf, size, "%.0f s", s);
    else if (s < 5400)
        snprintf(buf, size, "%.0f min", s / 60);
    else
        snprintf(buf, size, "%.1f h", s / 3600);
}

/* The form's width at this body width: 36 columns at 80, at most 44. */
static int form_width(tui_rect body) { return body.width * 9 / 20 < 44 ? body.width * 9 / 20 : 44; }

/* A field's value as the form shows it: the text being edited, or the setting (a choice between arrows). */
static void field_value(const app *a, const train_field *tf, int editing, char *value, size_t size)
{
    if (editing) {
        snprintf(value, size, "%s_", a->form.edit);
        return;
    }
    train_config_get(&a->cfg, tf->name, value, 4200);
    if (!value[0])
        snprintf(value, size, "%s", strcmp(tf->name, "data") == 0 ? "(default)" :
                                    strcmp(tf->name, "run-dir") == 0 ? "(new)" : "");
    if (tf->kind == TRAIN_FIELD_CHOICE || tf->kind == TRAIN_FIELD_BOOL) {
        char tmp[VT_PATH_MAX + 2 * VT_PATH_EXTRA];
        snprintf(tmp, sizeof tmp, "%s %.4200s %s", a->utf8 ? "\u25c2" : "<", value, a->utf8 ? "\u25b8" : ">");
        snprintf(value, size, "%.4290s", tmp);
    }
}

/* The text under the fields: why the typed value is refused, how an edit ends, or the selected field's help;
 * its role into *role. doc: room for the help. */
static const char *form_message(const app *a, char *doc, size_t size, int *role)
{
    *role = ROLE_DIM;
    if (a->form.editing && a->form.edit_err[0]) {
        *role = ROLE_BAD;
        return a->form.edit_err;
    }
    if (a->form.editing)
        return "Enter accepts, Esc cancels";
    train_field_doc(&train_fields[a->form.field], doc, size);
    return doc;
}

/* The rows of fields in body: what the title and the message under them leave. The message takes the rows it
 * needs (the fix of a refused run directory was cut at three), at least three; at least three fields stay. */
static int form_rows(const app *a, tui_rect body, int *msg_h)
{
    char doc[800];
    int role, lw = form_width(body);
    const char *text = form_message(a, doc, sizeof doc, &role);
    int need = app_draw_wrapped(NULL, (tui_rect){0, 1, body.height, lw - 1}, text, role);
    int most = body.height - 1 - 3;
    *msg_h = need < 3 ? 3 : need > most ? (most > 0 ? most : 0) : need;
    return body.height - 1 - *msg_h;
}

/* Left: the fields, then the help of the selected one or why the typed value is refused. */
static void draw_form(app *a, tui_rect body, int lw)
{
    tui_grid *g = &a->grid;
    int nf = n_fields();
    tui_grid_text(g, body.top, 1, lw, ROLE_TITLE, TUI_BOLD,
                  read_only(a) ? "The run's settings (read-only)" : "Model and settings"); /* fits 36 */
    int msg_h, rows = form_rows(a, body, &msg_h); /* title, then fields, then the help or error */
    int top = app_follow(a->form.field_top, a->form.field, rows); /* the keys keep field_top */
    for (int i = 0; i < rows && top + i < nf; i++) {
        int f = top + i, y = body.top + 1 + i;
        const train_field *tf = &train_fields[f];
        int sel = f == a->form.field, editing = sel && a->form.editing;
        tui_grid_printf(g, y, 1, 15, sel ? ROLE_SELECT : ROLE_LABEL, 0, "%-15s", tf->label);
        char value[VT_PATH_MAX + 2 * VT_PATH_EXTRA];
        field_value(a, tf, editing, value, sizeof value);
        int role = editing ? (a->form.edit_err[0] ? ROLE_BAD : ROLE_CURSOR) : sel ? ROLE_SELECT : ROLE_VALUE;
        /* Long values (paths) show their end, where the interesting part is, cut by columns with "…". */
        tui_grid_fill(g, (tui_rect){y, 17, 1, lw - 17}, ' ', role, 0);
        app_draw_tail(a, y, 17, lw - 17, role, 0, value);
    }
    char doc[800];
    int role;
    const char *text = form_message(a, doc, sizeof doc, &role);
    app_draw_wrapped(g, (tui_rect){body.top + body.height - msg_h, 1, msg_h, lw - 1}, text, role);
}

/* Right, when watching: the run's own facts (its settings are on the left). */
static void draw_run_facts(app *a, int y, int x, int w)
{
    tui_grid *g = &a->grid;
    tui_grid_printf(g, y++, x, w, ROLE_LABEL, 0, "Run: %s", a->dir);
    tui_grid_printf(g, y++, x, w, ROLE_DEFAULT, 0, "Data: %s %dx%dx%d, %d classes", a->run.dataset, a->run.height,
                    a->run.width, a->run.channels, a->run.classes);
    char pc[32];
    vt_fmt_thousands(pc, sizeof pc, a->run.params);
    tui_grid_printf(g, y++, x, w, ROLE_DEFAULT, 0, "Model: %s, %s parameters", a->run.config.model, pc);
    tui_grid_text(g, y + 1, x, w, ROLE_DIM, 0, "Screen 8 shows the model summary.");
}

/* The download's progress, from the snapshot setup_fetch_update took; returns the next row. */
static int draw_download(app *a, int y, int x, int w)
{
    tui_grid *g = &a->grid;
    const data_fetch_progress *p = &a->fetch_st.progress;
    char line[1200];
    tui_grid_text(g, y++, x, w, ROLE_TITLE, TUI_BOLD, "Downloading CIFAR-100 (c cancels)");
    if (p->phase == FETCH_DOWNLOADING) {
        int bar = w - 4 > 30 ? 30 : w - 4 > 8 ? w - 4 : 0; /* the numbers wrap under it when narrow */
        vt_fmt_transfer(line, sizeof line, p->done, p->total, p->rate, p->eta, bar);
        y += app_draw_wrapped(g, (tui_rect){y, x, 2, w}, line, ROLE_VALUE);
    } else {
        y += app_draw_wrapped(g, (tui_rect){y, x, 3, w}, p->message[0] ? p->message : "starting...",
                              p->phase == FETCH_RETRYING ? ROLE_WARN : ROLE_DIM);
    }
    return y + 1;
}

/* The data set the settings read, from the probe; returns the next row. */
static int draw_data_facts(app *a, int y, int x, int w)
{
    tui_grid *g = &a->grid;
    const probe_result *f = &a->facts;
    char line[1200];
    if (!f->done_data) {
        tui_grid_text(g, y++, x, w, ROLE_DIM, 0, "looking for the data set...");
    } else if (f->error[0] && !f->dataset[0]) {
        y += app_draw_wrapped(g, (tui_rect){y, x, 5, w}, f->error, ROLE_BAD);
    } else {
        /* "(limited)" only when the limit cuts the data set: a limit of its size or above changes nothing,
         * and says so. */
        const char *lim = !a->cfg.limit_train ? "" : f->n_train_file <= a->cfg.limit_train ? " (all of them)"
                                                                                           : " (limited)";
        snprintf(line, sizeof line, "Data: %s %dx%dx%d, %d classes, %ld training image%s%s", f->dataset, f->height,
                 f->width, f->channels, f->classes, f->n_train, f->n_train == 1 ? "" : "s", lim);
        y += app_draw_wrapped(g, (tui_rect){y, x, 2, w}, line, ROLE_LABEL);
        if (f->notice[0])
            y += app_draw_wrapped(g, (tui_rect){y, x, 7, w}, f->notice, ROLE_DIM);
    }
    if (!a->fetch && f->done_data && strcmp(f->dataset, "CIFAR-100") != 0)
        y += app_draw_wrapped(g, (tui_rect){y, x, 2, w}, "d downloads CIFAR-100 (168.5 MB) and switches to it",
                              ROLE_KEY);
    return y;
}

/* The model's parameter count and the time an epoch takes, from the probe; returns the next row. */
static int draw_model_facts(app *a, int y, int x, int w)
{
    tui_grid *g = &a->grid;
    const probe_result *f = &a->facts;
    int fresh = f->generation == a->probe_gen;
    /* Facts of an earlier request (another model, until the probe answers the new one) are not shown under the
     * new name: they said the previous model's parameter count for up to a second. */
    if (!fresh) {
        tui_grid_printf(g, y++, x, w, ROLE_DIM, 0, "Model: %s, counting its parameters...", a->cfg.model);
    } else if (f->done_summary && f->summary) {
        char pc[32];
        vt_fmt_thousands(pc, sizeof pc, f->params);
        tui_grid_printf(g, y++, x, w, ROLE_LABEL, 0, "Model: %s, %s parameters", a->cfg.model, pc);
    } else if (f->done_summary && f->error[0] && f->dataset[0]) { /* a data error is shown above already */
        y += app_draw_wrapped(g, (tui_rect){y, x, 3, w}, f->error, ROLE_BAD);
    }
    if (app_training(a)) {
        tui_grid_text(g, y++, x, w, ROLE_WARN, 0, "Estimate: paused while a run trains");
    } else if (!fresh || !f->done_estimate) {
        tui_grid_text(g, y++, x, w, ROLE_DIM, 0, "Estimate: measuring a few training steps...");
    } else if (isfinite(f->seconds)) {
        /* The test-set pass after each epoch counts too (minutes for a VGG on 10,000 images). */
        char one[32], all[32], line[256];
        long n_train = a->cfg.limit_train > 0 && a->cfg.limit_train < f->n_train ? a->cfg.limit_train : f->n_train;
        long n_test = a->cfg.limit_test > 0 && a->cfg.limit_test < f->n_test ? a->cfg.limit_test : f->n_test;
        double epoch = f->seconds + train_eval_seconds(f->seconds, n_train, n_test);
        fmt_seconds(one, sizeof one, epoch);
        fmt_seconds(all, sizeof all, epoch * a->cfg.epochs);
        snprintf(line, sizeof line, "Estimate: %s per epoch with its test-set pass, %s for %d epoch%s", one, all,
                 a->cfg.epochs, a->cfg.epochs == 1 ? "" : "s");
        y += app_draw_wrapped(g, (tui_rect){y, x, 2, w}, line, epoch > 600 ? ROLE_WARN : ROLE_GOOD);
    }
    return y;
}

/* The part of line (len bytes) between columns from and to, blanks at both ends dropped, into out. */
static void column_text(const char *line, int len, int from, int to, char *out, size_t size)
{
    if (from > len)
        from = len;
    if (to > len)
        to = len;
    while (from < to && line[from] == ' ')
        from++;
    while (to > from && line[to - 1] == ' ')
        to--;
    snprintf(out, size, "%.*s", to - from, line + from);
}

/* The Keras summary for a panel of width columns: as it is where it fits; else each layer row squeezed to
 * "name (Type)  shape  params" with the shape's "None, " dropped, the type dropped and then the name cut when
 * the row still does not fit, so the Param # column stays (it went off the panel's right edge). The columns
 * are where the header row puts "Output Shape" and "Param #". malloc'ed; NULL: draw the text as it is. */
static char *summary_narrow(const char *text, int width)
{
    const char *head = strstr(text, "Output Shape"), *param = strstr(text, "Param #");
    int widest = 0;
    for (const char *p = text; *p;) {
        int len = (int)strcspn(p, "\n");
        widest = len > widest ? len : widest;
        p += len + (p[len] == '\n');
    }
    if (widest <= width || !head || !param || width < 24)
        return NULL;
    const char *line0 = head;
    while (line0 > text && line0[-1] != '\n')
        line0--;
    int c_shape = (int)(head - line0), c_param = (int)(param - line0), pw = 7; /* "Param #" */
    vt_buf b = {0};
    for (const char *p = text; *p;) {
        int len = (int)strcspn(p, "\n");
        char name[128], shape[128], params[64];
        column_text(p, len, 0, c_shape, name, sizeof name);
        column_text(p, len, c_shape, c_param, shape, sizeof shape);
        column_text(p, len, c_param, len, params, sizeof params);
        int rule = len > 0 && (int)strspn(p, p[0] == '=' ? "=" : "_") == len;
        if (len > width && !rule && (shape[0] || params[0])) { /* a row of the table: squeezed */
            if (strncmp(shape, "(None, ", 7) == 0)
                memmove(shape + 1, shape + 7, strlen(shape + 7) + 1);
            else if (strncmp(shape, "[(None, ", 8) == 0)
                memmove(shape + 2, shape + 8, strlen(shape + 8) + 1);
            int room = width - 3 - (int)strlen(shape) - pw; /* " name shape params" */
            char *type = strstr(name, " (");
            if ((int)strlen(name) > room && type)
                *type = '\0';
            vt_buf_printf(&b, " %-*.*s %s %*s\n", room > 0 ? room : 0, room > 0 ? room : 0, name, shape, pw, params);
        } else if (len > width) { /* a rule (___ or ===): the panel's width of it */
            vt_buf_printf(&b, "%.*s\n", width, p);
        } else {
            vt_buf_printf(&b, "%.*s\n", len, p);
        }
        p += len + (p[len] == '\n');
    }
    return vt_buf_take(&b);
}

void setup_draw(app *a, tui_rect body)
{
    int lw = form_width(body);
    draw_form(a, body, lw);
    /* Right: the data set, the model and the estimate, then the model's summary. */
    int x = lw + 1, w = body.width - x - 1, y = body.top, bottom = body.top + body.height;
    if (read_only(a)) {
        draw_run_facts(a, y, x, w);
        return;
    }
    if (a->fetch)
        y = draw_download(a, y, x, w);
    y = draw_data_facts(a, y, x, w);
    y = draw_model_facts(a, y, x, w);
    if (y < bottom)
        y += app_draw_wrapped(&a->grid, (tui_rect){y, x, 2, w},
                              "Enter trains, e edits a field, Left/Right change a choice", ROLE_DIM);
    y++;
    const probe_result *f = &a->facts;
    if (f->generation == a->probe_gen && f->summary && y < bottom) {
        char *narrow = summary_narrow(f->summary, w);
        tui_text_draw(&a->grid, (tui_rect){y, x, bottom - y, w}, narrow ? narrow : f->summary, a->form.summary_top,
                      ROLE_DEFAULT);
        free(narrow);
    }
}

void setup_close(app *a)
{
    /* A download still running is cancelled (its partial file kept for the next one) and joined. */
    data_fetch_destroy(a->fetch);
    a->fetch = NULL;
}

void setup_fetch_update(app *a)
{
    if (!a->fetch)
        return;
    data_fetch_poll(a->fetch, &a->fetch_st);
    if (!a->fetch_st.finished)
        return;
    data_fetch_destroy(a->fetch);
    a->fetch = NULL;
    const data_fetch_status *st = &a->fetch_st;
    if (st->rc != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", st->err.msg);
        return;
    }
    /* Switch to it: by the default search when that finds it first, else by naming the folder. */
    vt_err err;
    const char *env = getenv("VGGTOP_DATA");
    if (a->cfg.data[0] || (env && *env))
        train_config_set(&a->cfg, "data", st->installed, &err);
    app_set_status(a, ROLE_GOOD, "CIFAR-100 is in %s: Setup uses it now", st->installed);
    a->form.summary_top = 0;
    reprobe(a);
}

/* Cycles a choice or yes/no field by dir (+1/-1). */
static void cycle(app *a, int dir)
{
    const train_field *tf = &train_fields[a->form.field];
    char value[64];
    vt_err err;
    train_config next = a->cfg;
    if (tf->kind == TRAIN_FIELD_BOOL) {
        train_config_get(&next, tf->name, value, sizeof value);
        train_config_set(&next, tf->name, strcmp(value, "yes") == 0 ? "no" : "yes", &err);
    } else if (tf->kind == TRAIN_FIELD_CHOICE) {
        int n = 0;
        while (tf->choices[n])
            n++;
        train_config_get(&next, tf->name, value, sizeof value);
        int cur = 0;
        for (int i = 0; i < n; i++)
            if (strcmp(tf->choices[i], value) == 0)
                cur = i;
        train_config_set(&next, tf->name, tf->choices[(cur + dir + n) % n], &err);
    } else {
        app_set_status(a, ROLE_DIM, "e edits this field");
        return;
    }
    /* Coarse labels are CIFAR-100's 20 superclasses: not offered for a data set without them (they were, and
     * training then refused them). */
    const probe_result *f = &a->facts;
    if (next.coarse && !a->cfg.coarse && f->done_data && f->dataset[0] && f->classes != 100) {
        app_set_status(a, ROLE_WARN, "coarse labels are CIFAR-100's 20 superclasses: %s has none", f->dataset);
        return;
    }
    /* A choice that clashes with another field (vgg16 with a resize below 32) is refused with the reason. */
    if (train_config_check(&next, &err) != VT_OK) {
        app_set_status(a, ROLE_BAD, "%s", err.msg);
        return;
    }
    a->cfg = next;
    a->form.summary_top = 0;
    reprobe(a);
}

static void validate_edit(app *a)
{
    train_config tmp = a->cfg;
    vt_err err;
    vt_err_clear(&err);
    /* The field's own rule, then the rules between fields (a resize below a VGG's 32x32 minimum). */
    /* A run directory must be new or empty: a file or a folder with files is refused now, not when Enter
     * starts the run. */
    int run_dir = strcmp(train_fields[a->form.field].name, "run-dir") == 0 && a->form.edit[0];
    if (train_config_set(&tmp, train_fields[a->form.field].name, a->form.edit, &err) != VT_OK ||
        train_config_check(&tmp, &err) != VT_OK ||
        (run_dir && train_check_new_run_dir(a->form.edit, "--run-dir", &err)))
        snprintf(a->form.edit_err, sizeof a->form.edit_err, "%s", err.msg);
    else
        a->form.edit_err[0] = '\0';
}

static int edit_key(app *a, int key)
{
    if (key == 27) {
        a->form.editing = 0;
        app_set_status(a, ROLE_DIM, "edit cancelled");
        return H_REDRAW;
    }
    if (key == '\n' || key == '\r' || key == KEY_ENTER) {
        validate_edit(a);
        if (a->form.edit_err[0])
            return H_REDRAW; /* refused: the reason stays on screen */
        vt_err err;
        train_config_set(&a->cfg, train_fields[a->form.field].name, a->form.edit, &err);
        a->form.editing = 0;
        a->form.summary_top = 0;
        reprobe(a);
        return H_REDRAW;
    }
    if (!app_line_edit(a->form.edit, sizeof a->form.edit, key))
        return H_NONE;
    validate_edit(a);
    return H_REDRAW;
}

/* e: edit the field (a choice or yes/no says how it changes instead). */
static void edit_start(app *a)
{
    if (read_only(a)) {
        app_set_status(a, ROLE_DIM, "watching a run: its settings cannot change");
        return;
    }
    const train_field *tf = &train_fields[a->form.field];
    if (tf->kind == TRAIN_FIELD_CHOICE || tf->kind == TRAIN_FIELD_BOOL) {
        /* Not changed behind the user's back (e stepped it silently, and the letters typed next acted as keys) */
        app_set_status(a, ROLE_WARN, "%s is a choice: Left/Right or Space change it (e edits typed values)",
                       tf->label);
        return;
    }
    train_config_get(&a->cfg, tf->name, a->form.edit, sizeof a->form.edit);
    a->form.editing = 1;
    validate_edit(a);
}

/* d: download CIFAR-100 on the data module's thread (the screen draws its snapshots). */
static void download_start(app *a)
{
    if (read_only(a)) {
        app_set_status(a, ROLE_DIM, "watching a run: download CIFAR-100 from vggtop without watch");
        return;
    }
    if (a->fetch) {
        app_set_status(a, ROLE_DIM, "CIFAR-100 is downloading already (c cancels)");
        return;
    }
    if (a->facts.done_data && strcmp(a->facts.dataset, "CIFAR-100") == 0) {
        app_set_status(a, ROLE_DIM, "the data set in use is CIFAR-100 already");
        return;
    }
    data_fetch_options o = {0}; /* the default: ./data/cifar-100-binary, the published tarball */
    vt_err err;
    vt_err_clear(&err);
    memset(&a->fetch_st, 0, sizeof a->fetch_st);
    if (data_fetch_start(&o, &a->fetch, &err) != VT_OK)
        app_set_status(a, ROLE_BAD, "cannot download: %s", err.msg);
    else
        app_set_status(a, ROLE_DIM, "downloading CIFAR-100 into " DATA_DEFAULT_DIR "...");
}

/* Enter: train with these settings. */
static int train_start(app *a)
{
    if (read_only(a)) {
        app_set_status(a, ROLE_DIM, "watching a run: start new runs from vggtop without watch");
        return H_REDRAW;
    }
    /* Settings the helper already found unusable (no data set, coarse labels without CIFAR-100) would start a
     * run that fails at once and show an empty Dashboard: say why here instead. */
    if (a->facts.generation == a->probe_gen && a->facts.done_data && a->facts.error[0]) {
        app_set_status(a, ROLE_BAD, "cannot train: %s", a->facts.error);
        return H_REDRAW;
    }
    return app_start_training(a);
}

/* PgUp/PgDn scroll the model's summary by 10 lines, not past its last line. */
static void summary_scroll(app *a, int lines)
{
    int top = a->form.summary_top + lines, last = app_count_lines(a->facts.summary) - 1;
    if (lines > 0)
        top = top < last ? top : last;
    a->form.summary_top = top > 0 ? top : 0;
}

int setup_key(app *a, int key, tui_action act)
{
    if (a->form.editing)
        return edit_key(a, key);
    int nf = n_fields();
    switch (act) {
    case ACT_UP: a->form.field = (a->form.field + nf - 1) % nf; break;
    case ACT_DOWN: a->form.field = (a->form.field + 1) % nf; break;
    case ACT_HOME: a->form.field = 0; break;
    case ACT_END: a->form.field = nf - 1; break;
    case ACT_PGUP: summary_scroll(a, -10); break;
    case ACT_PGDN: summary_scroll(a, 10); break;
    case ACT_LEFT:
    case ACT_RIGHT:
        if (!read_only(a))
            cycle(a, act == ACT_LEFT ? -1 : 1);
        break;
    case ACT_TOGGLE: edit_start(a); break;
    case ACT_REFRESH: reprobe(a); break;
    case ACT_DOWNLOAD: download_start(a); break;
    case ACT_CANCEL:
        if (!a->fetch) {
            app_set_status(a, ROLE_DIM, "no download to cancel");
            break;
        }
        data_fetch_cancel(a->fetch);
        app_set_status(a, ROLE_DIM, "cancelling the download...");
        break;
    case ACT_ENTER: return train_start(a);
    default: return H_NONE;
    }
    int msg_h;
    a->form.field_top = app_follow(a->form.field_top, a->form.field,
                                   form_rows(a, (tui_rect){0, 0, app_body_height(a), a->cols}, &msg_h));
    return H_REDRAW;
}
