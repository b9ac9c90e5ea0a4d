/* Unit tests of a sweep's plan (src/train/sweep.c): the grid's order (the last axis fastest), random trials
 * that repeat from the seed and do not depend on which ran before, distributions within their ends, the
 * refusals (a list of 10,000 values with its count, a distribution in a grid, a setting that is not one,
 * --run-dir, a value train refuses), sweep.json written and read back, or refused when edited by hand, the
 * folder's lock, the median pruner, the leaderboard (each trial's row from its run, the sort by any column), and
 * the halving pruner's rungs and cut, the commands of vggtop ctl on a sweep (the channel's file, a random plan grown, a grid refusing more). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vggtop/train.h"
#include "testing.h"
#include "sweep_testing.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void grid_order(void **state)
{
    (void)state;
    char *argv[] = {"--model", "mlp,cnn", "--epochs", "2", "--lr", "0.1,0.03,0.01", "--nesterov"};
    sweep_plan p;
    vt_err err;
    assert_int_equal(sweep_plan_make(ARGC(argv), argv, 0, &p, &err), VT_OK);
    assert_int_equal(p.trials, 6);
    assert_int_equal(p.n_axes, 2);
    static const char *const want[6][2] = {{"mlp", "0.1"}, {"mlp", "0.03"}, {"mlp", "0.01"},
                                           {"cnn", "0.1"}, {"cnn", "0.03"}, {"cnn", "0.01"}};
    for (int t = 0; t < 6; t++) {
        char **v = sweep_trial_args(&p, t);
        assert_non_null(v);
        const char *expect[] = {"--model", want[t][0], "--epochs", "2", "--lr", want[t][1], "--nesterov", NULL};
        for (int i = 0; expect[i] || v[i]; i++) {
            assert_non_null(v[i]);
            assert_non_null(expect[i]);
            assert_string_equal(v[i], expect[i]);
        }
        free(v);
    }
    sweep_plan_free(&p);
}

static void random_repeats_from_the_seed(void **state)
{
    (void)state;
    char *argv[] = {"--lr", "log:1e-4:1e-1", "--momentum", "uniform:0:0.9", "--batch-size", "int:16:20",
                    "--model", "mlp,cnn", "--seed", "7"};
    sweep_plan p, q;
    vt_err err;
    assert_int_equal(sweep_plan_make(ARGC(argv), argv, 50, &p, &err), VT_OK);
    assert_int_equal(sweep_plan_make(ARGC(argv), argv, 5, &q, &err), VT_OK);
    assert_int_equal(p.trials, 50);
    assert_true(p.seed == 7);
    int seen_int[5] = {0}, models[2] = {0};
    char first[4][64] = {{0}};
    for (int t = 0; t < 50; t++) {
        char v[4][64];
        for (int a = 0; a < 4; a++)
            sweep_value(&p, t, a, v[a], sizeof v[a]);
        if (t == 0)
            memcpy(first, v, sizeof first);
        double lr = atof(v[0]), mom = atof(v[1]);
        int bs = atoi(v[2]);
        assert_true(lr >= 1e-4 * 0.999 && lr <= 0.1 * 1.001);
        assert_true(mom >= 0 && mom <= 0.9);
        assert_true(bs >= 16 && bs <= 20);
        seen_int[bs - 16]++;
        models[strcmp(v[3], "cnn") == 0]++;
        if (t < 5) /* a plan of fewer trials draws the same values for the trials it has */
            for (int a = 0; a < 4; a++) {
                char w[64];
                sweep_value(&q, t, a, w, sizeof w);
                assert_string_equal(v[a], w);
            }
    }
    for (int i = 0; i < 5; i++)
        assert_true(seen_int[i] > 0);
    assert_true(models[0] > 0 && models[1] > 0);
    /* Another seed, other values. */
    argv[9] = "8";
    sweep_plan r;
    assert_int_equal(sweep_plan_make(ARGC(argv), argv, 50, &r, &err), VT_OK);
    char v0[64];
    sweep_value(&r, 0, 0, v0, sizeof v0);
    assert_string_not_equal(v0, first[0]);
    sweep_plan_free(&p);
    sweep_plan_free(&q);
    sweep_plan_free(&r);
}

static void refusals(void **state)
{
    (void)state;
    sweep_plan p;
    vt_err err;
    char *big = malloc(10000 * 6 + 1);
    assert_non_null(big);
    big[0] = '\0';
    for (int i = 0; i < 10000; i++)
        strcat(big, i ? ",0.01" : "0.01");
    char *list[] = {"--lr", big};
    assert_int_equal(sweep_plan_make(2, list, 0, &p, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "10000 values, more than the 1000"));
    free(big);
    char *dist[] = {"--lr", "log:1e-4:1e-1"};
    assert_int_equal(sweep_plan_make(2, dist, 0, &p, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--method random"));
    char *bad_dist[] = {"--lr", "log:0:1"};
    assert_int_equal(sweep_plan_make(2, bad_dist, 3, &p, &err), VT_EUSAGE);
    char *out_of_range[] = {"--lr", "uniform:0.1:50"};
    assert_int_equal(sweep_plan_make(2, out_of_range, 3, &p, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--lr"));
    char *unknown[] = {"--speed", "3"};
    assert_int_equal(sweep_plan_make(2, unknown, 0, &p, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "--speed"));
    char *rundir[] = {"--run-dir", "x"};
    assert_int_equal(sweep_plan_make(2, rundir, 0, &p, &err), VT_EUSAGE);
    char *bad_value[] = {"--epochs", "2,zero"};
    assert_int_equal(sweep_plan_make(2, bad_value, 0, &p, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "in the list of --epochs"));
    char *missing[] = {"--epochs"};
    assert_int_equal(sweep_plan_make(1, missing, 0, &p, &err), VT_EUSAGE);
    char *grid[] = {"--lr", "1,2,3,4,5,6,7,8,9,10", "--momentum", "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9",
                    "--epochs", "1,2,3,4,5,6,7,8,9,10", "--batch-size", "1,2,3,4,5,6,7,8,9,10,11"};
    assert_int_equal(sweep_plan_make(ARGC(grid), grid, 0, &p, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "11000 trials"));
}

static void plan_file_round_trips(void **state)
{
    (void)state;
    char *argv[] = {"--model", "mlp", "--lr", "0.1,0.01", "--epochs", "1,2"};
    sweep_plan p, q;
    vt_err err;
    assert_int_equal(sweep_plan_make(ARGC(argv), argv, 0, &p, &err), VT_OK);
    sweep_state st[4] = {SWEEP_DONE, SWEEP_RUNNING, SWEEP_FAILED, SWEEP_PENDING}, *back;
    assert_int_equal(sweep_save(test_dir, &p, st, &err), VT_OK);
    assert_int_equal(sweep_load(test_dir, &q, &back, &err), VT_OK);
    assert_int_equal(q.trials, 4);
    assert_memory_equal(back, st, sizeof st);
    char a[64], b[64];
    for (int t = 0; t < 4; t++)
        for (int x = 0; x < 2; x++) {
            sweep_value(&p, t, x, a, sizeof a);
            sweep_value(&q, t, x, b, sizeof b);
            assert_string_equal(a, b);
        }
    free(back);
    sweep_plan_free(&q);
    /* Edited by hand: a state that is none, a list that no longer gives the trials, not JSON. */
    const char *edits[] = {
        "{\"args\": [\"--lr\", \"0.1,0.01\"], \"states\": [\"done\", \"maybe\"], \"method\": \"grid\", \"trials\": 2}",
        "{\"args\": [\"--lr\", \"0.1\"], \"states\": [\"done\", \"done\"], \"method\": \"grid\", \"trials\": 2}",
        "{\"args\": [\"--lr\", \"fast\"], \"states\": [\"done\"], \"method\": \"grid\", \"trials\": 1}",
        "{\"args\": [\"--lr\", \"0.1,0.01\"], \"states\": [\"done\", \"done\"], \"method\": \"bayes\", \"trials\": 2}",
        "{\"args\": [\"--lr\", \"0.1,0.01\"], \"states\": [\"done\", \"done\"], \"method\": \"grid\", \"trials\": 2, "
        "\"prune\": \"mean\"}",
        "{\"args\": [\"--lr\", ",
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        write_text(at(SWEEP_PLAN), edits[i]);
        assert_int_equal(sweep_load(test_dir, &q, &back, &err), VT_EUSAGE);
        assert_non_null(strstr(err.msg, SWEEP_PLAN));
        assert_null(back);
    }
    /* The folder's lock: one sweep at a time. */
    int fd, fd2;
    assert_int_equal(sweep_lock(test_dir, &fd, &err), VT_OK);
    assert_int_equal(sweep_lock(test_dir, &fd2, &err), VT_EUSAGE); /* flock: per open file, even in one process */
    close(fd);
    assert_int_equal(sweep_lock(test_dir, &fd2, &err), VT_OK);
    close(fd2);
    sweep_plan_free(&p);
}

/* Optuna's median pruner: below the median of the finished trials at that epoch, with at least 2 of them. */
static void median_pruner(void **state)
{
    (void)state;
    const double three[] = {0.5, 0.9, 0.7}, four[] = {0.5, 0.9, 0.7, 0.6};
    assert_true(sweep_prune_median(0.69, three, 3));
    assert_false(sweep_prune_median(0.7, three, 3));  /* at the median: kept */
    assert_true(sweep_prune_median(0.64, four, 4));   /* median (0.6 + 0.7) / 2 */
    assert_false(sweep_prune_median(0.65, four, 4));
    assert_false(sweep_prune_median(0.0, three, 1));  /* one finished trial: nothing to judge by */
    /* The pruner is part of the plan's file. */
    char *argv[] = {"--lr", "0.1,0.01"};
    sweep_plan p, q;
    vt_err err;
    assert_int_equal(sweep_plan_make(2, argv, 0, &p, &err), VT_OK);
    p.prune = 1;
    sweep_state st[2] = {SWEEP_PRUNED, SWEEP_DONE}, *back;
    assert_int_equal(sweep_save(test_dir, &p, st, &err), VT_OK);
    assert_int_equal(sweep_load(test_dir, &q, &back, &err), VT_OK);
    assert_int_equal(q.prune, 1);
    assert_int_equal(back[0], SWEEP_PRUNED);
    free(back);
    sweep_plan_free(&q);
    sweep_plan_free(&p);
}

/* The leaderboard: a row per trial from its run (best val_acc, its epoch, epochs, time; none for a trial not
 * started), sorted by any column: numbers as numbers (8 < 16 < 64, where text has "16" < "64" < "8"), words as
 * text, trials without an epoch last whichever way the best is sorted, ties by trial. */
static void leaderboard_rows_and_sort(void **state)
{
    (void)state;
    char *argv[] = {"--model", "mlp,cnn", "--batch-size", "64,8,16"};
    sweep_state st[6] = {SWEEP_DONE, SWEEP_DONE, SWEEP_PRUNED, SWEEP_RUNNING, SWEEP_PENDING, SWEEP_FAILED};
    const double acc[6][SWEEP_FIXTURE_EPOCHS] = {{0.2, 0.5, 0.4}, {0.3, 0.6, 0.7}, {0.1}, {0.5, 0.5}, {0}, {0}};
    const int epochs[6] = {3, 3, 1, 2, 0, 0};
    sweep_plan p;
    sweep_fixture(at("board"), ARGC(argv), argv, st, acc, epochs, &p);
    sweep_row rows[6];
    for (int t = 0; t < 6; t++)
        sweep_row_read(at("board"), t, st[t], &rows[t]);
    assert_int_equal(rows[0].epochs, 3);
    assert_float_equal(rows[0].best, 0.5, 1e-12);
    assert_int_equal(rows[0].best_epoch, 2);
    assert_float_equal(rows[0].seconds, 6, 1e-12);
    assert_int_equal(rows[3].best_epoch, 1); /* the first of equal bests */
    assert_int_equal(rows[4].epochs, 0);
    assert_true(isnan(rows[4].best));
    assert_int_equal(rows[5].state, SWEEP_FAILED);
    int n_axes = p.n_axes;
    struct { int col, desc, order[6]; } cases[] = {
        {SWEEP_COL_BEST(n_axes), 1, {1, 0, 3, 2, 4, 5}},
        {SWEEP_COL_BEST(n_axes), 0, {2, 0, 3, 1, 4, 5}},
        {SWEEP_COL_EPOCH(n_axes), 1, {1, 0, 2, 3, 4, 5}},
        {SWEEP_COL_AXIS + 1, 0, {1, 4, 2, 5, 0, 3}}, /* batch size 8, 8, 16, 16, 64, 64 */
        {SWEEP_COL_AXIS, 0, {3, 4, 5, 0, 1, 2}},     /* cnn before mlp */
        {SWEEP_COL_STATE(n_axes), 0, {0, 1, 5, 4, 2, 3}},
        {SWEEP_COL_TIME(n_axes), 1, {0, 1, 3, 2, 4, 5}},
        {SWEEP_COL_TRIAL, 1, {5, 4, 3, 2, 1, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sweep_rows_sort(rows, 6, &p, cases[c].col, cases[c].desc);
        for (int i = 0; i < 6; i++)
            if (rows[i].t != cases[c].order[i])
                fail_msg("case %zu: row %d is trial %d, not %d", c, i, rows[i].t, cases[c].order[i]);
    }
    sweep_plan_free(&p);
}

/* vggtop ctl on a sweep: the commands parsed (more takes a count), the channel's file read back or refused, a
 * random plan grown by more trials (pending; its earlier trials' values unchanged), a grid and too many trials
 * refused with the count; "paused" and "command_ack" kept in sweep.json, and refused when edited into others. */
static void sweep_commands(void **state)
{
    (void)state;
    sweep_command c;
    vt_err err;
    assert_int_equal(sweep_command_parse("pause", NULL, &c, &err), VT_OK);
    assert_int_equal(c.kind, SWEEP_CMD_PAUSE);
    assert_int_equal(sweep_command_parse("more", "3", &c, &err), VT_OK);
    assert_int_equal(c.more, 3);
    assert_int_equal(sweep_command_parse("more", NULL, &c, &err), VT_EUSAGE);
    assert_int_equal(sweep_command_parse("more", "0", &c, &err), VT_EUSAGE);
    assert_int_equal(sweep_command_parse("stop", "now", &c, &err), VT_EUSAGE);
    assert_int_equal(sweep_command_parse("lr", "0.1", &c, &err), VT_EUSAGE);
    char *dir = test_dir;
    write_text(at(RUN_COMMANDS), "{\"seq\": 7, \"command\": \"more\", \"n\": 2}");
    assert_int_equal(sweep_command_read(dir, &c, &err), VT_OK);
    assert_true(c.seq == 7 && c.kind == SWEEP_CMD_MORE && c.more == 2);
    write_text(at(RUN_COMMANDS), "{\"seq\": 8, \"command\": \"more\"}");
    assert_int_equal(sweep_command_read(dir, &c, &err), VT_EUSAGE);
    write_text(at(RUN_COMMANDS), "{\"seq\": 8, \"command\": \"explode\"}");
    assert_int_equal(sweep_command_read(dir, &c, &err), VT_EUSAGE);
    unlink(at(RUN_COMMANDS));
    assert_int_equal(sweep_command_read(dir, &c, &err), VT_OK);
    assert_int_equal(c.kind, SWEEP_CMD_NONE);
    /* no sweep holds the folder: nothing to send to */
    c.kind = SWEEP_CMD_PAUSE;
    assert_int_equal(sweep_command_send(dir, &c, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "no sweep runs"));

    char *argv[] = {"--lr", "log:1e-3:1e-1", "--seed", "3"};
    sweep_plan p, q;
    sweep_state *st = calloc(2, sizeof *st), *back;
    assert_non_null(st);
    assert_int_equal(sweep_plan_make(ARGC(argv), argv, 2, &p, &err), VT_OK);
    char before[64], after[64];
    sweep_value(&p, 1, 0, before, sizeof before);
    st[0] = SWEEP_DONE;
    assert_int_equal(sweep_add_trials(&p, &st, 3, &err), VT_OK);
    assert_int_equal(p.trials, 5);
    assert_int_equal(st[0], SWEEP_DONE);
    assert_int_equal(st[4], SWEEP_PENDING);
    sweep_value(&p, 1, 0, after, sizeof after);
    assert_string_equal(before, after);
    assert_int_equal(sweep_add_trials(&p, &st, SWEEP_MAX_TRIALS, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "10005 trials"));
    p.paused = 1;
    p.command_ack = 12;
    assert_int_equal(sweep_save(dir, &p, st, &err), VT_OK);
    assert_int_equal(sweep_load(dir, &q, &back, &err), VT_OK);
    assert_int_equal(q.trials, 5);
    assert_int_equal(q.paused, 1);
    assert_true(q.command_ack == 12);
    free(back);
    sweep_plan_free(&q);
    write_text(at(SWEEP_PLAN), "{\"args\": [\"--lr\", \"0.1\"], \"states\": [\"done\"], \"method\": \"grid\", "
                               "\"trials\": 1, \"paused\": \"yes\"}");
    assert_int_equal(sweep_load(dir, &q, &back, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "paused"));
    free(st);
    sweep_plan_free(&p);
    char *grid[] = {"--lr", "0.1,0.01"};
    st = calloc(2, sizeof *st);
    assert_int_equal(sweep_plan_make(2, grid, 0, &p, &err), VT_OK);
    assert_int_equal(sweep_add_trials(&p, &st, 1, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "a grid's trials are every combination of its lists (2)"));
    free(st);
    sweep_plan_free(&p);
}

/* Successive halving: rungs at epochs 1, 3, 9, ...; at a rung only the top 1/3 of the trials there go on (at
 * least the best: the second trial at a rung goes on only when it is the better one); the pruner's name kept in
 * sweep.json. */
static void halving_pruner(void **state)
{
    (void)state;
    assert_true(sweep_halving_rung(1) && sweep_halving_rung(3) && sweep_halving_rung(9) && sweep_halving_rung(27));
    assert_false(sweep_halving_rung(2) || sweep_halving_rung(4) || sweep_halving_rung(6) || sweep_halving_rung(0));
    const double one[] = {0.9}, five[] = {0.9, 0.8, 0.7, 0.2, 0.1};
    assert_false(sweep_prune_halving(0.5, NULL, 0)); /* alone at the rung */
    assert_true(sweep_prune_halving(0.5, one, 1));
    assert_false(sweep_prune_halving(0.95, one, 1));
    assert_false(sweep_prune_halving(0.85, five, 5)); /* 6 at the rung: the top 2 go on */
    assert_true(sweep_prune_halving(0.75, five, 5));
    assert_false(sweep_prune_halving(0.9, five, 5)); /* a tie with the best is not below it */
    char *argv[] = {"--lr", "0.1,0.01"};
    sweep_plan p, q;
    vt_err err;
    assert_int_equal(sweep_plan_make(2, argv, 0, &p, &err), VT_OK);
    p.prune = SWEEP_PRUNE_HALVING;
    sweep_state st[2] = {SWEEP_PRUNED, SWEEP_DONE}, *back;
    assert_int_equal(sweep_save(test_dir, &p, st, &err), VT_OK);
    assert_int_equal(sweep_load(test_dir, &q, &back, &err), VT_OK);
    assert_int_equal(q.prune, SWEEP_PRUNE_HALVING);
    free(back);
    sweep_plan_free(&q);
    sweep_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grid_order),
        cmocka_unit_test(random_repeats_from_the_seed),
        cmocka_unit_test(refusals),
        cmocka_unit_test(plan_file_round_trips),
        cmocka_unit_test(median_pruner),
        cmocka_unit_test(leaderboard_rows_and_sort),
        cmocka_unit_test(sweep_commands),
        cmocka_unit_test(halving_pruner),
    };
    return cmocka_run_group_tests_name("train_sweep", tests, test_dir_setup, test_dir_teardown);
}
