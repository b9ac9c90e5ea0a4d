#!/usr/bin/env python3
"""Fits `vggtop bench --dist`'s model of a data-parallel step to measurements over emulated links.

Reads the table of tests/tools/multihost_links.sh (model ranks gbit delay_us params step_ms wait_ms; gbit 0
is the unshaped link; a table without the delay column is read as delay 0) on stdin. Runs with a delay give
the latency fit (latency_fit); those without, the fit below. For each model and rank count the unshaped run gives the compute C = step - wait
(with the CPU shared as in the shaped runs); bench --dist's model predicts a step on a link of L Gbit/s as

    C + max(0, ring(4 * params, N, share * L, hop) - overlap * C)
    ring(B, N, bw, hop) = 2 (N - 1) (B / N / bw + hop)        (src/train/split.c, train_ring_seconds)

The fit (a grid over share and overlap; hop stays 25 us, see HOP) minimises the squared log error of the predicted steps. Prints
each measurement with the measured efficiency C / step and the efficiencies bench's model gives before the
fit (share 1, overlap 2/3, hop 25 us) and after, the fitted parameters and the mean error of both.
"""
import math
import sys


# The hop latency stays assumed: without netem no latency could be added to the veths, and a fit of it here
# (about 6 ms) measures the ranks taking turns on the shared cores, which would wreck the projection at 128
# ranks (254 hops a step).
HOP = 25e-6


def ring(nbytes, ranks, gbit, hop):
    return 2.0 * (ranks - 1) * (nbytes / ranks / (gbit * 1e9 / 8) + hop)


def predict(c, nbytes, ranks, gbit, share, overlap, hop):
    return c + max(0.0, ring(nbytes, ranks, share * gbit, hop) - overlap * c)


def latency_fit(runs, delayed):
    """How a cable's one-way delay d shows in the step: (step(d) - step(0)) / (2 (N - 1) d), the step's
    latency in units of the ring's 2 (N - 1) hops of d each; bench's hop is that many times the one-way delay."""
    factors = []
    for model, n, g, d, step in delayed:
        if (model, n, g) in runs:
            f = (step - runs[(model, n, g)][1]) / (2.0 * (n - 1) * d)
            factors.append(f)
            print("latency: %s %d ranks %d Gbit/s, %.0f us one way: step +%.1f ms, %.2f x 2(N-1) x the delay" % (
                model, n, g, d * 1e6, 1e3 * (step - runs[(model, n, g)][1]), f))
    if factors:
        factors.sort()
        print("latency: median %.2f: a ring hop costs about %.1f x the one-way delay" % (
            factors[len(factors) // 2], factors[len(factors) // 2]))


def main():
    # Rows of 7 columns carry the cable's one-way delay (multihost_links.sh with DELAYS); older tables have 6.
    rows = [line.split() for line in sys.stdin if len(line.split()) in (6, 7) and line.split()[0] != "model"]
    rows = [r if len(r) == 7 else r[:3] + ["0"] + r[3:] for r in rows]
    runs, delayed = {}, []
    for model, ranks, gbit, delay, params, step, wait in rows:
        if int(delay) == 0:
            runs[(model, int(ranks), int(gbit))] = (int(params), float(step) / 1e3, float(wait) / 1e3)
        else:
            delayed.append((model, int(ranks), int(gbit), int(delay) * 1e-6, float(step) / 1e3))
    latency_fit(runs, delayed)
    points = []
    for (model, ranks, gbit), (params, step, wait) in sorted(runs.items()):
        if gbit == 0 or (model, ranks, 0) not in runs:
            continue
        _, step0, wait0 = runs[(model, ranks, 0)]
        points.append((model, ranks, gbit, 4.0 * params, step0 - wait0, step))

    if not points:
        return  # no shaped runs without a delay: nothing for the share and overlap fit

    def error(share, overlap, hop):
        return sum((math.log(predict(c, b, n, g, share, overlap, hop) / s)) ** 2 for _, n, g, b, c, s in points)

    before = (1.0, 2.0 / 3.0, 25e-6)
    best = min(((error(sh, ov, hop), (sh, ov, hop)) for sh in [x / 100 for x in range(2, 101, 2)]
                for ov in [x / 20 for x in range(0, 21)] for hop in [HOP]))[1]
    print("model ranks gbit compute_ms step_ms measured_eff model_eff_before model_eff_after")
    for model, n, g, b, c, s in points:
        print("%s %d %d %.1f %.1f %.2f %.2f %.2f" % (model, n, g, 1e3 * c, 1e3 * s, c / s,
                                                    c / predict(c, b, n, g, *before), c / predict(c, b, n, g, *best)))
    def mean_abs(params):
        return sum(abs(c / predict(c, b, n, g, *params) - c / s) for _, n, g, b, c, s in points) / len(points)
    print("before: share %.2f overlap %.2f hop %.0f us: mean |efficiency error| %.3f" % (
        before[0], before[1], before[2] * 1e6, mean_abs(before)))
    print("fitted: share %.2f overlap %.2f hop %.0f us: mean |efficiency error| %.3f" % (
        best[0], best[1], best[2] * 1e6, mean_abs(best)))


if __name__ == "__main__":
    main()
