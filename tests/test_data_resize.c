/* Unit tests of the bicubic resize against OpenCV: tests/fixtures/data/resize_cv2.bin holds random and
 * smooth images and cv2.resize(INTER_CUBIC)'s output for them (made by tests/tools/data_resize_fixture.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/data/data_internal.h"
#include "vggtop/data.h"
#include "testing.h"

#define FIXTURE "tests/fixtures/data/resize_cv2.bin"

static unsigned rd16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static void resize_matches_opencv_within_one_level(void **state)
{
    (void)state;
    char *buf;
    size_t len;
    vt_err err;
    assert_int_equal(vt_read_file(FIXTURE, 0, &buf, &len, &err), VT_OK);
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    assert_true(len >= 12 && memcmp(p, "VTRSZ1\0\0", 8) == 0);
    unsigned cases = (unsigned)p[8] | (unsigned)p[9] << 8 | (unsigned)p[10] << 16 | (unsigned)p[11] << 24;
    assert_true(cases >= 20);
    p += 12;
    long values = 0, exact = 0;
    for (unsigned k = 0; k < cases; k++) {
        assert_true(end - p >= 12);
        int sh = (int)rd16(p), sw = (int)rd16(p + 2), c = (int)rd16(p + 4), dh = (int)rd16(p + 6),
            dw = (int)rd16(p + 8);
        p += 12;
        size_t in = (size_t)sh * sw * c, out = (size_t)dh * dw * c;
        assert_true((size_t)(end - p) >= in + out);
        const uint8_t *src = p, *want = p + in;
        p += in + out;
        uint8_t *got = malloc(out), *got2 = malloc(out);
        assert_non_null(got);
        assert_non_null(got2);
        image_resize_bicubic(src, sh, sw, c, got, dh, dw);
        /* The many-image path (several threads, one plan each) gives the same bytes. */
        assert_int_equal(resize_images(src, 1, sh, sw, c, got2, dh, dw, 2), 0);
        assert_memory_equal(got, got2, out);
        for (size_t i = 0; i < out; i++) {
            int d = abs((int)got[i] - (int)want[i]);
            if (d > 1)
                fail_msg("case %u (%dx%dx%d -> %dx%d): value %zu is %d, OpenCV %d", k, sh, sw, c, dh, dw, i,
                         got[i], want[i]);
            exact += d == 0;
        }
        values += (long)out;
        free(got);
        free(got2);
    }
    assert_ptr_equal(p, end);
    print_message("resize: %ld of %ld values equal OpenCV's exactly (%.3f%%), the rest within 1\n", exact, values,
                  100.0 * (double)exact / (double)values);
    free(buf);
}

/* Hand-derived: the kernel's weights sum to 1, so a flat image stays flat at any scale; at scale 1 the
 * fraction is 0 and the weights are (0, 1, 0, 0), so the image is copied. */
static void resize_keeps_flat_images_and_identity(void **state)
{
    (void)state;
    uint8_t flat[5 * 7 * 3], out[40 * 9 * 3];
    memset(flat, 200, sizeof flat);
    image_resize_bicubic(flat, 5, 7, 3, out, 40, 9);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 200);
    uint8_t img[6 * 4 * 2], same[6 * 4 * 2];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 37 + 11);
    image_resize_bicubic(img, 6, 4, 2, same, 6, 4);
    assert_memory_equal(img, same, sizeof img);
}

/* Doubling a 1-D step 0,0,255,255 by hand. Destination x maps to source (x + 0.5) / 2 - 0.5; Keys'
 * weights (A = -0.75) at fraction 0.25 are (-0.10546875, 0.87890625, 0.26171875, -0.03515625), at 0.75
 * the same reversed; all are multiples of 1/2048, so the fixed point is exact:
 *   x=0: -0.25, taps 0,0,0,0 -> 0          x=1: 0.25, taps 0,0,0,255 -> 255 * -0.035 -> 0
 *   x=2: 0.75, taps 0,0,0,255 -> 0         x=3: 1.25, taps 0,0,255,255 -> 255 * 0.2265625 = 57.8 -> 58
 *   x=4: 1.75, 255 * 0.7734375 = 197.2 -> 197    x=5,6: 255 * 1.1 -> saturates to 255    x=7: 255 */
static void resize_step_by_hand(void **state)
{
    (void)state;
    const uint8_t step[4] = {0, 0, 255, 255}, want[8] = {0, 0, 0, 58, 197, 255, 255, 255};
    uint8_t out[8];
    image_resize_bicubic(step, 1, 4, 1, out, 1, 8);
    assert_memory_equal(out, want, 8);
    /* The same along the other axis. */
    image_resize_bicubic(step, 4, 1, 1, out, 8, 1);
    assert_memory_equal(out, want, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resize_matches_opencv_within_one_level),
        cmocka_unit_test(resize_keeps_flat_images_and_identity),
        cmocka_unit_test(resize_step_by_hand),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
