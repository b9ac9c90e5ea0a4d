#!/usr/bin/python3
"""Generates tests/fixtures/data/folder/: a tiny folder of class folders (Keras' image_dataset_from_directory
layout) and what OpenCV makes of each image, for tests/test_data_folder.c.

Run once with Debian's python3-opencv (/usr/bin/python3 tests/tools/data_folder_fixture.py); the output is
committed. images/ holds three class folders (ant, bee, cat) of three images each, of odd sizes, as PNG
(RGB, greyscale, RGBA), JPEG and one in a sub-folder, plus files Keras ignores (notes.txt, a .gif name, a
hidden file). expected_16.bin is, for the nine images in Keras' order (classes by name, each class's
files by path), cv2.resize(cv2.imread(path, IMREAD_COLOR), (16, 16), interpolation=INTER_CUBIC) as RGB
bytes (16, 16, 3) each, preceded by the magic b"VTFOLD16".
"""
import os
import shutil

import cv2
import numpy as np

ROOT = "tests/fixtures/data/folder"
IMAGES = os.path.join(ROOT, "images")
SIDE = 16

# (class, relative path, height, width, kind): kind says how it is written.
FILES = [
    ("ant", "a1.png", 20, 30, "rgb"),
    ("ant", "a2.jpg", 24, 17, "rgb"),
    ("ant", "sub/a3.png", 9, 11, "grey"),
    ("bee", "b1.PNG", 16, 16, "rgb"),
    ("bee", "b2.jpeg", 40, 33, "rgb"),
    ("bee", "b3.png", 13, 21, "rgba"),
    ("cat", "c1.png", 31, 12, "rgb"),
    ("cat", "c2.jpg", 18, 18, "grey"),
    ("cat", "c3.png", 25, 25, "rgb"),
]


def picture(rng, h, w):
    """A gradient with a sharp block and some noise: edges where bicubic overshoots."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) * 127 // max(h + w - 2, 1)], -1)
    img[h // 4: h // 2, w // 3: 2 * w // 3] = rng.integers(0, 256, 3)
    img = img + rng.integers(-20, 21, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main():
    rng = np.random.default_rng(21)
    shutil.rmtree(ROOT, ignore_errors=True)
    for cls, rel, h, w, kind in FILES:
        path = os.path.join(IMAGES, cls, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        bgr = picture(rng, h, w)
        if kind == "grey":
            out = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        elif kind == "rgba":
            out = np.dstack([bgr, rng.integers(0, 256, (h, w), dtype=np.uint8)])
        else:
            out = bgr
        ext = os.path.splitext(rel)[1].lower()
        ok, data = cv2.imencode(".png" if ext == ".png" else ".jpg", out)
        assert ok
        with open(path, "wb") as f:
            f.write(data.tobytes())
    for junk in ["ant/notes.txt", "bee/not-really.gif", "cat/.hidden.png"]:
        with open(os.path.join(IMAGES, junk), "w") as f:
            f.write("not an image the loader reads\n")
    with open(os.path.join(ROOT, "expected_16.bin"), "wb") as f:
        f.write(b"VTFOLD16")
        for cls, rel, _, _, _ in sorted(FILES, key=lambda r: (r[0], r[0] + "/" + r[1])):
            bgr = cv2.imread(os.path.join(IMAGES, cls, rel), cv2.IMREAD_COLOR)
            small = cv2.resize(bgr, (SIDE, SIDE), interpolation=cv2.INTER_CUBIC)
            f.write(cv2.cvtColor(small, cv2.COLOR_BGR2RGB).tobytes())


if __name__ == "__main__":
    main()
