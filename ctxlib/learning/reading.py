"""Reading the feature files of :mod:`ctxlib.learning.dataset`: stamps, digest, splits, loads and streamed batches.

A file is read whole (``np.load`` of an uncompressed ``.npz``), one at a time, so the
paper's ~55 M rows never need to be in memory at once (:func:`iter_feature_chunks`,
:func:`stream_batches`). The splits (:func:`chunk_splits`) are drawn per file, seeded by
the doped host, so they are the same however the files are read.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from ctxlib.base.files import npz_memmap, sha256
from ctxlib.materials.catalog import DETECTORS, ENERGIES_KEV, UNDOPED, check_choice, parse_pair_name, trained_pairs
from ctxlib.materials.motifs import CLASS_NAMES


def stamp_of(path: Path) -> dict | None:
    """What a feature file was made from (its stamp), or None if there is no readable stamp."""
    try:
        with np.load(path) as data:
            return json.loads(str(data["stamp"]))
    except (OSError, ValueError, KeyError):
        return None


def features_digest(directory: str | Path) -> str:
    """SHA-256 over the names, stamps and bytes of the feature files: which data a model was trained on.

    Hashed once a process for the same files (the same inode, size and modification time:
    the paper's ~7 GB take seconds to hash); a file written again is read again.
    """
    paths = sorted(Path(directory).glob("*.npz"))
    if not paths:
        raise FileNotFoundError(f"no feature files in {directory}; run ctxlib.learning.dataset.build_features first")
    return _digest(tuple((p, *_identity(p.stat())) for p in paths))


def _identity(stat) -> tuple[int, int, int]:
    """What tells a file written again from the one hashed before: inode, size, modification time (ns)."""
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=8)
def _digest(files: tuple[tuple, ...]) -> str:
    import hashlib

    lines = [f"{p.stem}:{json.dumps(stamp_of(p), sort_keys=True)}:{sha256(p)}\n" for p, *_ in files]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def feature_stamps(directory: str | Path) -> dict[str, dict | None]:
    """The stamp of every feature file in ``directory`` (``host-dopant`` -> stamp)."""
    return {p.stem: stamp_of(p) for p in sorted(Path(directory).glob("*.npz"))}


def _read_chunk(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files if k != "stamp"}


def iter_feature_chunks(directory: str | Path) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """Yield ``(host-dopant, arrays)`` one feature file at a time (bounded memory)."""
    for path in sorted(Path(directory).glob("*.npz")):
        yield path.stem, _read_chunk(path)


def _part_mask(name: str, arrays: dict[str, np.ndarray], split: str | None, part: str, seed: int,
               **split_options) -> np.ndarray:
    """Which rows of one feature file are in ``part`` ("train"/"test") of ``split`` (all if ``split`` is None)."""
    check_choice(part, ("train", "test"), "part")
    if split is None:
        return np.ones(len(arrays["y"]), bool)
    masks = chunk_splits(name, arrays, seed=seed, **split_options)
    test = masks[check_choice(split, tuple(masks), "split")]
    return test if part == "test" else ~test


def _split_rows(name: str, arrays: dict[str, np.ndarray], split: str | None, part: str, seed: int,
                **split_options) -> dict[str, np.ndarray]:
    """The rows of ``part`` ("train"/"test") of ``split`` in one feature file (all rows if ``split`` is None)."""
    if split is None:
        check_choice(part, ("train", "test"), "part")
        return arrays
    keep = _part_mask(name, arrays, split, part, seed, **split_options)
    return {k: v[keep] for k, v in arrays.items()}


def iter_split_chunks(
    directory: str | Path, split: str | None = None, *, part: str = "train", seed: int = 0, **split_options
) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """Like :func:`iter_feature_chunks`, keeping only the rows of one ``part`` ("train" or "test") of a split.

    ``split`` is one of the keys of :func:`chunk_splits` (``"random"``, ``"host"``,
    ``"energy"``), or None for every row.
    """
    for name, arrays in iter_feature_chunks(directory):
        yield name, _split_rows(name, arrays, split, part, seed, **split_options)


def load_features(
    directory: str | Path, split: str | None = None, *, part: str = "train", seed: int = 0, **split_options
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Feature files in memory: X (N, 31) float32, y (N,) int8, and a metadata table per row.

    With ``split``, only the rows of ``part`` of that split (see :func:`iter_split_chunks`).
    """
    X, y, meta = [], [], []
    for name, arrays in iter_split_chunks(directory, split, part=part, seed=seed, **split_options):
        host, dopant = parse_pair_name(name)
        X.append(arrays["X"])
        y.append(arrays["y"])
        meta.append(pd.DataFrame({
            "host": host, "dopant": dopant or UNDOPED, "energy": arrays["energy"],
            "detector": np.array(list(DETECTORS))[arrays["detector"]],
            "motif": arrays["motif"], "realisation": arrays["realisation"],
        }))
    if not X:
        raise FileNotFoundError(f"no feature files in {directory}; run ctxlib.learning.dataset.build_features first")
    return np.concatenate(X), np.concatenate(y), pd.concat(meta, ignore_index=True)


def stream_batches(
    directory: str | Path, batch_size: int, rng: np.random.Generator, *, split: str = "random", part: str = "train",
    seed: int = 0, buffer_rows: int = 8_000_000, **split_options,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of shuffled ``(X, y)`` batches of a split's part, streamed from the feature files.

    The epoch is cut into ``ceil(rows / buffer_rows)`` pools, and every pool holds an equal
    random share of every file's rows, read from the file's memory map
    (:func:`ctxlib.base.files.npz_memmap`): the pool is shuffled and cut into batches, and
    the rows left over join the next pool. Every row is used exactly once per epoch, every
    batch mixes all doped hosts, and memory stays at about ``buffer_rows`` x 31 x 4 bytes.
    (Pools of whole files, as this function made them before, fed a model a few hosts at a
    time: a model that cannot tell the hosts apart, MLP-NoContext, then followed the hosts
    of the last pools and scored 0.76 on the test rows at the paper's scale, against 0.81
    at the quick scale.) At the quick scale the whole training set fits in one pool, a full
    shuffle.
    """
    paths = sorted(Path(directory).glob("*.npz"))
    if not paths:
        raise FileNotFoundError(f"no feature files in {directory}; run ctxlib.learning.dataset.build_features first")
    if buffer_rows < 1:
        raise ValueError(f"buffer_rows must be a positive number of rows, got {buffer_rows}")
    order = [paths[i] for i in rng.permutation(len(paths))]
    maps = [npz_memmap(path, ("X", "y", "energy")) for path in order]
    pools = -(-sum(len(m["y"]) for m in maps) // buffer_rows)
    shares = rng.integers(2**63, size=len(order)) if pools > 1 else [None] * len(order)  # a row order per file
    left: list[tuple[np.ndarray, np.ndarray]] = []  # the rows a pool leaves to the next
    for pool in range(pools):
        parts = list(left)
        for path, arrays, share in zip(order, maps, shares):
            rows = np.flatnonzero(_part_mask(path.stem, arrays, split, part, seed, **split_options))
            if share is not None:
                rows = np.sort(rows[np.random.default_rng(share).permutation(len(rows))[pool::pools]])
            parts.append((np.asarray(arrays["X"][rows]), np.asarray(arrays["y"][rows])))
        X, y = np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])
        shuffle = rng.permutation(len(y))
        X, y = X[shuffle], y[shuffle]
        stop = len(y) if pool == pools - 1 else len(y) - len(y) % batch_size
        for start in range(0, stop, batch_size):
            yield X[start:start + batch_size], y[start:start + batch_size]
        left = [(X[stop:], y[stop:])]


def random_split(n: int, test_fraction: float = 0.2, *, seed: int | list[int] = 0) -> np.ndarray:
    """Boolean test mask: a seeded random ``test_fraction`` of ``n`` rows (the paper's 80/20)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(seed).permutation(n)[: int(round(test_fraction * n))]] = True
    return test


def chunk_splits(
    name: str, arrays: dict[str, np.ndarray], *, seed: int = 0, test_fraction: float = 0.2,
    holdout_host: str = "MoS2", holdout_energy_kev: int = 100,
) -> dict[str, np.ndarray]:
    """Test masks of one feature file (a pair name, ``host-dopant`` or ``host-none``) for the three splits.

    ``random`` draws ``test_fraction`` of the file's rows with a seed derived from
    ``seed`` and the doped host, so a split is the same whether the files are read one at
    a time (paper scale) or together; ``host`` holds out every row of one host material;
    ``energy`` every row at one beam energy.
    """
    host, dopant = parse_pair_name(name)
    n = len(arrays["y"])
    return {
        "random": random_split(n, test_fraction, seed=[seed, trained_pairs().index((host, dopant))]),
        "host": np.full(n, host == holdout_host),
        "energy": arrays["energy"] == check_choice(holdout_energy_kev, ENERGIES_KEV, "held-out energy (keV)"),
    }


def summarise_features(directory: str | Path, seed: int = 0, **split_options) -> pd.DataFrame:
    """Rows per split (train/test) and class, reading one feature file at a time."""
    counts: dict[tuple[str, str], np.ndarray] = {}
    for name, arrays in iter_feature_chunks(directory):
        for split, test in chunk_splits(name, arrays, seed=seed, **split_options).items():
            for part, mask in (("train", ~test), ("test", test)):
                counts[(split, part)] = counts.get((split, part), 0) + np.bincount(arrays["y"][mask], minlength=len(CLASS_NAMES))
    table = pd.DataFrame(counts, index=list(CLASS_NAMES)).T
    table.index.names = ["split", "part"]
    table["rows"] = table.sum(axis=1)
    return table
