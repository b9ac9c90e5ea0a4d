/* cli/export: `vggtop export RUN... --csv FILE|-` (or --json), every run's per-epoch numbers as one tidy table
 * (the work is run_export_history and run_export_per_class in src/train/export.c); `vggtop export RUN --keras
 * FILE.h5 [--best]`, a run's weights as a Keras HDF5 file (run_export_keras). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "vggtop/train.h"

enum { O_CSV = CLI_LONG_ONLY, O_JSON, O_PER_CLASS, O_KERAS, O_ONNX, O_BEST };

static const cli_option options[] = {
    {"csv", O_CSV, "FILE", "CSV with a header line ('-': standard output; a metric a run did not record is empty)",
     NULL, NULL},
    {"json", O_JSON, "FILE", "JSON lines, one object a row ('-': standard output; null where not recorded)", NULL,
     NULL},
    {"per-class", O_PER_CLASS, NULL,
     "per_class.csv instead: a row per run, epoch and class with precision, recall, F1 and support", NULL, NULL},
    {"keras", O_KERAS, "FILE",
     "the run's weights as a Keras HDF5 weights file instead (model.load_weights reads it; one RUN_DIR)", NULL,
     NULL},
    {"onnx", O_ONNX, "FILE",
     "the run's model as an ONNX graph instead (opset 13: onnxruntime, OpenCV's dnn; one RUN_DIR)", NULL, NULL},
    {"best", O_BEST, NULL, "with --keras or --onnx: the weights of best.bin (--save-best) instead of the last checkpoint",
     NULL, NULL},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

typedef struct export_args {
    const char *out;
    const char *keras, *onnx;
    int json, per_class, best;
    char **runs;
    int n_runs;
} export_args;

static int set_option(void *ctx, int key, const char *value, vt_err *err)
{
    export_args *a = ctx;
    switch (key) {
    case O_CSV:
    case O_JSON: return cli_table_flag(value, key == O_JSON, &a->out, &a->json, err);
    case O_PER_CLASS: a->per_class = 1; return VT_OK;
    case O_KERAS:
    case O_ONNX:
        if (!*value)
            return vt_fail(err, VT_EUSAGE, "--%s: give a file name", key == O_ONNX ? "onnx" : "keras");
        if (a->keras || a->onnx)
            return vt_fail(err, VT_EUSAGE, "give one of --keras and --onnx");
        *(key == O_ONNX ? &a->onnx : &a->keras) = value;
        return VT_OK;
    case O_BEST: a->best = 1; return VT_OK;
    }
    return vt_fail(err, VT_EINTERNAL, "option %d has no parser", key);
}

typedef struct table {
    const export_args *a;
    const run_data *runs;
} table;

static int write_table(FILE *f, void *ctx, vt_err *err)
{
    const table *t = ctx;
    if (t->a->per_class)
        return run_export_per_class(f, t->runs, t->a->n_runs, t->a->json, err);
    run_export_history(f, t->runs, t->a->n_runs, t->a->json);
    return VT_OK;
}

/* --keras, --onnx: one run's model; the table's flags do not mix with them. */
static int export_model(int argc, char **argv, const export_args *a, vt_err *err)
{
    if (!a->keras && !a->onnx)
        return vt_fail(err, VT_EUSAGE, "--best goes with --keras FILE or --onnx FILE");
    if (a->out || a->per_class)
        return vt_fail(err, VT_EUSAGE, "--%s writes a model, not a table: leave out --csv, --json and --per-class",
                       a->keras ? "keras" : "onnx");
    int rc = cli_positional(&cli_export_command, argc, argv, 1, 1, "one RUN_DIR", err);
    if (rc)
        return rc;
    return a->keras ? run_export_keras(argv[optind], a->best, a->keras, err)
                    : run_export_onnx(argv[optind], a->best, a->onnx, err);
}

static int cmd_export(int argc, char **argv, vt_err *err)
{
    export_args a;
    memset(&a, 0, sizeof a);
    int done;
    int rc = cli_parse(&cli_export_command, options, argc, argv, set_option, &a, &done, err);
    if (rc != VT_OK || done)
        return rc;
    if (a.keras || a.onnx || a.best)
        return export_model(argc, argv, &a, err);
    if (!a.out)
        return vt_fail(err, VT_EUSAGE, "say where the table goes: --csv FILE or --json FILE ('-' for standard output)");
    if ((rc = cli_positional(&cli_export_command, argc, argv, 1, 4096, "at least one RUN_DIR", err)) != VT_OK)
        return rc;
    a.runs = argv + optind;
    a.n_runs = argc - optind;
    run_data *runs = calloc((size_t)a.n_runs, sizeof *runs);
    int loaded = 0;
    if (!runs)
        return vt_fail(err, VT_EIO, "out of memory");
    for (; rc == VT_OK && loaded < a.n_runs; loaded++)
        rc = run_load(a.runs[loaded], RUN_PART_CONFIG | RUN_PART_HISTORY, &runs[loaded], err);
    table t = {&a, runs};
    if (rc == VT_OK)
        rc = cli_write_to(a.out, write_table, &t, err);
    for (int i = 0; i < loaded; i++)
        run_free(&runs[i]);
    free(runs);
    return rc;
}

const cli_command cli_export_command = {
    .name = "export",
    .run = cmd_export,
    .summary = "write every run's per-epoch numbers as one CSV or JSON-lines table, or a run's model for Keras or ONNX",
    .usage = "usage: vggtop export RUN_DIR... --csv FILE|- [--per-class]\n"
             "       vggtop export RUN_DIR... --json FILE|- [--per-class]\n"
             "       vggtop export RUN_DIR --keras FILE.h5 [--best]\n"
             "       vggtop export RUN_DIR --onnx FILE.onnx [--best]\n",
    .about = "Writes the runs' numbers as one table: a row per run and epoch with the run's folder, its model, the\n"
             "settings that differ between the runs (learning_rate, batch_size, ...), the epoch and every metric of\n"
             "history.csv (loss, acc, mse, val_loss, val_acc, val_mse, top-5, lr, seconds). A file is written whole\n"
             "or not at all.\n"
             "With --keras, the run's weights in the HDF5 layout Keras' save_weights writes (layer groups named as\n"
             "keras.applications names them, kernel:0 and bias:0): keras.applications.VGG16(weights=None,\n"
             "input_shape=(48, 48, 3), classes=100).load_weights(FILE) then predicts as vggtop does.\n"
             "With --onnx, the model as an ONNX graph (opset 13) taking an NHWC batch prepared as its doc string\n"
             "says and giving the softmax, the class names in its metadata.\n",
    .options = options,
    .notes = "Exit status 2 for a bad flag, a run directory (or checkpoint) that cannot be read or a file that cannot be\n"
             "made.\n",
    .flags = CLI_NO_MODEL,
};
