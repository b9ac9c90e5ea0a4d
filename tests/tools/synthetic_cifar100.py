#!/usr/bin/env python3
"""Writes a made-up CIFAR-100 in the binary format (train.bin, test.bin) whose classes can be learned, for
the figures in docs/figures/ (and anyone who wants a 100-class run without the real data set):
    python3 tests/tools/synthetic_cifar100.py DIR N_TRAIN N_TEST
Each superclass has a colour family and each of its five classes a stripe direction and period inside it, drawn
with noise and a random phase, so the classes of a superclass look alike and the confusion matrix has structure.
Standard library only; the same arguments give the same files."""
import os, random, sys
out = sys.argv[1]; ntrain = int(sys.argv[2]); ntest = int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
# Each superclass has a colour family; each fine class a stripe direction and period inside it: classes of one
# superclass look alike, so the confusion matrix has structure.
protos = []
for c in range(100):
    sup = c // 5
    srng = random.Random(sup)
    base = [srng.randrange(60, 196) for _ in range(3)]
    protos.append(([b + rng.randint(-25, 25) for b in base], c % 4, c % 5 + 2))
def record(c, rng):
    base, d, period = protos[c]
    shift = rng.randrange(period * 2)
    planes = []
    for ch in range(3):
        px = bytearray(1024)
        for y in range(32):
            for x in range(32):
                k = (x, y, x + y, x - y + 64)[d] + shift
                v = base[ch] + (30 if (k // period) % 2 else -30) + rng.randint(-70, 70)
                px[y * 32 + x] = max(0, min(255, v))
        planes.append(bytes(px))
    return bytes([c // 5, c]) + b"".join(planes)
for name, n in (("train.bin", ntrain), ("test.bin", ntest)):
    with open(os.path.join(out, name), "wb") as f:
        for i in range(n):
            f.write(record(i % 100, rng))
