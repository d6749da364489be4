"""The pipeline's stages: the registry (``registry.STAGES``) and one module per stage family.

This package's ``__init__`` and ``registry`` import nothing heavy, so the Airflow DAG file can
build its tasks from the registry at parse time.
"""
