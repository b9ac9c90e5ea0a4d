/* tui/keys: the ONE key table. Dispatch (tui_key_action), the footer, the `?` help screen and the man page's
 * key list (tui_keys_man, checked against man/vggtop.1 by a test) all read it, so they cannot drift. The digit
 * keys that show a screen come from the screen table (screens.c): a new screen brings its own. */
#include "vggtop/tui.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_internal.h"
#include "vggtop/util.h"

#define S(n) TUI_SCREEN_BIT(n)
#define ALL TUI_ALL_SCREENS
#define SETUP S(TUI_SCREEN_SETUP)
#define DASH S(TUI_SCREEN_DASHBOARD)
#define REPORT S(TUI_SCREEN_REPORT)
#define DIFF S(TUI_SCREEN_DIFF)

/* The screens that have a digit key (1-9, in tab order). */
#define N_DIGITS (TUI_N_SCREENS < 9 ? TUI_N_SCREENS : 9)

const tui_key tui_keys[] = {
    /* everywhere (after the digit keys) */
    {'\t', ACT_NEXT_SCREEN, "Tab", "Next", "next screen", ALL, 0},
    {KEY_BTAB, ACT_PREV_SCREEN, "S-Tab", NULL, "previous screen", ALL, 0},
    {'?', ACT_HELP, "?", "Help", "show every key (any key closes it)", ALL, 0},
    {KEY_F(1), ACT_HELP, "F1", NULL, "show every key", ALL, 0},
    {'q', ACT_QUIT, "q", "Quit", "quit (asks first while a run is live)", ALL, 0},
    {'D', ACT_DETACH, "D", "Detach", "quit and leave the run training (in the background), printing the vggtop watch "
     "line to come back with", ALL, 0},
    /* moving */
    {KEY_UP, ACT_UP, "Up", NULL, "previous field, row, class or run", 0, TUI_KEYS_ROWS},
    {'k', ACT_UP, "k", NULL, "the same as Up", 0, TUI_KEYS_ROWS},
    {KEY_DOWN, ACT_DOWN, "Down", NULL, "next field, row, class or run", 0, TUI_KEYS_ROWS},
    {'j', ACT_DOWN, "j", NULL, "the same as Down", 0, TUI_KEYS_ROWS},
    {KEY_PPAGE, ACT_PGUP, "PgUp", NULL, "one page up (Samples: 10 images back)", 0, TUI_KEYS_PAGES},
    {KEY_NPAGE, ACT_PGDN, "PgDn", NULL, "one page down (Samples: 10 images on)", 0, TUI_KEYS_PAGES},
    {KEY_HOME, ACT_HOME, "Home", NULL, "the first row, cell or image", 0, TUI_KEYS_PAGES},
    {KEY_END, ACT_END, "End", NULL, "the last row, cell or image", 0, TUI_KEYS_PAGES},
    {KEY_MOUSE, ACT_NONE, "Wheel", NULL, "the mouse wheel scrolls as Up and Down", 0, TUI_KEYS_WHEEL},
    /* Setup */
    {KEY_LEFT, ACT_LEFT, "Left", NULL, "Setup: previous choice of the field (model, labels, yes/no)", SETUP, 0},
    {KEY_RIGHT, ACT_RIGHT, "Right", NULL, "Setup: next choice of the field", SETUP, 0},
    {' ', ACT_RIGHT, "Space", NULL, "Setup: next choice of the field", SETUP, 0},
    {'e', ACT_TOGGLE, "e", "Edit", "Setup: edit the field: type, Enter accepts a valid value, Esc cancels", SETUP, 0},
    {'\n', ACT_ENTER, "Enter", "Train", "Setup: start training with these settings", SETUP, 0},
    {'t', ACT_REFRESH, "t", "Time", "Setup: measure the time per epoch of these settings now", SETUP, 0},
    {'d', ACT_DOWNLOAD, "d", "Get CIFAR", "Setup: download CIFAR-100 into ./data/cifar-100-binary and switch to it", SETUP, 0},
    {'c', ACT_CANCEL, "c", NULL, "Setup: cancel the download (the next d resumes it)", SETUP, 0},
    /* Dashboard */
    {'p', ACT_PAUSE, "p", "Pause", "Dashboard: pause or resume training (also a run another vggtop trains)", DASH, 0},
    {'S', ACT_STOP, "S", "Stop", "Dashboard: stop after this step and save a checkpoint (asks first)", DASH, 0},
    {'\n', ACT_RESUME_RUN, "Enter", "Resume", "Dashboard: resume a stopped or killed run from its checkpoint", DASH, 0},
    {'+', ACT_LR_UP, "+", "LR*2", "Dashboard: double the learning rate", DASH, 0},
    {'-', ACT_LR_DOWN, "-", "LR/2", "Dashboard: halve the learning rate", DASH, 0},
    {'z', ACT_ZOOM, "z", NULL, "Dashboard: the accuracy charts' axis fitted to the data (as the loss chart's) or 0-1",
     DASH, 0},
    /* Report */
    {'s', ACT_SORT, "s", "Sort", "Report, Diff: sort by the next column", REPORT | DIFF, 0},
    {'r', ACT_REVERSE, "r", "Reverse", "Report, Diff: reverse the sort order", REPORT | DIFF, 0},
    {'/', ACT_SEARCH, "/", "Search", "Report, Diff: find a class by name (Enter keeps, Esc cancels)", REPORT | DIFF, 0},
    {'n', ACT_SEARCH_NEXT, "n", "Next", "Report, Diff: the next class matching the search", REPORT | DIFF, 0},
    {'v', ACT_VIEW, "v", "Heatmap", "Report: the table or the class x epoch heatmap (from per_class.csv)", REPORT, 0},
    {'m', ACT_METRIC, "m", "Metric", "Report: the heatmap and the trend marks show F1 or recall", REPORT, 0},
    /* Confusion, Samples, Report's heatmap, Layers */
    {KEY_LEFT, ACT_LEFT, "Left", NULL, "previous cell, image or epoch (Confusion, Samples, Report's heatmap, Layers)",
     0, TUI_KEYS_CURSOR},
    {KEY_RIGHT, ACT_RIGHT, "Right", NULL, "next cell, image or epoch", 0, TUI_KEYS_CURSOR},
    {'h', ACT_LEFT, "h", NULL, "the same as Left", 0, TUI_KEYS_CURSOR},
    {'l', ACT_RIGHT, "l", NULL, "the same as Right", 0, TUI_KEYS_CURSOR},
    {'c', ACT_VERSUS, "c", "Vs", "Report, Confusion: this run vs the run marked on Compare (Report: its F1 and the change; "
     "Confusion: this minus that)", REPORT | S(TUI_SCREEN_CONFUSION), 0},
    {'n', ACT_NORMALIZE, "n", "Norm", "Confusion: counts or row-normalised shares", S(TUI_SCREEN_CONFUSION), 0},
    {'f', ACT_FOLD, "f", "Fold", "Confusion, Diff: fold CIFAR-100 to its 20 superclasses", S(TUI_SCREEN_CONFUSION) | DIFF,
     0},
    /* ROC */
    {' ', ACT_TOGGLE, "Space", "Draw", "ROC: draw or hide the selected class; Compare: the selected run", S(TUI_SCREEN_ROC) | S(TUI_SCREEN_COMPARE), 0},
    {'a', ACT_ALL, "a", "None", "ROC: hide every class curve (micro and macro stay)", S(TUI_SCREEN_ROC), 0},
    {'z', ACT_ZOOM, "z", "Zoom", "ROC: zoom on the upper-left corner (FPR 0-0.2, TPR 0.8-1)", S(TUI_SCREEN_ROC), 0},
    /* Compare */
    {'m', ACT_METRIC, "m", "Metric", "Compare: chart val_acc, val_loss, val_mse or val_top5", S(TUI_SCREEN_COMPARE), 0},
    {'\n', ACT_ENTER, "Enter", "Open", "Compare: open the selected run on every screen", S(TUI_SCREEN_COMPARE), 0},
    {'r', ACT_REFRESH, "r", "Rescan", "Compare: read the runs directory again", S(TUI_SCREEN_COMPARE), 0},
    {'x', ACT_MARK, "x", "Mark", "Compare: mark the selected run as A, then B, for the Diff screen (x again unmarks)",
     S(TUI_SCREEN_COMPARE), 0},
    {'d', ACT_DIFF, "d", "Diff", "Compare: show the Diff screen of the two marked runs (with one marked: it and the "
     "selected run); Sweep: the selected trial (A) against the best (B)", S(TUI_SCREEN_COMPARE) | S(TUI_SCREEN_SWEEP), 0},
    {'P', ACT_SAVE_FIGURE, "P", NULL,
     "save the chart as shown as a PNG file in the run's figures/ folder (the status line names it)", 0,
     TUI_KEYS_FIGURE},
    /* Sweep */
    {'s', ACT_SORT, "s", "Sort", "Sweep: sort by the next column (the best val_acc first, the others ascending)",
     S(TUI_SCREEN_SWEEP), 0},
    {'r', ACT_REVERSE, "r", "Reverse", "Sweep: reverse the sort order", S(TUI_SCREEN_SWEEP), 0},
    {'\n', ACT_ENTER, "Enter", "Open", "Sweep: open the selected trial's run on the Dashboard (and every screen)",
     S(TUI_SCREEN_SWEEP), 0},
    /* Samples */
    {'m', ACT_MISSED, "m", "Missed", "Samples: step through every image or only the misclassified", S(TUI_SCREEN_SAMPLES), 0},
};

const int tui_n_keys = (int)(sizeof tui_keys / sizeof tui_keys[0]);

tui_action tui_key_action(int key, int screen)
{
    if (key == KEY_ENTER || key == '\r')
        key = '\n';
    if (key >= '1' && key < '1' + N_DIGITS)
        return (tui_action)(ACT_SCREEN1 + (key - '1'));
    for (int i = 0; i < tui_n_keys; i++)
        if (tui_keys[i].key == key && (tui_key_screens(&tui_keys[i]) & S(screen)))
            return tui_keys[i].action;
    return ACT_NONE;
}

/* The groups of the help screen and the man page: keys that work everywhere, the moving keys that work on
 * most screens, then each screen's own keys. */
enum { GROUP_ALL = 0, GROUP_MOVING = TUI_N_SCREENS + 1, N_GROUPS = TUI_N_SCREENS + 2 };

unsigned tui_key_screens(const tui_key *k)
{
    unsigned screens = k->screens;
    for (int i = 0; k->takers && i < TUI_N_SCREENS; i++)
        if ((app_screens[i].keys & k->takers) || ((k->takers & TUI_KEYS_FIGURE) && app_screens[i].save))
            screens |= S(app_screens[i].id);
    return screens;
}

static int is_moving(const tui_key *k)
{
    unsigned screens = tui_key_screens(k);
    return screens != ALL && __builtin_popcount(screens) >= 4;
}

static int in_group(const tui_key *k, int group)
{
    if (group == GROUP_ALL)
        return tui_key_screens(k) == ALL;
    if (group == GROUP_MOVING)
        return is_moving(k);
    unsigned screens = tui_key_screens(k);
    return screens != ALL && !is_moving(k) && (screens & S(group));
}

/* Groups in the order shown: everywhere, moving, then screens 1..TUI_N_SCREENS. */
static int group_at(int i) { return i == 0 ? GROUP_ALL : i == 1 ? GROUP_MOVING : i - 1; }

static const char *group_title(int group)
{
    return group == GROUP_ALL ? "Everywhere" : group == GROUP_MOVING ? "On most screens" : tui_screen_name(group);
}

static int group_empty(int group)
{
    if (group == GROUP_ALL && N_DIGITS > 0)
        return 0;
    for (int i = 0; i < tui_n_keys; i++)
        if (in_group(&tui_keys[i], group))
            return 0;
    return 1;
}

static const char *group_suffix(int group) { return group == GROUP_ALL || group == GROUP_MOVING ? "" : " screen"; }

/* roff: a '-' must be "\-" and a backslash "\e"; a leading '.' or '\'' is protected by "\&". */
static void roff_add(vt_buf *b, const char *text)
{
    char one[2] = {0, 0};
    if (text[0] == '.' || text[0] == '\'')
        vt_buf_add(b, "\\&");
    for (const char *p = text; *p; p++) {
        if (*p == '-')
            vt_buf_add(b, "\\-");
        else if (*p == '\\')
            vt_buf_add(b, "\\e");
        else {
            one[0] = *p;
            vt_buf_add(b, one);
        }
    }
}

/* The key list as the man page (roff) or the help screen (text) shows it. */
typedef enum { LIST_MAN, LIST_HELP } list_kind;

static void list_group(vt_buf *b, list_kind kind, int group)
{
    char line[256];
    if (kind == LIST_MAN)
        snprintf(line, sizeof line, ".SS %s%s\n", group_title(group), group_suffix(group));
    else
        snprintf(line, sizeof line, "%s%s\n", group_title(group), group_suffix(group));
    vt_buf_add(b, line);
}

/* One key: its label and its help, which a digit key makes from its screen's name and about. */
static void list_key(vt_buf *b, list_kind kind, const char *label, const char *name, const char *help)
{
    char text[256];
    if (name)
        snprintf(text, sizeof text, "%s: %s", name, help);
    else
        snprintf(text, sizeof text, "%s", help);
    if (kind == LIST_MAN) {
        vt_buf_add(b, ".TP\n.B ");
        roff_add(b, label);
        vt_buf_add(b, "\n");
        roff_add(b, text);
        vt_buf_add(b, "\n");
        return;
    }
    char line[300];
    snprintf(line, sizeof line, "  %-6s %s\n", label, text);
    vt_buf_add(b, line);
}

static char *list_keys(list_kind kind)
{
    vt_buf b = {0};
    for (int gi = 0; gi < N_GROUPS; gi++) {
        int group = group_at(gi);
        if (group_empty(group))
            continue;
        list_group(&b, kind, group);
        for (int s = 1; group == GROUP_ALL && s <= N_DIGITS; s++) {
            char digit[2] = {(char)('0' + s), '\0'};
            list_key(&b, kind, digit, tui_screen_name(s), app_screens[s - 1].about);
        }
        for (int i = 0; i < tui_n_keys; i++)
            if (in_group(&tui_keys[i], group))
                list_key(&b, kind, tui_keys[i].label, NULL, tui_keys[i].help);
        if (kind == LIST_HELP)
            vt_buf_add(&b, "\n");
    }
    return vt_buf_take(&b);
}

char *tui_keys_man(void) { return list_keys(LIST_MAN); }

char *tui_keys_help(void) { return list_keys(LIST_HELP); }

void tui_footer_draw(tui_grid *g, int row, int screen, const char *(*brief)(const tui_key *k, void *ctx), void *ctx)
{
    tui_grid_fill(g, (tui_rect){row, 0, 1, g->cols}, ' ', ROLE_KEYLABEL, 0);
    int x = 0;
    /* This screen's own keys first (they matter most), then the global ones that have a word. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < tui_n_keys; i++) {
            const tui_key *k = &tui_keys[i];
            unsigned screens = tui_key_screens(k);
            int global = screens == ALL;
            if (!k->brief || !(screens & S(screen)) || global != (pass == 1))
                continue;
            const char *word = brief ? brief(k, ctx) : k->brief;
            if (!word)
                continue;
            int need = (int)(strlen(k->label) + strlen(word)) + 2;
            if (x + need > g->cols)
                continue;
            x += tui_grid_text(g, row, x, -1, ROLE_KEY, 0, k->label);
            x += tui_grid_text(g, row, x, -1, ROLE_KEYLABEL, 0, " ");
            x += tui_grid_text(g, row, x, -1, ROLE_KEYLABEL, 0, word);
            x += 1;
        }
}
