"""The values the SDK works with: a run's attribution, and a stop as the
server describes it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional

#: The closed set of actor types (seed 001), any case accepted.
ACTOR_TYPES = ("HUMAN", "SYSTEM", "SERVICE")


@dataclass(frozen=True)
class AttributionContext:
    """A run's attribution exactly as the caller gives it. The fields are
    raw (optional strings) on purpose: validation, not the type checker,
    decides what is acceptable, so every violation gets its canonical code."""

    agent_id: Optional[str]
    actor_type: Optional[str]
    origin_system_id: Optional[str]
    actor_id: Optional[str] = None
    origin_ts: Optional[datetime.datetime] = None
    origin_ip: Optional[str] = None

    @classmethod
    def system(cls, agent_id: str, origin_system_id: str) -> AttributionContext:
        """Automation: cron jobs, schedulers, policy triggers."""
        return cls(agent_id, "SYSTEM", origin_system_id)

    @classmethod
    def human(cls, agent_id: str, actor_id: str, origin_system_id: str) -> AttributionContext:
        """A person, named by `actor_id`."""
        return cls(agent_id, "HUMAN", origin_system_id, actor_id)

    @classmethod
    def service(cls, agent_id: str, origin_system_id: str) -> AttributionContext:
        """A service-to-service call."""
        return cls(agent_id, "SERVICE", origin_system_id)

    def at(self, when: datetime.datetime) -> AttributionContext:
        return replace(self, origin_ts=when)


def parse_time(raw: Any) -> Optional[datetime.datetime]:
    """An RFC 3339 time as the server writes it; None when absent or unreadable."""
    if not isinstance(raw, str):
        return None
    text = raw.replace("Z", "+00:00").replace("z", "+00:00")
    # Python before 3.11 reads at most six decimals.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        at = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class Stop:
    """A stop in force on an agent, as the server describes it."""

    by: str
    since: str
    scope: str = "agent"
    target: str = ""
    reason: Optional[str] = None
    until: Optional[datetime.datetime] = None
    incident_id: Optional[int] = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Stop:
        incident = raw.get("incident_id")
        reason = raw.get("reason")
        return cls(
            by=str(raw.get("by", "")),
            since=str(raw.get("since", "")),
            scope=str(raw.get("scope") or "agent"),
            target=str(raw.get("target") or ""),
            reason=reason if isinstance(reason, str) else None,
            until=parse_time(raw.get("until")),
            incident_id=incident if isinstance(incident, int) and not isinstance(incident, bool) else None,
        )

    def holds_at(self, at: datetime.datetime) -> bool:
        since = parse_time(self.since)
        return (since is None or at >= since) and (self.until is None or at < self.until)

    def covers(self, agent: str, run: Optional[str]) -> bool:
        if self.scope == "run":
            return run == self.target
        if self.scope == "agent":
            return agent == self.target
        if self.scope == "agents":
            return agent.startswith(self.target.rstrip("*"))
        return self.scope == "fleet"

    def scope_label(self) -> str:
        """"agent deployer", "agents deployer-*", "run r-1", "the fleet"."""
        return "the fleet" if self.scope == "fleet" else f"{self.scope} {self.target}"
