#!/usr/bin/python3
"""End-to-end tests of the example programs (igd-train, igd-detect, igd-heatmap, igd-eval).

    run_examples.py MODE IGD_TRAIN IGD_DETECT IGD_HEATMAP IGD_EVAL

MODE is one of: cli (help, versions, option lists, exit codes of bad arguments, missing files
and corrupt models), mvtec (an MVTec-layout folder of generated PNGs with a bright square
defect and masks: train, detect, heatmap, eval), idx (generated IDX files: the one-class
protocol with --class, --subsample and --contaminate, a model with both networks), interrupt
(Ctrl-C during training). Every mode makes its own data in a temporary folder and trains tiny
models for one epoch. Standard library only.
"""
import fcntl
import gzip
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import zlib

MODE = sys.argv[1]
TRAIN, DETECT, HEATMAP, EVAL = sys.argv[2:6]
PROGRAMS = {"igd-train": TRAIN, "igd-detect": DETECT, "igd-heatmap": HEATMAP, "igd-eval": EVAL}

# A tiny model: trains in seconds.
SMALL = ["--set", "global_size=16", "--set", "base_width=4", "--set", "depth=2",
         "--set", "latent_size=16", "--set", "hidden_size=0", "--set", "batch_size=8",
         "--epochs", "1"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def run(args, expect=None, timeout=600, what=None):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    label = what or " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(args))
    if expect is not None and not check(p.returncode == expect,
                                        "%s: exit %d, expected %d\nstderr: %s" %
                                        (label, p.returncode, expect, err[-2000:])):
        pass
    return p.returncode, out, err


# ---- PNG and IDX files, by hand ----

def write_png(path, rows, channels=1, bits=8):
    h, w = len(rows), len(rows[0]) // channels
    ctype = 0 if channels == 1 else 2
    raw = b"".join(b"\x00" + bytes(r) for r in rows)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, ctype, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def read_png(path):
    """(width, height, bit depth, channels, rows of samples) of a non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, bits, ctype, _, _, interlace = ihdr
    assert interlace == 0
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    bpp = max(1, channels * bits // 8)
    stride = (w * channels * bits + 7) // 8
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        prev = line
        if bits == 16:
            rows.append([(line[2 * i] << 8) | line[2 * i + 1] for i in range(w * channels)])
        else:
            rows.append(list(line))
    return w, h, bits, channels, rows


def write_idx_images(path, images, side):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(images), side, side))
        for im in images:
            f.write(bytes(v for row in im for v in row))


def write_idx_labels(path, labels):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">II", 0x801, len(labels)))
        f.write(bytes(labels))


def texture(rng, side):
    """The normal pattern: a horizontal gradient with noise (a tiny model learns it in a few
    steps)."""
    return [[max(0, min(255, 80 + x * 32 // side + rng.randint(-5, 5))) for x in range(side)]
            for y in range(side)]


def make_mvtec(root, rng, side=64, train=24, good=4, bad=4, defect=16):
    """MVTec AD layout; returns {test image path: (x0, y0, x1, y1) of its defect}."""
    for d in ("train/good", "test/good", "test/spot", "ground_truth/spot"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for i in range(train):
        write_png("%s/train/good/%03d.png" % (root, i), texture(rng, side))
    for i in range(good):
        write_png("%s/test/good/%03d.png" % (root, i), texture(rng, side))
    boxes = {}
    for i in range(bad):
        im = texture(rng, side)
        mask = [[0] * side for _ in range(side)]
        x0, y0 = rng.randint(6, side - defect - 6), rng.randint(6, side - defect - 6)
        for y in range(y0, y0 + defect):
            for x in range(x0, x0 + defect):
                im[y][x] = 255
                mask[y][x] = 255
        path = "%s/test/spot/%03d.png" % (root, i)
        write_png(path, im)
        write_png("%s/ground_truth/spot/%03d_mask.png" % (root, i), mask)
        boxes[path] = (x0, y0, x0 + defect - 1, y0 + defect - 1)
    return boxes


def parse_json_lines(text, what):
    objs = []
    for line in text.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError:
            check(False, "%s: not JSON: %r" % (what, line))
    return objs


# ---- modes ----

def mode_cli(tmp):
    for name, exe in PROGRAMS.items():
        rc, out, _ = run([exe, "--help"], 0)
        check("Usage: " + name in out, name + " --help shows its usage")
        rc, out, _ = run([exe, "--version"], 0)
        check("library 0." in out or "library " in out, name + " --version: library version")
        check("header " in out, name + " --version: header version")
        rc, out, _ = run([exe, "--list-options"], 0)
        for word in ("learning_rate", "heatmap_smooth", "runtime", "training", "[0, 1]"):
            check(word in out, "%s --list-options mentions %s" % (name, word))
        rc, _, err = run([exe, "--no-such-option"], 2)
        check(err.startswith(name + ": "), name + ": messages start with the program name")
        check("--help" in err, name + ": a usage error points to --help")

    img = os.path.join(tmp, "img.png")
    write_png(img, texture(random.Random(1), 32))
    model = os.path.join(tmp, "m.model")
    missing = os.path.join(tmp, "missing")
    # Bad arguments: 2.
    bad = [
        [TRAIN],
        [TRAIN, "--mvtec", tmp],
        [TRAIN, "--mvtec", tmp, "--folder", tmp, "-o", model],
        [TRAIN, "--folder", tmp, "-o", model, "--epochs", "many"],
        [TRAIN, "--folder", tmp, "-o", model, "--epochs", "-3"],
        [TRAIN, "--folder", tmp, "-o", model, "--set", "no_such_option=1"],
        [TRAIN, "--folder", tmp, "-o", model, "--set", "lambda1=-5"],
        [TRAIN, "--folder", tmp, "-o", model, "--set", "classifier=nonsense"],
        [TRAIN, "--folder", tmp, "-o", model, "--set", "depth"],
        [TRAIN, "--folder", tmp, "-o", model, "--subsample", "0"],
        [TRAIN, "--folder", tmp, "-o", model, "--contaminate", "0.1"],
        [TRAIN, "--idx", img, "--class", "3", "-o", model],
        [TRAIN, "--folder", tmp, "-o", model, "extra-argument"],
        [TRAIN, "--folder", tmp, "-o"],
        [DETECT, img],
        [DETECT, "-m", model],
        [DETECT, "-m", model, "--folder", tmp, img],
        [DETECT, "-m", model, "--batch", "0", img],
        [HEATMAP, "-m", model, img],
        [HEATMAP, "-o", tmp, img],
        [HEATMAP, "-m", model, "-o", tmp],
        [HEATMAP, "-m", model, "-o", tmp, "--folder", tmp, img],
        [HEATMAP, "-m", model, "-o", tmp, "--opacity", "2", img],
        [HEATMAP, "-m", model, "-o", tmp, "--overlay-range", "3,1", img],
        [EVAL, "-m", model, "-o", tmp],
        [EVAL, "-m", model, "-o", tmp, "--folder", tmp],
        [EVAL, "-m", model, "-o", tmp, "--idx", img],
        [EVAL, "-m", model, "-o", tmp, "--mvtec", tmp, "--split", "train"],
        [EVAL, "-m", model, "-o", tmp, "--mvtec", tmp, "--examples", "-1"],
    ]
    for args in bad:
        run(args, 2, what="bad arguments: " + " ".join(os.path.basename(a) for a in args))

    # Missing files: 1.
    run([TRAIN, "--mvtec", missing, "-o", model], 1)
    run([TRAIN, "--idx", missing, "-o", model], 1)
    run([TRAIN, "--folder", missing, "-o", model], 1)
    run([TRAIN, "--folder", tmp, "-o", os.path.join(missing, "m.model")], 1,
        what="igd-train into a missing folder fails before training")
    for out in (tmp, "", tmp + "/"):
        code, _, err = run([TRAIN, "--folder", tmp, "-o", out], 1,
                           what="igd-train -o %r (a folder, empty) fails before training" % out)
        check("E-step" not in err, "igd-train -o %r did not train" % out)
    run([DETECT, "-m", missing, img], 1)
    run([HEATMAP, "-m", missing, "-o", tmp, img], 1)
    run([EVAL, "-m", missing, "-o", tmp, "--mvtec", missing], 1)
    # Corrupt models: 1.
    garbage = os.path.join(tmp, "garbage.model")
    with open(garbage, "wb") as f:
        f.write(bytes(random.Random(2).randrange(256) for _ in range(4096)))
    empty = os.path.join(tmp, "empty.model")
    open(empty, "wb").close()
    for m in (garbage, empty):
        _, _, err = run([DETECT, "-m", m, img], 1)
        check("cannot load the model" in err, "a corrupt model is reported as such")
        run([HEATMAP, "-m", m, "-o", tmp, img], 1)
    check(not os.path.exists(model), "no model file appears after failed runs")


def mode_mvtec(tmp):
    rng = random.Random(7)
    root = os.path.join(tmp, "mvtec")
    boxes = make_mvtec(root, rng)
    model = os.path.join(tmp, "spot.model")
    # A few more steps, and larger ones, than SMALL: enough for the decoder to learn the
    # background, so that the bright square is what it cannot reconstruct.
    rc, out, err = run([TRAIN, "--mvtec", root, "-o", model, "--seed", "5", "--threads", "2"]
                       + SMALL + ["--epochs", "3", "--set", "learning_rate=0.01"], 0)
    check(os.path.getsize(model) > 0 if os.path.exists(model) else False, "the model is written")
    check("wrote " + model in out, "igd-train says what it wrote")
    check("training on 24 images" in err, "igd-train reports the training set size")
    # --contaminate mixes the test split's anomalous images in (the data has 4): 3 of 27 is
    # a rate of 0.1; a rate needing more than there are is an error, not fewer.
    extra = os.path.join(tmp, "extra.model")
    rc, out, err = run([TRAIN, "--mvtec", root, "-o", extra, "--contaminate", "0.1"] + SMALL, 0)
    check("training on 27 images (3 of them anomalous" in err,
          "--mvtec --contaminate: %r" % err.splitlines()[:1])
    rc, out, err = run([TRAIN, "--mvtec", root, "-o", extra, "--contaminate", "0.2"] + SMALL, 1)
    check("6 anomalous samples are needed, the source has 4" in err,
          "--contaminate beyond the anomalous images: %r" % err)
    # --verbose adds the library's log messages; --save-optimizer a larger file that still
    # loads and detects.
    rc, out, err = run([TRAIN, "--mvtec", root, "-o", extra, "-q", "--verbose"] + SMALL, 0)
    check("igd-train: E-step (global)" in err and "fit finished" in err,
          "--verbose prints the library's log: %r" % err.splitlines()[:3])
    plain_size = os.path.getsize(extra)
    run([TRAIN, "--mvtec", root, "-o", extra, "-q", "--save-optimizer"] + SMALL, 0)
    check(os.path.getsize(extra) > plain_size, "--save-optimizer saves the optimiser state too")
    run([DETECT, "-m", extra, sorted(boxes)[0]], 0,
        what="igd-detect with a model saved with its optimiser state")
    # --preset: a named bundle under the options given on the command line, wherever it
    # stands; an unknown name is a usage error that lists the presets. A texture model has a
    # segmentation head, which igd-heatmap draws and igd-eval scores.
    rc, out, err = run([TRAIN, "--mvtec", root, "-o", extra, "--preset", "nope"], 2)
    check("digits, texture, object" in err, "--preset with an unknown name: %r" % err)
    seg = os.path.join(tmp, "seg.model")
    run([TRAIN, "--mvtec", root, "-o", seg, "-q", "--set", "seg_tile=32", "--preset", "texture",
         "--set", "seg_width=4", "--set", "seg_steps=5", "--epochs", "1"] + SMALL, 0)
    rc, out, err = run([EVAL, "-m", seg, "-o", os.path.join(tmp, "seg-report"), "--mvtec", root,
                        "-q", "--examples", "1"], 0)
    with open(os.path.join(tmp, "seg-report", "metrics.json")) as f:
        seg_metrics = json.load(f)
    check(seg_metrics["model_options"]["seg_width"] == 4
          and seg_metrics["model_options"]["seg_tile"] == 32,
          "options given before and after --preset win over it")
    check(seg_metrics["pixel_auroc"] is not None, "igd-eval draws the head's heatmaps")
    if not os.path.exists(model):
        return

    # igd-detect: one tab-separated line per image.
    rc, out, _ = run([DETECT, "-m", model, "--mvtec", root], 0)
    lines = out.splitlines()
    check(len(lines) == 8, "igd-detect scores the 8 test images (%d lines)" % len(lines))
    for line in lines:
        f = line.split("\t")
        ok = len(f) == 4 and f[3] in ("normal", "anomalous")
        if ok:
            score, norm = float(f[1]), float(f[2])
            ok = 0 <= norm <= 1 and (norm >= 0.5) == (f[3] == "anomalous") and score >= 0
        check(ok, "igd-detect line: %r" % line)
    files = sorted(boxes)
    rc, out, _ = run([DETECT, "-m", model, "--json"] + files, 0)
    objs = parse_json_lines(out, "igd-detect --json")
    check(len(objs) == len(files), "igd-detect --json: one object per image")
    for o, path in zip(objs, files):
        check(o.get("path") == path and isinstance(o.get("score"), float) and
              isinstance(o.get("anomalous"), bool) and "global" in o.get("parts", {}),
              "igd-detect --json fields: %r" % o)
    # Paths with characters JSON must escape come back unchanged.
    odd = os.path.join(tmp, 'odd "q" \\ tab\t nl\n cr\r ctl\x01.png')
    shutil.copyfile(files[0], odd)
    rc, out, _ = run([DETECT, "-m", model, "--json", odd], 0)
    objs = parse_json_lines(out, "igd-detect --json with an odd path")
    check(len(objs) == 1 and objs[0].get("path") == odd, "igd-detect --json escapes the path")
    # A missing and an unreadable image: the others are still scored, exit 1.
    broken = os.path.join(tmp, "broken.png")
    with open(broken, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\nthis is not a PNG")
    rc, out, err = run([DETECT, "-m", model, files[0], os.path.join(tmp, "nope.png"), broken,
                        files[1]], 1)
    check(len(out.splitlines()) == 2, "igd-detect still scores the readable images")
    check("nope.png" in err and "broken.png" in err, "igd-detect names the unreadable images")
    # A truncated model: 1.
    with open(model, "rb") as f:
        blob = f.read()
    cut = os.path.join(tmp, "cut.model")
    with open(cut, "wb") as f:
        f.write(blob[:len(blob) // 2])
    run([DETECT, "-m", cut, files[0]], 1, what="igd-detect with a truncated model")
    # Runtime options may change, training options may not.
    run([DETECT, "-m", model, "--set", "heatmap_smooth=1", files[0]], 0)
    run([DETECT, "-m", model, "--threads", "1", "--set", "patch_stride=8", files[0]], 0,
        what="igd-detect with runtime integer options")
    run([DETECT, "-m", model, "--set", "depth=3", files[0]], 2,
        what="igd-detect refuses a training option")

    # igd-heatmap: four files per image; the map's maximum lies in the defect.
    out_dir = os.path.join(tmp, "maps")
    rc, out, _ = run([HEATMAP, "-m", model, "-o", out_dir] + files, 0)
    check(len(out.splitlines()) == len(files), "igd-heatmap prints a line per image")
    for path in files:
        stem = "%03d" % int(os.path.basename(path)[:3])
        base = os.path.join(out_dir, stem)
        for suffix in ("_map.png", "_map.json", "_overlay.png", "_mask.png"):
            check(os.path.exists(base + suffix), "igd-heatmap wrote " + stem + suffix)
        if not os.path.exists(base + "_map.png"):
            continue
        w, h, bits, ch, rows = read_png(base + "_map.png")
        check((w, h, bits, ch) == (64, 64, 16, 1), "the map is 16-bit grey 64 x 64: %r" %
              ((w, h, bits, ch),))
        w, h, bits, ch, _ = read_png(base + "_overlay.png")
        check((w, h, bits, ch) == (64, 64, 8, 3), "the overlay is 8-bit RGB 64 x 64")
        w, h, bits, ch, mask = read_png(base + "_mask.png")
        check((w, h, bits, ch) == (64, 64, 8, 1), "the mask is 8-bit grey 64 x 64")
        check(all(v in (0, 255) for r in mask for v in r), "the mask is binary")
        with open(base + "_map.json") as f:
            side = json.load(f)
        check(side["min"] <= side["max"] and side["width"] == 64 and side["height"] == 64,
              "the sidecar has the scale")
        masked = sum(v == 255 for r in mask for v in r)
        check(side["mask_pixels"] == masked, "the sidecar counts the masked pixels")
        top = max(max(r) for r in rows)
        check(top == 65535, "the map is scaled to its maximum")
        x0, y0, x1, y1 = boxes[path]
        peaks = [(x, y) for y, r in enumerate(rows) for x, v in enumerate(r) if v == top]
        check(all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in peaks),
              "the heatmap's maximum %r lies in the defect %r" % (peaks[:3], boxes[path]))
        ax, ay = side["argmax"]
        check(rows[ay][ax] == top, "the sidecar's argmax is the PNG's maximum")
    # An explicit threshold below the map's minimum masks every pixel.
    run([HEATMAP, "-m", model, "-o", out_dir, "--pixel-threshold", "-1", files[0]], 0)
    _, _, _, _, mask = read_png(os.path.join(out_dir, "000_mask.png"))
    check(all(v == 255 for r in mask for v in r), "--pixel-threshold below the map masks all")

    # igd-eval: the report folder.
    rep = os.path.join(tmp, "report")
    rc, out, err = run([EVAL, "-m", model, "-o", rep, "--mvtec", root], 0)
    check("image AUROC" in out and "report: " in out, "igd-eval prints the headline")
    with open(os.path.join(rep, "metrics.json")) as f:
        m = json.load(f)
    check((m["images"], m["normal"], m["anomalous"]) == (8, 4, 4), "metrics.json counts")
    for key in ("image_auroc", "f1_max", "accuracy_at_threshold", "accuracy_at_normalized_0_5",
                "pixel_auroc", "aupro_0_3"):
        v = m.get(key)
        check(isinstance(v, (int, float)) and 0 <= v <= 1, "metrics.json %s = %r" % (key, v))
    check(isinstance(m.get("detect_ms_per_image"), (int, float)), "metrics.json: detect time")
    check(m["pixel_images"] == 8, "pixel metrics over all 8 images")
    check(m["model_options"].get("global_size") == 16, "metrics.json records the model options")
    check([c["class"] for c in m["classes"]] == ["good", "spot"], "per-class table")
    check(len(m["most_anomalous"]) == 4 and len(m["least_anomalous"]) == 4,
          "examples split the 8 images")
    for e in m["most_anomalous"] + m["least_anomalous"]:
        check(os.path.exists(os.path.join(rep, e["overlay"])), "example overlay " + e["overlay"])
    scores = [e["score"] for e in m["most_anomalous"]]
    check(scores == sorted(scores, reverse=True), "most anomalous first")
    for name, size in (("roc.png", (800, 600)), ("histogram.png", (800, 600))):
        w, h, bits, ch, rows = read_png(os.path.join(rep, name))
        check((w, h, bits, ch) == size + (8, 3), name + " is an 800 x 600 RGB picture")
        colours = set()
        for r in rows[::7]:
            for i in range(0, len(r), 21):
                colours.add(tuple(r[i:i + 3]))
        check(len(colours) > 4, name + " is not blank")
    for name in ("report.md", "scores.csv", "examples/most_anomalous.png",
                 "examples/least_anomalous.png"):
        check(os.path.exists(os.path.join(rep, name)), "igd-eval wrote " + name)
    with open(os.path.join(rep, "report.md")) as f:
        md = f.read()
    check("image AUROC" in md and "roc.png" in md and "pixel AUROC" in md,
          "report.md has the metrics and plots")
    with open(os.path.join(rep, "scores.csv")) as f:
        check(len(f.read().splitlines()) == 9, "scores.csv: header and 8 images")
    eval_edge_cases(tmp, root, model)
    eval_on_terminal(tmp, root, model)


def eval_on_terminal(tmp, root, model):
    """On a terminal an error message starts a line of its own, and the progress line ends on
    its stage's last report even when that came too soon after the previous one to be shown."""
    broken = os.path.join(tmp, "broken-set")
    shutil.copytree(root, broken)
    junk = sorted(os.listdir(os.path.join(broken, "test", "spot")))[1]
    with open(os.path.join(broken, "test", "spot", junk), "wb") as f:
        f.write(b"not an image")
    ran = on_terminal([EVAL, "-m", model, "--mvtec", broken, "-o", os.path.join(tmp, "tty")],
                      200)
    if ran is None:
        return
    rc, out = ran
    check(rc == 0, "igd-eval on a terminal with an unreadable image: exit %d" % rc)
    check("\nigd-eval: cannot read" in out and "\033[Kigd-eval" not in out,
          "an error message starts its own line: %r" % out[:300])
    score = [s for s in rewrites(out) if s.startswith("score")]
    check(score and score[-1].startswith("score     100.0%  8/8"),
          "the progress line ends on the last report: %r" % score[-2:])


def eval_edge_cases(tmp, root, model):
    """igd-eval without pixel metrics, with a mask missing, and on normal images only."""
    def metrics(args, expect=0):
        rep = os.path.join(tmp, "report-%d" % len(os.listdir(tmp)))
        rc, out, err = run([EVAL, "-m", model, "-o", rep, "-q"] + args, expect)
        with open(os.path.join(rep, "metrics.json")) as f:
            return json.load(f), err

    m, _ = metrics(["--mvtec", root, "--no-pixel"])
    check(m["image_auroc"] is not None and m["pixel_auroc"] is None and m["aupro_0_3"] is None
          and m["pixel_images"] == 0, "--no-pixel leaves the pixel metrics out: %r" % m)
    # An anomalous image without its mask: still scored, left out of the pixel metrics, counted.
    part = os.path.join(tmp, "part")
    shutil.copytree(root, part)
    first = sorted(os.listdir(os.path.join(part, "ground_truth", "spot")))[0]
    os.remove(os.path.join(part, "ground_truth", "spot", first))
    m, _ = metrics(["--mvtec", part])
    check((m["images"], m["pixel_images"], m["anomalous_without_mask"]) == (8, 7, 1)
          and m["pixel_auroc"] is not None, "a missing mask is counted, not fatal: %r" % m)
    # Normal images only: the AUROCs are undefined (null, with a warning), the rest reported.
    shutil.rmtree(os.path.join(part, "test", "spot"))
    m, err = metrics(["--mvtec", part])
    check(m["images"] == 4 and m["image_auroc"] is None and m["f1_max"] is None,
          "normal images only: AUROC null: %r" % m)
    check("AUROC is undefined" in err, "igd-eval warns that AUROC is undefined")
    check(m["accuracy_at_threshold"] is not None, "accuracy is still reported")


def mode_idx(tmp):
    rng = random.Random(11)
    side = 16

    def sample(cls):
        im = [[rng.randint(0, 30) for _ in range(side)] for _ in range(side)]
        c = rng.randint(5, 10)
        for k in range(side):
            if cls == 0:
                im[k][c] = 230          # a vertical bar
            elif cls == 1:
                im[c][k] = 230          # a horizontal bar
            else:
                im[k][k] = 230          # a diagonal
        return im

    def write(prefix, per_class):
        labels = [c for c in range(3) for _ in range(per_class)]
        rng.shuffle(labels)
        write_idx_images(prefix + "-images.gz", [sample(c) for c in labels], side)
        write_idx_labels(prefix + "-labels.gz", labels)
        return prefix + "-images.gz", prefix + "-labels.gz"

    tr_img, tr_lab = write(os.path.join(tmp, "train"), 60)
    te_img, te_lab = write(os.path.join(tmp, "test"), 20)
    model = os.path.join(tmp, "bars.model")
    rc, out, err = run([TRAIN, "--idx", tr_img, "--labels", tr_lab, "--class", "0",
                        "--subsample", "0.9", "--contaminate", "0.1", "--seed", "3", "-o", model]
                       + SMALL, 0)
    # 60 images of class 0, 54 after --subsample 0.9, 6 anomalous added for a rate of 0.1.
    check("training on 60 images (6 of them anomalous" in err,
          "subsample then contaminate: %r" % err.splitlines()[:1])
    run([TRAIN, "--idx", tr_img, "--labels", tr_lab, "--class", "7", "-o", model + "7"] + SMALL,
        2, what="igd-train with a class the label file does not have")
    if not os.path.exists(model):
        return
    rc, out, _ = run([DETECT, "-m", model, "--idx", te_img, "--labels", te_lab, "--class", "0",
                      "--json"], 0)
    objs = parse_json_lines(out, "igd-detect --idx --json")
    check(len(objs) == 60, "igd-detect scores all 60 IDX samples")
    check(objs and objs[0]["path"] == te_img + "#0", "IDX samples are named FILE#INDEX")
    labels = [o.get("label") for o in objs]
    check(labels.count(0) == 20 and labels.count(1) == 40, "one-class labels in --json")

    rep = os.path.join(tmp, "report")
    rc, out, _ = run([EVAL, "-m", model, "-o", rep, "--idx", te_img, "--labels", te_lab,
                      "--class", "0", "--class-names", "vertical,horizontal,diagonal",
                      "--examples", "3"], 0)
    with open(os.path.join(rep, "metrics.json")) as f:
        m = json.load(f)
    check((m["images"], m["normal"], m["anomalous"]) == (60, 20, 40), "IDX eval counts")
    check(m["pixel_auroc"] is None, "no pixel metrics without masks")
    check(0 <= m["image_auroc"] <= 1, "IDX AUROC")
    names = [c["class"] for c in m["classes"]]
    check(names == ["vertical", "horizontal", "diagonal"], "class names: %r" % names)
    check(m["classes"][0]["auroc_vs_normal"] is None and
          all(0 <= c["auroc_vs_normal"] <= 1 for c in m["classes"][1:]), "per-class AUROC")
    check(len(os.listdir(os.path.join(rep, "examples"))) == 2 + 6,
          "3 + 3 overlays and 2 contact sheets")
    # igd-heatmap over an IDX file: stems FILE_INDEX.
    maps = os.path.join(tmp, "maps")
    run([HEATMAP, "-m", model, "-o", maps, "--idx", te_img, "--subsample", "0.1"], 0)
    stems = [f for f in os.listdir(maps) if f.endswith("_map.png")]
    check(len(stems) == 6 and all(f.startswith("test-images_") for f in stems),
          "IDX heatmap names: %r" % stems[:2])

    # Both networks (global and local patches).
    both = os.path.join(tmp, "both.model")
    run([TRAIN, "--idx", tr_img, "--labels", tr_lab, "--class", "1", "--subsample", "0.4",
         "-o", both, "-q",
         "--set", "nets=3", "--set", "image_size=16", "--set", "patch_size=8",
         "--set", "patch_stride=8"] + SMALL, 0)
    if os.path.exists(both):
        rc, out, _ = run([DETECT, "-m", both, "--json", "--idx", te_img, "--subsample", "0.1"], 0)
        objs = parse_json_lines(out, "two-network detect")
        check(objs and all(o["parts"]["local"] > 0 and o["parts"]["global"] > 0 and
                           abs(o["score"] - o["parts"]["local"] - o["parts"]["global"]) < 1e-6
                           for o in objs), "a two-network score sums its parts")


def mode_interrupt(tmp):
    rng = random.Random(3)
    folder = os.path.join(tmp, "normal")
    os.makedirs(folder)
    for i in range(64):
        write_png(os.path.join(folder, "%02d.png" % i), texture(rng, 32))
    model = os.path.join(tmp, "never.model")
    with open(model, "w") as f:
        f.write("the previous model")
    args = [TRAIN, "--folder", folder, "-o", model] + SMALL + ["--epochs", "100000"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stderr.readline().decode()
    check("training on 64 images" in first, "igd-train starts: %r" % first)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, "igd-train did not stop on SIGINT")
    check(p.returncode == 130, "igd-train exits 130 on Ctrl-C, not %d" % p.returncode)
    check(b"interrupted" in err, "igd-train says it was interrupted")
    with open(model) as f:
        check(f.read() == "the previous model", "an interrupted run leaves the model file alone")
    check(not [f for f in os.listdir(tmp) if f.startswith("never.model") and f != "never.model"],
          "no partial file is left behind")
    terminal_progress(tmp, folder)


def on_terminal(args, columns, limit=120):
    """Runs args with stdout and stderr on a pseudo-terminal this many columns wide; returns the
    exit code and everything written, or None where the system has no pseudo-terminals."""
    try:
        master, slave = pty.openpty()
    except OSError as e:
        print("terminal checks skipped: no pseudo-terminal (%s)" % e)
        return None
    text, p = b"", None
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        os.close(slave)
        slave = None
        deadline = time.time() + limit
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the program has exited and the terminal is closed
                break
            if not chunk:
                break
            text += chunk
        else:
            p.kill()
            check(False, "%s did not finish on a terminal" % os.path.basename(args[0]))
        return p.wait(timeout=limit), text.decode(errors="replace")
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


def rewrites(out):
    """The successive states of a terminal line rewritten in place ("\\r...\\033[K")."""
    return [s.split("\033[K")[0] for s in out.replace("\r\n", "\n").split("\r")[1:]]


def terminal_progress(tmp, folder):
    """On a terminal igd-train rewrites one progress line in place: the loss terms and, under a
    time limit, an ETA from the time left, cut to the terminal's width."""
    model = os.path.join(tmp, "tty.model")
    args = [TRAIN, "--folder", folder, "-o", model] + SMALL + ["--epochs", "1000",
                                                               "--time-limit", "3"]
    for columns in (200, 40):
        ran = on_terminal(args, columns)
        if ran is None:
            return
        rc, out = ran
        check(rc == 0 and os.path.exists(model), "igd-train on a terminal trains (exit %d)" % rc)
        check("\033[K" in out, "igd-train rewrites its progress line in place")
        shown = rewrites(out)
        check(len(shown) >= 5 and out.count("\n") <= 4,
              "reports rewrite one line (%d rewrites, %d newlines)" % (len(shown), out.count("\n")))
        check(shown and all(len(s) < columns for s in shown),
              "progress lines fit %d columns: %r" % (columns, shown[-2:]))
        train = [s for s in shown if s.startswith("train")]
        if columns == 200:
            # 1000 epochs would take minutes: only the 3 s limit makes the ETA this short.
            etas = [int(e) for s in train if "loss" in s and "critic" in s
                    for e in re.findall(r"ETA (\d+)s$", s)]
            check(etas and min(etas) <= 3,
                  "igd-train shows the loss terms and an ETA from its time limit: %r" % train[-2:])
        if os.path.exists(model):
            os.remove(model)


def main():
    modes = {"cli": mode_cli, "mvtec": mode_mvtec, "idx": mode_idx,
             "interrupt": mode_interrupt}
    if MODE not in modes:
        sys.exit("unknown mode " + MODE)
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="igd-examples-") as tmp:
        modes[MODE](tmp)
    print("%s: %d failures, %.1f s" % (MODE, len(failures), time.time() - start))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
