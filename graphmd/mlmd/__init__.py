"""MLMD interoperability: MLMD protos <-> graphmd models, and an MLMD-compatible gRPC server.

This subpackage needs the ``mlmd`` extra (``pip install 'graphmd[mlmd]'``: ml-metadata, grpcio,
grpcio-health-checking). ``import graphmd`` never imports it; import ``graphmd.mlmd._convert``
or ``graphmd.mlmd.server`` where you need them.
"""
