#!/usr/bin/python3
"""Generates tests/fixtures/data/resize_cv2.bin: random uint8 images and what OpenCV's
cv2.resize(..., interpolation=cv2.INTER_CUBIC) makes of them, for tests/test_data_resize.c.

Run once with Debian's python3-opencv (/usr/bin/python3 tests/tools/data_resize_fixture.py); the output is
committed. Format, little-endian: magic b"VTRSZ1\\0\\0", uint32 case count, then per case six uint16
(sh, sw, c, dh, dw, kind) followed by sh*sw*c source bytes and dh*dw*c OpenCV bytes, both HWC.
kind 0 is uniform noise (overshoot and saturation everywhere), 1 a smooth gradient with a sharp edge.
"""
import struct
import sys

import cv2
import numpy as np

OUT = "tests/fixtures/data/resize_cv2.bin"

# (sh, sw, c, dh, dw): the seed's CIFAR 32 -> 48, Fashion-MNIST 28 -> 32, downscaling, odd and
# non-square shapes, tiny images (all taps on the border), identity, and 4 channels.
CASES = [
    (32, 32, 3, 48, 48),
    (28, 28, 1, 32, 32),
    (48, 48, 3, 32, 32),
    (32, 32, 3, 17, 23),
    (7, 13, 1, 20, 9),
    (13, 7, 3, 5, 31),
    (1, 1, 3, 4, 4),
    (2, 3, 1, 17, 5),
    (5, 5, 3, 3, 3),
    (8, 8, 1, 8, 8),
    (9, 6, 4, 14, 10),
    (32, 32, 1, 64, 64),
    (3, 40, 1, 3, 7),
]


def image(rng, sh, sw, c, kind):
    if kind == 0:
        return rng.integers(0, 256, size=(sh, sw, c), dtype=np.uint8)
    yy, xx = np.mgrid[0:sh, 0:sw]
    img = np.empty((sh, sw, c), dtype=np.float64)
    for ch in range(c):
        g = 40 + 150 * (xx / max(sw - 1, 1)) * (0.5 + 0.5 * ch / max(c, 1)) + 30 * (yy / max(sh - 1, 1))
        g = np.where(xx > sw // 2, 255 - g / 3, g)  # a hard edge: ringing both ways
        img[:, :, ch] = g
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def main():
    rng = np.random.default_rng(20261127)
    blobs = []
    for kind in (0, 1):
        for (sh, sw, c, dh, dw) in CASES:
            src = image(rng, sh, sw, c, kind)
            # cv2 drops a trailing axis of 1; hand it 2-D for grey and put the axis back.
            dst = cv2.resize(src[:, :, 0] if c == 1 else src, (dw, dh), interpolation=cv2.INTER_CUBIC)
            dst = dst.reshape(dh, dw, c)
            blobs.append(struct.pack("<6H", sh, sw, c, dh, dw, kind) + src.tobytes() + dst.tobytes())
    with open(OUT, "wb") as f:
        f.write(b"VTRSZ1\0\0" + struct.pack("<I", len(blobs)))
        for b in blobs:
            f.write(b)
    print(f"{OUT}: {len(blobs)} cases, OpenCV {cv2.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
