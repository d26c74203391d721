#!/usr/bin/env python3
"""Where a tiles model's pixel AUROC is lost: within defective images or between images.

    bench/tile_pixel_analysis.py --model TILES.igd [--data ../shared/data/magnetic-tile]

Draws every test image's heatmap with the model as trained (as igd-eval does) and prints one
JSON line:
- pixel_auroc: over all test pixels at each image's size, as igd-eval measures it.
- pixel_auroc_perfect_images: the same maps, each defective image's map raised by one constant
  that puts all of its pixels above every pixel of the good images: what these maps would give
  with a perfect image-level ranking. The rest of the loss is among the defective images'
  pixels (defect against normal, within and across those images).
- far_vs_good_auroc: normal pixels of defective images that no patch holding a defect pixel
  covers (farther than one patch side from every defect pixel, in the model's image_size
  grid; the heatmap's smoothing still reaches a few pixels farther), ranked against the good
  images' pixels. Near 0.5: the map treats them as good tiles; near 1: it marks whole
  defective tiles.
- far_pixel_share: the share of the defective images' normal pixels that are that far.
- defect_pixel_share: per defect kind, its share of all defect pixels.
- kind_pixel_auroc: per defect kind, its defect pixels ranked against every normal pixel of the
  test set (good images' and defective images' alike).
- kind_inside_auroc: per defect kind, the mean over its images of each image's own pixel AUROC
  (its defect pixels against its normal pixels): how well the map localises inside an image.
Pixel sets are subsampled every 2nd row and column for the far-pixel and kind_pixel_auroc
statistics.
Needs numpy and the bindings (PYTHONPATH=bindings/python, IGD_LIBRARY=.../libigd.so.1)."""
import argparse
import json
import os
import sys

import numpy as np

import igd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def near(mask, ry, rx):
    """Pixels within ry rows and rx columns of a True pixel of mask (a box dilation)."""
    def axis(m, r, ax):
        c = np.cumsum(m, axis=ax, dtype=np.int64)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=ax)), c], axis=ax)
        n = m.shape[ax]
        hi = np.minimum(np.arange(n) + r + 1, n)
        lo = np.maximum(np.arange(n) - r, 0)
        return (np.take(c, hi, axis=ax) - np.take(c, lo, axis=ax)) > 0
    return axis(axis(mask, ry, 0), rx, 1)


def ranked(pos, neg):
    """AUROC of the scores pos (anomalous) against neg (normal)."""
    scores = np.concatenate([pos, neg]).astype(np.float64)
    labels = np.concatenate([np.ones(len(pos), np.intc), np.zeros(len(neg), np.intc)])
    return igd.metrics.auroc(scores, labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "magnetic-tile"))
    ap.add_argument("--model", required=True)
    args = ap.parse_args()
    model = igd.Model.load(args.model)
    side = float(model.options["image_size"])
    patch = float(model.options["patch_size"])
    test = igd.Dataset.open_mvtec(args.data, "test")
    labels = np.asarray(test.labels) != 0
    maps, masks = [], []
    for i in range(len(test)):
        maps.append(model.heatmap(test.load_image(i))[0])
        masks.append(np.asarray(test.load_mask(i)).reshape(maps[-1].shape) > 0)
    good_max = max(float(m.max()) for m, y in zip(maps, labels) if not y)
    defect_min = min(float(m.min()) for m, y in zip(maps, labels) if y)
    lift = good_max - defect_min + 1.0
    plain, perfect = igd.PixelMetrics(), igd.PixelMetrics()
    far, good, normal_pixels, far_pixels = [], [], 0, 0
    kinds, normal, defect, inside = {}, [], {}, {}
    for i, (m, k, y) in enumerate(zip(maps, masks, labels)):
        plain.add(m, k.astype(np.uint8))
        perfect.add(m + np.float32(lift if y else 0.0), k.astype(np.uint8))
        normal.append(m[::2, ::2][~k[::2, ::2]])
        if not y:
            good.append(m[::2, ::2].ravel())
            continue
        kind = test.class_name(test.class_id(i))
        kinds[kind] = kinds.get(kind, 0) + int(k.sum())
        defect.setdefault(kind, []).append(m[::2, ::2][k[::2, ::2]])
        if k.any() and not k.all():
            inside.setdefault(kind, []).append(ranked(m[k], m[~k]))
        h, w = m.shape
        f = ~near(k, int(np.ceil(patch * h / side)), int(np.ceil(patch * w / side)))
        normal_pixels += int((~k).sum())
        far_pixels += int(f.sum())
        far.append(m[::2, ::2][f[::2, ::2]])
    total = sum(kinds.values())
    normal = np.concatenate(normal)
    print(json.dumps({
        "model": os.path.relpath(args.model, ROOT), "pixel_auroc": plain.auroc(),
        "pixel_auroc_perfect_images": perfect.auroc(),
        "far_vs_good_auroc": ranked(np.concatenate(far), np.concatenate(good)),
        "far_pixel_share": far_pixels / normal_pixels,
        "defect_pixel_share": {k: round(v / total, 4) for k, v in sorted(kinds.items())},
        "kind_pixel_auroc": {k: ranked(np.concatenate(v), normal)
                             for k, v in sorted(defect.items())},
        "kind_inside_auroc": {k: float(np.mean(v)) for k, v in sorted(inside.items())}}),
        flush=True)


if __name__ == "__main__":
    sys.exit(main())
