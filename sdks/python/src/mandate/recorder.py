"""Actions recorded as events without making the agent wait: each is held
in memory, and a background thread posts them in batches (up to MAX_BATCH,
or whatever arrived within LINGER), retrying with backoff while the server
cannot take them; a retried batch keeps its event ids, so the server stores
each event once. What the process holds is bounded (`capacity`, counting
the batch being sent): when it is full a new record is refused and counted
as dropped, never blocking the agent."""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Deque, Dict, List

from .client import Client
from .errors import ApiError, MandateError
from .retry import Backoff
from .types import Stop

#: Events in one request, at most (the API takes 1,000).
MAX_BATCH = 500
#: How long the first event of a batch waits for others, in seconds.
LINGER = 0.05
#: Events held at most, by default.
CAPACITY = 10_000

log = logging.getLogger("mandate.recorder")


@dataclass(frozen=True)
class Counts:
    """What became of the events recorded so far."""

    queued: int
    #: Stored, or already stored (a replay is a no-op).
    sent: int
    #: Refused by the server, each with its reason in the log.
    rejected: int
    #: Not kept: the buffer was full.
    dropped: int
    #: Requests that delivered a batch.
    batches: int


class Recorder:
    def __init__(self, client: Client, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("a recorder holds at least one event")
        self._client = client
        self.capacity = capacity
        self._cond = threading.Condition()
        self._waiting: Deque[Dict[str, Any]] = collections.deque()
        self._held = 0
        self._queued = self._sent = self._rejected = self._dropped = self._batches = 0
        self._stopped: Dict[str, Stop] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._send, name="mandate-recorder", daemon=True)
        self._thread.start()

    def record(self, event: Dict[str, Any]) -> bool:
        """Keeps `event` to send; never waits. False when the buffer is full
        (the event is counted as dropped)."""
        with self._cond:
            if self._held >= self.capacity:
                self._dropped += 1
                if self._dropped % 1000 == 1:
                    log.warning(
                        "the buffer holds %d events, the most it may: %d dropped so far", self.capacity, self._dropped
                    )
                return False
            self._held += 1
            self._queued += 1
            self._waiting.append(event)
            self._cond.notify()
        return True

    def counts(self) -> Counts:
        with self._cond:
            return Counts(self._queued, self._sent, self._rejected, self._dropped, self._batches)

    def stopped(self) -> Dict[str, Stop]:
        """The stops the server said hold on the agents of the events sent."""
        with self._cond:
            return dict(self._stopped)

    def flush(self, timeout: float) -> bool:
        """Waits until every event recorded so far is sent or refused, at
        most `timeout` seconds; whether it got there."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._sent + self._rejected < self._queued:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _next_batch(self) -> List[Dict[str, Any]]:
        with self._cond:
            while not self._waiting and not self._closed:
                self._cond.wait()
            if not self._waiting:
                return []
            batch = [self._waiting.popleft()]
            until = time.monotonic() + LINGER
            while len(batch) < MAX_BATCH:
                if self._waiting:
                    batch.append(self._waiting.popleft())
                    continue
                left = until - time.monotonic()
                if left <= 0 or self._closed:
                    break
                self._cond.wait(left)
            return batch

    def _send(self) -> None:
        backoff = Backoff(base=0.2, cap=15.0)
        while True:
            batch = self._next_batch()
            if not batch:
                return
            attempt = 0
            while True:
                try:
                    report = self._client.post_events(batch)
                except ApiError as e:
                    if 400 <= e.status < 500 and e.status != 429:
                        # The whole batch refused as it is: retrying cannot help.
                        log.warning("%d events refused: %s", len(batch), e)
                        self._done(batch, sent=0, rejected=len(batch), report=None)
                        break
                    error: MandateError = e
                except MandateError as e:
                    error = e
                else:
                    self._done(batch, sent=-1, rejected=-1, report=report)
                    break
                asked = error.retry_after if isinstance(error, ApiError) else None
                log.warning("cannot send %d events yet, retrying: %s", len(batch), error)
                time.sleep(backoff.delay(attempt, random.random(), asked))
                attempt += 1

    def _done(self, batch: List[Dict[str, Any]], sent: int, rejected: int, report: Any) -> None:
        if report is not None:
            accepted = report.get("accepted", 0) if isinstance(report, dict) else 0
            duplicates = report.get("duplicates", 0) if isinstance(report, dict) else 0
            refused = report.get("rejected", []) if isinstance(report, dict) else []
            sent = int(accepted) + int(duplicates) if isinstance(accepted, int) and isinstance(duplicates, int) else 0
            rejected = len(refused) if isinstance(refused, list) else 0
            for r in refused if isinstance(refused, list) else []:
                log.warning("event refused: %s", r)
        with self._cond:
            self._sent += sent
            self._rejected += rejected
            self._held -= len(batch)
            self._batches += 1 if report is not None else 0
            if isinstance(report, dict):
                agents = {e.get("agent_id") for e in batch}
                for agent in agents:
                    if isinstance(agent, str):
                        self._stopped.pop(agent, None)
                stopped = report.get("stopped")
                if isinstance(stopped, dict):
                    for agent, stop in stopped.items():
                        if isinstance(stop, dict):
                            self._stopped[str(agent)] = Stop.from_json(stop)
            self._cond.notify_all()
