/* tui/frame: what is around the screen shown: the tabs (from the screen table), the header naming the run,
 * the status line (a message, a question, the search being typed), the footer (from the key table), the help
 * overlay and the "enlarge the terminal" notice; and the body's place between them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui_internal.h"

#define MIN_ROWS 24
#define MIN_COLS 80

#define STATUS_SECONDS 5.0 /* a transient message's life (errors twice that) */
#define STATUS_MAX_ROWS 3

void app_set_status(app *a, int role, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->status, sizeof a->status, fmt, ap);
    va_end(ap);
    a->status_role = role;
    a->status_until = vt_now() + (role == ROLE_BAD ? 2 : 1) * STATUS_SECONDS;
}

int app_status_expire(app *a, double now)
{
    if (!a->status[0] || now < a->status_until)
        return 0;
    a->status[0] = '\0';
    return 1;
}


/* Rows: 0 tabs, 1 the header naming the run, 2.. the status line (a long message wraps onto up to three
 * rows, never cut), body, footer. */
static int status_rows(const app *a)
{
    const char *text = a->status;
    if (!a->status[0] || a->confirm || app_search_typed(a))
        return 1;
    int n = app_draw_wrapped(NULL, (tui_rect){0, 0, STATUS_MAX_ROWS, a->cols > 0 ? a->cols : 80}, text, 0);
    return n < 1 ? 1 : n;
}
int app_body_top(const app *a) { return 2 + status_rows(a); }
int app_body_height(const app *a) { return a->rows - app_body_top(a) - 1; }


/* ---- drawing the frame: tabs, status line, footer, help, "enlarge" ---- */

static void draw_tabs(app *a)
{
    tui_grid *g = &a->grid;
    tui_grid_fill(g, (tui_rect){0, 0, 1, g->cols}, ' ', ROLE_TAB, 0);
    int x = 0, width = 0;
    for (int i = 0; i < TUI_N_SCREENS; i++)
        width += snprintf(NULL, 0, "%d%s ", i + 1, app_screens[i].name);
    int gap = width - 1 <= g->cols; /* without the gaps when they would push the last tabs off (80 columns) */
    /* Tabs past the digit keys drop their numbers, the last first, while the row would not hold them all. */
    int numbered = TUI_N_SCREENS, need = width - (gap ? 1 : TUI_N_SCREENS);
    while (numbered > 9 && need > g->cols)
        need -= snprintf(NULL, 0, "%d", numbered--);
    for (int i = 0; i < TUI_N_SCREENS; i++) {
        int active = a->screen == i + 1;
        x += i < numbered ? tui_grid_printf(g, 0, x, -1, active ? ROLE_TAB_ACTIVE : ROLE_TAB, 0, "%d%s", i + 1,
                                        app_screens[i].name)
                      : tui_grid_text(g, 0, x, -1, active ? ROLE_TAB_ACTIVE : ROLE_TAB, 0, app_screens[i].name);
        x += gap;
    }
    const char *name = "vggtop";
    if ((int)strlen(name) + x + 1 < g->cols)
        tui_grid_text(g, 0, g->cols - (int)strlen(name), -1, ROLE_TAB, TUI_BOLD, name);
}

/* Row 1, always: which run the screens show (its folder, data set, state and process), so a message on the
 * status line never hides it. */
void app_draw_header(app *a)
{
    tui_grid *g = &a->grid;
    const train_snapshot *s = a->snap;
    if (!a->live && !a->dir[0] && a->swp.dir[0]) {
        tui_grid_printf(g, 1, 0, -1, ROLE_VALUE, TUI_BOLD, "%s", a->swp.dir);
        tui_grid_text(g, 1, app_text_columns(a->swp.dir), -1, ROLE_DIM, 0,
                      " · a sweep: Enter on a trial (Sweep screen, 10) opens its run");
        return;
    }
    if (!a->live && !a->dir[0]) {
        tui_grid_text(g, 1, 0, -1, ROLE_DIM, 0, "no run yet: pick a model and press Enter to train (? lists every key)");
        return;
    }
    long pid = a->live ? (long)getpid() : a->have_run ? a->holder_pid : 0;
    char facts[256], pidtext[48] = "";
    if (pid > 0 && (a->live || app_state_running(s->state)))
        snprintf(pidtext, sizeof pidtext, " · pid %ld", pid);
    /* Browsing another run: the parked live run stays a few keys away (6 Compare, Enter on its row, named by
     * the row's number: the screen's key is not the row). A model or data set not known yet (the run still
     * loads) is left out, not shown as "?". */
    char live_run[64] = "", model[64] = "", dataset[48] = "";
    if (a->parked)
        snprintf(live_run, sizeof live_run, " · live run: row %d of 6 Compare, Enter", compare_live_row(a));
    const int mixed = s->precision[0] && strcmp(s->precision, "float32") != 0; /* named where not the default */
    if (s->model[0])
        snprintf(model, sizeof model, " · %s%s%s", s->model, mixed ? " " : "", mixed ? s->precision : "");
    if (s->dataset[0])
        snprintf(dataset, sizeof dataset, " · %s", s->dataset);
    snprintf(facts, sizeof facts, "%s%s%s%s%s%s", a->live ? "live " : a->parked ? "browsing " :
             a->following ? "watching " : "", train_state_name(s->state), model, dataset, pidtext, live_run);
    int role = s->state == TRAIN_FAILED ? ROLE_BAD : s->state == TRAIN_PAUSED || s->state == TRAIN_STOPPED
                                                        ? ROLE_WARN : ROLE_LABEL;
    /* The folder first; when it and the facts do not fit, its head gives way ("…" marks the cut). */
    int fw = app_text_columns(facts) + 3, room = g->cols - fw;
    int x = room > 4 ? app_draw_tail(a, 1, 0, room, ROLE_VALUE, TUI_BOLD, a->dir[0] ? a->dir : s->run_dir) : 0;
    x += tui_grid_text(g, 1, x, -1, ROLE_DIM, 0, " · ");
    tui_grid_text(g, 1, x, -1, role, 0, facts);
}

/* Rows 2..: a question, the search being typed, or the latest message (wrapped, never cut). */
static void draw_status(app *a)
{
    tui_grid *g = &a->grid;
    int row = 2;
    if (a->confirm == CONFIRM_QUIT) {
        tui_grid_text(g, row, 0, -1, ROLE_WARN, TUI_BOLD,
                      "A run is live. Quit and stop it (a checkpoint is saved)? y/n  (D detaches instead)");
        return;
    }
    if (a->confirm == CONFIRM_STOP) {
        tui_grid_text(g, row, 0, -1, ROLE_WARN, TUI_BOLD,
                      "Stop the run after this step and save a checkpoint? y/n");
        return;
    }
    const list_search *search = app_search_typed(a);
    if (search) {
        tui_grid_printf(g, row, 0, -1, ROLE_CURSOR, 0, "/%s", search->text);
        tui_grid_text(g, row, (int)strlen(search->text) + 2, -1, ROLE_DIM, 0, "(type a class name, Enter keeps, Esc cancels)");
        return;
    }
    if (a->status[0])
        app_draw_wrapped(g, (tui_rect){row, 0, STATUS_MAX_ROWS, g->cols}, a->status, a->status_role);
}

/* text with its lines longer than width broken at spaces, the rest indented under a key's help (9 columns:
 * "  Enter  ..."); malloc'ed, NULL when out of memory. The ? overlay cut them at 80 columns. */
static char *wrap_help(const char *text, int width)
{
    enum { INDENT = 9 };
    vt_buf b = {0};
    if (width < INDENT + 10)
        width = INDENT + 10;
    while (*text) {
        size_t len = strcspn(text, "\n");
        const char *p = text, *end = text + len;
        int room = width;
        while (end - p > room) {
            const char *cut = p + room;
            while (cut > p && *cut != ' ')
                cut--;
            if (cut == p) /* one word longer than the row: cut it there */
                cut = p + room;
            vt_buf_printf(&b, "%.*s\n%*s", (int)(cut - p), p, INDENT, "");
            p = *cut == ' ' ? cut + 1 : cut;
            room = width - INDENT;
        }
        vt_buf_printf(&b, "%.*s\n", (int)(end - p), p);
        text = *end ? end + 1 : end;
    }
    return vt_buf_take(&b);
}

const char *app_help_text(app *a)
{
    int width = a->cols - 2; /* the overlay's text: one column in, one free at the right */
    if (a->help_text && a->help_cols == width)
        return a->help_text;
    free(a->help_text);
    char *text = tui_keys_help();
    a->help_text = text ? wrap_help(text, width) : NULL;
    a->help_cols = width;
    free(text);
    return a->help_text ? a->help_text : "";
}

static void draw_help(app *a, tui_rect body)
{
    tui_grid_fill(&a->grid, body, ' ', ROLE_DEFAULT, 0);
    tui_grid_text(&a->grid, body.top, body.left, -1, ROLE_TITLE, TUI_BOLD,
                  "Keys (Up/Down/PgUp/PgDn scroll, any other key closes)");
    tui_rect r = {body.top + 1, body.left + 1, body.height - 1, body.width - 1};
    tui_text_draw(&a->grid, r, app_help_text(a), a->help_top, ROLE_DEFAULT);
}

/* The footer's word for a key in the current mode, or NULL to leave the key out (it would do nothing). */
static const char *footer_brief(const tui_key *k, void *ctx)
{
    const app *a = ctx;
    switch (k->action) {
    case ACT_PAUSE:
        return !app_can_control(a) ? NULL : a->snap->state == TRAIN_PAUSED ? "Resume" : k->brief;
    case ACT_STOP:
    case ACT_LR_UP:
    case ACT_LR_DOWN:
        return app_can_control(a) ? k->brief : NULL;
    case ACT_RESUME_RUN:
        return app_can_resume(a) ? k->brief : NULL;
    case ACT_DETACH: /* a watched run that has ended (finished, stopped, killed) has nothing to leave running */
        return a->live || (a->following && app_can_control(a)) ? k->brief : NULL;
    case ACT_VIEW:
        return a->rpt.heatmap ? "Table" : k->brief; /* Report: what v goes to */
    case ACT_ENTER:
        return a->screen == TUI_SCREEN_SETUP && a->following ? NULL : k->brief; /* Setup is read-only when watching */
    default:
        return k->brief;
    }
}

void app_draw_footer(app *a)
{
    /* A field being edited or a search being typed takes every key: the table's keys would type into it (q, t),
     * so the footer offers what works there. */
    int editing = a->screen == TUI_SCREEN_SETUP && a->form.editing;
    if (!editing && !app_search_typed(a)) {
        tui_footer_draw(&a->grid, a->rows - 1, a->screen, footer_brief, a);
        return;
    }
    static const char *const keys[2][2] = {{"Enter", "Accept"}, {"Esc", "Cancel"}};
    tui_grid *g = &a->grid;
    int row = a->rows - 1, x = 0;
    tui_grid_fill(g, (tui_rect){row, 0, 1, g->cols}, ' ', ROLE_KEYLABEL, 0);
    for (int i = 0; i < 2; i++) {
        x += tui_grid_text(g, row, x, -1, ROLE_KEY, 0, keys[i][0]);
        x += tui_grid_text(g, row, x, -1, ROLE_KEYLABEL, 0, " ");
        x += tui_grid_text(g, row, x, -1, ROLE_KEYLABEL, 0, i == 0 && !editing ? "Keep" : keys[i][1]);
        x += 1;
    }
    tui_grid_text(g, row, x, -1, ROLE_KEYLABEL, 0, editing ? "(typing edits the field)" : "(typing searches)");
}

void app_draw_too_small(app *a)
{
    char msg[128];
    snprintf(msg, sizeof msg, "enlarge the terminal to at least %dx%d (now %dx%d)", MIN_COLS, MIN_ROWS, a->cols,
             a->rows);
    /* One centred line where it fits; else wrapped at spaces over the middle rows (at 40x10 the line was cut). */
    int len = (int)strlen(msg);
    if (len <= a->cols) {
        tui_grid_text(&a->grid, a->rows / 2, (a->cols - len) / 2, -1, ROLE_WARN, TUI_BOLD, msg);
        return;
    }
    int rows = app_draw_wrapped(NULL, (tui_rect){0, 0, a->rows, a->cols}, msg, ROLE_WARN);
    int top = a->rows > rows ? (a->rows - rows) / 2 : 0;
    app_draw_wrapped(&a->grid, (tui_rect){top, 0, a->rows - top, a->cols}, msg, ROLE_WARN);
}

void app_draw(app *a)
{
    tui_grid *g = &a->grid;
    if (g->rows != a->rows || g->cols != a->cols)
        tui_grid_resize(g, a->rows, a->cols);
    tui_grid_clear(g);
    if (a->rows < MIN_ROWS || a->cols < MIN_COLS) {
        app_draw_too_small(a);
        term_blit(g, a->depth);
        return;
    }
    draw_tabs(a);
    app_draw_header(a);
    draw_status(a);
    tui_rect body = {app_body_top(a), 0, app_body_height(a), a->cols};
    if (a->help)
        draw_help(a, body);
    else
        app_screen(a)->draw(a, body);
    app_draw_footer(a);
    term_blit(g, a->depth);
}
