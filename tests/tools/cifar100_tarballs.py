#!/usr/bin/python3
"""Writes made-up CIFAR-100 binary tarballs for the download tests (tests/e2e/data_download.sh and
tui_download.sh) into OUTDIR.

Made at test time, never committed: a few records, not CIFAR-100's 168 MB. The layout is the real
tarball's, a cifar-100-binary/ folder holding train.bin, test.bin (records of a coarse label byte, a fine
label byte and 3,072 bytes of R, G, B planes), fine_label_names.txt and coarse_label_names.txt.

  OUTDIR/cifar-100-binary.tar.gz   the good one: 5 training records, 2 test records
  OUTDIR/expected/                 its files as they should land on disk, to compare with
  OUTDIR/evil-dotdot.tar.gz        ... plus a member cifar-100-binary/../evil.txt
  OUTDIR/evil-absolute.tar.gz      ... plus a member /tmp/vggtop-evil-absolute.txt
  OUTDIR/evil-symlink.tar.gz       cifar-100-binary/test.bin is a symlink to ../../evil.txt
  OUTDIR/extra-member.tar.gz       ... plus a member cifar-100-binary/README
  OUTDIR/bad-labels.tar.gz         a fine label of 100 in train.bin (unpacks, then fails the data check)
  OUTDIR/not-a-tarball.tar.gz      gzip'ed text

Standard library only: python3 tests/tools/cifar100_tarballs.py OUTDIR
"""
import gzip
import io
import os
import sys
import tarfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/, this folder's parent
# The published fine -> coarse table (the same as names_cifar100_fine_to_coarse in src/data/names.c).
COARSE = [4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
          0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4,
          18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19,
          5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13]


def records(first, n, bad_label=False):
    out = b""
    for r in range(first, first + n):
        fine = (r * 37 + 19) % 100
        label = 100 if bad_label and r == first else fine
        out += bytes([COARSE[fine], label]) + bytes((r * 7 + i * 13) & 255 for i in range(3072))
    return out


def names(asset):
    with open(os.path.join(HERE, "..", "assets", asset), "rb") as f:
        return f.read()


def member(tar, name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = 1234567890
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        info.linkname = link
        tar.addfile(info)


def write(path, files, extra=()):
    """files: (name, bytes) under cifar-100-binary/; extra: (name, bytes, kind, link) as given."""
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        member(tar, "cifar-100-binary", kind=tarfile.DIRTYPE)
        for name, data in files:
            member(tar, "cifar-100-binary/" + name, data)
        for name, data, kind, link in extra:
            member(tar, name, data, kind, link)


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "expected"), exist_ok=True)
    good = [("coarse_label_names.txt", names("cifar100_coarse.txt")),
            ("fine_label_names.txt", names("cifar100_fine.txt")),
            ("test.bin", records(100, 2)),
            ("train.bin", records(0, 5))]
    for name, data in good:
        with open(os.path.join(out, "expected", name), "wb") as f:
            f.write(data)
    write(os.path.join(out, "cifar-100-binary.tar.gz"), good)
    write(os.path.join(out, "evil-dotdot.tar.gz"), good,
          [("cifar-100-binary/../evil.txt", b"outside\n", tarfile.REGTYPE, "")])
    write(os.path.join(out, "evil-absolute.tar.gz"), good,
          [("/tmp/vggtop-evil-absolute.txt", b"outside\n", tarfile.REGTYPE, "")])
    write(os.path.join(out, "evil-symlink.tar.gz"), [f for f in good if f[0] != "test.bin"],
          [("cifar-100-binary/test.bin", b"", tarfile.SYMTYPE, "../../evil.txt")])
    write(os.path.join(out, "extra-member.tar.gz"), good,
          [("cifar-100-binary/README", b"hello\n", tarfile.REGTYPE, "")])
    write(os.path.join(out, "bad-labels.tar.gz"),
          [f if f[0] != "train.bin" else ("train.bin", records(0, 5, bad_label=True)) for f in good])
    with gzip.open(os.path.join(out, "not-a-tarball.tar.gz"), "wb") as f:
        f.write(b"this is not a tar file\n" * 100)


if __name__ == "__main__":
    main()
