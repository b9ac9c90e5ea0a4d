/* Unit tests of `vggtop summary` (src/cli/summary.c, compiled into this binary and run through
 * cli_command_run, which prints its error line and gives the exit status): the three reference models'
 * totals, and every invalid input giving exit status 2 with one line on stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../src/cli/summary.c"
#include "nn_testing.h"
#include "testing.h"

typedef struct result {
    int status;
    char out[16384];
    char err[2048];
} result;

static void slurp(FILE *f, char *buf, size_t cap)
{
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs vggtop summary on a NULL-terminated argument list with stdout and stderr captured. */
static void run(result *r, const char *arg0, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    FILE *o = tmpfile(), *e = tmpfile();
    assert_non_null(o);
    assert_non_null(e);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(o), 1);
    dup2(fileno(e), 2);
    r->status = cli_command_run(&cli_summary_command, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp(o, r->out, sizeof r->out);
    slurp(e, r->err, sizeof r->err);
}

static void reference_models(void **state)
{
    (void)state;
    static result r;
    run(&r, "summary", "--model", "vgg16", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "Model: \"vgg16\""));
    assert_non_null(strstr(r.out, "[(None, 48, 48, 3)]"));
    assert_non_null(strstr(r.out, "Total params: 34,006,948\n"));
    run(&r, "summary", "--model", "vgg19", "--input", "48x48x3", "--classes", "100", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Total params: 39,316,644\n"));
    run(&r, "summary", "-m", "vgg16-nopool", "-i", "32x32x3", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Total params: 40,298,404\n"));
    assert_null(strstr(r.out, "block5_pool"));
    run(&r, "summary", "--model=vgg16", "--no-top", "--pooling", "max", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "global_max_pooling2d (Glob"));
    run(&r, "summary", "--model", "mlp", "--input", "28x28x1", "--classes", "10", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Total params: 535,818\n"));
    run(&r, "summary", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: vggtop summary"));
    assert_non_null(strstr(r.out, "1 to 87381"));
    /* ImageNet-21k's classes, and up to the limit (the model once refused more than 1000) */
    run(&r, "summary", "--model", "vgg16", "--classes", "21841", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "(None, 21841)"));
    run(&r, "summary", "--model", "vgg16", "--classes", "87381", NULL);
    assert_int_equal(r.status, 0);
}

static void invalid_input_exits_2(void **state)
{
    (void)state;
    static const struct {
        const char *args[6];
        const char *needle;
    } cases[] = {
        {{"--model", "vgg16", "--input", "28x28x3"}, "32x32"},
        {{"--model", "vgg19", "--input", "31x64x3"}, "32x32"},
        {{"--model", "alexnet"}, "unknown model 'alexnet'"},
        {{"--model", "vgg16", "--classes", "0"}, "--classes"},
        {{"--model", "vgg16", "--classes", "ten"}, "--classes"},
        /* one limit, the flag's and the model's: past it the flag says so, not the model */
        {{"--model", "vgg16", "--classes", "87382"}, "--classes: '87382'"},
        {{"--model", "vgg16", "--input", "48x48"}, "--input '48x48'"},
        {{"--model", "vgg16", "--input", "48x48x3x"}, "--input"},
        {{"--model", "vgg16", "--input", "48xx48x3"}, "--input"},
        {{"--model", "vgg16", "--input", "-48x48x3"}, "--input"},
        {{"--model", "vgg16", "--input", "48x48x0"}, "--input"},
        {{"--model", "vgg16", "--input", "48x48x5"}, "channels"},
        {{"--model", "vgg16", "--pooling", "avg"}, "--no-top"},
        {{"--model", "vgg16", "--no-top", "--pooling", "sum"}, "--pooling 'sum'"},
        {{"--model", "mlp", "--no-top"}, "no-top"},
        {{"--input", "48x48x3"}, "--model is required"},
        {{"--model", "vgg16", "--frobnicate"}, "unknown option '--frobnicate'"},
        {{"--model", "vgg16", "extra"}, "unexpected argument 'extra'"},
        {{"--model"}, "needs a value"},
    };
    static result r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        run(&r, "summary", a[0], a[1], a[2], a[3], a[4], NULL);
        if (r.status != 2 || !strstr(r.err, cases[i].needle))
            fail_msg("case %zu: status %d, stderr '%s' (want 2 and '%s')", i, r.status, r.err, cases[i].needle);
        /* Exactly one line, and nothing on stdout. */
        char *nl = strchr(r.err, '\n');
        assert_non_null(nl);
        assert_string_equal(nl + 1, "");
        assert_string_equal(r.out, "");
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_testing_start(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_models),
        cmocka_unit_test(invalid_input_exits_2),
    };
    return cmocka_run_group_tests_name("nn", tests, NULL, NULL);
}
