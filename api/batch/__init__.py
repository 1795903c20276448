"""Batch analytics on Dask: the stored history partitioned spatially, one task per partition.

:mod:`api.batch.runner` maps the per-partition steps of :mod:`gis_core.batch`
over a ``distributed`` cluster (a LocalCluster of processes by default, or a
scheduler's address); each task reads its partition from PostGIS and writes
its results back with COPY on its own connection. :mod:`api.batch.cli` is the
``gridgov analytics run`` command.
"""
