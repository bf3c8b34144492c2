"""The local dask cluster of the parallel stages (ctxlib.base.cluster)."""

import os

from dask.distributed import Client

from ctxlib.base.cluster import local_cluster


def _environment() -> dict:
    return {name: os.environ.get(name) for name in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")}


def test_workers_start_without_dasks_malloc_trim_threshold_and_with_one_thread():
    with local_cluster(2) as cluster, Client(cluster) as client:
        assert len(client.nthreads()) == 2 and set(client.nthreads().values()) == {1}
        for environment in client.run(_environment).values():
            assert environment == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}
