/* data/image: a user's PNG or JPEG file as 8-bit RGB pixels (vggtop predict), decoded by libpng and
 * libjpeg-turbo (the libraries OpenCV's imread uses, already on every machine that builds vggtop: PLplot's
 * cairo driver pulls them in) and converted as imread(IMREAD_COLOR) converts: greyscale to three equal
 * channels, a palette expanded, alpha dropped (not composited), 16-bit samples to their high byte, CMYK (as
 * Photoshop writes it, inverted) to RGB by OpenCV's rule (cmyk_to_rgb). The size
 * in the header is checked against a cap before a pixel is allocated, and a file the decoder has to guess
 * at (a truncated JPEG, which libjpeg would pad with grey) is refused. */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h and stddef.h, which it needs and does not include */
#include <png.h>

#include "data_internal.h"

#define IMAGE_MAX_BYTES (256LL << 20)

static int too_large(const char *path, long long w, long long h, long long max, vt_err *err)
{
    if (w < 1 || h < 1)
        return vt_fail(err, VT_EUSAGE, "%s: an image of %lldx%lld pixels", path, w, h);
    if (w * h > max)
        return vt_fail(err, VT_EUSAGE, "%s: %lldx%lld pixels, more than the %lld megapixels this reads", path, w, h,
                       max >> 20);
    return VT_OK;
}

/* ---- PNG --------------------------------------------------------------------------------------------- */

typedef struct png_state {
    const char *path;
    vt_err *err;
    jmp_buf jmp;
} png_state;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_state *s = png_get_error_ptr(png);
    vt_fail(s->err, VT_EUSAGE, "%s: not a readable PNG (%s)", s->path, msg);
    longjmp(s->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* ancillary chunks libpng skips (a bad iCCP): OpenCV reads such files too */
}

static int read_png(FILE *f, const char *path, long long max, uint8_t **rgb, int *h, int *w, vt_err *err)
{
    png_state s;
    memset(&s, 0, sizeof s);
    s.path = path;
    s.err = err;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return vt_fail(err, VT_EIO, "out of memory reading %s", path);
    }
    if (setjmp(s.jmp)) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return VT_EUSAGE;
    }
    png_init_io(png, f);
    png_read_info(png, info);
    png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
    int rc = too_large(path, pw, ph, max, err);
    if (!rc) {
        int type = png_get_color_type(png, info);
        png_set_strip_16(png); /* the high byte, as OpenCV */
        png_set_packing(png);
        if (type == PNG_COLOR_TYPE_PALETTE)
            png_set_palette_to_rgb(png);
        if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) {
            png_set_expand_gray_1_2_4_to_8(png);
            png_set_gray_to_rgb(png);
        }
        png_set_strip_alpha(png);
        png_read_update_info(png, info);
        if (png_get_rowbytes(png, info) != (size_t)pw * 3)
            rc = vt_fail(err, VT_EUSAGE, "%s: a PNG layout this does not convert", path);
    }
    if (!rc) {
        pixels = malloc((size_t)pw * ph * 3);
        rows = malloc(sizeof(png_bytep) * ph);
        if (!pixels || !rows)
            rc = vt_fail(err, VT_EIO, "out of memory for the %ux%u pixels of %s", pw, ph, path);
    }
    if (!rc) {
        for (png_uint_32 y = 0; y < ph; y++)
            rows[y] = pixels + (size_t)y * pw * 3;
        png_read_image(png, rows);
        png_read_end(png, NULL);
        *rgb = pixels;
        *h = (int)ph;
        *w = (int)pw;
        pixels = NULL;
    }
    free(pixels);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
}

/* ---- JPEG -------------------------------------------------------------------------------------------- */

typedef struct jpeg_state {
    struct jpeg_error_mgr mgr;
    const char *path;
    vt_err *err;
    int warnings;
    jmp_buf jmp;
} jpeg_state;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_state *s = (jpeg_state *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    vt_fail(s->err, VT_EUSAGE, "%s: not a readable JPEG (%s)", s->path, msg);
    longjmp(s->jmp, 1);
}

/* Warnings (level -1) are counted: a premature end of the data is one, and the image is then made up. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0)
        ((jpeg_state *)cinfo->err)->warnings++;
}

/* One row of CMYK (Adobe's inverted samples: 255 is no ink) to RGB, as OpenCV's JPEG reader converts it:
 * r = k - (255 - c) * k / 256, rounded down; likewise g from m and b from y. in: (w, 4), out: (w, 3). */
static void cmyk_to_rgb(const uint8_t *in, uint8_t *out, size_t w)
{
    for (size_t x = 0; x < w; x++, in += 4, out += 3) {
        const int k = in[3];
        for (int ch = 0; ch < 3; ch++)
            out[ch] = (uint8_t)(k - (((255 - in[ch]) * k) >> 8));
    }
}

static int read_jpeg(FILE *f, const char *path, long long max, uint8_t **rgb, int *h, int *w, vt_err *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_state s;
    memset(&s, 0, sizeof s);
    s.path = path;
    s.err = err;
    cinfo.err = jpeg_std_error(&s.mgr);
    s.mgr.error_exit = jpeg_on_error;
    s.mgr.emit_message = jpeg_on_message;
    uint8_t *volatile pixels = NULL, *volatile cmyk = NULL;
    if (setjmp(s.jmp)) {
        free(pixels);
        free(cmyk);
        jpeg_destroy_decompress(&cinfo);
        return VT_EUSAGE;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    int rc = too_large(path, cinfo.image_width, cinfo.image_height, max, err);
    const int four = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (!rc) {
        /* greyscale and YCbCr to RGB by libjpeg; CMYK (and YCCK, CMYK in YCbCr) to CMYK, converted below */
        cinfo.out_color_space = four ? JCS_CMYK : JCS_RGB;
        jpeg_start_decompress(&cinfo);
        if (cinfo.output_components != (four ? 4 : 3))
            rc = vt_fail(err, VT_EUSAGE, "%s: a JPEG colour space this does not convert", path);
    }
    if (!rc && !(pixels = malloc((size_t)cinfo.output_width * cinfo.output_height * 3)))
        rc = vt_fail(err, VT_EIO, "out of memory for the pixels of %s", path);
    if (!rc && four && !(cmyk = malloc((size_t)cinfo.output_width * 4)))
        rc = vt_fail(err, VT_EIO, "out of memory for the pixels of %s", path);
    while (!rc && cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = pixels + (size_t)cinfo.output_scanline * cinfo.output_width * 3;
        JSAMPROW row = four ? cmyk : dst;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (four)
            cmyk_to_rgb(cmyk, dst, cinfo.output_width);
    }
    if (!rc)
        jpeg_finish_decompress(&cinfo); /* may still fail (longjmp): the pixels are handed over only after it */
    if (!rc && s.warnings)
        rc = vt_fail(err, VT_EUSAGE, "%s: a truncated or damaged JPEG (the decoder had to make up pixels)", path);
    if (!rc) {
        *rgb = pixels;
        *h = (int)cinfo.output_height;
        *w = (int)cinfo.output_width;
        pixels = NULL;
    }
    free(pixels);
    free(cmyk);
    jpeg_destroy_decompress(&cinfo);
    return rc;
}

int image_read(const char *path, long long max_pixels, uint8_t **rgb, int *h, int *w, vt_err *err)
{
    *rgb = NULL;
    FILE *f;
    int rc = vt_fopen_regular(path, IMAGE_MAX_BYTES, &f, NULL, err);
    if (rc)
        return rc;
    unsigned char magic[8] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    rewind(f);
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got == 8 && memcmp(magic, png_magic, 8) == 0)
        rc = read_png(f, path, max_pixels, rgb, h, w, err);
    else if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff)
        rc = read_jpeg(f, path, max_pixels, rgb, h, w, err);
    else
        rc = vt_fail(err, VT_EUSAGE, "%s: not a PNG or JPEG image", path);
    fclose(f);
    return rc;
}
