#!/usr/bin/python3
"""Writes tests/fixtures/nn/torch_stack.txt: PyTorch's loss and gradients of a small
Conv2D(3x3, 'same', ReLU) -> MaxPool 2x2 -> Flatten -> Dense -> softmax cross-entropy stack, for
tests/test_nn.c to hold the C kernels to.

Run with Debian's interpreter (python3-torch):  /usr/bin/python3 tests/tools/nn_torch_fixture.py

Everything is written in vggtop's layouts: activations NHWC, the conv kernel (kh, kw, cin, cout) and the
dense kernel (in, out) as Keras stores them. PyTorch computes in NCHW, so the input and kernels are
permuted going in and the gradients permuted coming out; the Dense layer takes the NHWC flattening
(Keras' Flatten order), so the pooled NCHW tensor is permuted to NHWC before torch.flatten.
The file is plain text: `name count` then count numbers, for each array.
"""
import os

import torch

N, H, W, C, K, CLASSES = 2, 6, 4, 3, 4, 5


def main():
    g = torch.Generator().manual_seed(20261127)
    x = torch.rand(N, H, W, C, generator=g, dtype=torch.float64) * 2 - 1           # NHWC
    conv_w = (torch.rand(3, 3, C, K, generator=g, dtype=torch.float64) - 0.5)        # kh kw cin cout
    conv_b = (torch.rand(K, generator=g, dtype=torch.float64) - 0.5) * 0.2
    flat = (H // 2) * (W // 2) * K
    dense_w = (torch.rand(flat, CLASSES, generator=g, dtype=torch.float64) - 0.5)   # in out
    dense_b = (torch.rand(CLASSES, generator=g, dtype=torch.float64) - 0.5) * 0.2
    y = torch.tensor([3, 1])

    # Round the inputs to float32 so both sides start from the same numbers; compute in float64.
    params = [t.float().double().requires_grad_() for t in (x, conv_w, conv_b, dense_w, dense_b)]
    x, conv_w, conv_b, dense_w, dense_b = params
    a = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), conv_w.permute(3, 2, 0, 1), conv_b, padding=1)
    a = torch.relu(a)
    a = torch.nn.functional.max_pool2d(a, 2, 2)
    a = a.permute(0, 2, 3, 1).reshape(N, flat)                                      # Keras' Flatten order
    z = a @ dense_w + dense_b
    loss = torch.nn.functional.cross_entropy(z, y)                                  # mean over the batch
    loss.backward()

    out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures', 'nn', 'torch_stack.txt')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    arrays = [
        ('dims', torch.tensor([N, H, W, C, K, CLASSES], dtype=torch.float64)),
        ('x', x), ('conv_w', conv_w), ('conv_b', conv_b), ('dense_w', dense_w), ('dense_b', dense_b),
        ('y', y.double()), ('loss', loss.detach().reshape(1)),
        ('conv_dw', conv_w.grad), ('conv_db', conv_b.grad), ('dense_dw', dense_w.grad),
        ('dense_db', dense_b.grad), ('dx', x.grad),
    ]
    with open(out, 'w') as f:
        for name, t in arrays:
            v = t.detach().reshape(-1).tolist()
            f.write('%s %d\n' % (name, len(v)))
            f.write(' '.join('%.9g' % e for e in v) + '\n')
    print('wrote', out)


if __name__ == '__main__':
    main()
