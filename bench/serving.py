"""Shared by the benches that serve the app: a free port on 127.0.0.1, gunicorn, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict, port: int, workers: int, threads: int, stderr=None, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """gunicorn serving this checkout's portal on 127.0.0.1:``port``, once /healthz answers.
    PYTHONPATH puts the checkout first, so the workers import it and not whatever the venv's
    editable install points at."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        [str(gunicorn), "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", *extra, "portal:create_app()"],
        env=env, cwd=REPO, stderr=stderr,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return process
        except Exception:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def percentiles(samples):
    """(p50, p95) in milliseconds of durations in seconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000
