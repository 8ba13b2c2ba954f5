"""The background worker: an escalation sweep and a delivery of due notices every ``interval`` seconds
until told to stop.

``hazard-registry worker`` runs it in the foreground and stops cleanly on SIGTERM or SIGINT: the sweep under
way finishes its current transaction, nothing is cut in half (a sweep is also safe to kill outright; the next
one finishes the job). With the embedded default, ``serve`` runs the same loop in a thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hazard_registry import clock
from hazard_registry.config import Settings
from hazard_registry.notices.deliver import deliver_due
from hazard_registry.notices.reminders import queue_reminders
from hazard_registry.supervision import listeners
from hazard_registry.supervision.engine import run_once
from hazard_registry.upward.service import auto_push

log = logging.getLogger("hazard_registry.worker")


class Worker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        interval: float,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.session_factory, self.settings, self.interval, self.now = session_factory, settings, interval, now
        listeners.install()  # a hazard changed by the sweep rebuilds its timers as one changed by a request
        self.stopping = threading.Event()
        self.sweeps = 0

    def tick(self) -> None:
        """One sweep, the reminders and the quarter's upward reports that are due, then the notices that are due
        (those of this sweep's measures among them)."""

        result = run_once(self.session_factory, self.now(), cutoff=self.settings.campaign_cutoff)
        self.sweeps += 1
        log.info(
            "sweep %d: %d proposed, %d issued, %d timers waiting for a holiday table",
            self.sweeps,
            result.proposed,
            result.issued,
            result.waiting_for_calendar,
        )
        with self.session_factory() as session:
            reminded = queue_reminders(session, self.now())
            session.commit()
        if reminded:
            log.info("reminders: %d queued", reminded)
        pushed = auto_push(self.session_factory, self.settings, self.now())
        if pushed:
            log.info("upward reports: %d queued", pushed)
        sent = deliver_due(self.session_factory, self.settings, self.now())
        if sent.sent or sent.retried or sent.dead:
            log.info("notices: %d sent, %d to retry, %d dead", sent.sent, sent.retried, sent.dead)

    def run(self) -> None:
        log.info("worker started: a sweep every %s s", self.interval)
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # a failed sweep is logged and retried at the next interval; the loop lives on
                log.exception("sweep failed")
            self.stopping.wait(self.interval)
        log.info("worker stopped after %d sweeps", self.sweeps)

    def stop(self, *_args: object) -> None:
        self.stopping.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="hazard-sweep", daemon=True)
        thread.start()
        return thread
