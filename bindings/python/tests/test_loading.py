"""Finding the library, the ABI check at import, and the table of every public function."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys

import pytest

import igd
from igd import _lib

from conftest import REPO

PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(igd.__file__)))


def _import_in_subprocess(env_updates: dict, code: str = "import igd; print(igd.abi_version())"):
    env = dict(os.environ)
    env.update(env_updates)
    env["PYTHONPATH"] = PKG_DIR
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_version_info():
    assert igd.abi_version() == igd.ABI_VERSION == 1
    n = igd.version_number()
    major, minor, patch = (int(p) for p in igd.version().split("."))
    assert n == major * 10000 + minor * 100 + patch
    assert igd.__version__ == igd.version()
    igd.check_version()
    with pytest.raises(igd.VersionError) as info:
        igd.check_version(igd.ABI_VERSION + 1)
    assert "ABI" in info.value.message


def test_candidates_order(monkeypatch, tmp_path):
    monkeypatch.setenv("IGD_LIBRARY", "/somewhere/libigd.so.1")
    monkeypatch.setattr(_lib.ctypes.util, "find_library", lambda name: "libigd.so.7")
    fake_pkg = tmp_path / "igd"
    fake_pkg.mkdir()
    (fake_pkg / "libigd.so.1").write_bytes(b"")
    monkeypatch.setattr(_lib, "__file__", str(fake_pkg / "_lib.py"))
    assert list(_lib.candidates()) == [
        ("IGD_LIBRARY", "/somewhere/libigd.so.1"),
        ("beside the package", str(fake_pkg / "libigd.so.1")),
        ("find_library('igd')", "libigd.so.7"),
        ("soname", "libigd.so.1"),
    ]
    monkeypatch.delenv("IGD_LIBRARY")
    (fake_pkg / "libigd.so.1").unlink()
    monkeypatch.setattr(_lib.ctypes.util, "find_library", lambda name: None)
    assert list(_lib.candidates()) == [("soname", "libigd.so.1")]


def test_load_falls_back_in_order(monkeypatch):
    tried = []

    def fake_cdll(name):
        tried.append(name)
        if name != "libigd.so.1":
            raise OSError(f"{name}: cannot open")
        return "loaded"

    monkeypatch.delenv("IGD_LIBRARY", raising=False)
    monkeypatch.setattr(_lib.ctypes.util, "find_library", lambda name: "libigd-other.so")
    monkeypatch.setattr(_lib.ctypes, "CDLL", fake_cdll)
    assert _lib.load() == ("loaded", "libigd.so.1")
    assert tried[-2:] == ["libigd-other.so", "libigd.so.1"]


def test_load_with_bad_igd_library_is_an_import_error(monkeypatch):
    monkeypatch.setenv("IGD_LIBRARY", "/nonexistent/libigd.so.1")
    asked = []
    monkeypatch.setattr(_lib.ctypes.util, "find_library", lambda name: asked.append(name))
    with pytest.raises(ImportError, match="IGD_LIBRARY"):
        _lib.load()
    assert not asked  # no fallback, and no ldconfig run, when IGD_LIBRARY is set
    r = _import_in_subprocess({"IGD_LIBRARY": "/nonexistent/libigd.so.1"})
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "/nonexistent/libigd.so.1" in r.stderr


class _FakeFunction:
    def __init__(self, value):
        self.value = value
        self.restype = None
        self.argtypes = None

    def __call__(self):
        return self.value


class _FakeLibrary:
    def __init__(self, abi):
        self.igd_abi_version = _FakeFunction(abi)


def test_abi_mismatch_is_an_import_error():
    _lib.check_abi(_FakeLibrary(1), "fake")
    with pytest.raises(ImportError) as info:
        _lib.check_abi(_FakeLibrary(2), "fake")
    text = str(info.value)
    assert "ABI 2" in text and "ABI 1" in text and "fake" in text
    with pytest.raises(ImportError, match="not libigd"):
        _lib.check_abi(object(), "something")


def test_import_against_a_fake_library_with_another_abi(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler")
    src = tmp_path / "fake.c"
    src.write_text("unsigned igd_abi_version(void) { return 2; }\n")
    lib = tmp_path / "libfake.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    r = _import_in_subprocess({"IGD_LIBRARY": str(lib)})
    assert r.returncode != 0
    assert "ImportError" in r.stderr
    assert "implements ABI 2" in r.stderr and "written for ABI 1" in r.stderr


def test_library_loaded_with_cdll_releasing_the_gil():
    assert isinstance(_lib.lib, ctypes.CDLL)
    assert not isinstance(_lib.lib, ctypes.PyDLL)
    assert not _lib.lib._func_flags_ & ctypes._FUNCFLAG_PYTHONAPI


def _header_functions():
    header = REPO / "include" / "igd" / "igd.h"
    if not header.exists():
        pytest.skip("igd.h not found beside the bindings")
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
    out = {}
    for m in re.finditer(r"IGD_API\s+(.*?);", text, flags=re.S):
        decl = " ".join(m.group(1).split())
        name, args = re.match(r".*?\b(igd_\w+)\s*\((.*)\)$", decl).groups()
        out[name] = 0 if args.strip() == "void" else len(args.split(","))
    return out


def test_table_covers_every_public_function():
    declared = _header_functions()
    assert len(declared) > 90
    assert set(_lib.FUNCTIONS) == set(declared)
    for name, count in declared.items():
        assert len(_lib.FUNCTIONS[name][1]) == count, name
        fn = getattr(_lib.lib, name)
        assert len(fn.argtypes) == count, name


def test_table_types_match_the_header():
    """Checks each argument's ctypes type against its C type."""
    header = REPO / "include" / "igd" / "igd.h"
    if not header.exists():
        pytest.skip("igd.h not found")
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
    scalar = {
        "size_t": ctypes.c_size_t, "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64,
        "double": ctypes.c_double, "float": ctypes.c_float, "int": ctypes.c_int,
        "unsigned": ctypes.c_uint,
    }
    for m in re.finditer(r"IGD_API\s+(.*?);", text, flags=re.S):
        decl = " ".join(m.group(1).split())
        ret, name, args = re.match(r"(?:IGD_NODISCARD )?(.*?)\s*\*?\s*\b(igd_\w+)\s*\((.*)\)$",
                                   decl).groups()
        argtypes = _lib.FUNCTIONS[name][1]
        if args.strip() == "void":
            continue
        for arg, ct in zip(args.split(","), argtypes):
            arg = arg.replace("const ", "").strip()
            ctype = arg.rsplit(" ", 1)[0].strip()
            if "*" in arg:
                pointee = arg.split("*")[0].strip()
                if arg.count("*") == 2:
                    assert ct._type_ is ctypes.c_void_p, (name, arg)
                elif pointee in ("char",):
                    assert ct is ctypes.c_char_p, (name, arg)
                elif ct is ctypes.c_void_p:
                    pass  # a buffer or handle passed by address
                else:
                    target = scalar.get(pointee, ctypes.c_int)  # enums are int
                    assert ct._type_ is target, (name, arg)
            elif ctype.endswith("_fn"):
                assert issubclass(ct, ctypes._CFuncPtr), (name, arg)
            elif ctype.startswith("igd_"):
                assert ct is ctypes.c_int, (name, arg)  # an enum
            else:
                assert ct is scalar[ctype], (name, arg)
