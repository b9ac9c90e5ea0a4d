/* tui/term: the only file that talks to curses for output: opening and restoring the terminal (on every
 * exit path, fatal signals included), deciding UTF-8 and the colour depth, copying a grid to the screen,
 * and the signal handlers, which only set flags (cmus style). */
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui_internal.h"

volatile sig_atomic_t term_got_hup, term_got_int, term_got_term;
static volatile sig_atomic_t term_is_open;
static SCREEN *term_screen;
static int term_unicode; /* the locale's codeset is UTF-8 (with --ascii too: a class name may be "café") */

void term_clear(void)
{
    /* A terminal without an alternate screen (vt100) would keep the last frame after endwin. */
    if (term_is_open) {
        erase();
        refresh();
    }
}

void term_close(void)
{
    if (term_is_open) {
        term_is_open = 0;
        endwin();
    }
}

/* A crash must not leave the terminal in raw mode: restore it, then die as the signal would. endwin is not
 * async-signal-safe; htop takes the same risk, since the alternative is a broken terminal. */
static void on_fatal(int sig)
{
    term_close();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_flag(int sig)
{
    if (sig == SIGHUP)
        term_got_hup = 1;
    else if (sig == SIGINT)
        term_got_int = 1;
    else if (sig == SIGTERM)
        term_got_term = 1;
}

void term_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_flag; /* no SA_RESTART: poll() returns at once with EINTR */
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int term_open(int ascii, tui_color_depth *depth, int *utf8, vt_err *err)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return vt_fail(err, VT_EUSAGE, "the front end needs a terminal (use vggtop train for logs and pipes)");
    setlocale(LC_ALL, "");
    const char *codeset = nl_langinfo(CODESET);
    term_unicode = codeset && strcmp(codeset, "UTF-8") == 0;
    *utf8 = !ascii && term_unicode;
    term_screen = newterm(NULL, stdout, stdin);
    if (!term_screen)
        return vt_fail(err, VT_EUSAGE, "cannot use terminal type '%s' (set TERM, e.g. TERM=xterm-256color)",
                       getenv("TERM") ? getenv("TERM") : "");
    set_term(term_screen);
    /* A terminal that cannot address the cursor (TERM=dumb, an emacs shell) would get one unreadable line:
     * refuse it with what to do instead. */
    const char *cup = tigetstr("cup");
    if (!cup || cup == (const char *)-1) {
        endwin();
        delscreen(term_screen);
        term_screen = NULL;
        return vt_fail(err, VT_EUSAGE, "terminal type '%s' cannot move the cursor, so the front end cannot draw "
                       "(use a terminal that can, e.g. TERM=xterm-256color, or the headless commands: vggtop train, "
                       "vggtop history/report RUN_DIR)", getenv("TERM") ? getenv("TERM") : "");
    }
    term_is_open = 1;
    atexit(term_close);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    /* Home and End arrive in several spellings (tmux and screen send \e[1~ and \e[4~ whatever TERM says;
     * xterm sends \eOH or \e[H): accept them all, as htop does. */
    static const char *const home[] = {"\033[1~", "\033[7~", "\033[H", "\033OH"};
    static const char *const end[] = {"\033[4~", "\033[8~", "\033[F", "\033OF"};
    for (size_t i = 0; i < sizeof home / sizeof home[0]; i++) {
        define_key(home[i], KEY_HOME);
        define_key(end[i], KEY_END);
    }
    mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
    *depth = TUI_COLOR_NONE;
    const char *no_color = getenv("NO_COLOR");
    if (has_colors() && !(no_color && *no_color)) {
        start_color();
        use_default_colors();
        *depth = COLORS >= 256 ? TUI_COLOR_256 : COLORS >= 8 ? TUI_COLOR_8 : TUI_COLOR_NONE;
    }
    return VT_OK;
}

void term_size(int *rows, int *cols)
{
    getmaxyx(stdscr, *rows, *cols);
}

static attr_t curses_attr(int a)
{
    attr_t out = A_NORMAL;
    if (a & TUI_BOLD)
        out |= A_BOLD;
    if (a & TUI_REVERSE)
        out |= A_REVERSE;
    if (a & TUI_UNDERLINE)
        out |= A_UNDERLINE;
    return out;
}

void term_blit(const tui_grid *g, tui_color_depth depth)
{
    for (int y = 0; y < g->rows; y++)
        for (int x = 0; x < g->cols; x++) {
            const tui_cell *c = &g->cells[(long)y * g->cols + x];
            const tui_style *st = &tui_scheme[c->role < ROLE_COUNT ? c->role : 0];
            int attr = c->attr, pair = 0;
            if (depth == TUI_COLOR_NONE) {
                attr |= st->attr_mono;
            } else {
                attr |= st->attr_color;
                int fg = depth == TUI_COLOR_256 ? st->fg256 : st->fg8;
                int bg = depth == TUI_COLOR_256 ? st->bg256 : st->bg8;
                if (c->fg >= 0)
                    fg = c->fg;
                if (c->bg >= 0)
                    bg = c->bg;
                if (fg >= 0 || bg >= 0) {
                    pair = alloc_pair(fg, bg);
                    if (pair < 0)
                        pair = 0;
                }
            }
            wchar_t w[2] = {(wchar_t)tui_glyph_shown(c->ch, term_unicode), 0};
            cchar_t cc;
            /* ncurses reads the pair number from opts as an int, so pairs above 32767 work too */
            setcchar(&cc, w, curses_attr(attr), 0, &pair);
            mvadd_wch(y, x, &cc);
        }
    wnoutrefresh(stdscr);
    doupdate();
}
