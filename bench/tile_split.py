#!/usr/bin/env python3
"""How the magnetic tiles' train/test split relates images of one physical tile, and a split that
keeps each tile on one side.

    bench/tile_split.py [--data ../shared/data/magnetic-tile] [--write FOLDER]

The images are named exp<K>_num_<N>.jpg. The data set photographs each tile under six lighting
set-ups (K = 1..6; three images have K = 0), and the six photographs of a tile carry nearby
numbers N. Sorted by N, a new tile starts where N jumps by more than GAP: 165 of the 210 groups
found that way hold exactly six images. The grouping is approximate: a few tiles' photographs
lie more than GAP apart and fall into two groups, and a few groups hold two interleaved tiles
(harmless for the split: they stay together). The shared split puts every fifth defect-free
image (by name) in test/good, so most test/good tiles also have photographs in train/good.

Prints one JSON line: the number of tiles; how many test/good images share their tile with
train/good; and, per test kind, quantiles of the distance of each test image to its nearest
train/good image (each image shrunk to 32 x 32, standardised, mean squared difference).

With --write, writes FOLDER in the MVTec AD layout (symbolic links to the data set's files), with
the same defect images and masks, where train/good and test/good hold disjoint tiles: test/good
gets every fifth defect-free tile (sorted by its first number) and the defect-free images of
every tile that also has defect images; train/good gets the rest.
Needs numpy and the bindings (PYTHONPATH=bindings/python, IGD_LIBRARY=.../libigd.so.1)."""
import argparse
import json
import os
import re
import sys

import numpy as np

import igd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GAP = 150
NAME = re.compile(r"exp(\d+)_num_(\d+)\.jpg$")


def images(data):
    """(number, split, kind, path relative to data) of every image, sorted by number."""
    out = []
    for split in ("train", "test"):
        for kind in sorted(os.listdir(os.path.join(data, split))):
            for name in sorted(os.listdir(os.path.join(data, split, kind))):
                m = NAME.match(name)
                if not m:
                    raise SystemExit(f"unexpected file name {split}/{kind}/{name}")
                out.append((int(m.group(2)), split, kind, os.path.join(split, kind, name)))
    return sorted(out)


def tiles(items):
    """Tile index of each image: a new tile where the number jumps by more than GAP."""
    numbers = np.array([n for n, *_ in items])
    return np.concatenate([[0], np.cumsum(np.diff(numbers) > GAP)])


def shrunk(path, side=32):
    a = igd.Image.load(path).resize(side, side).to_array().astype(np.float64).ravel()
    a -= a.mean()
    return a / (a.std() + 1e-6)


def nearest_distances(data, items):
    train = [p for _, s, k, p in items if s == "train"]
    test = [(k, p) for _, s, k, p in items if s == "test"]
    a = np.stack([shrunk(os.path.join(data, p)) for p in train])
    t = np.stack([shrunk(os.path.join(data, p)) for _, p in test])
    d = ((t * t).sum(1)[:, None] + (a * a).sum(1)[None] - 2.0 * t @ a.T) / a.shape[1]
    near = np.maximum(d.min(1), 0)
    out = {}
    for kind in sorted({k for k, _ in test}):
        v = near[[i for i, (k, _) in enumerate(test) if k == kind]]
        out[kind] = [round(float(q), 4) for q in np.percentile(v, [10, 50, 90])]
    return out


def write_split(data, items, tile, folder):
    good = {}
    for (_, split, kind, path), t in zip(items, tile):
        if kind == "good":
            good.setdefault(t, []).append(path)
    defect_tiles = {t for (_, _, kind, _), t in zip(items, tile) if kind != "good"}
    clean = sorted(t for t in good if t not in defect_tiles)
    held = set(clean[::5]) | (defect_tiles & set(good))
    placed = {"train": 0, "test": 0}

    def link(src, dst):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.symlink(os.path.abspath(src), dst)

    if os.path.exists(folder):
        raise SystemExit(f"{folder} exists; remove it first")
    for t, paths in good.items():
        split = "test" if t in held else "train"
        for p in paths:
            link(os.path.join(data, p), os.path.join(folder, split, "good", os.path.basename(p)))
            placed[split] += 1
    for _, split, kind, path in items:
        if kind != "good":
            link(os.path.join(data, path), os.path.join(folder, path))
    link(os.path.join(data, "ground_truth"), os.path.join(folder, "ground_truth"))
    return {"train_good": placed["train"], "test_good": placed["test"],
            "train_tiles": len(good) - len(held), "test_good_tiles": len(held)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "magnetic-tile"))
    ap.add_argument("--write", help="write a tile-grouped split here (MVTec AD layout)")
    args = ap.parse_args()
    items = images(args.data)
    tile = tiles(items)
    sizes = np.bincount(tile)
    train_tiles = {t for (_, s, _, _), t in zip(items, tile) if s == "train"}
    test_good = [(t in train_tiles) for (_, s, k, _), t in zip(items, tile)
                 if s == "test" and k == "good"]
    rec = {"images": len(items), "tiles": int(len(sizes)),
           "tiles_of_six": int((sizes == 6).sum()),
           "test_good": len(test_good), "test_good_sharing_a_tile_with_train": int(sum(test_good)),
           "nearest_train_distance_q10_q50_q90": nearest_distances(args.data, items)}
    if args.write:
        rec["grouped_split"] = write_split(args.data, items, tile, args.write)
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    sys.exit(main())
