"""graphmd's benchmark against ml-metadata 1.17.1 on the same workloads (`python -m bench`).

_history: the workloads' data (the TFX-like pipeline of graphmd._tfx_pipeline, files);
_backends: the two stores behind one interface; _workloads: W1 record, W2 bulk, the query
timings; _suite: one run of every workload on both stores; _report: the table and machine.
"""
