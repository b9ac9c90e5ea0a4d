/* main: chooses the BLAS kernel for commands that run a model, hands the command line to the cli
 * (src/cli/commands.c dispatches it), and turns output that could not be written into a failure. Only main
 * decides the exit status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vggtop/cli.h"
#include "vggtop/nn.h"

/* Output that could not be written is a failure, never a success: every command's standard output goes
 * through here at the end (a full disk, a closed pipe, /dev/full), and a lost write turns status 0 into 1. */
static int finish_output(int status)
{
    /* fflush, not fclose: atexit handlers (the front end's terminal reset) may still write to stdout. */
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    if (bad && status == 0) {
        fprintf(stderr, "vggtop: cannot write the output: %s\n", errno ? strerror(errno) : "write error");
        return 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (cli_runs_model(argc, argv))
        nn_blas_choose_kernel(argv);
    return finish_output(cli_main(argc, argv));
}
