#!/usr/bin/env python3
"""Reference points for the magnetic tiles beside IGD: how far simple models get on the same
test set, scored with the library's own metrics (image AUROC, pixel AUROC at each image's
resolution, AUPRO up to FPR 0.3), as igd-eval scores IGD.

    bench/tile_baselines.py [--data ../shared/data/magnetic-tile] [--model TILES.igd]

- features: no deep learning. Each image is shrunk (area) to 64 x 64 and standardised; every
  pixel gets eight local features (intensity blurred at two scales, a difference of Gaussians,
  local standard deviation at two scales, horizontal and vertical gradient energy); a Gaussian
  per pixel position (mean and covariance over the 761 training images) scores a test pixel by
  its Mahalanobis distance.
- latent-knn (with --model, a global + local model): the model's own local-model latents of
  every patch; a test patch scores its distance to the nearest training patch latent, spread
  over the patch's pixels as the local heatmap is.
Image scores are the maximum of the (blurred) map. Prints one JSON line per method.
Needs numpy and the bindings (PYTHONPATH=bindings/python, IGD_LIBRARY=.../libigd.so.1)."""
import argparse
import json
import os
import sys
import time

import numpy as np

import igd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blur(a, sigma):
    """Separable Gaussian blur of a 2-D array, edges reflected."""
    r = max(1, int(3 * sigma))
    k = np.arange(-r, r + 1)
    g = np.exp(-k * k / (2.0 * sigma * sigma))
    g /= g.sum()
    p = np.pad(a, ((r, r), (0, 0)), mode="reflect")
    a = sum(g[j] * p[j:j + a.shape[0]] for j in range(len(g)))
    p = np.pad(a, ((0, 0), (r, r)), mode="reflect")
    return sum(g[j] * p[:, j:j + a.shape[1]] for j in range(len(g)))


def resize_linear(a, height, width):
    """Bilinear resize of a 2-D float map (pixel centres aligned)."""
    def axis(n_in, n_out):
        x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(x).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, x - lo
    ylo, yhi, fy = axis(a.shape[0], height)
    xlo, xhi, fx = axis(a.shape[1], width)
    rows = a[ylo] * (1 - fy)[:, None] + a[yhi] * fy[:, None]
    return rows[:, xlo] * (1 - fx) + rows[:, xhi] * fx


def shrunk(ds, i, side):
    img = ds.load_image(i)
    small = img.resize(side, side).to_array().astype(np.float64)
    return small.reshape(side, side) / 255.0


def features(a):
    a = (a - a.mean()) / (a.std() + 1e-6)
    f = [blur(a, 1), blur(a, 3), blur(a, 1) - blur(a, 4)]
    for s in (1, 3):
        m = blur(a, s)
        f.append(np.sqrt(np.maximum(blur(a * a, s) - m * m, 0)))
    gy, gx = np.gradient(blur(a, 1))
    f += [blur(np.abs(gx), 2), blur(np.abs(gy), 2)]
    return np.stack(f, -1)


def evaluate(name, test, maps, seconds):
    """Scores maps (one per test image, any size) against the masks at each image's size."""
    pm = igd.PixelMetrics()
    scores = np.empty(len(test))
    for i, m in enumerate(maps):
        scores[i] = blur(m, 2).max()
        mask = test.load_mask(i)  # at the image's size
        pm.add(resize_linear(m, *mask.shape[:2]).astype(np.float32), mask)
    rec = {"method": name, "image_auroc": igd.metrics.auroc(scores, test.labels),
           "pixel_auroc": pm.auroc(), "aupro_0_3": pm.aupro(0.3), "seconds": seconds}
    print(json.dumps(rec), flush=True)
    return rec


def per_position_gaussian(train, test, side=64):
    t0 = time.time()
    ftr = np.stack([features(shrunk(train, i, side)) for i in range(len(train))])
    fte = np.stack([features(shrunk(test, i, side)) for i in range(len(test))])
    d = ftr.shape[-1]
    mu = ftr.mean(0)
    x = ftr - mu
    cov = np.einsum("nyxi,nyxj->yxij", x, x) / len(ftr) + 0.01 * np.eye(d)
    inv = np.linalg.inv(cov)
    diff = fte - mu
    maps = np.sqrt(np.einsum("nyxi,yxij,nyxj->nyx", diff, inv, diff))
    return evaluate("features", test, list(maps), time.time() - t0)


def latent_knn(model_path, train, test):
    t0 = time.time()
    model = igd.Model.load(model_path)
    side = int(model.options["image_size"])
    p = int(model.options["patch_size"])
    stride = int(model.options["patch_stride"])
    rows, cols = model.patch_grid()

    def latents(ds):
        return np.stack([model.encode(ds.load(i), "local").reshape(rows * cols, -1)
                         for i in range(len(ds))])
    bank = latents(train).reshape(-1, int(model.options["latent_size"])).astype(np.float32)
    norms = (bank * bank).sum(1)
    zte = latents(test)
    offs_y = [min(k * stride, side - p) for k in range(rows)]
    offs_x = [min(k * stride, side - p) for k in range(cols)]
    maps = []
    for z in zte:
        d2 = (z * z).sum(1)[:, None] + norms[None] - 2.0 * z @ bank.T
        near = np.sqrt(np.maximum(d2.min(1), 0))
        acc = np.zeros((side, side))
        cnt = np.zeros((side, side))
        for a, y in enumerate(offs_y):
            for b, x in enumerate(offs_x):
                acc[y:y + p, x:x + p] += near[a * cols + b]
                cnt[y:y + p, x:x + p] += 1
        maps.append(acc / np.maximum(cnt, 1))
    return evaluate("latent-knn", test, maps, time.time() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "magnetic-tile"))
    ap.add_argument("--model", help="a trained global + local tiles model (igd-train)")
    args = ap.parse_args()
    train = igd.Dataset.open_mvtec(args.data, "train")
    test = igd.Dataset.open_mvtec(args.data, "test")
    per_position_gaussian(train, test)
    if args.model:
        latent_knn(args.model, train, test)


if __name__ == "__main__":
    sys.exit(main())
