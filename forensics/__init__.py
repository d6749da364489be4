"""Pure evidence processing: opens images read-only and yields records.

This package never imports airflow, sqlalchemy or evidence_store (see
tests/test_layers.py). Functions take a locator or a path and yield the frozen
dataclasses of :mod:`forensics.models`.
"""
from __future__ import annotations

__version__ = "0.1.0"
TOOL_NAME = "forensics-pipeline"
