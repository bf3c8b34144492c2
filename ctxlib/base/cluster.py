"""The local dask cluster of the stages that compute in parallel (library scans, features).

dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536`` so that
freed memory goes back to the system at once. Setting it also fixes glibc's threshold for
serving an allocation from its own pages (mmap) at 128 KB: every array of a batch is then
mapped afresh and faulted in page by page, and the feature run was 35-45 % slower in the
workers than in a plain process on this machine (``benchmarks/dataset_speed.py``). The
workers here start without it, with glibc's adaptive thresholds. Workers of a cluster of
your own (``scheduler=``) keep whatever environment you start them with.
"""

from __future__ import annotations


def local_cluster(workers: int, processes: bool = True):
    """A ``dask.distributed.LocalCluster`` of ``workers`` single-threaded processes (or, with
    ``processes=False``, one process of ``workers`` threads), dashboard on a free port, whose
    worker processes start without dask's ``MALLOC_TRIM_THRESHOLD_``."""
    import dask
    from dask.distributed import LocalCluster

    environ = {name: value for name, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
               if name != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(processes=processes, n_workers=workers if processes else 1,
                            threads_per_worker=1 if processes else workers, dashboard_address=":0")
