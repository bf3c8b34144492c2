"""Reading one pool's share of the feature files: ``python benchmarks/streaming.py [--files N]``.

:func:`ctxlib.learning.reading.stream_batches` takes, for each pool, an equal random share
of every feature file's rows. This times reading such a share (one of ``pools``) of the
first ``N`` paper-scale feature files two ways in the same run: through the file's memory
map (:func:`ctxlib.base.files.npz_memmap`, what the streaming does) and by ``numpy.load``
of the whole member, then the share (the peer: what a reader without the map does). Both
give the same rows (checked). Writes ``benchmarks/results/streaming.json``; run
``python benchmarks/full_scale.py features`` first.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from record import write_result

from ctxlib.base.files import npz_memmap
from ctxlib.base.paths import ROOT

FEATURES = ROOT / "_build" / "data" / "features-full-seed0"


def main(files: int, pools: int) -> dict:
    paths = sorted(FEATURES.glob("*.npz"))[:files]
    if not paths:
        raise SystemExit(f"no feature files in {FEATURES}; run python benchmarks/full_scale.py features first")
    shares = [np.sort(np.random.default_rng(k).permutation(len(npz_memmap(p, ("y",))["y"]))[::pools])
              for k, p in enumerate(paths)]
    seconds, taken = {}, {}
    for way in ("numpy.load, then the share", "memory map"):
        start = time.perf_counter()
        taken[way] = []
        for path, share in zip(paths, shares):
            if way == "memory map":
                taken[way].append(np.asarray(npz_memmap(path, ("X",))["X"][share]))
            else:
                with np.load(path) as data:
                    taken[way].append(data["X"][share])
        seconds[way] = time.perf_counter() - start
    assert all(np.array_equal(a, b) for a, b in zip(*taken.values())), "the two ways read different rows"
    rows = sum(len(t) for t in taken["memory map"])
    result = {"files": len(paths), "pools": pools, "rows": rows,
              "seconds": {way: round(s, 3) for way, s in seconds.items()},
              "rows_per_second": {way: round(rows / s) for way, s in seconds.items()},
              "speed_up": round(seconds["numpy.load, then the share"] / seconds["memory map"], 2)}
    return write_result("streaming", result, f"python benchmarks/streaming.py --files {files} --pools {pools}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=12, help="feature files to read (default 12)")
    parser.add_argument("--pools", type=int, default=7, help="pools an epoch is cut into (paper scale, 8 M rows: 7)")
    args = parser.parse_args()
    print(json.dumps(main(args.files, args.pools), indent=2))
