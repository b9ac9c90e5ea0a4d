#!/usr/bin/python3
"""Writes the seeds of the image reader's fuzz harness (tests/fuzz/fuzz_image.c) into tests/fuzz/seeds/image/
(committed): a tiny random picture as RGB, RGBA, palette and 16-bit greyscale PNG and as colour and greyscale
JPEG, so the fuzzer starts inside every decoding path (fuzz-finish-fails.jpg is the fuzzer's own find: a JPEG
whose end fails after its pixels were read). Run with Debian's python: /usr/bin/python3 (PIL, numpy)."""
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz", "seeds", "image")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1)
im = Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
im.save(os.path.join(OUT, "rgb.png"))
im.save(os.path.join(OUT, "rgb.jpg"), quality=80)
im.convert("L").save(os.path.join(OUT, "grey.jpg"))
im.convert("RGBA").save(os.path.join(OUT, "rgba.png"))
im.convert("P").save(os.path.join(OUT, "palette.png"))
Image.fromarray(rng.integers(0, 65535, (4, 3)).astype(np.uint16)).save(os.path.join(OUT, "grey16.png"))
