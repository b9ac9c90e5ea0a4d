/* A fixture sweep for the tests of the leaderboard (tests/test_train_sweep.c) and the Sweep screen
 * (tests/test_tui_sweep.c): a grid's plan saved into a folder with each trial's state, and the trials that ran
 * given a history.csv of made-up val_acc (2 seconds an epoch). Include after <cmocka.h> and testing.h. */
#ifndef VGGTOP_TESTS_SWEEP_TESTING_H
#define VGGTOP_TESTS_SWEEP_TESTING_H

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vggtop/train.h"

#define SWEEP_FIXTURE_EPOCHS 4

/* The grid of argv in dir (made), its trials in states; trial t with epochs[t] > 0 gets a run directory whose
 * history has those epochs, epoch e's val_acc acc[t][e]. The plan is left in *p (sweep_plan_free it). */
static inline void sweep_fixture(const char *dir, int argc, char **argv, const sweep_state *states,
                                 const double acc[][SWEEP_FIXTURE_EPOCHS], const int *epochs, sweep_plan *p)
{
    vt_err err;
    mkdir(dir, 0755);
    assert_int_equal(sweep_plan_make(argc, argv, 0, p, &err), VT_OK);
    assert_int_equal(sweep_save(dir, p, states, &err), VT_OK);
    for (int t = 0; t < p->trials; t++) {
        if (epochs[t] == 0)
            continue;
        char tdir[512], path[600];
        sweep_trial_dir(dir, t, tdir, sizeof tdir);
        assert_int_equal(mkdir(tdir, 0755), 0);
        snprintf(path, sizeof path, "%s/%s", tdir, RUN_HISTORY);
        train_epoch rows[SWEEP_FIXTURE_EPOCHS];
        for (int e = 0; e < epochs[t]; e++)
            rows[e] = (train_epoch){1, 0.5, 0.1, 1, acc[t][e], 0.1, 0.01, 2, NAN, NAN};
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        run_history_csv(f, rows, epochs[t]);
        assert_int_equal(fclose(f), 0);
    }
}

#endif
