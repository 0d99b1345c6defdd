"""Gated actions, as the agent waits on them: an action whose type the
controls name as possibly gated asks the server first; gated, it waits for a
person (long polls, across lost answers and server restarts, up to the
request's end), and runs only if approved. Every other action runs without
asking."""

from __future__ import annotations

import datetime
import random
import time
import uuid
from typing import Any, Dict, Optional

from .client import Client
from .errors import ApiError, ApprovalTimedOut, ApprovalUnavailable, Denied, ProtocolError, TransportError
from .retry import Backoff

#: The longest one wait on a request lasts: short, so that the server knows
#: within seconds when an agent stopped waiting (it is abandoned).
WAIT_SECONDS = 5
#: How long the server may stay unreachable while asking, before the action
#: is refused: a gated action never runs unseen.
ASK_FOR = 30.0
#: Past a request's end, how long the SDK keeps asking for its outcome.
GRACE = 30.0


def _transient(e: Exception) -> bool:
    if isinstance(e, (TransportError, ProtocolError)):
        return True
    return isinstance(e, ApiError) and (e.status >= 500 or e.status == 429)


def _seconds_left(approval: Dict[str, Any]) -> float:
    raw = str(approval.get("expires_at", ""))
    try:
        ends = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (ends - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def clear(client: Client, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Asks, and waits while gated. Returns the approval request an approved
    action ran under (None when it was not gated); raises Denied,
    ApprovalTimedOut or ApprovalUnavailable when it may not run."""
    agent = str(body["agent_id"])
    body = {**body, "request_key": body.get("request_key") or str(uuid.uuid4())}
    backoff = Backoff(base=0.2, cap=5.0)
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            answer = client.ask_approval(body)
            break
        except Exception as e:  # noqa: BLE001 - sorted just below
            if not _transient(e) or time.monotonic() - started > ASK_FOR:
                raise ApprovalUnavailable(agent, str(e)) from None
            time.sleep(backoff.delay(attempt, random.random()))
            attempt += 1
    approval = answer.get("approval")
    if not isinstance(approval, dict):
        return None
    attempt = 0
    while approval.get("status") == "waiting":
        left = _seconds_left(approval)
        try:
            approval = client.approval(int(approval["id"]), int(min(WAIT_SECONDS, max(left, 0) + 1)))
            attempt = 0
        except Exception as e:  # noqa: BLE001 - sorted just below
            if _transient(e) and left > -GRACE:
                time.sleep(backoff.delay(attempt, random.random()))
                attempt += 1
                continue
            raise ApprovalTimedOut(agent, approval, f"no answer from the server about it: {e}") from None
    if approval.get("proceed") is True:
        return approval
    if approval.get("status") == "denied":
        raise Denied(agent, approval)
    raise ApprovalTimedOut(agent, approval)
