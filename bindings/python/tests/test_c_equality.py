"""Python gives the same results as C, bit for bit, on the same model file and pixels."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import igd

from conftest import REPO, make_images

C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>

#include "igd/igd.h"

/* usage: prog MODEL PIXELS N H W C OUT: writes scores, parts, heatmaps and latents. */
int main(int argc, char **argv)
{
    if (argc != 8 || IGD_CHECK_VERSION() != IGD_OK)
        return 2;
    size_t n = strtoul(argv[3], NULL, 10), h = strtoul(argv[4], NULL, 10);
    size_t w = strtoul(argv[5], NULL, 10), c = strtoul(argv[6], NULL, 10);
    unsigned char *pix = malloc(n * h * w * c);
    FILE *f = fopen(argv[2], "rb");
    if (!pix || !f || fread(pix, 1, n * h * w * c, f) != n * h * w * c)
        return 3;
    fclose(f);
    igd_model *m = NULL;
    igd_session *s = NULL;
    igd_options *o = NULL;
    int64_t latent = 0;
    if (igd_model_load(argv[1], NULL, &m) != IGD_OK || igd_session_create(m, &s) != IGD_OK ||
        igd_model_get_options(m, &o) != IGD_OK ||
        igd_options_get_int(o, IGD_OPT_LATENT_SIZE, &latent) != IGD_OK) {
        fprintf(stderr, "%s\n", igd_last_error());
        return 1;
    }
    double *scores = malloc(n * sizeof *scores);
    double *parts = malloc(n * IGD_PART_COUNT * sizeof *parts);
    float *maps = malloc(n * h * w * sizeof *maps);
    float *z = malloc(n * (size_t)latent * sizeof *z);
    if (igd_session_detect(s, pix, IGD_PIXEL_U8, n, h, w, c, 0, 0, scores, NULL, parts,
                           IGD_PART_COUNT) != IGD_OK ||
        igd_session_heatmap(s, pix, IGD_PIXEL_U8, n, h, w, c, 0, 0, maps) != IGD_OK ||
        igd_session_encode(s, IGD_NET_GLOBAL, pix, IGD_PIXEL_U8, n, h, w, c, 0, 0, z,
                           n * (size_t)latent) != IGD_OK) {
        fprintf(stderr, "%s\n", igd_last_error());
        return 1;
    }
    f = fopen(argv[7], "wb");
    fwrite(scores, sizeof *scores, n, f);
    fwrite(parts, sizeof *parts, n * IGD_PART_COUNT, f);
    fwrite(maps, sizeof *maps, n * h * w, f);
    fwrite(z, sizeof *z, n * (size_t)latent, f);
    fclose(f);
    igd_session_free(s);
    igd_options_free(o);
    igd_model_free(m);
    free(pix);
    free(scores);
    free(parts);
    free(maps);
    free(z);
    return 0;
}
"""


def _library_file() -> pathlib.Path:
    path = pathlib.Path(igd.library_path)
    if not path.is_absolute():
        pytest.skip("the library was not loaded from a path (set IGD_LIBRARY)")
    return path.resolve()


def _build_root() -> pathlib.Path:
    return pathlib.Path(igd.library_path).parent.parent  # <build>/lib/libigd.so.1


@pytest.fixture(scope="module")
def c_program(tmp_path_factory) -> pathlib.Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler")
    lib = _library_file()
    includes = [REPO / "include", _build_root() / "include"]
    if not (includes[0] / "igd" / "igd.h").exists() or not (
            includes[1] / "igd" / "version.h").exists():
        pytest.skip("the library's headers (igd.h, generated version.h) are not found")
    d = tmp_path_factory.mktemp("cprog")
    src = d / "score.c"
    src.write_text(C_PROGRAM)
    exe = d / "score"
    # Link the very file Python loaded (by path, with an rpath to its folder).
    link = d / "libigd.so"
    link.symlink_to(lib)
    cmd = [cc, "-std=c11", "-O0", "-o", str(exe), str(src)]
    cmd += [f"-I{p}" for p in includes]
    cmd += [f"-L{d}", "-ligd", f"-Wl,-rpath,{lib.parent}"]
    subprocess.run(cmd, check=True, capture_output=True)
    return exe


@pytest.mark.parametrize("channels", [1, 3])
def test_scores_heatmaps_latents_equal_c(c_program, model_path, tmp_path, channels):
    images = make_images(5, 20, 18, seed=21, c=channels if channels == 3 else 0)
    n, h, w = images.shape[:3]
    (tmp_path / "pix").write_bytes(np.ascontiguousarray(images).tobytes())
    out = tmp_path / "out"
    env = dict(os.environ, LD_LIBRARY_PATH=str(_library_file().parent))
    r = subprocess.run([str(c_program), model_path, str(tmp_path / "pix"), str(n), str(h),
                        str(w), str(channels), str(out)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    raw = out.read_bytes()
    latent = 8
    c_scores = np.frombuffer(raw, np.float64, n)
    off = n * 8
    parts = len(igd.Part)
    c_parts = np.frombuffer(raw, np.float64, n * parts, off).reshape(n, parts)
    off += n * parts * 8
    c_maps = np.frombuffer(raw, np.float32, n * h * w, off).reshape(n, h, w)
    off += n * h * w * 4
    c_z = np.frombuffer(raw, np.float32, n * latent, off).reshape(n, latent)
    assert off + n * latent * 4 == len(raw)

    with igd.Model.load(model_path) as m:  # no runtime options, like the C program
        d = m.detect(images, parts=True)
        maps = m.heatmap(images)
        z = m.encode(images)
        # Compare the bits, not approximately.
        assert d.scores.tobytes() == c_scores.tobytes()
        assert d.parts.tobytes() == c_parts.tobytes()
        assert maps.tobytes() == c_maps.tobytes()
        assert z.tobytes() == c_z.tobytes()
        # A strided view of a larger array scores the same bits as well.
        big = np.zeros((n, h + 3, w + 5) + images.shape[3:], np.uint8)
        big[:, 1:h + 1, 2:w + 2] = images
        view = big[:, 1:h + 1, 2:w + 2]
        assert m.detect(view).tobytes() == c_scores.tobytes()
        # Threads of a session: Model.detect from another thread is the same too.
        import threading
        got = {}
        t = threading.Thread(target=lambda: got.setdefault("s", m.detect(images)))
        t.start()
        t.join()
        assert got["s"].tobytes() == c_scores.tobytes()


def test_igd_detect_program_agrees(model_path, tmp_path):
    """The examples' igd-detect, when built, prints the same scores, to the last bit."""
    exe = _build_root() / "examples" / "igd-detect"
    if not exe.exists():
        pytest.skip("igd-detect is not built")
    images = make_images(4, 16, 16, seed=30)
    for i, img in enumerate(images):
        igd.save_png(img, tmp_path / f"{i}.png")
    files = [str(tmp_path / f"{i}.png") for i in range(4)]
    r = subprocess.run([str(exe), "-m", model_path, "--json"] + files, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    by_path = {row["path"]: row for row in rows}
    with igd.Model.load(model_path) as m:
        scores = m.detect(images)
    for f, s in zip(files, scores):
        assert by_path[f]["score"] == s
