#!/usr/bin/python3
"""Keras HDF5 weights files for tests/e2e/nn_keras.sh, made and read with h5py and numpy (no Keras on the
test machines; PyTorch, python3-torch, for the reference model of `torch`): the layout is the one Keras 2's save_weights writes, written here the way
Keras' own code writes it (save_attributes_to_hdf5_group: numpy arrays of bytes, an empty list for a layer
without weights; datasets "<layer>/kernel:0" and "<layer>/bias:0" under the layer's group).

Run with Debian's python (python3-h5py, python3-numpy):
    keras_h5.py make OUT --model cnn --input 32,32,3 --classes 100 [--notop] [--seed N] [--break KIND:LAYER]
        random weights (glorot-like scale) for the model; --break spoils one layer for the hostile tests:
        shape (its kernel one output wider), int (an int32 kernel), drop (the layer left out),
        huge (a kernel declared as 2^40 floats, never allocated), count (three weights)
    keras_h5.py layout A B       exit 1 unless A and B have the same objects, attributes (names, types,
                                 shapes, values) and dataset shapes and types
    keras_h5.py same A B --layers conv|dense --expect same|differ
                                 the kernels and biases of those layers bit for bit equal (or all different)
    keras_h5.py forward FILE --data DIR --predictions CSV [--caffe] [--rtol R]
                                 the model of FILE in numpy (float64) on DIR's test images (a
                                 cifar-100-python folder), its softmax against CSV's p columns: exit 1 when
                                 any differs by more than R (1e-4) relative (1e-7 absolute for tiny ones)
    keras_h5.py torch FILE --data DIR --predictions CSV [--caffe] [--rtol R]
                                 the same check against a PyTorch model (torch.nn, float64) built from FILE:
                                 Conv2d from the HWIO kernels, Linear from the in x out ones, the flatten in
                                 Keras' NHWC order
"""
import argparse
import csv
import pickle
import sys

import h5py
import numpy as np

# The models as keras.applications and vggtop name their layers: (name, kind, filters or units).
FEATURES = {
    "cnn": [(1, 2, 32), (2, 2, 64)],
    "vgg16": [(1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512)],
    "vgg19": [(1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512)],
    "mlp": [],
}
TOP = {"cnn": [512], "vgg16": [4096, 4096], "vgg19": [4096, 4096], "mlp": [512, 256]}


def layers_of(model, h, w, c, classes, notop):
    """[(name, kernel shape or None)] in model order."""
    out = [("input_1", None)]
    for block, convs, filters in FEATURES[model]:
        for i in range(1, convs + 1):
            out.append((f"block{block}_conv{i}", (3, 3, c, filters)))
            c = filters
        out.append((f"block{block}_pool", None))
        h, w = h // 2, w // 2
    if notop:
        return out
    out.append(("flatten", None))
    n = h * w * c
    for i, units in enumerate(TOP[model]):
        out.append((f"fc{i + 1}", (n, units)))
        n = units
    out.append(("predictions", (n, classes)))
    return out


def make(args):
    h, w, c = (int(v) for v in args.input.split(","))
    rng = np.random.default_rng(args.seed)
    kind, _, bad = (args.break_ or "::").partition(":")
    layers = [(n, k) for n, k in layers_of(args.model, h, w, c, args.classes, args.notop)
              if not (kind == "drop" and n == bad)]
    with h5py.File(args.out, "w") as f:
        # Keras: save_attributes_to_hdf5_group(f, 'layer_names', [name.encode('utf8') ...])
        f.attrs["layer_names"] = np.asarray([n.encode("utf8") for n, _ in layers])
        f.attrs["backend"] = "tensorflow".encode("utf8")
        f.attrs["keras_version"] = "2.15.0".encode("utf8")
        for name, kshape in layers:
            g = f.create_group(name)
            if kshape is None:
                g.attrs["weight_names"] = np.asarray([])
                continue
            names = [f"{name}/kernel:0", f"{name}/bias:0"] + ([f"{name}/extra:0"] if kind == "count" and name == bad else [])
            g.attrs["weight_names"] = np.asarray([n.encode("utf8") for n in names])
            limit = np.sqrt(6.0 / (np.prod(kshape[:-1]) + kshape[-1]))
            if kind == "shape" and name == bad:
                kshape = kshape[:-1] + (kshape[-1] + 1,)
            if kind == "huge" and name == bad:
                g.create_dataset(names[0], shape=(1 << 20, 1 << 20), dtype="float32")  # never written: no storage
            elif kind == "int" and name == bad:
                g.create_dataset(names[0], data=rng.integers(-3, 3, kshape).astype(np.int32))
            else:
                g.create_dataset(names[0], data=rng.uniform(-limit, limit, kshape).astype(np.float32))
            g.create_dataset(names[1], data=rng.uniform(-0.1, 0.1, kshape[-1:]).astype(np.float32))
            if len(names) > 2:
                g.create_dataset(names[2], data=np.zeros(1, np.float32))


def describe(f):
    """Every object's path, attributes (dtype, shape, value) and, for a dataset, its shape and dtype."""
    out = {}

    def htype(o, k):
        """The HDF5 type beyond numpy's view: class, size, and for strings variable or not, charset, padding."""
        t = o.attrs.get_id(k).get_type()
        if isinstance(t, h5py.h5t.TypeStringID):
            return ("string", t.is_variable_str(), t.get_cset(), t.get_strpad(), t.get_size())
        return (t.get_class(), t.get_size())

    def attrs(o):
        return {k: (np.asarray(v).dtype.str, np.asarray(v).shape, np.asarray(v).tolist(), htype(o, k))
                for k, v in o.attrs.items()}

    out["/"] = ("group", attrs(f))

    def visit(name, o):
        if isinstance(o, h5py.Dataset):
            out[name] = ("dataset", attrs(o), o.shape, o.dtype.str)
        else:
            out[name] = ("group", attrs(o))

    f.visititems(visit)
    return out


def layout(args):
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        da, db = describe(fa), describe(fb)
    bad = 0
    for key in sorted(set(da) | set(db)):
        if da.get(key) != db.get(key):
            print(f"layout: {key}: {da.get(key)} != {db.get(key)}", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def weights(f, kind):
    out = {}
    for name in f.attrs["layer_names"]:
        name = name.decode()
        if ("_conv" in name) == (kind == "conv"):
            for wn in f[name].attrs["weight_names"]:
                out[wn.decode()] = np.asarray(f[name][wn.decode()])
    return out


def same(args):
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        wa, wb = weights(fa, args.layers), weights(fb, args.layers)
    if not wa or sorted(wa) != sorted(wb):
        print(f"same: weights {sorted(wa)} vs {sorted(wb)}", file=sys.stderr)
        return 1
    for k in wa:
        equal = wa[k].shape == wb[k].shape and np.array_equal(wa[k].view(np.uint32), wb[k].view(np.uint32))
        if equal != (args.expect == "same"):
            print(f"same: {k} is {'equal' if equal else 'different'}", file=sys.stderr)
            return 1
    return 0


def conv3x3(x, k, b):
    """x (n, h, w, c), k (3, 3, c, o): 'same' padding, stride 1."""
    n, h, w, _ = x.shape
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, w, k.shape[3]))
    for dy in range(3):
        for dx in range(3):
            out += p[:, dy:dy + h, dx:dx + w, :] @ k[dy, dx]
    return out + b


def test_images(args):
    """DIR's test images (n, 32, 32, 3) NHWC float64, prepared as vggtop prepares them."""
    with open(f"{args.data}/test", "rb") as fh:
        d = pickle.load(fh, encoding="bytes")
    x = np.asarray(d[b"data"], np.float64).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # NHWC, RGB
    return x[..., ::-1] - np.array([103.939, 116.779, 123.68]) if args.caffe else x / 255.0


def compare(probs, args, who):
    """Exit status: 1 when CSV's probabilities differ from probs by more than args.rtol relative."""
    with open(args.predictions) as fh:
        rows = list(csv.DictReader(fh))
    theirs = np.array([[float(r[f"p{c}"]) for c in range(probs.shape[1])] for r in rows])
    if theirs.shape != probs.shape:
        print(f"{who}: {theirs.shape} predictions, {probs.shape} from the reference", file=sys.stderr)
        return 1
    err = np.abs(theirs - probs) / np.maximum(np.abs(probs), 1e-3)
    print(f"{who}: largest relative difference {err.max():.3g} over {probs.size} probabilities")
    return 1 if (np.abs(theirs - probs) > np.maximum(args.rtol * np.abs(probs), 1e-7)).any() else 0


def torch_model(path):
    """A torch.nn.Sequential (float64) with FILE's weights, in its layer order; it takes NHWC."""
    import torch
    from torch import nn

    class NHWCtoNCHW(nn.Module):
        def forward(self, x):
            return x.permute(0, 3, 1, 2)

    class FlattenNHWC(nn.Module):  # Keras flattens (h, w, c) rows: back to NHWC first
        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1)

    mods = [NHWCtoNCHW()]
    with h5py.File(path, "r") as f:
        for name in (n.decode() for n in f.attrs["layer_names"]):
            wn = [n.decode() for n in f[name].attrs["weight_names"]]
            if "_conv" in name:
                k = torch.from_numpy(np.asarray(f[name][wn[0]], np.float64))  # (3, 3, in, out)
                conv = nn.Conv2d(k.shape[2], k.shape[3], 3, padding=1).double()
                with torch.no_grad():
                    conv.weight.copy_(k.permute(3, 2, 0, 1))
                    conv.bias.copy_(torch.from_numpy(np.asarray(f[name][wn[1]], np.float64)))
                mods += [conv, nn.ReLU()]
            elif name.endswith("_pool"):
                mods.append(nn.MaxPool2d(2))
            elif name == "flatten":
                mods.append(FlattenNHWC())
            elif wn:
                k = torch.from_numpy(np.asarray(f[name][wn[0]], np.float64))  # (in, out)
                dense = nn.Linear(k.shape[0], k.shape[1]).double()
                with torch.no_grad():
                    dense.weight.copy_(k.t())
                    dense.bias.copy_(torch.from_numpy(np.asarray(f[name][wn[1]], np.float64)))
                mods.append(dense)
                if name != "predictions":
                    mods.append(nn.ReLU())
    mods.append(nn.Softmax(dim=1))
    return nn.Sequential(*mods)


def torch_forward(args):
    import torch
    model = torch_model(args.file).eval()
    with torch.no_grad():
        probs = model(torch.from_numpy(np.ascontiguousarray(test_images(args)))).numpy()
    return compare(probs, args, "torch")


def forward(args):
    x = test_images(args)
    with h5py.File(args.file, "r") as f:
        for name in f.attrs["layer_names"]:
            name = name.decode()
            wn = [n.decode() for n in f[name].attrs["weight_names"]]
            if "_conv" in name:
                x = np.maximum(conv3x3(x, np.asarray(f[name][wn[0]], np.float64), np.asarray(f[name][wn[1]])), 0)
            elif name.endswith("_pool"):
                n, h, w, c = x.shape
                x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
            elif name == "flatten":
                x = x.reshape(x.shape[0], -1)
            elif wn:
                x = x @ np.asarray(f[name][wn[0]], np.float64) + np.asarray(f[name][wn[1]])
                if name != "predictions":
                    x = np.maximum(x, 0)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return compare(e / e.sum(axis=1, keepdims=True), args, "forward")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--model", required=True, choices=sorted(FEATURES))
    m.add_argument("--input", required=True)
    m.add_argument("--classes", type=int, required=True)
    m.add_argument("--notop", action="store_true")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--break", dest="break_")
    lo = sub.add_parser("layout")
    lo.add_argument("a")
    lo.add_argument("b")
    s = sub.add_parser("same")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--layers", choices=["conv", "dense"], required=True)
    s.add_argument("--expect", choices=["same", "differ"], required=True)
    for cmd in ["forward", "torch"]:
        fw = sub.add_parser(cmd)
        fw.add_argument("file")
        fw.add_argument("--data", required=True)
        fw.add_argument("--predictions", required=True)
        fw.add_argument("--caffe", action="store_true")
        fw.add_argument("--rtol", type=float, default=1e-4)
    args = ap.parse_args()
    return {"make": make, "layout": layout, "same": same, "forward": forward, "torch": torch_forward}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
