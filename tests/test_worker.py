"""The worker as an operator runs it: a process that sweeps on an interval and stops cleanly on SIGTERM; and
the holiday table loaded from the command line."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "import sys; from hazard_registry.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("worker")
    env = {**os.environ, "HAZARD_DATA_DIR": str(data), "HAZARD_DATABASE_URL": f"sqlite:///{data / 'w.db'}"}
    done = subprocess.run([*CLI, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return env


def test_worker_sweeps_on_its_interval_and_stops_cleanly_on_sigterm(env):
    proc = subprocess.Popen(
        [*CLI, "worker", "--interval", "0.2", "--no-migrate"], env=env, stderr=subprocess.PIPE, text=True
    )
    log: queue.Queue[str] = queue.Queue()  # read by a thread, so no wait below can outlast its deadline

    def read() -> None:
        for line in proc.stderr:
            log.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any("sweep 2:" in x for x in lines):
            left = deadline - time.monotonic()
            try:
                lines.append(log.get(timeout=max(left, 0)))
            except queue.Empty:
                raise AssertionError(f"no second sweep within 60 s; the worker's log:\n{''.join(lines)}") from None
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # say where it was: the worker's log after the signal
            proc.kill()
            proc.wait()
            reader.join(timeout=5)
            rest = "".join(log.queue)
            raise AssertionError(f"the worker did not stop within 30 s of SIGTERM; its log since:\n{rest}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    rest = "".join(log.queue)
    assert proc.returncode == 0
    assert "worker stopped after" in rest, rest


def test_calendar_load_from_the_command_line(env, tmp_path: Path):
    table = tmp_path / "2027.json"
    table.write_text(json.dumps({"holidays": ["2027-01-01", "2027-10-01"], "workdays": ["2027-09-26"]}))
    done = subprocess.run([*CLI, "calendar", "load", "2027", str(table)], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "2027: 2 holidays, 1 make-up working days" in done.stdout, done.stderr
    table.write_text(json.dumps({"holidays": ["2026-01-01"]}))
    done = subprocess.run([*CLI, "calendar", "load", "2027", str(table)], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "not in 2027" in done.stderr
