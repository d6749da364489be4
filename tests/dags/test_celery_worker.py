"""A CeleryExecutor worker starts from the documented install (`pip install -e '.[airflow,celery]'`, which
pins celery below 5.7, the release the Celery provider breaks with), connects to Redis and answers a ping.
Skipped where the celery extra is not installed or no Redis listens on 127.0.0.1:6379."""
from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

def _installed(distribution: str) -> bool:
    """Without importing it: importing airflow here, at collection, would pin AIRFLOW_HOME for every test."""
    try:
        importlib.metadata.distribution(distribution)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


if not (_installed("apache-airflow") and _installed("apache-airflow-providers-celery")):
    pytest.skip("the airflow and celery extras are not installed (pip install -e .[airflow,celery])",
                allow_module_level=True)

pytestmark = pytest.mark.airflow
AIRFLOW = Path(sys.executable).with_name("airflow")
BROKER = "redis://127.0.0.1:6379/15"


def _redis_listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


def test_celery_worker_starts_and_answers(tmp_path):
    if not _redis_listening():
        pytest.skip("no Redis on 127.0.0.1:6379 for the Celery broker")
    import celery
    from celery import Celery
    from packaging.version import Version

    assert Version(celery.__version__) < Version("5.7"), "the celery extra must keep celery below 5.7"
    name = f"forensics-{uuid.uuid4().hex[:8]}@ci"
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
               AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CELERY__BROKER_URL=BROKER,
               AIRFLOW__CELERY__RESULT_BACKEND=BROKER,
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'airflow.db'}")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([str(AIRFLOW), "celery", "worker", "--concurrency", "1", "--celery-hostname", name,
                                   "--queues", f"q-{name}"], stdout=out, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and b" ready." not in log.read_bytes():
            assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
            time.sleep(1)
        assert b" ready." in log.read_bytes(), log.read_text(errors="replace")[-3000:]
        replies = Celery(broker=BROKER).control.ping(destination=[name], timeout=10)
        assert any(name in reply for reply in replies), replies
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
