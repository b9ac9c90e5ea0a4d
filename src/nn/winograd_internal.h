/* winograd_internal: what the winograd backend's two halves share. src/nn/winograd_plan.c (built once) plans a
 * layer and holds the backend's row; src/nn/winograd.c (built in three copies, one per instruction set: see
 * there) runs the passes on that plan. */
#ifndef VGGTOP_NN_WINOGRAD_INTERNAL_H
#define VGGTOP_NN_WINOGRAD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nn_internal.h"

struct wino_mats; /* the tile's matrices (src/nn/winograd_tf.h) */

/* Output channels per block of the own kernel's blocked U (twelve accumulators: two registers of six
 * tiles). The plan sizes the blocks by the copy it chooses; each copy reads them by its KB. */
#define KB_AVX2 16
#define KB_AVX512 32

/* Tiles per chunk a worker aims for: the gemms want rows, the cache wants few. OpenBLAS packs its
 * operands at every call, so its chunks are large; the forward's own kernel (winograd.c) reads them as they
 * are, and its chunk is what fits the cache: V and M of a chunk in about FWD_CHUNK_BYTES (a multiple of
 * its six rows; on vgg16's 64- and 128-channel layers 128 KB was 10-20% faster than 384 KB or whole
 * images).
 *
 * The own kernel streams a point's U from cache for every six tiles; above 128 input channels that
 * outgrows the L1 and L2 caches and OpenBLAS's packed, cache-blocked sgemm is faster (vgg16 block3, 256
 * channels: 22-26 against 19 ms; block4, 512: 42 against 24), so SIMD_MAX_CHANNELS bounds it. The AVX-512
 * copy's kernel, with its 32-channel blocks and a Zen 5's larger caches, did no better there (one thread,
 * CPU time, batch 32: 12x12x256 F(4x4) 22.5-23.5 against 21.1-22.8 ms forward, 6x6x512 F(2x2) 37-39
 * against 32.3-32.5), so the bound is the same. That kernel took its chunk of a few tiles at a time, though,
 * each streaming all of U from memory. Over every tile of the batch at once (big plans, below), it beat
 * OpenBLAS in F(3x3)'s forward on a 2-core Zen 4 (AVX-512, batch 32, fastest of 21 passes, three interleaved
 * rounds): 6x6x512 10.7-11.9 against 12.3-13.4 ms, 3x3x512 4.2-5.9 against 5.2-6.3. Its input gradient
 * (dV = dM U^T, U transposed and blocked) did not (6x6x512 backward 25.3-26.9 against 25.2-27.3 ms). */
#define CHUNK_TILES 192
#define FWD_CHUNK_BYTES (128 * 1024)
#define SIMD_MAX_CHANNELS 128

typedef struct wino_plan {
    const struct wino_mats *f;
    int th, tw;       /* tiles per image, down and across */
    int ipc;          /* images per chunk */
    int workers;
    size_t u;         /* floats of U: a*a*c*k */
    size_t kpad;      /* floats of a worker's bias-gradient sum (k rounded up) */
    size_t chunk;     /* floats of a worker's V and M */
    float *U;         /* the transformed kernel (a*a, c, k), the layer's own: kept while the weights stay */
    unsigned long ugen; /* the weights generation U is of (conv_layer.wgen); 0: none */
    /* The forward's own kernel (AVX2 or AVX-512 copy): U again, in blocks of kb output channels (a*a, kp /
     * kb, c, kb), kb = the copy's KB, kp = k rounded up to kb with zero columns; and the forward's images
     * per chunk. */
    int isa;    /* the copy the layer runs in (NN_ISA_PORTABLE, NN_ISA_AVX2, NN_ISA_AVX512) */
    int own;    /* and its forward multiplies with the own kernel */
    int kb;
    size_t kp;
    float *Up;
    int ftiles; /* tiles per chunk of that forward (and of the input gradient's own products) */
    /* The input gradient's own products (dV = dM U^T, depth k): U transposed, in blocks of kb input
     * channels (a*a, cp / kb, k, kb), cp = c rounded up to kb with zero columns; where k is at most
     * SIMD_MAX_CHANNELS and the layer has an input gradient. */
    int own_dx;
    size_t cp;
    float *Ut;
    /* mixed_bfloat16 (the f2-bf16 variant, AVX-512 copy with AVX512_BF16): every product in
     * bfloat16 (src/nn/winograd_bf16.h), U only in its packed forms Ub and Utb (U, Up and Ut unused), and
     * per worker a workspace part for the kernel gradient's operands in pairs of tiles (pchunk floats). */
    int bf16;
    uint32_t *Ub, *Utb;
    size_t pchunk;
    /* F(3x3) (the small maps of blocks 4 and 5, 25 c x k floats of U a layer, 26 MB at 512 channels): U is
     * not kept but derived anew into the shared workspace at each pass (about 1.5 ms a layer at 512
     * channels), so six such layers cost one U of memory, not six (vgg16 at 48x48: 556 MiB at peak with
     * them kept). */
    int u_in_ws;
    /* A big plan (F(3x3), over SIMD_MAX_CHANNELS channels both ways, whole blocks of KB): the forward
     * multiplies with the own kernel over every tile of the batch in one chunk, the points split between
     * the workers, so each point's blocked U is read from memory once a pass, not once every few tiles.
     * Its Up is not kept but derived into U's place in the workspace at each forward (and U itself at each
     * backward, whose products stay with OpenBLAS). */
    int big;
} wino_plan;

/* The passes of each copy (src/nn/winograd.c); a plan's isa says which runs. */
extern const conv_passes winograd_portable_passes;
#if defined(__x86_64__)
extern const conv_passes winograd_avx2_passes, winograd_avx512_passes;
#endif

#endif
