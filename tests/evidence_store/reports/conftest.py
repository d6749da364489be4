"""Fixtures for report tests: the demo's sample disk, built once, and the demo case processed on it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import require_tools


@pytest.fixture(scope="session")
def demo_image(tmp_path_factory) -> Path:
    """The demo disk: sample tree + a photo with a YARA marker, a known-bad binary, a resized re-encoded
    copy of the restricted PDQ reference, and a JPEG before the first partition (only carving finds it)."""
    require_tools("sfdisk", "mkfs.vfat", "mcopy", "mke2fs", "debugfs")
    from forensics.demo_material import UNPARTITIONED_OFFSET, demo_material
    from forensics.sample import build_sample_image

    material = demo_material()
    path = tmp_path_factory.mktemp("demo-image") / "demo-disk.raw"
    build_sample_image(path, extra_files=material.files, unpartitioned=(UNPARTITIONED_OFFSET, material.unpartitioned))
    path.chmod(0o444)
    return path


@pytest.fixture(scope="module")
def demo_case(tmp_path_factory, demo_image):
    """``forensics demo`` run on a fresh SQLite database: issued report DEMO-001-R001 (module-scoped)."""
    from evidence_store.db import Database
    from evidence_store.demo import run_demo

    root = tmp_path_factory.mktemp("demo-case")
    workdir = root / "demo"
    workdir.mkdir()
    shutil.copyfile(demo_image, workdir / "sample-disk.raw")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FORENSICS_KEY_DIR", str(root / "keys"))
        db = Database(f"sqlite:///{root / 'cases.db'}")
        db.migrate()
        result = run_demo(db, workdir, _Silent(), lambda text: None)
        yield db, result, root
        db.dispose()


class _Silent:
    def phase(self, label, total):
        return lambda n: None
