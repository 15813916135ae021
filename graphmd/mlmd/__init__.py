"""MLMD interoperability: MLMD protos <-> graphmd models, an MLMD-compatible gRPC server, and
moving whole stores between ml-metadata and graphmd (``_import``, ``_export``, ``_compare``).

This subpackage needs the ``mlmd`` extra (``pip install '/path/to/graphmd-clone[mlmd]'``: ml-metadata,
grpcio, grpcio-health-checking). ``import graphmd`` never imports it; import ``graphmd.mlmd._convert``
or ``graphmd.mlmd.server`` where you need them.
"""
