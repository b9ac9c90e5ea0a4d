#!/usr/bin/python3
"""Writes the seed inputs of the data loaders' fuzz harnesses to tests/fuzz/seeds/<harness>/ (committed).

Layout of an input (tests/fuzz/fuzz_common.h): one option byte, three little-endian uint16 lengths of
parts 0-2, then the parts' bytes (part 3 is the rest). Each seed is a small valid data set, so the
fuzzer starts from inputs that load, and mutates towards every way a file can be wrong.
Standard library only: /usr/bin/python3 tests/tools/data_fuzz_seeds.py (cifar100_python's seeds come from
tests/tools/cifar100_pickles.py: the Python 2 protocol 2 format and a protocol 5 re-pickle)
"""
import gzip
import os
import struct

import cifar100_pickles

OUT = "tests/fuzz/seeds"


def pack(opts, parts):
    parts = list(parts) + [b""] * (4 - len(parts))
    return bytes([opts]) + struct.pack("<3H", *(len(p) for p in parts[:3])) + b"".join(parts)


def pixels(seed, n):
    return bytes((seed * 31 + i * 7) & 255 for i in range(n))


def cifar100(records, first):
    out = b""
    for r in range(records):
        fine = (first + r) * 37 % 100
        coarse = [4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3,
                  15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0,
                  17, 4, 18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2,
                  4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13][fine]
        out += bytes([coarse, fine]) + pixels(first + r, 3072)
    return out


def cifar10(records, first):
    return b"".join(bytes([(first + r) % 10]) + pixels(first + r, 3072) for r in range(records))


def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def write(harness, name, blob):
    os.makedirs(os.path.join(OUT, harness), exist_ok=True)
    with open(os.path.join(OUT, harness, name), "wb") as f:
        f.write(blob)


def main():
    names100 = "".join(f"fine{i}\n" for i in range(100)).encode()
    names20 = "".join(f"coarse{i}\n" for i in range(20)).encode()
    write("cifar100", "two_records", pack(0, [cifar100(2, 0), cifar100(1, 5)]))
    write("cifar100", "coarse_resized_names", pack(1 | 4 | 24, [cifar100(1, 3), cifar100(1, 7), names100, names20]))
    p = cifar100_pickles
    one, two = p.split(0, 1, b"training batch"), p.split(7, 1, b"testing batch")
    write("cifar100_python", "py2_protocol2", pack(0, [p.py2_dumps(one), p.py2_dumps(two), p.py2_dumps(p.META)]))
    write("cifar100_python", "protocol5_coarse_resized",
          pack(1 | 2 | 24, [p.py3_dumps(one, 5), p.py3_dumps(two, 4, str_keys=True), p.py3_dumps(p.META, 3)]))
    write("cifar10", "one_record_batches", pack(0, [cifar10(1, 0), cifar10(1, 9)]))
    write("cifar10", "meta_limited", pack(2 | 4 | 8, [cifar10(1, 2), cifar10(1, 4), b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"]))
    img = pixels(1, 3 * 6 * 5)
    lab = bytes([1, 0, 9])
    parts = [idx([3, 6, 5], img), idx([3], lab), idx([3, 6, 5], img), idx([3], lab)]
    write("idx", "raw_fashion", pack(16, parts))
    write("idx", "gz_upscaled", pack(15 | 16 | 32, parts))
    write("idx", "gz_stream_itself", pack(0, [gzip.compress(p, mtime=0) for p in parts]))
    write("idx", "channels_limited", pack(128 | 64, [idx([3, 4, 4, 3], pixels(2, 144)), idx([3], bytes([0, 1, 1])),
                                                     idx([2, 4, 4, 3], pixels(3, 96)), idx([2], bytes([1, 0]))]))


if __name__ == "__main__":
    main()
