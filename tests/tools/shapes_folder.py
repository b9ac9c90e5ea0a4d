#!/usr/bin/python3
"""Writes a folder of class folders for the end-to-end tests of training on your own images
(tests/e2e/data_folder.sh, tui_image.sh): one folder per class (circle, square, triangle: the first N of
them), each holding PER images of a filled shape on a grey ground, 20 to 59 pixels a side, written by OpenCV
(cv2.imwrite): even-numbered ones PNG, odd ones JPEG (000.png, 001.jpg, ...), plus a stray notes.txt in the
first class. Run with Debian's python (python3-opencv, python3-numpy):
    shapes_folder.py OUT --classes N --per PER [--seed S]
"""
import argparse
import os

import cv2
import numpy as np

SHAPES = ["circle", "square", "triangle"]


def draw(rng, shape):
    h, w = (int(v) for v in rng.integers(20, 60, 2))
    img = np.full((h, w, 3), int(rng.integers(0, 80)), np.uint8)
    col = tuple(int(v) for v in rng.integers(128, 256, 3))
    if shape == "circle":
        cv2.circle(img, (w // 2, h // 2), min(h, w) // 3, col, -1)
    elif shape == "square":
        cv2.rectangle(img, (w // 4, h // 4), (3 * w // 4, 3 * h // 4), col, -1)
    else:
        cv2.fillPoly(img, [np.array([[w // 2, h // 5], [w // 5, 4 * h // 5], [4 * w // 5, 4 * h // 5]])], col)
    return img


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--classes", type=int, required=True, choices=[1, 2, 3])
    ap.add_argument("--per", type=int, required=True)
    ap.add_argument("--seed", type=int, default=21)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    for shape in SHAPES[: args.classes]:
        os.makedirs(os.path.join(args.out, shape))
        for i in range(args.per):
            name = os.path.join(args.out, shape, f"{i:03d}.{'png' if i % 2 == 0 else 'jpg'}")
            if not cv2.imwrite(name, draw(rng, shape)):
                raise SystemExit(f"cannot write {name}")
    with open(os.path.join(args.out, SHAPES[0], "notes.txt"), "w") as f:
        f.write("not an image\n")


if __name__ == "__main__":
    main()
