/* cli/export: `vggtop export RUN... --csv FILE|-` (or --json), every run's per-epoch numbers as one tidy table
 * (the work is run_export_history and run_export_per_class in src/train/export.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vggtop/cli.h"
#include "vggtop/train.h"

static const char export_help[] =
    "usage: vggtop export RUN_DIR... --csv FILE|- [--per-class]\n"
    "       vggtop export RUN_DIR... --json FILE|- [--per-class]\n"
    "Writes the runs' numbers as one table: a row per run and epoch with the run's folder, its model, the\n"
    "settings that differ between the runs (lr, batch_size, ...), the epoch and every metric of history.csv\n"
    "(loss, acc, mse, val_loss, val_acc, val_mse, top-5, lr, seconds). '-' writes to standard output; a file is\n"
    "written whole or not at all.\n"
    "  --csv FILE      CSV with a header line (a metric a run did not record is empty)\n"
    "  --json FILE     JSON lines: one object a row (null where not recorded)\n"
    "  --per-class     per_class.csv instead: a row per run, epoch and class with precision, recall, F1, support\n"
    "Exit status 2 for a bad flag or a run directory that cannot be read.\n";

enum { O_CSV = 256, O_JSON, O_PER_CLASS };

static const struct option export_options[] = {
    {"csv", required_argument, NULL, O_CSV},
    {"json", required_argument, NULL, O_JSON},
    {"per-class", no_argument, NULL, O_PER_CLASS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct export_args {
    const char *out;
    int json, per_class;
    char **runs;
    int n_runs;
} export_args;

static int parse(int argc, char **argv, export_args *a, int *done, vt_err *err)
{
    memset(a, 0, sizeof *a);
    *done = 0;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", export_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(export_help, stdout);
            *done = 1;
            return VT_OK;
        case ':': return vt_fail(err, VT_EUSAGE, "%s needs a value (see vggtop export --help)", argv[optind - 1]);
        case '?': return vt_fail(err, VT_EUSAGE, "unknown option '%.64s' (see vggtop export --help)", argv[optind - 1]);
        case O_CSV:
        case O_JSON:
            if (a->out)
                return vt_fail(err, VT_EUSAGE, "give one of --csv and --json");
            a->out = optarg;
            a->json = c == O_JSON;
            break;
        case O_PER_CLASS: a->per_class = 1; break;
        default: return vt_fail(err, VT_EINTERNAL, "option %d has no handler", c);
        }
    }
    if (!a->out)
        return vt_fail(err, VT_EUSAGE, "say where the table goes: --csv FILE or --json FILE ('-' for standard output)");
    if (!*a->out)
        return vt_fail(err, VT_EUSAGE, "--%s: give a file name or '-'", a->json ? "json" : "csv");
    if (optind >= argc)
        return vt_fail(err, VT_EUSAGE, "give at least one run directory (see vggtop export --help)");
    a->runs = argv + optind;
    a->n_runs = argc - optind;
    return VT_OK;
}

static int write_table(FILE *f, const export_args *a, const run_data *runs, vt_err *err)
{
    if (a->per_class)
        return run_export_per_class(f, runs, a->n_runs, a->json, err);
    run_export_history(f, runs, a->n_runs, a->json);
    return VT_OK;
}

int cli_export(int argc, char **argv)
{
    export_args a;
    int done;
    vt_err err;
    int rc = parse(argc, argv, &a, &done, &err);
    if (rc != VT_OK || done) {
        if (rc != VT_OK)
            fprintf(stderr, "vggtop export: %s\n", err.msg);
        return vt_exit_status(rc);
    }
    run_data *runs = calloc((size_t)a.n_runs, sizeof *runs);
    int loaded = 0;
    if (!runs)
        rc = vt_fail(&err, VT_EIO, "out of memory");
    for (; rc == VT_OK && loaded < a.n_runs; loaded++)
        rc = run_load(a.runs[loaded], RUN_PART_CONFIG | RUN_PART_HISTORY, &runs[loaded], &err);
    if (rc == VT_OK && strcmp(a.out, "-") == 0) {
        rc = write_table(stdout, &a, runs, &err);
    } else if (rc == VT_OK) {
        vt_afile af;
        rc = vt_afile_open(&af, a.out, &err);
        if (rc != VT_OK)
            err.code = rc = VT_EUSAGE; /* a place the user named that cannot take the file */
        else if ((rc = write_table(af.f, &a, runs, &err)) != VT_OK)
            vt_afile_abort(&af);
        else
            rc = vt_afile_commit(&af, &err);
    }
    if (rc != VT_OK)
        fprintf(stderr, "vggtop export: %s\n", err.msg);
    for (int i = 0; i < loaded; i++)
        run_free(&runs[i]);
    free(runs);
    return vt_exit_status(rc);
}
