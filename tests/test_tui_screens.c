/* Unit tests of the front end's seams (no terminal, no engine): the screen table agrees with the enum, the tabs'
 * names, the digit keys and where the shared moving keys work (dispatch and help come from its rows); app_list_move, the one cursor rule of lists;
 * the screens' reset hooks when the predictions' classes change; and the run follower's per-screen files (a
 * run_file is read when another run is shown and again only when it changes). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curses.h>

#include "../src/tui/tui_internal.h"

const char vggtop_version[] = "test";

static app *fake(void)
{
    app *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->snap = calloc(1, sizeof *a->snap);
    assert_non_null(a->snap);
    a->rows = 40;
    a->cols = 100;
    a->screen = TUI_SCREEN_DASHBOARD;
    return a;
}

static void done(app *a)
{
    app_screens_close(a);
    free(a->snap);
    free(a);
}

/* Row i is screen i + 1, named, drawn and keyed; a screen that reads a run file re-reads it in files. */
static void screen_table_rows_agree_with_the_enum(void **state)
{
    (void)state;
    for (int i = 0; i < TUI_N_SCREENS; i++) {
        const screen_ops *sc = &app_screens[i];
        assert_int_equal(sc->id, i + 1);
        assert_non_null(sc->name);
        assert_non_null(sc->about);
        assert_non_null(sc->draw);
        assert_non_null(sc->key);
        assert_true(!sc->run_file || sc->files);
        assert_string_equal(tui_screen_name(sc->id), sc->name);
    }
    assert_string_equal(tui_screen_name(TUI_SCREEN_SETUP), "Setup");
    assert_string_equal(tui_screen_name(TUI_SCREEN_LAYERS), "Layers");
    assert_string_equal(tui_screen_name(TUI_SCREEN_END), "?");
    app a = {.screen = TUI_SCREEN_ROC};
    assert_ptr_equal(app_screen(&a), &app_screens[TUI_SCREEN_ROC - 1]);
}

/* The digit keys come from the table: each shows its screen, and the help lists it with its row's name and
 * about, under Everywhere. */
static void digit_keys_follow_the_table(void **state)
{
    (void)state;
    char *help = tui_keys_help();
    char *man = tui_keys_man();
    assert_non_null(help);
    assert_non_null(man);
    for (int s = TUI_SCREEN_SETUP; s <= TUI_N_SCREENS && s <= 9; s++) {
        assert_int_equal(tui_key_action('0' + s, TUI_SCREEN_SUMMARY), ACT_SCREEN1 + s - 1);
        char line[256];
        snprintf(line, sizeof line, "  %d      %s: %s\n", s, app_screens[s - 1].name, app_screens[s - 1].about);
        assert_non_null(strstr(help, line));
        snprintf(line, sizeof line, ".TP\n.B %d\n", s);
        assert_non_null(strstr(man, line));
    }
    assert_int_equal(tui_key_action('0', TUI_SCREEN_SETUP), ACT_NONE);
    assert_true(strstr(help, "  1      Setup") < strstr(help, "  Tab"));
    free(help);
    free(man);
}

/* Where the shared moving keys work follows from what each row takes: Up/Down where a screen takes rows,
 * PgUp/Home where it takes pages, h/l where it takes a cursor; as the key table said before the rows did. */
static void moving_keys_follow_the_rows(void **state)
{
    (void)state;
    for (int i = 0; i < TUI_N_SCREENS; i++) {
        const screen_ops *sc = &app_screens[i];
        assert_int_equal(tui_key_action(KEY_UP, sc->id), sc->keys & TUI_KEYS_ROWS ? ACT_UP : ACT_NONE);
        assert_int_equal(tui_key_action('j', sc->id), sc->keys & TUI_KEYS_ROWS ? ACT_DOWN : ACT_NONE);
        assert_int_equal(tui_key_action(KEY_HOME, sc->id), sc->keys & TUI_KEYS_PAGES ? ACT_HOME : ACT_NONE);
        assert_int_equal(tui_key_action('h', sc->id), sc->keys & TUI_KEYS_CURSOR ? ACT_LEFT : ACT_NONE);
    }
    unsigned up = 0, page = 0, cursor = 0;
    for (int i = 0; i < tui_n_keys; i++) {
        if (tui_keys[i].key == KEY_UP)
            up = tui_key_screens(&tui_keys[i]);
        if (tui_keys[i].key == KEY_PPAGE)
            page = tui_key_screens(&tui_keys[i]);
        if (tui_keys[i].key == 'l')
            cursor = tui_key_screens(&tui_keys[i]);
    }
    assert_int_equal(up, TUI_ALL_SCREENS & ~TUI_SCREEN_BIT(TUI_SCREEN_SAMPLES));
    assert_int_equal(page, TUI_ALL_SCREENS & ~TUI_SCREEN_BIT(TUI_SCREEN_DASHBOARD));
    assert_int_equal(cursor, TUI_SCREEN_BIT(TUI_SCREEN_REPORT) | TUI_SCREEN_BIT(TUI_SCREEN_CONFUSION) |
                                 TUI_SCREEN_BIT(TUI_SCREEN_SAMPLES) | TUI_SCREEN_BIT(TUI_SCREEN_LAYERS));
    /* Setup's own Left (a choice), not the cursor's. */
    assert_int_equal(tui_key_action(KEY_LEFT, TUI_SCREEN_SETUP), ACT_LEFT);
    assert_int_equal(tui_key_action('h', TUI_SCREEN_SETUP), ACT_NONE);
}

static void list_move_keeps_the_cursor_in_the_list(void **state)
{
    (void)state;
    int sel = 3;
    assert_int_equal(app_list_move(&sel, ACT_DOWN, 10, 4), 1);
    assert_int_equal(sel, 4);
    assert_int_equal(app_list_move(&sel, ACT_PGDN, 10, 4), 1);
    assert_int_equal(sel, 8);
    assert_int_equal(app_list_move(&sel, ACT_PGDN, 10, 4), 1);
    assert_int_equal(sel, 9); /* not past the last row */
    assert_int_equal(app_list_move(&sel, ACT_PGUP, 10, 20), 1);
    assert_int_equal(sel, 0); /* nor before the first */
    assert_int_equal(app_list_move(&sel, ACT_UP, 10, 4), 1);
    assert_int_equal(sel, 0);
    assert_int_equal(app_list_move(&sel, ACT_END, 10, 4), 1);
    assert_int_equal(sel, 9);
    assert_int_equal(app_list_move(&sel, ACT_HOME, 10, 4), 1);
    assert_int_equal(sel, 0);
    sel = 5;
    assert_int_equal(app_list_move(&sel, ACT_TOGGLE, 10, 4), 0); /* not a move: left to the screen */
    assert_int_equal(sel, 5);
    assert_int_equal(app_list_move(&sel, ACT_DOWN, 0, 4), 1); /* an empty list: row 0 */
    assert_int_equal(sel, 0);
}

/* New classes: ROC draws the first three, and the cursors of ROC, Confusion and Samples go back to the start;
 * predictions of the same classes keep them. */
static void resets_follow_the_classes(void **state)
{
    (void)state;
    app *a = fake();
    a->C = 5;
    a->rv.sel = a->rv.top = 3;
    a->conf.row = a->conf.col = 2;
    a->smp.sample = 7;
    app_screens_reset(a, 0);
    assert_int_equal(a->rv.sel, 3);
    assert_int_equal(a->conf.row, 2);
    assert_int_equal(a->smp.sample, 7);
    assert_null(a->rv.drawn);
    app_screens_reset(a, 1);
    assert_int_equal(a->rv.sel, 0);
    assert_int_equal(a->rv.top, 0);
    assert_int_equal(a->conf.row, 0);
    assert_int_equal(a->conf.col, 0);
    assert_int_equal(a->smp.sample, 0);
    assert_non_null(a->rv.drawn);
    assert_memory_equal(a->rv.drawn, ((unsigned char[]){1, 1, 1, 0, 0}), 5);
    done(a);
}

static void write_file(const char *dir, const char *name, const char *text, time_t when)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct timespec t[2] = {{when, 0}, {when, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* per_class.csv is Report's run_file: read when the run is shown, not again while it is unchanged, again when
 * it changes; no run shown: the history goes. */
static void follower_reads_a_screens_file_when_it_changes(void **state)
{
    (void)state;
    app *a = fake();
    snprintf(a->dir, sizeof a->dir, "/tmp/vggtop-test-follow-XXXXXX");
    assert_non_null(mkdtemp(a->dir));
    write_file(a->dir, RUN_PER_CLASS, PER_CLASS_HEADER "\n1,0,0.1,0.3,0.2,3\n1,1,0.7,0.5,0.6,4\n", 1000);
    follow_forget(a);
    assert_int_equal(a->rpt.epochs, 1);
    assert_int_equal(a->rpt.classes, 2);
    a->rpt.epochs = 99; /* a mark: a read would overwrite it */
    follow_files(a);
    assert_int_equal(a->rpt.epochs, 99);
    write_file(a->dir, RUN_PER_CLASS, PER_CLASS_HEADER "\n1,0,0.1,0.3,0.2,3\n2,0,0.7,0.5,0.6,4\n", 2000);
    follow_files(a);
    assert_int_equal(a->rpt.epochs, 2);
    assert_int_equal(a->rpt.classes, 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", a->dir, RUN_PER_CLASS);
    unlink(path);
    rmdir(a->dir);
    a->dir[0] = '\0';
    snprintf(a->rpt.err, sizeof a->rpt.err, "stale");
    follow_forget(a);
    assert_int_equal(a->rpt.epochs, 0);
    assert_null(a->rpt.f1);
    assert_string_equal(a->rpt.err, "");
    done(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(screen_table_rows_agree_with_the_enum),
        cmocka_unit_test(digit_keys_follow_the_table),
        cmocka_unit_test(moving_keys_follow_the_rows),
        cmocka_unit_test(list_move_keeps_the_cursor_in_the_list),
        cmocka_unit_test(resets_follow_the_classes),
        cmocka_unit_test(follower_reads_a_screens_file_when_it_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
