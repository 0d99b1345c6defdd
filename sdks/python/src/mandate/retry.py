"""Backoff between retries: doubling from `base` up to `cap`, drawn between
half and all of it, and never less than the server asked (Retry-After)."""

from __future__ import annotations

import datetime
import email.utils
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float

    def delay(self, attempt: int, jitter: float, asked: Optional[float] = None) -> float:
        """Seconds before retry `attempt` (0 first); `jitter` in [0, 1]."""
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt, 16))
        drawn = ceiling / 2 + ceiling * min(max(jitter, 0.0), 1.0) / 2
        return max(drawn, asked or 0.0)


def retry_after(value: Optional[str]) -> Optional[float]:
    """A Retry-After header: delta-seconds, or an HTTP date (its distance
    from now; a date past is no wait)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        at = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (at - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
