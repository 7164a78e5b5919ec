"""Answer the two provenance questions from MLflow and from the outputs themselves.

- :func:`run_provenance`: which data, code and parameters made this run (or registered
  model version)?
- :func:`data_provenance`: which runs read or wrote this version of this dataset (a Kedro
  version or a Pachyderm commit ID)?
"""

from .lookup import data_provenance, model_provenance, run_provenance, stored_record

__all__ = ["data_provenance", "model_provenance", "run_provenance", "stored_record"]
