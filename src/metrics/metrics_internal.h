/* metrics_internal: what the files of src/metrics share and nobody else needs. */
#ifndef VGGTOP_METRICS_INTERNAL_H
#define VGGTOP_METRICS_INTERNAL_H

/* The sum of a[0..n) in the order numpy's add.reduce uses on a contiguous float64 array (pairwise
 * blocks of 128, eight accumulators inside a block), so a mean or a weighted average here is the very
 * double numpy returns, not one a rounding away. */
double metrics_pairwise_sum(const double *a, long n);

#endif
