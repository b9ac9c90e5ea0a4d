/* Placeholder until its issue lands: each command here reports that it is not built yet. */
#include <stdio.h>

#include "vggtop/cli.h"

int cli_summary(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vggtop: %s: not implemented yet\n", argv[0]);
    return 2;
}

