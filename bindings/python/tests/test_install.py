"""Installing the package offline (pip with Debian's setuptools), and meson's file list."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import igd

from conftest import REPO

PKG_ROOT = pathlib.Path(igd.__file__).resolve().parent.parent  # holds pyproject.toml


def test_pip_install_without_network_and_library_beside_the_package(tmp_path):
    if not (PKG_ROOT / "pyproject.toml").exists():
        pytest.skip("not running from the source tree")
    for module in ("pip", "setuptools"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    src = tmp_path / "src"
    shutil.copytree(PKG_ROOT, src, ignore=shutil.ignore_patterns(
        "tests", "build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index",
         "--no-deps", "--disable-pip-version-check", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    installed = {p.name for p in (target / "igd").iterdir()}
    assert {"__init__.py", "_lib.py", "model.py", "py.typed"} <= installed
    # A copy of the library beside the installed package is found without IGD_LIBRARY.
    if not os.path.isabs(igd.library_path):
        pytest.skip("the library was not loaded from a path")
    shutil.copy(igd.library_path, target / "igd" / "libigd.so.1")
    env = {k: v for k, v in os.environ.items() if k != "IGD_LIBRARY"}
    env["PYTHONPATH"] = str(target)
    r = subprocess.run([sys.executable, "-c",
                        "import igd; print(igd.__file__); print(igd.library_path); "
                        "print(igd.Model(global_size=16).options['global_size'])"],
                       env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0].startswith(str(target))
    assert lines[1] == str(target / "igd" / "libigd.so.1")
    assert lines[2] == "16"


def test_meson_installs_every_module():
    build = REPO / "bindings" / "meson.build"
    if not build.exists():
        pytest.skip("bindings/meson.build not found")
    listed = set(re.findall(r"'python/igd/([^']+)'", build.read_text()))
    present = {p.name for p in (PKG_ROOT / "igd").iterdir()
               if p.suffix == ".py" or p.name == "py.typed"}
    assert listed == present
