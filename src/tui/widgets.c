/* tui/widgets: what every screen draws and moves with: wrapped and tail-cut text, tables that follow their
 * cursor, the one line editor, and the one rule each for scrolling a text and moving a list's cursor (Up/Down,
 * PgUp/PgDn, Home/End), so the screens do not each carry a copy. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tui_internal.h"

/* Word-wraps text into r; returns the rows used. g NULL: only counts them. */
int app_draw_wrapped(tui_grid *g, tui_rect r, const char *text, int role)
{
    int row = 0;
    const char *p = text;
    while (*p && row < r.height) {
        while (*p == ' ')
            p++;
        int len = (int)strlen(p), take = len;
        const char *nl = strchr(p, '\n');
        if (nl && nl - p < take)
            take = (int)(nl - p);
        if (take > r.width) {
            /* At a space; in a word longer than the row (a URL, a path) after its last '/' or '-' that fits;
             * else at the width, never inside a character. */
            take = r.width;
            while (take > 0 && p[take] != ' ')
                take--;
            for (int k = r.width - 1; take == 0 && k > 0; k--)
                if (p[k] == '/' || p[k] == '-')
                    take = k + 1;
            for (take = take ? take : r.width; take > 1 && ((unsigned char)p[take] & 0xc0) == 0x80;)
                take--;
        }
        char line[512];
        snprintf(line, sizeof line, "%.*s", take, p);
        if (g)
            tui_grid_text(g, r.top + row, r.left, r.width, role, 0, line);
        row++;
        p += take;
        if (*p == '\n')
            p++;
    }
    return row;
}

/* Columns of a UTF-8 text: one per character, as the grid counts them. */
int app_text_columns(const char *text)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

int app_draw_tail(app *a, int row, int col, int w, int role, int attr, const char *text)
{
    int n = app_text_columns(text);
    if (n <= w)
        return tui_grid_text(&a->grid, row, col, w, role, attr, text);
    if (w < 2)
        return 0;
    const unsigned char *p = (const unsigned char *)text;
    for (int skip = n - (w - 1); skip > 0; skip--) /* whole characters: a split one showed as ?? */
        for (p++; (*p & 0xc0) == 0x80; p++)
            ;
    int x = tui_grid_text(&a->grid, row, col, 1, role, attr, a->utf8 ? "\u2026" : "~");
    return x + tui_grid_text(&a->grid, row, col + x, w - x, role, attr, (const char *)p);
}

int app_count_lines(const char *text)
{
    int n = 0;
    const char *p = text ? text : "";
    do {
        n++;
        const char *e = strchr(p, '\n');
        if (!e)
            break;
        p = e + 1;
    } while (*p);
    return n;
}

int app_line_edit(char *buf, size_t size, int key)
{
    size_t len = strlen(buf);
    if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        if (len > 0)
            buf[len - 1] = '\0';
    } else if (key == 21) { /* Ctrl-U */
        buf[0] = '\0';
    } else if (key >= 32 && key < 127) {
        if (len + 1 >= size)
            return 1; /* full: taken, and nothing changes */
        buf[len] = (char)key;
        buf[len + 1] = '\0';
    } else {
        return 0;
    }
    return 1;
}

int app_follow(int top, int sel, int rows)
{
    if (sel < top)
        top = sel;
    if (sel >= top + rows)
        top = sel - rows + 1;
    return top < 0 ? 0 : top;
}

void app_draw_table(app *a, tui_rect r, tui_table t)
{
    int visible = tui_table_draw(&a->grid, r, &t, a->utf8), top = t.top;
    tui_table_follow(&t, visible);
    if (t.top != top)
        tui_table_draw(&a->grid, r, &t, a->utf8);
}

int app_scroll(int *top, tui_action act, int n, int visible)
{
    int page = visible > 2 ? visible - 1 : 1, last = n - visible > 0 ? n - visible : 0;
    /* A text scrolls as a cursor moves through the list of its first lines that can be shown, 0..last. */
    return app_list_move(top, act, last + 1, page) ? H_REDRAW : H_NONE;
}

void app_no_data(app *a, tui_rect body, const char *what)
{
    char line[256];
    const char *why = a->live ? "it appears after the first epoch's evaluation"
                      : a->dir[0] ? "this run has no predictions yet (no finished epoch)"
                                  : "no run yet: start one on the Setup screen (1), or open one on Compare (6)";
    snprintf(line, sizeof line, "%s: %s.", what, why);
    app_draw_wrapped(&a->grid, (tui_rect){body.top + 1, 2, 3, body.width - 4}, line, ROLE_DIM);
}

int app_chart_utf8(const app *a) { return a->utf8 && a->depth != TUI_COLOR_NONE; }

int app_list_move(int *sel, tui_action act, int n, int page)
{
    switch (act) {
    case ACT_UP: *sel -= 1; break;
    case ACT_DOWN: *sel += 1; break;
    case ACT_PGUP: *sel -= page; break;
    case ACT_PGDN: *sel += page; break;
    case ACT_HOME: *sel = 0; break;
    case ACT_END: *sel = n - 1; break;
    default: return 0;
    }
    if (*sel >= n)
        *sel = n - 1;
    if (*sel < 0)
        *sel = 0;
    return 1;
}

/* ---- the search of a list (Report's and Diff's /) ---- */

const list_search *app_search_typed(const app *a)
{
    const list_search *s = a->screen == TUI_SCREEN_REPORT ? &a->rpt.search
                           : a->screen == TUI_SCREEN_DIFF ? &a->dif.search
                                                          : NULL;
    return s && s->on ? s : NULL;
}

/* Display position of the first of n rows whose name holds the search, from position `from` on; -1: none. */
static int search_find(const app *a, const list_search *s, int from, int n, const char *(*name)(const app *a, int i))
{
    for (int k = 0; k < n; k++) {
        int i = (from + k) % n;
        if (strcasestr(name(a, i), s->text))
            return i;
    }
    return -1;
}

void app_search_key(app *a, list_search *s, int key, int *sel, int n, const char *(*name)(const app *a, int i))
{
    if (key == 27 || key == '\n' || key == '\r' || key == KEY_ENTER)
        s->on = 0;
    else
        app_line_edit(s->text, sizeof s->text, key);
    /* The cursor goes to the first match as the search is typed; with none (or an empty search) it goes back
     * to where the search started, not to an earlier prefix's match; Esc goes back. */
    int found = s->text[0] ? search_find(a, s, 0, n, name) : -1;
    *sel = found >= 0 && key != 27 ? found : s->saved_sel;
    if (!s->on && s->text[0] && found < 0)
        app_set_status(a, ROLE_WARN, "no class matches '%s'", s->text);
}

void app_search_start(list_search *s, int sel)
{
    s->on = 1;
    s->text[0] = '\0';
    s->saved_sel = sel;
}

void app_search_next(app *a, list_search *s, int *sel, int n, const char *(*name)(const app *a, int i))
{
    if (!s->text[0]) {
        app_set_status(a, ROLE_DIM, "/ starts a search");
        return;
    }
    int i = search_find(a, s, *sel + 1, n, name);
    if (i >= 0)
        *sel = i;
    else
        app_set_status(a, ROLE_WARN, "no class matches '%s'", s->text);
}
