"""MLflow tracking, dataset versions and the model registry, used by the project's hooks."""
