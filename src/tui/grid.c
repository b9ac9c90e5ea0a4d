/* tui/grid: the character grid every renderer draws into, UTF-8 text into it, and the colour scheme (one
 * row per role, for 256-colour, 8-colour and monochrome terminals). No curses here. */
#include "vggtop/tui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Palette numbers of the 8 basic colours (curses COLOR_*), spelled out so this file needs no curses. */
enum { BLACK = 0, RED = 1, GREEN = 2, YELLOW = 3, BLUE = 4, MAGENTA = 5, CYAN = 6, WHITE = 7, DEF = -1 };

const tui_style tui_scheme[ROLE_COUNT] = {
    /*                  fg256 bg256  fg8     bg8   attr colour                attr mono */
    [ROLE_DEFAULT] = {DEF, DEF, DEF, DEF, 0, 0},
    [ROLE_TITLE] = {81, DEF, CYAN, DEF, TUI_BOLD, TUI_BOLD},
    [ROLE_FRAME] = {244, DEF, BLUE, DEF, 0, 0},
    [ROLE_LABEL] = {110, DEF, CYAN, DEF, 0, 0},
    [ROLE_VALUE] = {255, DEF, WHITE, DEF, TUI_BOLD, TUI_BOLD},
    [ROLE_DIM] = {242, DEF, BLUE, DEF, 0, 0},
    [ROLE_GOOD] = {78, DEF, GREEN, DEF, 0, TUI_BOLD},
    [ROLE_BAD] = {203, DEF, RED, DEF, 0, TUI_UNDERLINE},
    [ROLE_WARN] = {221, DEF, YELLOW, DEF, TUI_BOLD, TUI_BOLD},
    [ROLE_SELECT] = {231, 24, BLACK, CYAN, 0, TUI_REVERSE},
    [ROLE_CURSOR] = {16, 220, BLACK, YELLOW, 0, TUI_REVERSE},
    [ROLE_KEY] = {16, 110, BLACK, CYAN, 0, TUI_REVERSE},
    [ROLE_KEYLABEL] = {252, 236, WHITE, DEF, 0, 0},
    [ROLE_TAB] = {250, 236, WHITE, BLUE, 0, 0},
    [ROLE_TAB_ACTIVE] = {16, 81, BLACK, CYAN, TUI_BOLD, TUI_REVERSE},
    [ROLE_HEADER] = {16, 110, BLACK, GREEN, 0, TUI_REVERSE},
    [ROLE_SERIES0 + 0] = {39, DEF, BLUE, DEF, TUI_BOLD, 0},
    [ROLE_SERIES0 + 1] = {208, DEF, YELLOW, DEF, 0, 0},
    [ROLE_SERIES0 + 2] = {76, DEF, GREEN, DEF, 0, 0},
    [ROLE_SERIES0 + 3] = {197, DEF, RED, DEF, 0, 0},
    [ROLE_SERIES0 + 4] = {141, DEF, MAGENTA, DEF, 0, 0},
    [ROLE_SERIES0 + 5] = {226, DEF, YELLOW, DEF, TUI_BOLD, 0},
    [ROLE_SERIES0 + 6] = {51, DEF, CYAN, DEF, 0, 0},
    [ROLE_SERIES0 + 7] = {250, DEF, WHITE, DEF, 0, 0},
    /* Heat ramp: dark blue through teal and yellow to red on the background (256), glyph colours (8). */
    [ROLE_HEAT0 + 0] = {DEF, DEF, DEF, DEF, 0, 0},
    [ROLE_HEAT0 + 1] = {DEF, 17, BLUE, DEF, 0, 0},
    [ROLE_HEAT0 + 2] = {DEF, 19, BLUE, DEF, TUI_BOLD, 0},
    [ROLE_HEAT0 + 3] = {DEF, 25, CYAN, DEF, 0, 0},
    [ROLE_HEAT0 + 4] = {DEF, 31, CYAN, DEF, TUI_BOLD, 0},
    [ROLE_HEAT0 + 5] = {DEF, 36, GREEN, DEF, 0, 0},
    [ROLE_HEAT0 + 6] = {DEF, 106, GREEN, DEF, TUI_BOLD, 0},
    [ROLE_HEAT0 + 7] = {DEF, 178, YELLOW, DEF, 0, 0},
    [ROLE_HEAT0 + 8] = {DEF, 208, YELLOW, DEF, TUI_BOLD, 0},
    [ROLE_HEAT0 + 9] = {DEF, 196, RED, DEF, TUI_BOLD, 0},
    /* Diverging: light to deep red above 0, light to deep blue below (256); the glyphs' colour (8). */
    [ROLE_ABOVE1 + 0] = {DEF, 224, RED, DEF, 0, 0},
    [ROLE_ABOVE1 + 1] = {DEF, 210, RED, DEF, TUI_BOLD, 0},
    [ROLE_ABOVE1 + 2] = {DEF, 196, RED, DEF, TUI_BOLD, TUI_BOLD},
    [ROLE_BELOW1 + 0] = {DEF, 153, BLUE, DEF, 0, 0},
    [ROLE_BELOW1 + 1] = {DEF, 75, BLUE, DEF, TUI_BOLD, 0},
    [ROLE_BELOW1 + 2] = {DEF, 27, BLUE, DEF, TUI_BOLD, TUI_BOLD},
};

int tui_grid_init(tui_grid *g, int rows, int cols)
{
    g->rows = g->cols = 0;
    g->cells = NULL;
    return tui_grid_resize(g, rows, cols);
}

int tui_grid_resize(tui_grid *g, int rows, int cols)
{
    if (rows < 0 || cols < 0)
        return -1;
    size_t n = (size_t)rows * (size_t)cols;
    tui_cell *cells = realloc(g->cells, (n ? n : 1) * sizeof *cells);
    if (!cells)
        return -1;
    g->cells = cells;
    g->rows = rows;
    g->cols = cols;
    tui_grid_clear(g);
    return 0;
}

void tui_grid_free(tui_grid *g)
{
    free(g->cells);
    g->cells = NULL;
    g->rows = g->cols = 0;
}

void tui_grid_clear(tui_grid *g)
{
    for (long i = 0; i < (long)g->rows * g->cols; i++)
        g->cells[i] = (tui_cell){' ', ROLE_DEFAULT, 0, -1, -1};
}

tui_cell *tui_grid_at(tui_grid *g, int row, int col)
{
    if (row < 0 || col < 0 || row >= g->rows || col >= g->cols)
        return NULL;
    return &g->cells[(long)row * g->cols + col];
}

void tui_grid_put(tui_grid *g, int row, int col, uint32_t ch, int role, int attr)
{
    tui_cell *c = tui_grid_at(g, row, col);
    if (c)
        *c = (tui_cell){ch, (uint8_t)role, (uint8_t)attr, -1, -1};
}

/* Decodes one UTF-8 sequence at s; returns its length (>= 1) and the code point ('?' when invalid). */
static int utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0) {
        *cp = '?';
        return 1;
    }
    uint32_t v = s[0] & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = '?';
            return i;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    *cp = v;
    return len;
}

int tui_grid_text(tui_grid *g, int row, int col, int maxw, int role, int attr, const char *utf8)
{
    if (!utf8)
        return 0;
    if (maxw < 0)
        maxw = g->cols - col;
    const unsigned char *s = (const unsigned char *)utf8;
    int w = 0;
    while (*s && w < maxw) {
        uint32_t cp;
        s += utf8_decode(s, &cp);
        if (cp == '\n' || cp == '\t')
            cp = ' ';
        tui_grid_put(g, row, col + w, cp, role, attr);
        w++;
    }
    return w;
}

int tui_grid_printf(tui_grid *g, int row, int col, int maxw, int role, int attr, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return tui_grid_text(g, row, col, maxw, role, attr, buf);
}

void tui_grid_fill(tui_grid *g, tui_rect r, uint32_t ch, int role, int attr)
{
    for (int y = r.top; y < r.top + r.height; y++)
        for (int x = r.left; x < r.left + r.width; x++)
            tui_grid_put(g, y, x, ch, role, attr);
}

int tui_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        out[2] = '\0';
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        out[3] = '\0';
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    out[4] = '\0';
    return 4;
}

uint32_t tui_glyph_shown(uint32_t cp, int unicode)
{
    if (cp < 0x80 || unicode)
        return cp;
    return cp == 0xb7 ? '-' : cp == 0x2026 ? '~' : '?';
}

char *tui_grid_row_utf8(const tui_grid *g, int row, char *out)
{
    char *p = out;
    for (int x = 0; x < g->cols; x++)
        p += tui_utf8_encode(g->cells[(long)row * g->cols + x].ch, p);
    *p = '\0';
    return out;
}
