"""Shared fixtures: case databases on SQLite (always) and PostgreSQL (when reachable)."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
PG_ADMIN_URL = os.environ.get("FORENSICS_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def corpus_path(relative: str) -> Path:
    """A file of ../shared/corpus, or skip the test when the corpus is absent."""
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"corpus file {relative} not available")
    return path


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None and not Path("/usr/sbin", n).exists()]
    if missing:
        pytest.skip(f"tools not installed: {', '.join(missing)}")


def _postgres_available() -> bool:
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable here"
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    if not _postgres_available():
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    return PG_ADMIN_URL


def _new_pg_database(admin_url: str) -> tuple[str, callable]:
    import sqlalchemy

    name = f"forensics_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, monkeypatch):
    """A migrated, empty case database on each back end (files beside it in tmp_path)."""
    from evidence_store.db import Database

    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'case.db'}")
        drop = None
    else:
        admin_url = request.getfixturevalue("postgres_admin_url")
        url, drop = _new_pg_database(admin_url)
        monkeypatch.setenv("FORENSICS_DATA_DIR", str(tmp_path / "data"))
        database = Database(url)
    database.migrate()
    yield database
    database.dispose()
    if drop:
        drop()


@pytest.fixture
def sqlite_db(tmp_path):
    from evidence_store.db import Database

    database = Database(f"sqlite:///{tmp_path / 'case.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def sample_image(tmp_path_factory):
    """The project's own partitioned FAT + ext4 sample disk (built once per session)."""
    require_tools("sfdisk", "mkfs.vfat", "mcopy", "mke2fs", "debugfs")
    from forensics.sample import build_sample_image

    return build_sample_image(tmp_path_factory.mktemp("sample") / "disk.raw")

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


def cli_for(url: str):
    """``cli(*args, code=0)``: runs ``forensics --db URL args`` in-process, checks the exit status, returns
    what it printed."""
    from click.testing import CliRunner

    from evidence_store.cli import main

    def cli(*args, code=0):
        result = CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output
    return cli


def exhibit_cli(tmp_path: Path, monkeypatch, image: Path, case: str = "C-1", exhibit: str = "E-1"):
    """(cli, url): a new SQLite case database in ``tmp_path`` (signing keys there too) with ``image``
    registered as ``exhibit`` of ``case``."""
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    cli = cli_for(url)
    cli("case", "create", case)
    cli("evidence", "add", str(image), "--case", case, "--exhibit", exhibit, "--examiner", "t")
    return cli, url


@contextmanager
def ntfs_mounted(tmp_path: Path, size_mib: int = 16):
    """An NTFS volume (mkntfs) mounted read-write with ntfs-3g (named streams as ``file:stream``): yields
    (image, mount point) and unmounts; skips the test where mkntfs, ntfs-3g or FUSE is missing."""
    require_tools("mkntfs", "ntfs-3g")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no FUSE here to write an NTFS volume with ntfs-3g")
    image = tmp_path / "ntfs.img"
    with open(image, "wb") as handle:
        handle.truncate(size_mib << 20)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", str(image)], check=True, capture_output=True)
    mount = tmp_path / "mnt"
    mount.mkdir()
    if subprocess.run(["ntfs-3g", "-o", "streams_interface=windows", str(image), str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("ntfs-3g cannot mount here")
    try:
        yield image, mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)
