"""The local DAG executor: each step's emitted notebook run by papermill in a fresh kernel.

- ``runner``: scheduling (dependencies, parallelism, cache hits, retry reuse, cancel) and the
  run/step records in the store;
- ``step``: one attempt of one step (papermill, timeout watchdog, failure explained);
- ``reuse``: cache keys and taking over a cached or retried step's outputs;
- ``files``: the files a step wrote into the working folder, kept and restored with it;
- ``parameters``: run parameters typed by the notebook's parameter defaults.

The local backend (``jupyter_kf.backends.local``) prepares a run (snapshot, working folder) and
drives :class:`~jupyter_kf.executor.runner.LocalExecutor`; surfaces go through
``jupyter_kf.service.PipelineService``. Importing this package is cheap.
"""
