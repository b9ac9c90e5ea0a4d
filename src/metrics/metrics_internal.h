/* metrics_internal: what the files of src/metrics share and nobody else needs. */
#ifndef VGGTOP_METRICS_INTERNAL_H
#define VGGTOP_METRICS_INTERNAL_H

#include <stddef.h>

#include "vggtop/util.h"

/* The sum of a[0..n) in the order numpy's add.reduce uses on a contiguous float64 array (pairwise
 * blocks of 128, eight accumulators inside a block), so a mean or a weighted average here is the very
 * double numpy returns, not one a rounding away. */
double metrics_pairwise_sum(const double *a, long n);

/* The writers the report and the diff of two runs share (src/metrics/report.c). */
/* Characters of a UTF-8 string as Python's len counts them (code points: bytes not of form 10xxxxxx). */
int metrics_utf8_width(const char *s);
/* Python's "{:>{width}s}": s right-aligned in width code points. */
void metrics_put_right(vt_buf *b, const char *s, int width);
/* The heading of class c: names[c], or the number as sklearn's "%s" % label (written into num). */
const char *metrics_class_name(const char *const *names, int c, char *num, size_t size);
/* The shortest "%.*g" that reads back as the same double, as Python's repr chooses. */
void metrics_put_number(vt_buf *b, double v);
/* A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
void metrics_put_csv_field(vt_buf *b, const char *s);
/* A JSON string: quotes, backslashes and control characters escaped; UTF-8 passes through. */
void metrics_put_json_string(vt_buf *b, const char *s);

#endif
