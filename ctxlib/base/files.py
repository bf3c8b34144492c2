"""Safe writes and checksums: every artifact ctxlib writes goes through here.

In: a path and a function that writes bytes to a handle. Out: the file, complete or not
there at all (a stop mid-write leaves no half-written file that later reads as valid),
and SHA-256 digests that stamps and manifests record.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place.

    Parameters
    ----------
    path
        The file to create or replace.
    write
        Writes the whole content to the binary handle it is given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block: processes that take the same
    lock run their blocks one after the other (POSIX ``flock``; released when the block ends or the process dies)."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digest(*modules: str) -> str:
    """SHA-256 over the code of the named modules (``"ctxlib.simulation.noise"``, ...), in the order given.

    Stamps record it so that a change of the code that made an artifact rebuilds the
    artifact, whether or not the package version was raised. Docstrings, comments and layout
    are not code: each module is digested as its syntax tree without docstrings
    (:func:`code_text`), so editing them rebuilds nothing.
    """
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"module {name!r} has no source file to digest")
        digest.update(name.encode() + b"\0" + code_text(Path(spec.origin).read_text()).encode() + b"\0")
    return digest.hexdigest()


def code_text(source: str) -> str:
    r"""Python source as its syntax tree without docstrings, unparsed: what :func:`source_digest` hashes.

    >>> code_text('def f(x):\n    "Twice x."\n    return 2 * x  # doubled\n')
    'def f(x):\n    return 2 * x'
    """
    import ast

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def tree_digest(*paths: Path) -> str:
    """SHA-256 over the files under ``paths`` (files or folders), by path and bytes, in sorted order.

    Hidden files and folders (a name starting with ``.``) and ``__pycache__`` are left out: they
    are caches and locks, not inputs.
    """
    digest = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            parts = path.relative_to(root.parent).parts
            if not path.is_file() or any(part.startswith(".") or part == "__pycache__" for part in parts):
                continue
            digest.update("/".join(parts).encode() + b"\0" + sha256(path).encode() + b"\0")
    return digest.hexdigest()


def write_npz(handle: BinaryIO, **arrays) -> None:
    """``numpy.savez`` with fixed entry dates, so that equal arrays give equal bytes (uncompressed)."""
    import zipfile

    import numpy as np

    with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(value), allow_pickle=False)


def npz_memmap(path: Path, names: tuple[str, ...]) -> dict:
    """Read-only memory maps of members of an uncompressed ``.npz`` (as :func:`write_npz` writes them).

    Rows taken from a map are read from the file (or the page cache) alone, where
    ``numpy.load`` reads a whole member: a reader that wants a share of a large file's rows
    reads that share. A compressed member is refused (it has no bytes to map).
    """
    import struct
    import zipfile

    import numpy as np

    maps = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        for name in names:
            info = archive.getinfo(f"{name}.npy")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path}: member {name}.npy is compressed; only stored members can be mapped")
            handle.seek(info.header_offset)
            header = handle.read(30)
            if header[:4] != b"PK\x03\x04":
                raise ValueError(f"{path}: no local file header for {name}.npy at byte {info.header_offset}")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(handle)
            maps[name] = (np.memmap(path, dtype=dtype, mode="r", offset=handle.tell(), shape=shape,
                                    order="F" if fortran_order else "C") if np.prod(shape) else np.zeros(shape, dtype))
    return maps
