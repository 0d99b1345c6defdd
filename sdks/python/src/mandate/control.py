"""The agent's side of a stop: a subscription that keeps the controls the
server holds for this agent (the stops in force, the disabled tools) in a
local copy, and a check against that copy before every action, which never
waits on the network.

The subscription is a long poll of GET /api/v1/agents/{id}/control in a
background thread: the server answers as soon as the controls change (a
stop on any server of its database), and with 304 after 25 s otherwise.
While the server cannot be heard, the last controls known stay in force,
the poll is retried with backoff, and `refuse_after` says whether actions
go on meanwhile (None: keep acting, as the seed's "don't block" says)."""

from __future__ import annotations

import datetime
import logging
import random
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from .client import Client
from .errors import ApiError, MandateError, OutOfContact, Refusal, Stopped, ToolDisabled
from .retry import Backoff
from .types import Stop

#: Seconds a long poll waits on the server.
WAIT_SECONDS = 25
#: After a change, the next poll waits a random time up to this (a fleet
#: told at once does not ask again at once).
REPOLL_SPREAD = 0.5
#: How often refused attempts are reported, at most.
REPORT_EVERY = 0.25

log = logging.getLogger("mandate.control")


class Control:
    """A live subscription to one agent's controls. `close()` ends it."""

    def __init__(self, client: Client, agent: str, refuse_after: Optional[float] = None) -> None:
        self._client = client
        self.agent = agent
        self.refuse_after = refuse_after
        self._lock = threading.Lock()
        self._state: Optional[Dict[str, Any]] = None
        self._heard: Optional[float] = None
        self._lost: Optional[float] = None
        self._started = time.monotonic()
        self._refused: Dict[Tuple[str, str], int] = {}
        self._to_report = threading.Event()
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name=f"mandate-control-{agent}", daemon=True)
        self._reporter = threading.Thread(target=self._report, name=f"mandate-refusals-{agent}", daemon=True)
        self._poller.start()
        self._reporter.start()

    def close(self) -> None:
        self._closed.set()
        self._to_report.set()

    # Checks -----------------------------------------------------------------

    def peek(self, run_id: Optional[str] = None, tool: Optional[str] = None) -> Optional[Refusal]:
        """What would refuse an action now, by the local copy, without
        counting an attempt: for saying so, not for acting."""
        return self._decide(run_id, tool)[0]

    def check(self, run_id: Optional[str] = None, tool: Optional[str] = None) -> None:
        """Raises the Refusal when the agent's next action (of `run_id`, with
        `tool`) may not run. No network: a read under a lock. An attempt
        refused by a stop is counted and reported in the background."""
        refusal, stop = self._decide(run_id, tool)
        if refusal is None:
            return
        if stop is not None:
            with self._lock:
                key = (stop.scope, stop.target)
                self._refused[key] = self._refused.get(key, 0) + 1
            self._to_report.set()
        raise refusal

    def stop_in_force(self, run_id: Optional[str] = None) -> Optional[Stop]:
        with self._lock:
            state = self._state
        return None if state is None else _stop_for(state, self.agent, run_id)

    def out_of_contact(self) -> Optional[float]:
        """Seconds the server has not been heard, if it is not now."""
        with self._lock:
            return None if self._lost is None else time.monotonic() - self._lost

    def may_gate(self, action_type: str) -> bool:
        """Whether an action of this type may be gated, by the controls as
        last heard (then the server is asked before it runs). Never heard:
        asked by an agent that refuses out of contact, not by one that keeps
        acting."""
        with self._lock:
            state = self._state
        if state is None:
            return self.refuse_after is not None
        gates = state.get("gates")
        return isinstance(gates, list) and ("*" in gates or action_type in gates)

    def state(self) -> Optional[Dict[str, Any]]:
        with self._lock:
            return None if self._state is None else dict(self._state)

    def _decide(self, run_id: Optional[str], tool: Optional[str]) -> Tuple[Optional[Refusal], Optional[Stop]]:
        with self._lock:
            state, heard, lost = self._state, self._heard, self._lost
        if state is not None:
            stop = _stop_for(state, self.agent, run_id)
            if stop is not None:
                return Stopped(self.agent, stop), stop
            disabled = state.get("disabled_tools")
            if tool is not None and isinstance(disabled, list) and tool in disabled:
                return ToolDisabled(self.agent, tool), None
        if self.refuse_after is not None:
            since = lost if lost is not None else (self._started if heard is None else None)
            if since is not None:
                out_for = time.monotonic() - since
                if out_for > self.refuse_after:
                    return OutOfContact(self.agent, out_for), None
        return None, None

    # Background -------------------------------------------------------------

    def _poll(self) -> None:
        backoff = Backoff(base=0.25, cap=15.0)
        attempt = 0
        while not self._closed.is_set():
            # After losing the server, the first poll asks for the controls
            # at once (no `since`): contact is back the moment the server
            # answers, not when a long poll ends.
            with self._lock:
                tag = None if self._state is None or self._lost is not None else self._state.get("tag")
            try:
                answer = self._client.agent_control(self.agent, tag if isinstance(tag, str) else None, WAIT_SECONDS)
            except MandateError as e:
                with self._lock:
                    if self._lost is None:
                        self._lost = time.monotonic()
                log.warning("cannot hear Mandate's controls for %s, keeping the last known: %s", self.agent, e)
                asked = e.retry_after if isinstance(e, ApiError) else None
                if isinstance(e, ApiError) and e.status == 429 and asked is None:
                    asked = 2.0
                self._closed.wait(backoff.delay(attempt, random.random(), asked))
                attempt += 1
                continue
            attempt = 0
            with self._lock:
                self._heard = time.monotonic()
                self._lost = None
                if answer is not None:
                    self._state = answer
            if answer is not None:
                self._closed.wait(random.random() * REPOLL_SPREAD)

    def _report(self) -> None:
        while not self._closed.is_set():
            self._to_report.wait()
            self._to_report.clear()
            if self._closed.is_set():
                return
            time.sleep(REPORT_EVERY)
            with self._lock:
                counts, self._refused = self._refused, {}
            for (scope, target), n in counts.items():
                try:
                    self._client.report_refusals(self.agent, scope, target, n)
                except MandateError as e:
                    with self._lock:
                        self._refused[(scope, target)] = self._refused.get((scope, target), 0) + n
                    self._to_report.set()
                    log.warning("cannot report %d refused attempts of %s yet: %s", n, self.agent, e)
                    self._closed.wait(1.0)


def _stop_for(state: Dict[str, Any], agent: str, run_id: Optional[str]) -> Optional[Stop]:
    """The stop that refuses an action of `run_id` now, if any: every stop
    listed, then the one on the whole agent."""
    now = datetime.datetime.now(datetime.timezone.utc)
    raw: List[Any] = list(state.get("stops") or [])
    if isinstance(state.get("stop"), dict):
        raw.append(state["stop"])
    for item in raw:
        if not isinstance(item, dict):
            continue
        stop = Stop.from_json(item)
        if stop.holds_at(now) and stop.covers(agent, run_id):
            return stop
    return None
