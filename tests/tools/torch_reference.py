#!/usr/bin/python3
"""PyTorch speed reference for `vggtop bench`: the same models, batch and optimiser, timed the same way.

Run with Debian's interpreter (python3-torch 1.13), never the pyenv one on PATH:

    /usr/bin/python3 tests/tools/torch_reference.py                 # vgg16-nopool, both memory formats
    /usr/bin/python3 tests/tools/torch_reference.py --model all --steps 10

For each model it builds the Keras-equivalent architecture (3x3 'same' convolutions, 2x2 max pooling,
Flatten, Dense layers; NCHW in PyTorch, so Flatten's order differs from Keras' NHWC but not its cost),
trains on random data with SGD lr 0.01 (momentum 0) and categorical cross-entropy, and prints the median
training img/s over the timed steps after warm-up, once with the default (contiguous NCHW) memory format
and once with channels_last. Inference img/s (model.eval(), no_grad) is printed alongside.

A reference only: `make test` never runs it. It has no effect on the C program.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn

# Filters per block; 'M' is a 2x2 max pool. The same tables as the C models (src/nn), Keras' VGG16/VGG19.
VGG16 = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']
VGG19 = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M',
         512, 512, 512, 512, 'M']
VGG16_NOPOOL = VGG16[:-1]  # no block5_pool: 32x32 input ends at 2x2x512
CNN = [32, 32, 'M', 64, 64, 'M']

# name: (features table, dense hidden sizes, input side)
MODELS = {
    'vgg16': (VGG16, [4096, 4096], 48),
    'vgg19': (VGG19, [4096, 4096], 48),
    'vgg16-nopool': (VGG16_NOPOOL, [4096, 4096], 32),
    'cnn': (CNN, [512], 32),
    'mlp': ([], [512, 256], 32),
}


def build(name, classes=100, channels=3):
    table, hidden, side = MODELS[name]
    layers = []
    c, s = channels, side
    for v in table:
        if v == 'M':
            layers.append(nn.MaxPool2d(2, 2))
            s //= 2
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    layers.append(nn.Flatten())
    f = c * s * s
    for h in hidden:
        layers += [nn.Linear(f, h), nn.ReLU(inplace=True)]
        f = h
    layers.append(nn.Linear(f, classes))  # softmax is folded into the loss, as usual in PyTorch
    model = nn.Sequential(*layers)
    # Keras' initialisation (glorot_uniform, zero bias): it does not change speed, but keeps the runs alike.
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    return model, side


def params(model):
    return sum(p.numel() for p in model.parameters())


def flops_per_image(model, side, channels=3):
    """Forward FLOPs of one image, a multiply-add counted as 2 (the C model_flops_per_image rule)."""
    total = 0
    x = torch.zeros(1, channels, side, side)
    with torch.no_grad():
        for mod in model:
            y = mod(x)
            if isinstance(mod, nn.Conv2d):
                k = mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
                total += 2 * k * y.numel()
            elif isinstance(mod, nn.Linear):
                total += 2 * mod.in_features * mod.out_features
            x = y
    return total


def time_model(name, batch, steps, warmup, channels_last):
    torch.manual_seed(1)
    model, side = build(name)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x = torch.rand(batch, 3, side, side).contiguous(memory_format=fmt)
    y = torch.randint(0, 100, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.0)
    loss_fn = nn.CrossEntropyLoss()

    model.train()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append(t1 - t0)
    train = batch / statistics.median(times)

    model.eval()
    times = []
    with torch.no_grad():
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            torch.softmax(model(x), dim=1)
            t1 = time.perf_counter()
            if i >= warmup:
                times.append(t1 - t0)
    infer = batch / statistics.median(times)
    if not torch.isfinite(loss):
        sys.exit(f'torch_reference: {name}: loss is not finite')
    return train, infer, params(model), flops_per_image(build(name)[0], side)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='vgg16-nopool', help='a model name or "all" (default vgg16-nopool)')
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--steps', type=int, default=10, help='timed steps after warm-up (median)')
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    names = list(MODELS) if a.model == 'all' else [a.model]
    for n in names:
        if n not in MODELS:
            ap.error(f'--model: unknown model {n!r} (one of {", ".join(MODELS)}, all)')
    torch.set_num_threads(a.threads)

    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch {a.batch_size}, '
          f'median of {a.steps} steps after {a.warmup} warm-up')
    print(f'{"model":<14} {"format":<14} {"params":>12} {"GFLOP/img":>10} {"train img/s":>12} '
          f'{"infer img/s":>12} {"train GFLOP/s":>14}')
    for n in names:
        for cl in (False, True):
            train, infer, p, f = time_model(n, a.batch_size, a.steps, a.warmup, cl)
            print(f'{n:<14} {"channels_last" if cl else "default":<14} {p:>12,} {f / 1e9:>10.3f} '
                  f'{train:>12.1f} {infer:>12.1f} {3 * f * train / 1e9:>14.1f}', flush=True)


if __name__ == '__main__':
    main()
