/* blas: the OpenBLAS thread count and kernel name. All of nn's parallelism is inside sgemm. */
#include <cblas.h>
#include <unistd.h>

#include "vggtop/nn.h"

void nn_set_threads(int n)
{
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    openblas_set_num_threads(n);
}

int nn_get_threads(void) { return openblas_get_num_threads(); }

const char *nn_blas_core(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}
