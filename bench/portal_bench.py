"""Portal under load while an exhibit is processed: requests/s, latency, and the cost to processing.

    .venv/bin/python bench/portal_bench.py [--sessions 16] [--seconds 30]

Builds the demo case in a temporary directory, starts ``forensics serve`` (one uvicorn process,
loopback only) and drives it with SESSIONS signed-in sessions for SECONDS (pages, listings,
progress polls, and content/thumbnail views that each write a custody event). The same exhibit
image is processed twice with ``forensics process``: once with the portal idle, once under the
load. Reports requests/s, p50/p95/p99 latency, errors, the processing wall times and their ratio
(stated margin: processing under load may take at most MARGIN x its idle time on this 2-core
machine, where the server and the pipeline share the CPUs), and checks that custody events
equal the views served (none lost, none duplicated) and that the chain verifies.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARGIN = 1.5
PASSWORD = "correct horse battery staple"
FORENSICS = [sys.executable, "-m", "evidence_store.cli"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


errors_seen: list[str] = []


async def _session(base: str, name: str, ids: dict, stop: asyncio.Event, ready: list, results: list,
                   served: list, think: float) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await http.post("/login", data={"username": name, "password": PASSWORD})
        ready.append(name)
        rng = random.Random(name)
        while not stop.is_set():
            kind = rng.choice(["cases", "files", "findings", "progress", "page", "content", "thumbnail"])
            url = {"cases": "/api/cases", "files": "/api/cases/DEMO-001/files?limit=100",
                   "findings": "/api/cases/DEMO-001/findings", "progress": "/api/cases/DEMO-001/exhibits/LOAD-1/progress",
                   "page": "/cases/DEMO-001/files?exhibit=EX-1",
                   "content": f"/api/files/{ids['text']}/content?purpose=load-test",
                   "thumbnail": f"/api/files/{ids['photo']}/thumbnail?purpose=load-test"}[kind]
            started = time.monotonic()
            try:
                response = await http.get(url)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = 0
                errors_seen.append(f"{kind}: {type(exc).__name__}: {exc}")
            results.append((kind, status, time.monotonic() - started))
            if kind in ("content", "thumbnail") and status == 200:
                served.append(kind)
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


def _process(db_url: str, exhibit: str, env: dict) -> float:
    started = time.monotonic()
    subprocess.run([*FORENSICS, "--db", db_url, "process", "--case", "DEMO-001", "--exhibit", exhibit], env=env,
                   check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30, help="load time per loaded run (at least the run)")
    parser.add_argument("--think", type=float, default=0.5,
                        help="seconds a session waits between requests (0: as fast as the server answers)")
    args = parser.parse_args()
    if not 1 <= args.sessions <= 64 or not 1 <= args.seconds <= 300:
        sys.exit("bounded: 1-64 sessions, 1-300 seconds")
    from sqlalchemy import func, select

    from evidence_store.accounts import add_user
    from evidence_store.custody.service import verify
    from evidence_store.db import Database
    from evidence_store.intake import add_exhibit
    from evidence_store.models import CustodyEvent, FileEntry

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        env = dict(os.environ, FORENSICS_KEY_DIR=f"{tmp}/keys", FORENSICS_DATA_DIR=f"{tmp}/data")
        url = f"sqlite:///{tmp}/cases.db"
        subprocess.run([*FORENSICS, "--db", url, "demo", "--workdir", f"{tmp}/demo"], env=env, check=True,
                       capture_output=True)
        os.environ.update(FORENSICS_DATA_DIR=f"{tmp}/data")
        db = Database(url)
        image = str(Path(tmp, "demo", "sample-disk.raw"))
        for number in ("IDLE-1", "LOAD-1", "IDLE-2", "LOAD-2"):
            add_exhibit(db, "DEMO-001", number, image, "bench")
        names = [f"examiner-{i}" for i in range(args.sessions)]
        windows: list[float] = []
        for name in names:
            add_user(db, name, "examiner", PASSWORD, ["DEMO-001"])
        with db.session() as session:
            ids = {"text": session.scalar(select(FileEntry.id).where(FileEntry.path == "/docs/readme.txt")),
                   "photo": session.scalar(select(FileEntry.id).where(FileEntry.path == "/photos/beach_2019.jpg"))}

        def views() -> int:
            with db.session() as session:
                return session.scalar(select(func.count()).select_from(CustodyEvent).where(
                    CustodyEvent.action == "view", CustodyEvent.purpose == "load-test")) or 0

        port = _port()
        server = subprocess.Popen([*FORENSICS, "--db", url, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        idle, loaded, results, served = [], [], [], []
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.2)
            before = views()
            for run in (1, 2):                  # alternate: idle, loaded, idle, loaded
                idle.append(_process(url, f"IDLE-{run}", env))

                async def loaded_run(run=run):
                    stop, ready = asyncio.Event(), []
                    task = asyncio.gather(*(_session(f"http://127.0.0.1:{port}", name, ids, stop, ready, results,
                                                     served, args.think) for name in names))
                    while len(ready) < len(names):              # everyone signed in before the clock starts
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(1)
                    window = time.monotonic()
                    seconds = await asyncio.to_thread(_process, url, f"LOAD-{run}", env)
                    rest = args.seconds - (time.monotonic() - window)
                    if rest > 0:
                        await asyncio.sleep(rest)
                    stop.set()
                    await task
                    return seconds, time.monotonic() - window

                seconds, window = asyncio.run(loaded_run())
                loaded.append(seconds)
                windows.append(window)
            after = views()
        finally:
            server.terminate()
            server.wait(timeout=10)
        reports, _ = verify(db, "DEMO-001")
        db.dispose()

    latencies = sorted(r[2] for r in results)
    errors = sum(1 for r in results if r[1] not in (200,))
    quantile = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"portal: {args.sessions} sessions for {args.seconds:.0f} s on loopback, one uvicorn process, "
          f"think time {args.think:g} s")
    statuses = sorted({(r[0], r[1]) for r in results if r[1] != 200})
    elapsed = sum(windows)
    print(f"  requests {len(results):,} = {len(results) / elapsed:,.0f}/s; errors {errors} "
          f"{[(k, s, sum(1 for r in results if (r[0], r[1]) == (k, s))) for k, s in statuses]}")
    print(f"  latency p50 {quantile(0.50):.0f} ms, p95 {quantile(0.95):.0f} ms, p99 {quantile(0.99):.0f} ms, "
          f"mean {statistics.mean(latencies) * 1000:.0f} ms")
    for kind in sorted({r[0] for r in results}):
        times = sorted(r[2] for r in results if r[0] == kind)
        print(f"    {kind:<10} {len(times):>6} requests, p95 {times[min(len(times) - 1, int(0.95 * len(times)))] * 1000:.0f} ms")
    ratio = statistics.median(loaded) / statistics.median(idle)
    print(f"processing the 64 MiB demo image: idle {', '.join(f'{x:.1f}' for x in idle)} s, under load "
          f"{', '.join(f'{x:.1f}' for x in loaded)} s; median ratio {ratio:.2f} "
          f"(stated margin <= {MARGIN}: {'met' if ratio <= MARGIN else 'NOT met'})")
    print(f"custody: {len(served)} views served, {after - before} view events recorded "
          f"({'exact' if len(served) == after - before else 'MISMATCH'}); chain "
          f"{'verifies' if all(r.ok for r in reports) else 'FAILS'} ({reports[0].events} events)")


if __name__ == "__main__":
    main()
