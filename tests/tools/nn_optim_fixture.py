#!/usr/bin/python3
"""Writes tests/fixtures/nn/torch_optim.txt: PyTorch's optimisers stepped on fixed gradients, for
tests/test_nn_optim.c to hold src/nn/optim.c's Keras updates to, step by step.

Run with Debian's interpreter (python3-torch):  /usr/bin/python3 tests/tools/nn_optim_fixture.py

vggtop follows Keras (keras.optimizers SGD, Adam, RMSprop); PyTorch names and places things differently.
The mapping used here, per optimiser (lr constant within a case):
  SGD:     Keras v = momentum * v - lr * g, w += v (Nesterov: w += momentum * v - lr * g) is torch.optim.SGD
           (buf = momentum * buf + g, w -= lr * buf; Nesterov w -= lr * (g + momentum * buf)) with v = -lr * buf.
           Keras' weight_decay is decoupled (w -= lr * wd * w before the update); torch.optim.SGD's is an L2
           term added to g, so it is off in torch and the decoupled decay is applied by hand before each step.
  Adam:    Keras adds epsilon to sqrt(v) with the bias correction folded into the rate:
           w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + eps); torch divides by
           sqrt(v / (1 - beta_2^t)) + eps_torch. They agree when eps_torch = eps / sqrt(1 - beta_2^t), set
           before each step t. beta_1, beta_2 map to betas; Keras' decoupled weight_decay is torch.optim.AdamW's.
  RMSprop: Keras' rho is torch's alpha, momentum the same (Keras mom = momentum * mom + lr * g / sqrt(...),
           w -= mom is torch's buf with the lr outside). Keras adds epsilon under the root (sqrt(ms + eps)),
           torch outside (sqrt(ms) + eps): no constant maps one to the other. So torch runs with eps 0 against
           Keras epsilon 1e-30 (below float32's resolution of ms, so the rules are the same), and one more
           case, "rmsprop_eps", checks the placement against a plain-Python transcription of Keras' rule
           with a large epsilon (cross-checked here against torch when that epsilon is ~0).
Weights and gradients are rounded to float32 going in; the references compute in float64.
The file is plain text: `name count` then count numbers, for each array. Each case has
<case>_settings (kind lr momentum nesterov weight_decay beta_1 beta_2 rho epsilon; kind 0 SGD, 1 Adam,
2 RMSprop), <case>_w0 (P), <case>_g (T x P) and <case>_w (T x P: the weights after each step).
"""
import math
import os

import torch

P, T = 7, 5
SGD, ADAM, RMSPROP = 0, 1, 2


def f32(t):
    return t.float().double()


def torch_run(kind, s, w0, grads):
    lr, mom, nest, wd, b1, b2, rho, eps = s
    w = w0.clone().requires_grad_()
    if kind == SGD:
        opt = torch.optim.SGD([w], lr=lr, momentum=mom, nesterov=bool(nest))
    elif kind == ADAM:
        opt = torch.optim.AdamW([w], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    else:
        opt = torch.optim.RMSprop([w], lr=lr, alpha=rho, eps=0.0, momentum=mom)
    out = []
    for t in range(1, T + 1):
        if kind == ADAM:
            opt.param_groups[0]["eps"] = eps / math.sqrt(1 - b2 ** t)
        elif wd:
            with torch.no_grad():
                w.mul_(1 - lr * wd)
        w.grad = grads[t - 1].clone()
        opt.step()
        out.append(w.detach().clone())
    return torch.stack(out)


def keras_rmsprop(s, w0, grads):
    """Keras' RMSprop (not centred), as keras/src/optimizers/rmsprop.py writes it."""
    lr, mom, _, wd, _, _, rho, eps = s
    w, ms, buf, out = w0.clone(), torch.zeros(P, dtype=torch.float64), torch.zeros(P, dtype=torch.float64), []
    for g in grads:
        w = w - lr * wd * w
        ms = rho * ms + (1 - rho) * g * g
        inc = lr * g / torch.sqrt(ms + eps)
        if mom > 0:
            buf = mom * buf + inc
            w = w - buf
        else:
            w = w - inc
        out.append(w.clone())
    return torch.stack(out)


CASES = [  # name, kind, (lr, momentum, nesterov, weight_decay, beta_1, beta_2, rho, epsilon)
    ("sgd_momentum", SGD, (0.1, 0.9, 0, 0.01, 0.9, 0.999, 0.9, 1e-7)),
    ("sgd_nesterov", SGD, (0.05, 0.8, 1, 0.0, 0.9, 0.999, 0.9, 1e-7)),
    ("adam_defaults", ADAM, (0.001, 0.0, 0, 0.0, 0.9, 0.999, 0.9, 1e-7)),
    ("adam_tuned", ADAM, (0.01, 0.0, 0, 0.1, 0.8, 0.99, 0.9, 1e-3)),
    ("rmsprop", RMSPROP, (0.001, 0.0, 0, 0.0, 0.9, 0.999, 0.9, 1e-30)),
    ("rmsprop_momentum", RMSPROP, (0.01, 0.5, 0, 0.05, 0.9, 0.999, 0.8, 1e-30)),
    ("rmsprop_eps", RMSPROP, (0.01, 0.0, 0, 0.0, 0.9, 0.999, 0.9, 0.01)),
]


def main():
    g = torch.Generator().manual_seed(20261207)
    lines = []

    def put(name, t):
        vals = t.flatten().tolist()
        lines.append("%s %d" % (name, len(vals)))
        lines.append(" ".join("%.9g" % v for v in vals))

    for name, kind, s in CASES:
        w0 = f32(torch.rand(P, generator=g, dtype=torch.float64) * 2 - 1)
        # Gradients over four decades, some negative: the epsilon and the bias correction show. (None is
        # zero: torch's RMSprop with eps 0 would divide 0 by 0.)
        scale = torch.tensor([1.0, 0.1, 0.01, 1.0, 0.001, 0.5, 1e-4], dtype=torch.float64)
        grads = f32((torch.rand(T, P, generator=g, dtype=torch.float64) * 2 - 1) * scale)
        if name == "rmsprop_eps":
            w = keras_rmsprop(s, w0, grads)
            tiny = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], 1e-30)
            assert torch.allclose(keras_rmsprop(tiny, w0, grads), torch_run(kind, tiny, w0, grads), rtol=1e-9,
                                  atol=1e-12), "the Keras transcription disagrees with torch"
        else:
            w = torch_run(kind, s, w0, grads)
        put(name + "_settings", torch.tensor([kind] + list(s), dtype=torch.float64))
        put(name + "_w0", w0)
        put(name + "_g", grads)
        put(name + "_w", w)
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "nn", "torch_optim.txt")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
