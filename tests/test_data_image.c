/* Unit tests of vggtop predict's image reading (src/data/image.c) and of the preparation of images outside a
 * data set (data_fill_images): PNG files written here with libpng in every layout OpenCV's imread converts
 * (RGB, greyscale, alpha, 16-bit, palette) come back as the RGB imread(IMREAD_COLOR) would give (channel
 * order aside: ours is RGB); a JPEG written with libjpeg comes back within its loss and, cut short, is
 * refused; a CMYK JPEG (Photoshop's inverted samples) gives the RGB cv2.imread gives it (it was refused: "Unsupported
 * color conversion request"); a PNG header declaring 100,000 x 100,000 pixels is refused before any pixel is allocated; a
 * text file is not an image; x / 255 and caffe's BGR with the ImageNet means are what data_fill_images
 * gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "vggtop/data.h"
#include "testing.h"

enum { W = 5, H = 3 };

/* The test picture: pixel (y, x) is (10 + 40x, 20 + 50y, 200 - 30x). */
static uint8_t channel(int y, int x, int k) { return (uint8_t)(k == 0 ? 10 + 40 * x : k == 1 ? 20 + 50 * y : 200 - 30 * x); }

/* A PNG of color type `type` and bit depth `depth` from the test picture (greyscale from its green). */
static void write_png(const char *path, int type, int depth)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, depth, type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_color palette[W];
    if (type == PNG_COLOR_TYPE_PALETTE) {
        for (int x = 0; x < W; x++)
            palette[x] = (png_color){channel(0, x, 0), channel(0, x, 1), channel(0, x, 2)};
        png_set_PLTE(png, info, palette, W);
    }
    png_write_info(png, info);
    unsigned char row[W * 8];
    for (int y = 0; y < H; y++) {
        size_t n = 0;
        for (int x = 0; x < W; x++) {
            int grey = type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA;
            int chans = type == PNG_COLOR_TYPE_PALETTE ? 0 : grey ? 1 : 3;
            for (int k = 0; k < chans; k++) {
                uint8_t v = channel(y, x, grey ? 1 : k);
                row[n++] = v;
                if (depth == 16)
                    row[n++] = 0x77; /* the low byte, which imread drops */
            }
            if (type == PNG_COLOR_TYPE_PALETTE)
                row[n++] = (unsigned char)x; /* row 0's colours: the test compares against them */
            if (type & PNG_COLOR_MASK_ALPHA) {
                row[n++] = 9; /* nearly transparent: dropped, not composited */
                if (depth == 16)
                    row[n++] = 9;
            }
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void read_and_check(const char *path, int grey, int palette)
{
    uint8_t *rgb = NULL;
    int h = 0, w = 0;
    vt_err err;
    assert_int_equal(image_read(path, IMAGE_MAX_PIXELS, &rgb, &h, &w, &err), VT_OK);
    assert_int_equal(h, H);
    assert_int_equal(w, W);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 3; k++)
                assert_int_equal(rgb[(y * W + x) * 3 + k], channel(palette ? 0 : y, x, grey ? 1 : k));
    free(rgb);
}

static void png_layouts_are_converted_as_opencv(void **state)
{
    (void)state;
    write_png(at("rgb.png"), PNG_COLOR_TYPE_RGB, 8);
    read_and_check(at("rgb.png"), 0, 0);
    write_png(at("rgba.png"), PNG_COLOR_TYPE_RGB_ALPHA, 8);
    read_and_check(at("rgba.png"), 0, 0);
    write_png(at("rgb16.png"), PNG_COLOR_TYPE_RGB, 16);
    read_and_check(at("rgb16.png"), 0, 0);
    write_png(at("grey.png"), PNG_COLOR_TYPE_GRAY, 8);
    read_and_check(at("grey.png"), 1, 0);
    write_png(at("greya16.png"), PNG_COLOR_TYPE_GRAY_ALPHA, 16);
    read_and_check(at("greya16.png"), 1, 0);
    write_png(at("palette.png"), PNG_COLOR_TYPE_PALETTE, 8);
    read_and_check(at("palette.png"), 0, 1);
}

static void jpeg_within_its_loss_and_refused_cut_short(void **state)
{
    (void)state;
    enum { S = 32 };
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr mgr;
    c.err = jpeg_std_error(&mgr);
    jpeg_create_compress(&c);
    FILE *f = fopen(at("a.jpg"), "wb");
    assert_non_null(f);
    jpeg_stdio_dest(&c, f);
    c.image_width = c.image_height = S;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[S * 3];
    for (int y = 0; y < S; y++) {
        for (int x = 0; x < S; x++)
            row[3 * x] = (unsigned char)(4 * x), row[3 * x + 1] = (unsigned char)(4 * y), row[3 * x + 2] = 128;
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    long size = ftell(f);
    fclose(f);
    uint8_t *rgb = NULL;
    int h, w;
    vt_err err;
    assert_int_equal(image_read(at("a.jpg"), IMAGE_MAX_PIXELS, &rgb, &h, &w, &err), VT_OK);
    assert_int_equal(h, S);
    assert_int_equal(w, S);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            assert_in_range(rgb[(y * S + x) * 3], 4 * x > 6 ? 4 * x - 6 : 0, 4 * x + 6);
            assert_in_range(rgb[(y * S + x) * 3 + 2], 122, 134);
        }
    free(rgb);
    sh("head -c %ld '%s' > '%s'", size - 64, at("a.jpg"), at("cut.jpg")); /* the scan cut short */
    assert_int_equal(image_read(at("cut.jpg"), IMAGE_MAX_PIXELS, &rgb, &h, &w, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "cut.jpg: a truncated or damaged JPEG"));
    assert_null(rgb);
}

/* A header of 100,000 x 100,000 pixels, a first image chunk and the end: refused by its size alone. */
/* A 16 x 16 CMYK JPEG of one colour at quality 100. */
static void write_cmyk_jpeg(const char *path, const uint8_t cmyk[4])
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr mgr;
    c.err = jpeg_std_error(&mgr);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    jpeg_stdio_dest(&c, f);
    c.image_width = c.image_height = 16;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[16 * 4];
    for (int x = 0; x < 16; x++)
        memcpy(row + 4 * x, cmyk, 4);
    while (c.next_scanline < 16) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

/* What cv2.imread (OpenCV 4.6, libjpeg-turbo) gives for these files, channels reversed to RGB. */
static void cmyk_jpeg_is_converted_as_opencv(void **state)
{
    (void)state;
    static const struct { uint8_t cmyk[4], rgb[3]; } cases[] = {
        {{200, 100, 50, 128}, {101, 51, 26}},
        {{10, 250, 255, 0}, {0, 0, 0}},
        {{0, 0, 0, 255}, {1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_cmyk_jpeg(at("cmyk.jpg"), cases[i].cmyk);
        uint8_t *rgb = NULL;
        int h, w;
        vt_err err;
        assert_int_equal(image_read(at("cmyk.jpg"), IMAGE_MAX_PIXELS, &rgb, &h, &w, &err), VT_OK);
        assert_int_equal(h, 16);
        assert_int_equal(w, 16);
        for (int p = 0; p < 16 * 16; p++)
            for (int k = 0; k < 3; k++)
                assert_int_equal(rgb[3 * p + k], cases[i].rgb[k]);
        free(rgb);
    }
}

static void a_huge_header_is_refused_before_allocating(void **state)
{
    (void)state;
    unsigned char buf[128];
    size_t n = 0;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(buf, sig, 8);
    n = 8;
    unsigned char ihdr[17] = {'I', 'H', 'D', 'R', 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, 0};
    unsigned char idat_data[32];
    uLongf zlen = sizeof idat_data;
    static const unsigned char zeros[8] = {0};
    assert_int_equal(compress(idat_data, &zlen, zeros, sizeof zeros), Z_OK);
    struct { const unsigned char *kind; const unsigned char *data; size_t len; } chunks[3] = {
        {ihdr, ihdr + 4, 13}, {(const unsigned char *)"IDAT", idat_data, zlen}, {(const unsigned char *)"IEND", NULL, 0}};
    for (int i = 0; i < 3; i++) {
        buf[n++] = 0, buf[n++] = 0, buf[n++] = 0, buf[n++] = (unsigned char)chunks[i].len;
        memcpy(buf + n, chunks[i].kind, 4);
        if (chunks[i].len)
            memcpy(buf + n + 4, chunks[i].data, chunks[i].len);
        uLong crc = crc32(0, buf + n, (uInt)(4 + chunks[i].len));
        n += 4 + chunks[i].len;
        buf[n++] = (unsigned char)(crc >> 24), buf[n++] = (unsigned char)(crc >> 16);
        buf[n++] = (unsigned char)(crc >> 8), buf[n++] = (unsigned char)crc;
    }
    write_file(at("huge.png"), buf, n);
    uint8_t *rgb = NULL;
    int h, w;
    vt_err err;
    assert_int_equal(image_read(at("huge.png"), IMAGE_MAX_PIXELS, &rgb, &h, &w, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "huge.png: 100000x100000 pixels, more than the 64 megapixels"));
    write_text(at("text.png"), "hello\n");
    assert_int_equal(image_read(at("text.png"), IMAGE_MAX_PIXELS, &rgb, &h, &w, &err), VT_EUSAGE);
    assert_non_null(strstr(err.msg, "text.png: not a PNG or JPEG image"));
}

static void images_are_prepared_as_test_images(void **state)
{
    (void)state;
    const uint8_t px[6] = {0, 51, 255, 10, 20, 30}; /* two RGB pixels */
    float x[6];
    data_fill_images(px, 1, 1, 2, 3, NULL, x);
    for (int i = 0; i < 6; i++)
        assert_true(x[i] == (float)px[i] / 255.0f);
    preprocess pp = {0};
    pp.caffe = 1;
    data_fill_images(px, 1, 1, 2, 3, &pp, x);
    /* BGR, each less its ImageNet mean (B 103.939, G 116.779, R 123.68). */
    assert_true(x[0] == 255.0f - 103.939f && x[1] == 51.0f - 116.779f && x[2] == 0.0f - 123.68f);
    assert_true(x[3] == 30.0f - 103.939f && x[4] == 20.0f - 116.779f && x[5] == 10.0f - 123.68f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(png_layouts_are_converted_as_opencv),
        cmocka_unit_test(jpeg_within_its_loss_and_refused_cut_short),
        cmocka_unit_test(cmyk_jpeg_is_converted_as_opencv),
        cmocka_unit_test(a_huge_header_is_refused_before_allocating),
        cmocka_unit_test(images_are_prepared_as_test_images),
    };
    return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
