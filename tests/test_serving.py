"""``serve --workers N``: each worker listens on a socket of its own (serving.py), so the connections a client
keeps open spread over the workers instead of piling on whichever accepted first."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.live import free_port


def _serve(tmp_path: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")},
        "HAZARD_DATA_DIR": str(tmp_path),
        "HAZARD_SERVE_SWEEP": "off",
        "HAZARD_JWT_SECRET": "x" * 48,
    }
    cmd = [sys.executable, "-m", "hazard_registry.cli", "serve", "--workers", str(workers), "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _workers(parent: int) -> set[int]:
    """The parent's children that listen (the workers; multiprocessing's resource tracker does not)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return {int(pid) for pid in children if _sockets(int(pid), listening=True)}


def _sockets(pid: int, *, listening: bool, port: int | None = None) -> set[int]:
    """Inodes of the TCP sockets ``pid`` holds that listen, or that are connected (to ``port`` on this side)."""
    state = "0A" if listening else "01"
    wanted = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == state and (port is None or local_port == port):
                wanted.add(int(fields[9]))
    held = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # gone meanwhile
        return held
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in wanted:
            held.add(int(target[8:-1]))
    return held


def _wait_for(predicate, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_kept_connections_spread_over_the_workers_and_a_dead_worker_is_replaced(tmp_path):
    port = free_port()
    proc = _serve(tmp_path, port, 2)
    try:
        _wait_for(lambda: proc.poll() is None and len(_workers(proc.pid)) == 2, "two workers did not come up")
        a, b = (_sockets(pid, listening=True) for pid in _workers(proc.pid))
        assert a and b and not a & b, "each worker listens on a socket of its own, not one shared socket"
        # 32 connections opened at once and kept open, as a proxy's keep-alive pool or a load generator opens them
        # (opened one after the other, each accepted before the next, they split evenly anyway)
        connections = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(32)]
        try:
            for conn in connections:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert all(conn.recv(1024).startswith(b"HTTP/1.1 200") for conn in connections)
            held = Counter({pid: len(_sockets(pid, listening=False, port=port)) for pid in _workers(proc.pid)})
        finally:
            for conn in connections:
                conn.close()
        assert sum(held.values()) == 32, held
        # Shared-socket serving gave splits such as 31/1 and 2/30; a hash of the client's port gives ~16 ± 3.
        assert min(held.values()) >= 6, held

        victim = min(held)
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: len(_workers(proc.pid) - {victim}) == 2, "the dead worker was not replaced")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            assert c.get("/healthz").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode(errors="replace")


def test_a_second_server_on_a_taken_port_fails_instead_of_sharing_it(tmp_path):
    """Sockets with SO_REUSEPORT would join a server already listening there (an older one left running) and take
    half its connections; the supervisor first binds the address without it, and stops with an error."""
    port = free_port()
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as one of our own workers binds
        taken.bind(("127.0.0.1", port))
        taken.listen()
        proc = _serve(tmp_path, port, 2)
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out.decode(errors="replace")
    assert "cannot listen on 127.0.0.1:" in out.decode(errors="replace")
