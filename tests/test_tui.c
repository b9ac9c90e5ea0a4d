/* Unit tests of the tui renderers: exact character grids for small inputs in ASCII and UTF-8 modes,
 * derived by hand (the point positions of the charts follow from the mapping documented in tui.h and
 * Bresenham's algorithm, worked out on paper), and the key table against the man page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curses.h>

#include "vggtop/tui.h"

#include "testing.h"

/* main.c defines it in the binary; the engine objects linked here refer to it. */
const char vggtop_version[] = "test";

static void assert_row(const tui_grid *g, int row, const char *expected)
{
    char buf[4096];
    tui_grid_row_utf8(g, row, buf);
    if (strcmp(buf, expected) != 0) {
        print_error("row %d:\n  got      [%s]\n  expected [%s]\n", row, buf, expected);
        fail();
    }
}

static void assert_rows(const tui_grid *g, int first_row, const char *const *rows, int n)
{
    for (int i = 0; i < n; i++)
        assert_row(g, first_row + i, rows[i]);
}

/* ---- grid ----------------------------------------------------------------------------------------------- */

static void grid_text_clips_and_decodes_utf8(void **state)
{
    (void)state;
    tui_grid g;
    assert_int_equal(tui_grid_init(&g, 2, 6), 0);
    assert_int_equal(tui_grid_text(&g, 0, 1, -1, ROLE_VALUE, 0, "a\xc3\xa9\xe2\x96\xb2z"), 4); /* aé▲z */
    assert_row(&g, 0, " a\xc3\xa9\xe2\x96\xb2z ");
    assert_int_equal(tui_grid_at(&g, 0, 3)->ch, 0x25b2);
    assert_int_equal(tui_grid_at(&g, 0, 3)->role, ROLE_VALUE);
    /* clipped at the grid's edge and at maxw */
    assert_int_equal(tui_grid_text(&g, 1, 3, -1, 0, 0, "abcdef"), 3);
    assert_row(&g, 1, "   abc");
    assert_int_equal(tui_grid_text(&g, 1, 0, 2, 0, 0, "xyz"), 2);
    assert_row(&g, 1, "xy abc");
    /* outside the grid: nothing happens */
    tui_grid_put(&g, 5, 5, 'q', 0, 0);
    tui_grid_put(&g, -1, 0, 'q', 0, 0);
    assert_null(tui_grid_at(&g, 2, 0));
    /* an invalid byte shows as '?' */
    tui_grid_text(&g, 0, 0, -1, 0, 0, "\xff!");
    assert_int_equal(tui_grid_at(&g, 0, 0)->ch, '?');
    tui_grid_free(&g);
    /* LANG=C: a class folder named "caf\xc3\xa9" draws as "caf?", not as "caf" and the last frame's cell */
    assert_int_equal(tui_glyph_shown(0xe9, 0), '?');
    assert_int_equal(tui_glyph_shown(0x732b, 0), '?');
    assert_int_equal(tui_glyph_shown('f', 0), 'f');
    assert_int_equal(tui_glyph_shown(0xb7, 0), '-'); /* the header's "run \xc2\xb7 watching" */
    assert_int_equal(tui_glyph_shown(0xe9, 1), 0xe9);
}

/* ---- chart ---------------------------------------------------------------------------------------------- */

/* One series y = 0, 0.5, 1 at x = 1, 2, 3 on a fixed y range [0, 1], 12 x 6 cells with a legend:
 * 3 plot rows, y labels "1.0"/"0.0" (3 wide), axis at column 3, plot columns 4..11 (8 wide).
 * ASCII: cells px = round((x-1)/2 * 7) = 0, 4 (3.5 rounds up), 7; py = round((1-y) * 2) = 2, 1, 0;
 * Bresenham (0,2)->(4,1) visits (0,2) (1,2) (2,1) (3,1) (4,1); (4,1)->(7,0) visits (5,1) (6,0) (7,0). */
static const double chart_y[3] = {0, 0.5, 1};

static tui_chart one_series_chart(tui_series *s)
{
    *s = (tui_series){"acc", NULL, chart_y, 3, ROLE_SERIES0, '*'};
    return (tui_chart){NULL, s, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, NULL, 0};
}

/* The y labels get as many digits as tell them apart (issue 21: Compare's val_mse axis read 0.0099 at top and
 * bottom): 0.00986..0.00994 with 4 decimals asked shows 5. */
static void chart_labels_have_digits_enough_to_differ(void **state)
{
    (void)state;
    static const double y[3] = {0.00994, 0.00990, 0.00986};
    tui_grid g;
    tui_grid_init(&g, 8, 30);
    tui_series s = {"val_mse", NULL, y, 3, ROLE_SERIES0, '*'};
    tui_chart c = {NULL, &s, 1, 0, 0, 0, 0, 0, 0, 4, 1, 0, NULL, 0};
    tui_chart_draw(&g, (tui_rect){0, 0, 8, 30}, &c, 0);
    char top[256], mid[256], bottom[256];
    tui_grid_row_utf8(&g, 0, top);
    tui_grid_row_utf8(&g, 2, mid);
    tui_grid_row_utf8(&g, 4, bottom);
    assert_memory_equal(top, "0.00994|", 8);
    assert_memory_equal(mid, "0.00990|", 8); /* the middle row of 5 */
    assert_memory_equal(bottom, "0.00986|", 8);
    tui_grid_free(&g);
}

static void chart_ascii_exact(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 6, 12);
    tui_series s;
    tui_chart c = one_series_chart(&s);
    tui_chart_draw(&g, (tui_rect){0, 0, 6, 12}, &c, 0);
    static const char *const want[6] = {
        "1.0|      **",
        "   |  ****  ",
        "0.0|**      ",
        "   +--------",
        "    1      3",
        "* acc       ",
    };
    assert_rows(&g, 0, want, 6);
    assert_int_equal(tui_grid_at(&g, 0, 10)->role, ROLE_SERIES0);
    tui_grid_free(&g);
}

/* UTF-8: dots 16 x 12; px = 0, 8 (7.5 up), 15; py = 11, 6 (5.5 up), 0. Bresenham on dots gives
 * (0,11) (1,10) (2,10) (3,9) (4,8) (5,8) (6,7) (7,7) (8,6) then (9,5) (10,4) (11,3) (12,3) (13,2) (14,1)
 * (15,0). Cell (px/2, py/4), dot bits: left column rows 0-3 = 01 02 04 40, right column = 08 10 20 80.
 * Row 2: col0 = 40|20 = U+2860, col1 = 04|10 = U+2814, col2 = 01|08 = U+2809.
 * Row 1: col3 = 40|80 = U+28C0, col4 = 04|10 = U+2814, col5 = 01 = U+2801.
 * Row 0: col5 = 80 = U+2880, col6 = 40|20 = U+2860, col7 = 02|08 = U+280A. */
static void chart_braille_exact(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 6, 12);
    tui_series s;
    tui_chart c = one_series_chart(&s);
    tui_chart_draw(&g, (tui_rect){0, 0, 6, 12}, &c, 1);
    static const char *const want[6] = {
        "1.0\u2502     \u2880\u2860\u280a",
        "   \u2502   \u28c0\u2814\u2801  ",
        "0.0\u2502\u2860\u2814\u2809     ",
        "   \u2514\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500",
        "    1      3",
        "\u25a0 acc       ",
    };
    assert_rows(&g, 0, want, 6);
    tui_grid_free(&g);
}

/* Two series, a title, a NaN gap, auto y range [0, 2] with the middle label (5 plot rows), no legend.
 * 10 x 8 cells: title row, plot rows 1..5, axis row 6, x labels row 7. Labels "2", "1", "0" (1 wide),
 * axis column 1, plot columns 2..9 (8 wide). Series a (x = 1..2, y = 2, 2): py = 0, cells px 0 and 7 joined.
 * Series b (x = 1, 2; y = 0, NaN): a single point at (0, 4). */
static void chart_two_series_title_and_gap(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 8, 10);
    static const double ya[2] = {2, 2};
    const double yb[2] = {0, 0.0 / 0.0};
    tui_series s[2] = {{"a", NULL, ya, 2, ROLE_SERIES0, 'a'}, {"b", NULL, yb, 2, ROLE_SERIES0 + 1, 'b'}};
    tui_chart c = {"T", s, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0};
    tui_chart_draw(&g, (tui_rect){0, 0, 8, 10}, &c, 0);
    static const char *const want[8] = {
        "T         ",
        "2|aaaaaaaa",
        " |        ",
        "1|        ",
        " |        ",
        "0|b       ",
        " +--------",
        "  1      2",
    };
    assert_rows(&g, 0, want, 8);
    assert_int_equal(tui_grid_at(&g, 5, 2)->role, ROLE_SERIES0 + 1);
    tui_grid_free(&g);
}

/* The legend names the named series in order, each as its marker, a space, the name and two spaces; a
 * series without a name (ROC's class curves, named by the class list) is drawn but not listed. Series c
 * lies between a and b, so skipping it must not leave a gap: "a one  b two". */
static void chart_legend_skips_unnamed_series(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 7, 16);
    static const double y[2] = {1, 2};
    tui_series s[3] = {{"one", NULL, y, 2, ROLE_SERIES0, 'a'},
                       {NULL, NULL, y, 2, ROLE_SERIES0 + 1, 'c'},
                       {"two", NULL, y, 2, ROLE_SERIES0 + 2, 'b'}};
    tui_chart c = {NULL, s, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, NULL, 0};
    tui_chart_draw(&g, (tui_rect){0, 0, 7, 16}, &c, 0);
    assert_row(&g, 6, "a one  b two    ");
    assert_int_equal(tui_grid_at(&g, 6, 7)->role, ROLE_SERIES0 + 2);
    tui_grid_free(&g);
}

/* One value: the y range is centred on it with a 10% margin, [3.6, 4.4] for 4; five plot rows put it on the
 * middle row (round((4.4 - 4) / 0.8 * 4) = 2); a single x has no right-hand label. */
static void chart_single_point_is_centred(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 7, 10);
    static const double y[1] = {4};
    tui_series s = {"v", NULL, y, 1, ROLE_SERIES0, '*'};
    tui_chart c = {NULL, &s, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, NULL, 0};
    tui_chart_draw(&g, (tui_rect){0, 0, 7, 10}, &c, 0);
    static const char *const want[7] = {
        "4.4|      ", "   |      ", "4.0|*     ", "   |      ", "3.6|      ", "   +------", "    1     ",
    };
    assert_rows(&g, 0, want, 7);
    tui_grid_free(&g);
}

/* Per-epoch ticks, the x title and where two series meet. x = 1..5 on 16 plot columns: px = round((x - 1) / 4
 * * 15) = 0, 4, 8, 11, 15; a (y = 0) fills the bottom row; b (0, .5, 1, .5, 0) at py 2, 1, 0, 1, 2, by
 * Bresenham (0,2) (1,2) (2,1) (3,1) (4,1) | (5,1) (6,0) (7,0) (8,0) | (9,0) (10,1) (11,1) | (12,1) (13,2) (14,2)
 * (15,2). Where b meets a's bottom row (px 0, 1, 13, 14, 15) the cell is '&', and the legend says "both".
 * Labels 2, 3, 4 sit at their columns (with a tick on the axis), since 3.75 columns per epoch leave room;
 * the title "ep" finds no free place on the label row and goes to the legend row's right end. */
static void chart_epoch_ticks_title_and_overlaps(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 6, 20);
    static const double a[5] = {0, 0, 0, 0, 0}, b[5] = {0, 0.5, 1, 0.5, 0};
    tui_series s[2] = {{"a", NULL, a, 5, ROLE_SERIES0, '*'}, {"b", NULL, b, 5, ROLE_SERIES0 + 1, 'o'}};
    tui_chart c = {NULL, s, 2, 0, 1, 0, 0, 0, 1, 1, 1, 1, "ep", 1};
    tui_chart_draw(&g, (tui_rect){0, 0, 6, 20}, &c, 0);
    static const char *const want[6] = {
        "1.0|      oooo      ", "   |  oooo    ooo   ", "0.0|&&***********&&&",
        "   +----+---+--+----", "    1   2   3  4   5", "* a  o b  & both  ep",
    };
    assert_rows(&g, 0, want, 6);
    assert_int_equal(tui_grid_at(&g, 2, 4)->role, ROLE_VALUE);
    assert_int_equal(tui_grid_at(&g, 2, 5)->role, ROLE_VALUE);
    assert_int_equal(tui_grid_at(&g, 2, 6)->role, ROLE_SERIES0);
    /* Without overlap marking (the old drawing) b's markers hide a's there. */
    c.overlap = 0;
    tui_chart_draw(&g, (tui_rect){0, 0, 6, 20}, &c, 0);
    assert_row(&g, 2, "0.0|oo***********ooo");
    tui_grid_free(&g);
}

/* One epoch with ticks: the x range becomes [0, 2] so the point sits in the middle (px round(0.5 * 7) = 4,
 * py round(0.5 * 3) = 2 of 4 rows), labelled "1" under it with a tick. */
static void chart_one_epoch_is_readable(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 6, 12);
    static const double y[1] = {0.5};
    tui_series s = {"v", NULL, y, 1, ROLE_SERIES0, '*'};
    tui_chart c = {NULL, &s, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, NULL, 1};
    tui_chart_draw(&g, (tui_rect){0, 0, 6, 12}, &c, 0);
    static const char *const want[6] = {
        "1.0|        ", "   |        ", "   |    *   ", "0.0|        ", "   +----+---", "        1   ",
    };
    assert_rows(&g, 0, want, 6);
    tui_grid_free(&g);
}

/* A fixed box x in [0, 2], y in [0, 1] and the segment (0, 0) -> (4, 1): clipped at x = 2, y = 0.5. In cells
 * (6 x 3): (0, 2) -> (round(5 * 2 / 2), round(2 * 0.5)) = (5, 1); Bresenham visits (0,2) (1,2) (2,2) (3,1)
 * (4,1) (5,1). Without clipping the second point would be dropped and only (0, 2) drawn. */
static void chart_clips_to_fixed_range(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 5, 8);
    static const double x[2] = {0, 4}, y[2] = {0, 1};
    tui_series s = {"v", x, y, 2, ROLE_SERIES0, '*'};
    tui_chart c = {NULL, &s, 1, 1, 1, 0, 2, 0, 1, 0, 0, 0, NULL, 0};
    tui_chart_draw(&g, (tui_rect){0, 0, 5, 8}, &c, 0);
    static const char *const want[5] = {"1|      ", " |   ***", "0|***   ", " +------", "  0    2"};
    assert_rows(&g, 0, want, 5);
    /* a segment wholly outside the box draws nothing */
    static const double xo[2] = {3, 4};
    tui_series so = {"o", xo, y, 2, ROLE_SERIES0, '*'};
    c.series = &so;
    tui_chart_draw(&g, (tui_rect){0, 0, 5, 8}, &c, 0);
    assert_row(&g, 1, " |      ");
    assert_row(&g, 2, "0|      ");
    tui_grid_free(&g);
}

/* ---- heatmap -------------------------------------------------------------------------------------------- */

static void heat_levels(void **state)
{
    (void)state;
    assert_int_equal(tui_heat_level(0, 9), 0);
    assert_int_equal(tui_heat_level(-1, 9), 0);
    assert_int_equal(tui_heat_level(0.001, 9), 1);
    assert_int_equal(tui_heat_level(1, 9), 2);
    assert_int_equal(tui_heat_level(4.5, 9), 5);
    assert_int_equal(tui_heat_level(8.99, 9), 9);
    assert_int_equal(tui_heat_level(9, 9), 9);
    assert_int_equal(tui_heat_level(3, 0), 0);
    assert_string_equal(tui_density_ramp, " .:-=+*#%@");
}

/* v = [[0, 1, 9], [4.5, 2, 0]], vmax 9: levels [[0, 2, 9], [5, 3, 0]] -> " :@" and "+- ". */
static const double heat_v[6] = {0, 1, 9, 4.5, 2, 0};
static const char *const heat_labels[2] = {"abc", "de"};

static void heatmap_density_with_labels_and_cursor(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 3, 7);
    tui_heatmap h = {heat_v, 2, 3, 0, 1, 1, 0, 0, heat_labels, 2, 0, 0, 0, 0};
    int vr, vc;
    tui_heatmap_draw(&g, (tui_rect){0, 0, 3, 7}, &h, TUI_COLOR_NONE, &vr, &vc);
    static const char *const want[3] = {"ab  :@ ", "de +-  ", "       "};
    assert_rows(&g, 0, want, 3);
    assert_int_equal(vr, 2);
    assert_int_equal(vc, 3);
    assert_int_equal(tui_grid_at(&g, 1, 4)->attr, TUI_REVERSE);
    assert_int_equal(tui_grid_at(&g, 1, 3)->attr, 0);
    assert_int_equal(tui_grid_at(&g, 1, 0)->role, ROLE_CURSOR);
    assert_int_equal(tui_grid_at(&g, 0, 5)->role, ROLE_HEAT0 + 9);
    tui_grid_free(&g);
}

static void heatmap_256_uses_background_and_8_uses_glyphs(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 2, 3);
    tui_heatmap h = {heat_v, 2, 3, 0, -1, -1, 0, 0, NULL, 0, 0, 0, 0, 0};
    tui_heatmap_draw(&g, (tui_rect){0, 0, 2, 3}, &h, TUI_COLOR_256, NULL, NULL);
    assert_row(&g, 0, "   ");
    static const int roles[6] = {0, 2, 9, 5, 3, 0};
    for (int i = 0; i < 6; i++)
        assert_int_equal(tui_grid_at(&g, i / 3, i % 3)->role, ROLE_HEAT0 + roles[i]);
    assert_int_equal(tui_scheme[ROLE_HEAT0 + 9].bg256, 196);
    tui_heatmap_draw(&g, (tui_rect){0, 0, 2, 3}, &h, TUI_COLOR_8, NULL, NULL);
    assert_row(&g, 0, " :@");
    assert_row(&g, 1, "+- ");
    tui_grid_free(&g);
}

/* A view narrower than the matrix: scrolled so the cursor (row 1, col 2) is visible. */
static void heatmap_scrolls_to_cursor(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 1, 4);
    tui_heatmap h = {heat_v, 2, 3, 0, 1, 2, 0, 0, heat_labels, 2, 0, 0, 0, 0};
    int vr, vc;
    tui_heatmap_draw(&g, (tui_rect){0, 0, 1, 4}, &h, TUI_COLOR_NONE, &vr, &vc);
    assert_int_equal(vr, 1);
    assert_int_equal(vc, 1);
    tui_heatmap_follow(&h, vr, vc);
    assert_int_equal(h.row0, 1);
    assert_int_equal(h.col0, 2);
    tui_heatmap_draw(&g, (tui_rect){0, 0, 1, 4}, &h, TUI_COLOR_NONE, &vr, &vc);
    assert_row(&g, 0, "de  ");
    assert_int_equal(tui_grid_at(&g, 0, 3)->attr, TUI_REVERSE);
    tui_grid_free(&g);
}

/* Two characters per cell: each level's glyph twice. With values in 5-character cells: the level's glyph,
 * then the number right-aligned (counts, then percentages of row-normalised shares), zeros blank; with
 * 256 colours the glyph column is free, so 4 characters hold "100". */
static void heatmap_wide_cells_and_values(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 2, 15);
    tui_heatmap h = {heat_v, 2, 3, 0, -1, -1, 0, 0, NULL, 0, 2, 0, 0, 0};
    int vr, vc;
    tui_heatmap_draw(&g, (tui_rect){0, 0, 2, 15}, &h, TUI_COLOR_NONE, &vr, &vc);
    assert_int_equal(vc, 3);
    assert_row(&g, 0, "  ::@@         ");
    assert_row(&g, 1, "++--           ");
    /* levels of counts / 100: 12 -> 2 ':', 100 -> 9 '@', 7 and 3 -> 1 '.' */
    static const double counts[6] = {0, 12, 100, 7, 3, 0};
    tui_heatmap hv = {counts, 2, 3, 0, 0, 2, 0, 0, NULL, 0, 5, 1, 0, 0};
    tui_heatmap_draw(&g, (tui_rect){0, 0, 2, 15}, &hv, TUI_COLOR_NONE, &vr, &vc);
    assert_row(&g, 0, "     :  12@ 100");
    assert_row(&g, 1, ".   7.   3     ");
    assert_int_equal(tui_grid_at(&g, 0, 10)->attr, TUI_REVERSE);
    assert_int_equal(tui_grid_at(&g, 0, 14)->attr, TUI_REVERSE);
    assert_int_equal(tui_grid_at(&g, 0, 9)->attr, 0);
    /* shares: 0.5 -> '+', 0.25 -> '-', 0.126 -> ':', 0.874 -> '%' (1 + floor(9 v)) */
    static const double shares[6] = {0.5, 0.25, 0.25, 0, 0.126, 0.874};
    tui_heatmap hp = {shares, 2, 3, 1, -1, -1, 0, 0, NULL, 0, 5, 1, 1, 0};
    tui_heatmap_draw(&g, (tui_rect){0, 0, 2, 15}, &hp, TUI_COLOR_NONE, &vr, &vc);
    assert_row(&g, 0, "+  50-  25-  25");
    assert_row(&g, 1, "     :  13%  87");
    hv.cell_width = 4;
    tui_heatmap_draw(&g, (tui_rect){0, 0, 2, 15}, &hv, TUI_COLOR_256, &vr, &vc);
    assert_row(&g, 0, "      12 100   ");
    assert_int_equal(tui_grid_at(&g, 0, 8)->role, ROLE_HEAT0 + 9);
    /* a view narrower than the cells: only whole cells are shown */
    hv.cell_width = 5;
    tui_heatmap_draw(&g, (tui_rect){0, 0, 2, 7}, &hv, TUI_COLOR_NONE, &vr, &vc);
    assert_int_equal(vc, 1);
    tui_grid_free(&g);
}

/* ---- table ---------------------------------------------------------------------------------------------- */

static const tui_column tcols[2] = {{"class", 6, 0}, {"f1", 5, 1}};
static const char *const tcells[6] = {"cat", "0.50", "dog", "1.00", "fish", "0.25"};
static const char *const tpinned[2] = {"macro", "0.58"};

static void table_ascii_scrolled_selected_pinned(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 5, 12);
    tui_table t = {tcols, 2, tcells, NULL, 3, tpinned, 1, 1, 1, 1, 2};
    int visible = tui_table_draw(&g, (tui_rect){0, 0, 5, 12}, &t, 0);
    assert_int_equal(visible, 2);
    static const char *const want[5] = {
        "class    f1v",
        "dog     1.00",
        "fish    0.25",
        "------------",
        "macro   0.58",
    };
    assert_rows(&g, 0, want, 5);
    assert_int_equal(tui_grid_at(&g, 2, 11)->role, ROLE_SELECT);
    assert_int_equal(tui_grid_at(&g, 1, 11)->role, ROLE_DEFAULT);
    assert_int_equal(tui_grid_at(&g, 0, 0)->role, ROLE_HEADER);
    tui_grid_free(&g);
}

static void table_utf8_marker_and_follow(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 3, 12);
    tui_table t = {tcols, 2, tcells, NULL, 3, NULL, 0, 0, 0, 0, 0};
    int visible = tui_table_draw(&g, (tui_rect){0, 0, 3, 12}, &t, 1);
    assert_int_equal(visible, 2);
    assert_row(&g, 0, "class\u25b2    f1");
    assert_row(&g, 1, "cat     0.50");
    /* selecting the last row scrolls so it is the bottom visible row; past the end clamps */
    t.selected = 7;
    tui_table_follow(&t, visible);
    assert_int_equal(t.selected, 2);
    assert_int_equal(t.top, 1);
    t.selected = 0;
    tui_table_follow(&t, visible);
    assert_int_equal(t.top, 0);
    tui_grid_free(&g);
}

/* ---- image ---------------------------------------------------------------------------------------------- */

/* A 2 x 2 grey image [[0, 255], [128, 64]]: one cell row of two columns. */
static const uint8_t grey_img[4] = {0, 255, 128, 64};

static void image_density_ramp(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 1, 3);
    tui_image_draw(&g, 0, 0, grey_img, 2, 2, 1, 1, TUI_COLOR_NONE, 1);
    /* column 0: mean of 0 and 128 = 64 -> 64 * 10 / 256 = 2 ':'; column 1: (255 + 64) / 2 = 159 -> 6 '*' */
    assert_row(&g, 0, ":* ");
    tui_grid_free(&g);
}

static void image_half_blocks_256(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 1, 2);
    tui_image_draw(&g, 0, 0, grey_img, 2, 2, 1, 1, TUI_COLOR_256, 1);
    assert_row(&g, 0, "\u2580\u2580");
    /* xterm palette: 16 = black, 231 = white, 244 = grey 128, 238 = grey 68 */
    assert_int_equal(tui_grid_at(&g, 0, 0)->fg, 16);
    assert_int_equal(tui_grid_at(&g, 0, 0)->bg, 244);
    assert_int_equal(tui_grid_at(&g, 0, 1)->fg, 231);
    assert_int_equal(tui_grid_at(&g, 0, 1)->bg, 238);
    /* ASCII mode with colour: a space on the mean colour */
    tui_image_draw(&g, 0, 0, grey_img, 2, 2, 1, 1, TUI_COLOR_256, 0);
    assert_row(&g, 0, "  ");
    assert_int_equal(tui_grid_at(&g, 0, 0)->bg, tui_rgb_to_256(64, 64, 64));
    tui_grid_free(&g);
}

static void image_scale_and_odd_height(void **state)
{
    (void)state;
    /* A 1 x 2 RGB image at scale 2: 2 half-rows -> 1 cell row, 4 columns; red then blue. */
    static const uint8_t rgb[6] = {255, 0, 0, 0, 0, 255};
    tui_grid g;
    tui_grid_init(&g, 2, 4);
    tui_image_draw(&g, 0, 0, rgb, 1, 2, 3, 2, TUI_COLOR_256, 1);
    assert_int_equal(tui_grid_at(&g, 0, 0)->fg, 196);
    assert_int_equal(tui_grid_at(&g, 0, 1)->bg, 196);
    assert_int_equal(tui_grid_at(&g, 0, 2)->fg, 21);
    assert_int_equal(tui_grid_at(&g, 0, 3)->bg, 21);
    assert_row(&g, 1, "    ");
    /* at scale 1 the single pixel row has no lower half: the default background */
    tui_grid_clear(&g);
    tui_image_draw(&g, 0, 0, rgb, 1, 2, 3, 1, TUI_COLOR_256, 1);
    assert_int_equal(tui_grid_at(&g, 0, 0)->bg, -1);
    tui_grid_free(&g);
}

static void rgb_to_256_palette(void **state)
{
    (void)state;
    assert_int_equal(tui_rgb_to_256(0, 0, 0), 16);
    assert_int_equal(tui_rgb_to_256(255, 255, 255), 231);
    assert_int_equal(tui_rgb_to_256(255, 0, 0), 196);
    assert_int_equal(tui_rgb_to_256(0, 255, 0), 46);
    assert_int_equal(tui_rgb_to_256(95, 135, 175), 16 + 36 * 1 + 6 * 2 + 3);
    assert_int_equal(tui_rgb_to_256(128, 128, 128), 244);
    assert_int_equal(tui_rgb_to_256(238, 238, 238), 255);
}

/* ---- progress line ------------------------------------------------------------------------------------- */

static void progress_like_keras(void **state)
{
    (void)state;
    char buf[256];
    /* int(30 * 64 / 2000) = 0: no '>' yet, 30 dots */
    assert_string_equal(tui_progress_text(buf, sizeof buf, 64, 2000, 30, 1, 12.4),
                        "  64/2000 [..............................] - ETA: 12s");
    /* int(30 * 1000 / 2000) = 15: 14 '=', '>', 15 '.' */
    assert_string_equal(tui_progress_text(buf, sizeof buf, 1000, 2000, 30, 3, 125),
                        "1000/2000 [==============>...............] - ETA: 2:05");
    assert_string_equal(tui_progress_text(buf, sizeof buf, 2000, 2000, 30, 6, 0),
                        "2000/2000 [==============================] - 6s 3ms/step");
    assert_string_equal(tui_progress_text(buf, sizeof buf, 1, 3, 6, 0, 3725),
                        "1/3 [=>....] - ETA: 1:02:05");
    assert_string_equal(vt_fmt_eta(buf, sizeof buf, 60), "60s");
    assert_string_equal(vt_fmt_eta(buf, sizeof buf, 61), "1:01");
    assert_string_equal(vt_fmt_per_unit(buf, sizeof buf, 2.2, "step"), "2s/step");
    assert_string_equal(vt_fmt_per_unit(buf, sizeof buf, 0.0008, "step"), "800us/step");
}

static void text_block_scrolls_and_clips(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 2, 4);
    int n = tui_text_draw(&g, (tui_rect){0, 0, 2, 4}, "one\ntwo\nthree", 1, ROLE_DEFAULT);
    assert_int_equal(n, 3);
    assert_row(&g, 0, "two ");
    assert_row(&g, 1, "thre");
    tui_grid_free(&g);
}

/* ---- keys --------------------------------------------------------------------------------------------- */

static void key_dispatch(void **state)
{
    (void)state;
    for (int s = 1; s <= TUI_N_SCREENS; s++) {
        assert_int_equal(tui_key_action('q', s), ACT_QUIT);
        assert_int_equal(tui_key_action('?', s), ACT_HELP);
        assert_int_equal(tui_key_action('\t', s), ACT_NEXT_SCREEN);
        if (s <= 9) /* the digit keys show the first nine (tui.h); a tenth screen is Tab's */
            assert_int_equal(tui_key_action('1' + s - 1, 1), ACT_SCREEN1 + s - 1);
    }
    assert_int_equal(tui_key_action('s', 3), ACT_SORT);
    assert_int_equal(tui_key_action('s', 2), ACT_NONE);
    assert_int_equal(tui_key_action('S', 2), ACT_STOP);
    assert_int_equal(tui_key_action('p', 2), ACT_PAUSE);
    assert_int_equal(tui_key_action('\r', 1), ACT_ENTER);
    assert_int_equal(tui_key_action(KEY_ENTER, 6), ACT_ENTER);
    assert_int_equal(tui_key_action(KEY_LEFT, 4), ACT_LEFT);
    assert_int_equal(tui_key_action('n', 4), ACT_NORMALIZE);
    assert_int_equal(tui_key_action('n', 3), ACT_SEARCH_NEXT);
    assert_int_equal(tui_key_action('x', 3), ACT_NONE);
    assert_int_equal(tui_key_action('9', 4), ACT_SCREEN9);
    assert_int_equal(tui_key_action('v', 3), ACT_VIEW);
    assert_int_equal(tui_key_action('m', 3), ACT_METRIC);
    assert_int_equal(tui_key_action(KEY_LEFT, 9), ACT_LEFT);
    assert_int_equal(tui_key_action(KEY_LEFT, 3), ACT_LEFT);
}

/* No key may mean two things on the same screen: the first entry would silently win. Where a key works counts
 * the screens that take its kind of key (the screen table's rows); the digits show the screens, no row may
 * reuse one. */
static void key_table_has_no_conflicts(void **state)
{
    (void)state;
    for (int i = 0; i < tui_n_keys; i++) {
        assert_non_null(tui_keys[i].label);
        assert_non_null(tui_keys[i].help);
        assert_true(tui_key_screens(&tui_keys[i]) != 0);
        assert_false(tui_keys[i].key >= '1' && tui_keys[i].key <= '9');
        for (int j = i + 1; j < tui_n_keys; j++)
            if (tui_keys[i].key == tui_keys[j].key && (tui_key_screens(&tui_keys[i]) & tui_key_screens(&tui_keys[j]))) {
                print_error("key %s is in the table twice for one screen\n", tui_keys[i].label);
                fail();
            }
    }
}

/* The man page's tui section holds exactly the generated key list. */
static void man_page_keys_match_table(void **state)
{
    (void)state;
    assert_man_section(".\\\" keys: generated by tui_keys_man", ".\\\" end of keys", tui_keys_man());
}

static void help_and_footer_come_from_table(void **state)
{
    (void)state;
    char *help = tui_keys_help();
    assert_non_null(help);
    for (int i = 0; i < tui_n_keys; i++)
        assert_non_null(strstr(help, tui_keys[i].help));
    assert_non_null(strstr(help, "  S      Dashboard: stop after this step and save a checkpoint (asks first)\n"));
    free(help);
    tui_grid g;
    tui_grid_init(&g, 1, 40);
    tui_footer_draw(&g, 0, 2, NULL, NULL);
    assert_row(&g, 0, "p Pause S Stop Enter Resume + LR*2      ");
    assert_int_equal(tui_grid_at(&g, 0, 0)->role, ROLE_KEY);
    assert_int_equal(tui_grid_at(&g, 0, 2)->role, ROLE_KEYLABEL);
    tui_grid_free(&g);
}

/* The footer in a mode: a paused run offers "p Resume", a run nobody can control offers none of p, S, + and
 * - (watch used to advertise them and refuse them), and Enter only where it resumes. */
static int footer_mode; /* 0: paused and controllable, 1: nothing to control, resumable */

static const char *mode_brief(const tui_key *k, void *ctx)
{
    assert_ptr_equal(ctx, &footer_mode);
    int control = footer_mode == 0;
    switch (k->action) {
    case ACT_PAUSE: return control ? "Resume" : NULL;
    case ACT_STOP: case ACT_LR_UP: case ACT_LR_DOWN: return control ? k->brief : NULL;
    case ACT_RESUME_RUN: return control ? NULL : k->brief;
    default: return k->brief;
    }
}

static void footer_follows_the_mode(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 1, 60);
    footer_mode = 0;
    tui_footer_draw(&g, 0, 2, mode_brief, &footer_mode);
    assert_row(&g, 0, "p Resume S Stop + LR*2 - LR/2 Tab Next ? Help q Quit        ");
    footer_mode = 1;
    tui_footer_draw(&g, 0, 2, mode_brief, &footer_mode);
    assert_row(&g, 0, "Enter Resume Tab Next ? Help q Quit D Detach                ");
    tui_grid_free(&g);
}

/* A sorted column whose title fills its width keeps its marker, in the gap before it (it used to be cut off:
 * "precision" is 9 wide in 9 columns). */
static void table_marker_of_a_full_title(void **state)
{
    (void)state;
    tui_grid g;
    tui_grid_init(&g, 2, 13);
    static const tui_column cols[2] = {{"a", 3, 0}, {"precision", 9, 1}};
    tui_table t = {cols, 2, NULL, NULL, 0, NULL, 0, 1, 1, 0, -1};
    tui_table_draw(&g, (tui_rect){0, 0, 2, 13}, &t, 1);
    assert_row(&g, 0, "a  \xe2\x96\xbcprecision");
    t.sort_col = 0; /* a short title: the marker follows it */
    t.sort_desc = 0;
    tui_table_draw(&g, (tui_rect){0, 0, 2, 13}, &t, 0);
    assert_row(&g, 0, "a^  precision");
    tui_grid_free(&g);
}

/* The system line's parsers on texts in proc(5)'s format (a comm with a space and a parenthesis), and a
 * sample of this very process. */
static void sysinfo_parses_proc(void **state)
{
    (void)state;
    long long ticks;
    int cpu;
    const char *line = "4242 (vggtop (x) 1) R 1 4242 4242 0 -1 4194304 100 0 0 0 1500 250 0 0 20 0 3 0 12345 "
                       "100000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    assert_int_equal(tui_parse_stat(line, &ticks, &cpu), 0);
    assert_int_equal(ticks, 1750);
    assert_int_equal(cpu, 1);
    assert_int_equal(tui_parse_stat("4242 (no close", &ticks, &cpu), -1);
    assert_int_equal(tui_parse_stat("4242 (short) R 1 2", &ticks, &cpu), -1);
    long rss;
    int threads;
    assert_int_equal(tui_parse_status("Name:\tvggtop\nVmRSS:\t  421376 kB\nThreads:\t5\n", &rss, &threads), 0);
    assert_int_equal(rss, 421376);
    assert_int_equal(threads, 5);
    assert_int_equal(tui_parse_status("Name:\tx\n", &rss, &threads), -1);
    tui_sysinfo_prev prev = {0};
    tui_sysinfo s;
    assert_int_equal(tui_sysinfo_sample((long)getpid(), &prev, &s), 0);
    assert_false(s.has_cpu); /* the first sample has nothing to compare with */
    assert_true(s.rss_kb > 0 && s.threads >= 1);
    volatile double spin = 0;
    for (long i = 0; i < 60000000; i++) /* well over one clock tick of CPU time */
        spin += (double)i;
    assert_int_equal(tui_sysinfo_sample((long)getpid(), &prev, &s), 0);
    assert_true(s.has_cpu && s.cpu_total > 0 && s.cpu_total <= s.cores);
    char buf[256];
    s.cores = 2;
    s.cpu[0] = 0.98;
    s.cpu[1] = 0.5;
    s.rss_kb = 421376;
    s.threads = 5;
    assert_string_equal(tui_sysinfo_line(buf, sizeof buf, &s, 41.2),
                        "cpu 98% 50% - rss 412 MiB - 5 threads - 41 img/s over the last minute");
    assert_int_equal(tui_sysinfo_sample(-5, &prev, &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grid_text_clips_and_decodes_utf8),
        cmocka_unit_test(sysinfo_parses_proc),
        cmocka_unit_test(chart_ascii_exact),
        cmocka_unit_test(chart_braille_exact),
        cmocka_unit_test(chart_two_series_title_and_gap),
        cmocka_unit_test(chart_legend_skips_unnamed_series),
        cmocka_unit_test(chart_single_point_is_centred),
        cmocka_unit_test(chart_clips_to_fixed_range),
        cmocka_unit_test(chart_epoch_ticks_title_and_overlaps),
        cmocka_unit_test(chart_one_epoch_is_readable),
        cmocka_unit_test(heat_levels),
        cmocka_unit_test(heatmap_density_with_labels_and_cursor),
        cmocka_unit_test(heatmap_256_uses_background_and_8_uses_glyphs),
        cmocka_unit_test(heatmap_scrolls_to_cursor),
        cmocka_unit_test(heatmap_wide_cells_and_values),
        cmocka_unit_test(table_ascii_scrolled_selected_pinned),
        cmocka_unit_test(table_utf8_marker_and_follow),
        cmocka_unit_test(table_marker_of_a_full_title),
        cmocka_unit_test(image_density_ramp),
        cmocka_unit_test(image_half_blocks_256),
        cmocka_unit_test(image_scale_and_odd_height),
        cmocka_unit_test(rgb_to_256_palette),
        cmocka_unit_test(progress_like_keras),
        cmocka_unit_test(text_block_scrolls_and_clips),
        cmocka_unit_test(key_dispatch),
        cmocka_unit_test(key_table_has_no_conflicts),
        cmocka_unit_test(man_page_keys_match_table),
        cmocka_unit_test(help_and_footer_come_from_table),
        cmocka_unit_test(footer_follows_the_mode),
        cmocka_unit_test(chart_labels_have_digits_enough_to_differ),
    };
    return cmocka_run_group_tests_name("tui", tests, NULL, NULL);
}
