#!/usr/bin/python3
"""Writes the CIFAR-100 python-version fixtures of tests/test_data_pickle.c into tests/fixtures/data/ (committed).

The real files (cifar-100-python/train, test, meta) were written by Python 2's cPickle at protocol 2, whose
opcodes Python 3's pickler does not produce (it pickles bytes through _codecs.encode at protocol 2), so
py2_dumps() below assembles them opcode by opcode as cPickle does: byte strings as SHORT_BINSTRING or
BINSTRING, every string, tuple, list and dict memoized with BINPUT/LONG_BINPUT, lists and dicts filled by
MARK ... APPENDS/SETITEMS in batches of 1000 (a single item by APPEND/SETITEM), ints as BININT1/BININT2/
BININT, and a numpy array as numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), 'b') then BUILD with
(1, shape, dtype('u1'), False, raw bytes), the dtype itself dtype('u1', 0, 1) BUILT with
(3, '|', None, None, None, -1, -1, 0).

Re-pickled copies (protocols 3, 4 and 5, as a Python 3 user's pickle.dump of the loaded dicts would write
them) come from Python 3's own pickler, given stand-ins for numpy registered under numpy's module names, so
the opcodes (STACK_GLOBAL, MEMOIZE, FRAME, BINBYTES, protocol 5's _frombuffer with an in-band BYTEARRAY8)
are the pickler's, not ours. No numpy is needed.

  cifar-100-python/            train (3 images), test (2), meta: Python 2 protocol 2
  cifar-100-python-p3/ -p4/ -p5/  the same data re-pickled at protocols 3, 4 (str keys) and 5
  cifar-100-python-as-binary/  the same images and labels in the binary version (train.bin, test.bin)
  cifar-100-python.tar.gz      cifar-100-python/{train,test,meta} plus file.txt~, as the real tarball
  pickle-bad/NAME              train files that must be refused (see BAD below)

Standard library only: python3 tests/tools/cifar100_pickles.py [OUTDIR]   (default tests/fixtures/data)
"""
import io
import os
import pickle
import struct
import sys
import tarfile
import types

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/, this folder's parent
COARSE = [4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
          0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4,
          18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19,
          5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13]


def images(first, n):
    """n rows of 3072 bytes (R, G, B planes) and their fine and coarse labels."""
    fine = [(r * 37 + 19) % 100 for r in range(first, first + n)]
    raw = b"".join(bytes((r * 11 + i * 7 + (i // 1024) * 50) & 255 for i in range(3072))
                   for r in range(first, first + n))
    return raw, fine, [COARSE[f] for f in fine]


def names(asset):
    with open(os.path.join(HERE, "..", "assets", asset), "rb") as f:
        return [line for line in f.read().split(b"\n") if line]


# ---- Python 2's cPickle, protocol 2 ------------------------------------------------------------------

class Array:
    """What the pickles hold for numpy.ndarray: shape, dtype code, raw bytes."""

    def __init__(self, shape, raw, code=b"u1"):
        self.shape, self.raw, self.code = shape, raw, code


class Py2:
    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = 0

    def put(self):
        self.out += b"q" + bytes([self.memo]) if self.memo < 256 else b"r" + struct.pack("<I", self.memo)
        self.memo += 1

    def save(self, v):
        o = self.out
        if v is None:
            o += b"N"
        elif v is True or v is False:
            o += b"\x88" if v else b"\x89"
        elif isinstance(v, int):
            if 0 <= v < 256:
                o += b"K" + bytes([v])
            elif 0 <= v < 65536:
                o += b"M" + struct.pack("<H", v)
            else:
                o += b"J" + struct.pack("<i", v)
        elif isinstance(v, bytes):
            o += (b"U" + bytes([len(v)]) if len(v) < 256 else b"T" + struct.pack("<i", len(v))) + v
            self.put()
        elif isinstance(v, tuple):
            if not v:
                o += b")"
                return
            if len(v) <= 3:
                for x in v:
                    self.save(x)
                o += bytes([0x84 + len(v)])  # TUPLE1, TUPLE2, TUPLE3
            else:
                o += b"("
                for x in v:
                    self.save(x)
                o += b"t"
            self.put()
        elif isinstance(v, list):
            o += b"]"
            self.put()
            self.batches(v, lambda x: self.save(x), b"a", b"e")
        elif isinstance(v, dict):
            o += b"}"
            self.put()
            self.batches(list(v.items()), lambda kv: (self.save(kv[0]), self.save(kv[1])), b"s", b"u")
        elif isinstance(v, Array):
            self.glob(b"numpy.core.multiarray", b"_reconstruct")
            self.glob(b"numpy", b"ndarray")
            self.save((0,))
            self.save(b"b")
            o += b"\x87"
            self.put()
            o += b"R"
            self.put()
            o += b"("
            self.save(1)
            self.save(v.shape)
            self.dtype(v.code)
            self.save(False)
            self.save(v.raw)
            o += b"t"
            self.put()
            o += b"b"
        else:
            raise TypeError(v)

    def glob(self, module, name):
        self.out += b"c" + module + b"\n" + name + b"\n"
        self.put()

    def dtype(self, code):
        self.glob(b"numpy", b"dtype")
        self.save((code, 0, 1))
        self.out += b"R"
        self.put()
        self.save((3, b"|", None, None, None, -1, -1, 0))
        self.out += b"b"

    def batches(self, items, save_one, single, many):
        for i in range(0, len(items), 1000):
            chunk = items[i:i + 1000]
            if len(chunk) == 1:
                save_one(chunk[0])
                self.out += single
            else:
                self.out += b"("
                for x in chunk:
                    save_one(x)
                self.out += many


def py2_dumps(v):
    p = Py2()
    p.save(v)
    p.out += b"."
    return bytes(p.out)


# ---- Python 3's pickler with numpy stand-ins ---------------------------------------------------------

def _stand_ins():
    np = types.ModuleType("numpy")
    core = types.ModuleType("numpy.core")
    multiarray = types.ModuleType("numpy.core.multiarray")
    numeric = types.ModuleType("numpy.core.numeric")

    def _reconstruct(*a):
        raise RuntimeError("never called")

    def _frombuffer(*a):
        raise RuntimeError("never called")

    class ndarray:
        pass

    class dtype:
        def __init__(self, code, align=False, copy=True):
            self.code = code

        def __reduce__(self):
            return dtype, (self.code, False, True), (3, "|", None, None, None, -1, -1, 0)

    for f, m in ((_reconstruct, multiarray), (_frombuffer, numeric), (ndarray, np), (dtype, np)):
        f.__module__ = m.__name__
        f.__qualname__ = f.__name__
        setattr(m, f.__name__, f)
    np.core, core.multiarray, core.numeric = core, multiarray, numeric
    for m in (np, core, multiarray, numeric):
        sys.modules[m.__name__] = m

    class Array3(Array):
        def __reduce_ex__(self, protocol):
            if protocol >= 5:  # numpy: out-of-band capable, in band a writable buffer (BYTEARRAY8)
                return _frombuffer, (pickle.PickleBuffer(bytearray(self.raw)), dtype(self.code.decode()),
                                     self.shape, "C")
            return _reconstruct, (ndarray, (0,), b"b"), (1, self.shape, dtype(self.code.decode()), False, self.raw)

    return Array3


def py3_dumps(v, protocol, str_keys=False):
    Array3 = _stand_ins()

    def convert(x):
        if isinstance(x, Array):
            return Array3(x.shape, x.raw, x.code)
        if isinstance(x, dict):
            return {(k.decode() if str_keys else k): convert(y) for k, y in x.items()}
        if isinstance(x, list):
            return [convert(y) for y in x]
        return x

    return pickle.dumps(convert(v), protocol=protocol)


# ---- the files ---------------------------------------------------------------------------------------

def split(first, n, label):
    raw, fine, coarse = images(first, n)
    return {b"filenames": [b"img_%d.png" % r for r in range(first, first + n)], b"batch_label": label,
            b"fine_labels": fine, b"coarse_labels": coarse, b"data": Array((n, 3072), raw)}


def binary(first, n):
    raw, fine, coarse = images(first, n)
    return b"".join(bytes([coarse[i], fine[i]]) + raw[i * 3072:(i + 1) * 3072] for i in range(n))


TRAIN = split(0, 3, b"training batch 1 of 1")
TEST = split(500, 2, b"testing batch 1 of 1")
META = {b"fine_label_names": names("cifar100_fine.txt"), b"coarse_label_names": names("cifar100_coarse.txt")}


def bad_variants():
    """name -> the bytes of a train file that must be refused."""
    good = py2_dumps(TRAIN)
    raw, fine, coarse = images(0, 3)
    out = {}

    def variant(key, value):
        d = dict(TRAIN)
        d[key] = value
        return py2_dumps(d)

    out["fine_label_100"] = variant(b"fine_labels", [fine[0], 100, fine[2]])
    out["coarse_label_20"] = variant(b"coarse_labels", [20, coarse[1], coarse[2]])
    out["labels_too_few"] = variant(b"fine_labels", fine[:2])
    out["label_not_int"] = variant(b"fine_labels", [fine[0], b"x", fine[2]])
    out["data_float32"] = variant(b"data", Array((3, 768), raw, b"f4"))
    out["data_wrong_shape"] = variant(b"data", Array((3, 3000), raw[:9000]))
    out["data_short"] = variant(b"data", Array((3, 3072), raw[:-1]))
    out["data_is_bytes"] = variant(b"data", raw)
    no_data = dict(TRAIN)
    del no_data[b"data"]
    out["no_data"] = py2_dumps(no_data)
    out["not_a_dict"] = py2_dumps([1, 2, 3])
    out["truncated"] = good[:len(good) // 2]
    out["no_stop"] = good[:-1]
    out["protocol_1"] = b"\x80\x01" + good[2:]
    out["protocol_0_text"] = b"(dp0\nS'data'\np1\nI1\ns."
    # Code, not data: a global outside the allow-list, called with REDUCE (what pickle exploits do).
    out["global_os_system"] = b"\x80\x02cos\nsystem\nq\x00U\x04echoq\x01\x85q\x02Rq\x03."
    out["stack_global_eval"] = (b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x041+1\x94\x85\x94R\x94.")
    out["reduce_on_list"] = b"\x80\x02](K\x01tR."
    out["build_on_dict"] = b"\x80\x02}(K\x01tb."
    out["newobj"] = b"\x80\x02cnumpy\nndarray\nq\x00)\x81."
    out["inst"] = b"\x80\x02(ios\nsystem\n."
    out["persistent_id"] = b"\x80\x02U\x01xQ."
    out["memo_never_stored"] = b"\x80\x02h\x07."
    out["two_values_at_stop"] = b"\x80\x02K\x01K\x02."
    out["setitems_odd"] = b"\x80\x02}(U\x01au."
    out["ndarray_called"] = b"\x80\x02cnumpy\nndarray\n)R."
    out["negative_binstring"] = b"\x80\x02T\xff\xff\xff\xff."
    out["huge_binbytes8"] = b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "fixtures", "data")

    def write(rel, data):
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    files = {"train": TRAIN, "test": TEST, "meta": META}
    for name, d in files.items():
        write("cifar-100-python/" + name, py2_dumps(d))
        write("cifar-100-python-p3/" + name, py3_dumps(d, 3))
        write("cifar-100-python-p4/" + name, py3_dumps(d, 4, str_keys=True))
        write("cifar-100-python-p5/" + name, py3_dumps(d, 5))
    write("cifar-100-python-as-binary/train.bin", binary(0, 3))
    write("cifar-100-python-as-binary/test.bin", binary(500, 2))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for name, data in [("cifar-100-python", None), ("cifar-100-python/file.txt~", b"\n")] + \
                          [("cifar-100-python/" + n, py2_dumps(d)) for n, d in files.items()]:
            info = tarfile.TarInfo(name)
            info.mtime = 1234567890
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    # gzip's header carries a time: fix it so the fixture is the same on every run.
    data = bytearray(buf.getvalue())
    data[4:8] = b"\0\0\0\0"
    write("cifar-100-python.tar.gz", bytes(data))
    for name, data in bad_variants().items():
        write("pickle-bad/" + name, data)


if __name__ == "__main__":
    main()
