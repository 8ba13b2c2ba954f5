"""``serve --workers N`` on a TCP port: uvicorn's workers, each listening on a socket of its own.

uvicorn's own supervisor binds one socket and hands it to every worker, and whichever worker wakes first accepts a
whole burst of new connections. A client that keeps a few connections open for long (a reverse proxy's keep-alive
pool, a load generator) can so land nearly all of them on one worker: 31 of 32 in one count, one core busy and the
other idle (benchmarks/RESULTS.md "threads"). Here each worker binds a socket of its own to the same address with
``SO_REUSEPORT``, and the kernel spreads new connections over the workers by a hash of the client's address and
port. The supervisor is uvicorn's worker process (its start-up and health-check pipe) driven by a loop like
uvicorn's ``Multiprocess``: a worker that dies or stops answering is replaced; SIGINT or SIGTERM stops them all.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Process

log = logging.getLogger("uvicorn.error")

# Every worker binds its own socket: without SO_REUSEPORT (not on every system) uvicorn's shared socket stays.
AVAILABLE = hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) beside the other workers' (``SO_REUSEPORT``); the server listens on it."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _Worker(Process):
    """uvicorn's worker process, serving a socket it binds itself."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            sock = listening_socket(self.config.host, self.config.port)
        except OSError as exc:  # the address is taken or not ours: every worker would fail alike
            log.error("cannot listen on %s:%s: %s", self.config.host, self.config.port, exc)
            sys.exit(STARTUP_FAILURE)
        super().target([sock])


class Workers:
    """Starts ``config.workers`` workers and keeps that many serving until SIGINT or SIGTERM."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.processes: list[_Worker] = []
        self.should_exit = threading.Event()
        self.failed = False

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM (0), or until a worker fails to start (uvicorn's STARTUP_FAILURE, 3).
        1 at once if something already listens on the address: sockets with ``SO_REUSEPORT`` would share it with
        an earlier server of the same user (an older one left running) instead of failing, so the address is
        first bound without it."""
        try:
            with socket.socket(_family(self.config.host), socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((self.config.host, self.config.port))
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", self.config.host, self.config.port, exc)
            return 1
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.should_exit.set())
        log.info("Started parent process, %d workers each on a socket of its own", self.config.workers)
        self.processes = [self._start() for _ in range(self.config.workers)]
        while not self.should_exit.wait(0.5):
            self._keep_alive()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join()
        log.info("Stopped parent process")
        return STARTUP_FAILURE if self.failed else 0

    def _start(self) -> _Worker:
        process = _Worker(self.config, [])
        process.start()
        return process

    def _keep_alive(self) -> None:
        for i, process in enumerate(self.processes):
            if self.should_exit.is_set() or process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung or gone
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # the app or the socket is broken: so would a new one be
                log.error("worker [%s] failed to start; stopping", process.pid)
                self.failed = True
                self.should_exit.set()
                return
            log.info("worker [%s] died; starting another", process.pid)
            self.processes[i] = self._start()
