/* Helpers shared by the test binaries that run the training engine (tests/test_train_engine.c,
 * tests/test_train_loop.c): the Fashion-MNIST fixture (Debian's dataset-fashion-mnist) and the tiny run they
 * train, in testing.h's test_dir. Include after <cmocka.h>, nn_testing.h and testing.h. */
#ifndef VGGTOP_TESTS_TRAIN_TESTING_H
#define VGGTOP_TESTS_TRAIN_TESTING_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vggtop/train.h"

#define FASHION "/usr/share/datasets/fashion-mnist"

/* A cmocka setup: one thread (OpenBLAS's own threads would only confuse ThreadSanitizer, and so would oneDNN's
 * OpenMP team: libgomp is not built with TSan, so its barriers look like races; at one thread nn_set_threads
 * keeps oneDNN on the calling thread, where TSan sees every access), and test_dir made. */
static inline int train_testing_setup(void **state)
{
    (void)state;
    nn_set_threads(1);
    return test_dir_setup(state);
}

/* The tiny run: an mlp on the first 256 training and 100 test images, 2 epochs of batches of 32, one thread,
 * seed 5, in test_dir/name. */
static inline void tiny_config(train_config *c, const char *name)
{
    train_config_default(c);
    strcpy(c->model, "mlp");
    strcpy(c->data, FASHION);
    c->limit_train = 256;
    c->limit_test = 100;
    c->epochs = 2;
    c->batch_size = 32;
    c->threads = 1;
    c->seed = 5;
    snprintf(c->run_dir, sizeof c->run_dir, "%s/%s", test_dir, name);
}

/* First thing in main: the OpenBLAS kernel as the binary would choose it, and the fixture's presence (0 when it
 * is there; else 1, with how to get it). */
static inline int train_testing_start(char **argv)
{
    nn_testing_start(argv);
    if (access(FASHION "/train-images-idx3-ubyte.gz", R_OK) == 0)
        return 0;
    fprintf(stderr, "%s: %s is missing: apt-get install dataset-fashion-mnist (make deps)\n",
            program_invocation_short_name, FASHION);
    return 1;
}

#endif
