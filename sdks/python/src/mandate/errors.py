"""Every error the SDK raises is a MandateError: attribution refused before
anything is sent, the server's refusal, a server that cannot be reached or
answers nonsense, and the refusals of an action that may not run."""

from __future__ import annotations

from typing import Any, Dict, Optional

from .types import Stop


class MandateError(Exception):
    """The root of the SDK's errors."""


class AttributionError(MandateError):
    """One attribution violation (seed 001): its canonical code, the field,
    and the contract's message. Raised by an enforcement that rejects."""

    ERROR_TYPE = "attribution_validation"

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, str]:
        return {"error_type": self.ERROR_TYPE, "code": self.code, "message": self.message, "field": self.field}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttributionError) and (self.code, self.message, self.field) == (
            other.code,
            other.message,
            other.field,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.field))


class ConfigError(MandateError):
    """The SDK is set up wrong: no server URL, no token, an unusable CA file."""


class TransportError(MandateError):
    """The server could not be reached, or stopped answering."""


class ApiError(MandateError):
    """The server answered with an error: its status, code and message, and
    how long it asked to wait (429, 503) when it did."""

    def __init__(self, status: int, code: str, message: str, retry_after: Optional[float] = None) -> None:
        super().__init__(f"the server answered {status}: {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class ProtocolError(MandateError):
    """The server's answer could not be read as Mandate's API."""


class Refusal(MandateError):
    """An action that may not run: it was not run."""

    def __init__(self, agent: str, message: str) -> None:
        super().__init__(message)
        self.agent = agent


class Stopped(Refusal):
    """A stop covers the agent or its run: who made it, why, since when,
    until when, over what, from which incident."""

    def __init__(self, agent: str, stop: Stop) -> None:
        reason = f": {stop.reason}" if stop.reason else ""
        incident = f" (incident #{stop.incident_id})" if stop.incident_id is not None else ""
        super().__init__(
            agent, f"agent {agent} is stopped ({stop.scope_label()}) by {stop.by} since {stop.since}{reason}{incident}"
        )
        self.stop = stop


class ToolDisabled(Refusal):
    def __init__(self, agent: str, tool: str) -> None:
        super().__init__(agent, f"tool {tool} is disabled for agent {agent}")
        self.tool = tool


class OutOfContact(Refusal):
    """The agent's policy refuses to act after this long without hearing the
    server."""

    def __init__(self, agent: str, out_for: float) -> None:
        super().__init__(
            agent, f"agent {agent} has not heard the server for {int(out_for)}s and refuses to act out of contact"
        )
        self.out_for = out_for


def _action_of(approval: Dict[str, Any]) -> str:
    resource = approval.get("resource")
    action = str(approval.get("action_type", "action"))
    return f"{action} on {resource}" if resource else action


class Denied(Refusal):
    """A person denied the gated action: `approval` is the request as
    decided (who, why: `decided_by`, `decision_reason`)."""

    def __init__(self, agent: str, approval: Dict[str, Any]) -> None:
        by = approval.get("decided_by") or "a person"
        why = approval.get("decision_reason") or "no reason given"
        super().__init__(agent, f"agent {agent}'s {_action_of(approval)} was denied by {by} (approval #{approval.get('id')}): {why}")
        self.approval = approval


class ApprovalTimedOut(Refusal):
    """Nobody approved the gated action in time (or the request was
    abandoned, or its outcome could not be heard): it was not run."""

    def __init__(self, agent: str, approval: Dict[str, Any], why: str = "") -> None:
        tail = f": {why}" if why else ""
        super().__init__(
            agent,
            f"agent {agent}'s {_action_of(approval)} was not approved in time "
            f"(approval #{approval.get('id')}, {approval.get('status')}){tail}",
        )
        self.approval = approval


class ApprovalUnavailable(Refusal):
    """The gated action could not be asked about: the server did not answer."""

    def __init__(self, agent: str, why: str) -> None:
        super().__init__(agent, f"agent {agent} cannot ask whether its action may run, so it does not: {why}")


def describe(value: Any) -> str:
    """A value's JSON kind, for messages about malformed answers."""
    return type(value).__name__
