"""The attribution contract of seeds 000-003, as every Mandate SDK
implements it: six codes, the rules in their order, and the enforcement
modes chosen by AOS_ATTRIBUTION_ENFORCEMENT (shadow, soft, hard; hard by
default and for anything unknown) and AOS_ALLOW_ATTRIBUTION_LEGACY (true:
soft mode lets violations through, said)."""

from __future__ import annotations

import enum
import logging
import os
from dataclasses import dataclass
from typing import List, Mapping, Optional

from .errors import AttributionError
from .types import ACTOR_TYPES, AttributionContext

#: Selects the enforcement mode.
ENFORCEMENT_ENV = "AOS_ATTRIBUTION_ENFORCEMENT"
#: `true` lets soft mode accept violations (logged); ignored in other modes.
ALLOW_LEGACY_ENV = "AOS_ALLOW_ATTRIBUTION_LEGACY"
#: Sentinels back-filled migrations used. Never valid.
LEGACY_AGENT_ID = "legacy-unknown"
LEGACY_ORIGIN_SYSTEM_ID = "legacy-migration"


class Code:
    """The six canonical codes. Contractual: never renamed."""

    AGENT_MISSING = "ATTR_AGENT_MISSING"
    ACTOR_TYPE_MISSING = "ATTR_ACTOR_TYPE_MISSING"
    ACTOR_TYPE_INVALID = "ATTR_ACTOR_TYPE_INVALID"
    ACTOR_ID_REQUIRED = "ATTR_ACTOR_ID_REQUIRED"
    ACTOR_ID_FORBIDDEN = "ATTR_ACTOR_ID_FORBIDDEN"
    ORIGIN_SYSTEM_MISSING = "ATTR_ORIGIN_SYSTEM_MISSING"


log = logging.getLogger("mandate.attribution")


def _blank(value: Optional[str]) -> bool:
    return value is None or value.strip() == ""


def _actor_type(raw: Optional[str]) -> Optional[str]:
    if raw is None:
        return None
    # Unicode upper-casing, as the contract's `.upper()`; surrounding
    # white space is not forgiven.
    upper = raw.upper()
    return upper if upper in ACTOR_TYPES else None


def validate(ctx: AttributionContext) -> List[AttributionError]:
    """Every violation of the contract, in the contract's order (empty when
    valid). Whether a violation rejects the run is the Enforcer's to say."""
    errors: List[AttributionError] = []
    if _blank(ctx.agent_id):
        errors.append(AttributionError(Code.AGENT_MISSING, "agent_id is required and cannot be empty", "agent_id"))
    if ctx.agent_id == LEGACY_AGENT_ID:
        errors.append(
            AttributionError(
                Code.AGENT_MISSING, "agent_id cannot be 'legacy-unknown' - provide real agent identifier", "agent_id"
            )
        )
    if _blank(ctx.actor_type):
        errors.append(
            AttributionError(Code.ACTOR_TYPE_MISSING, "actor_type is required (HUMAN | SYSTEM | SERVICE)", "actor_type")
        )
    elif _actor_type(ctx.actor_type) is None:
        errors.append(
            AttributionError(Code.ACTOR_TYPE_INVALID, "actor_type must be one of: HUMAN, SERVICE, SYSTEM", "actor_type")
        )
    if _blank(ctx.origin_system_id):
        errors.append(
            AttributionError(
                Code.ORIGIN_SYSTEM_MISSING, "origin_system_id is required for accountability", "origin_system_id"
            )
        )
    if ctx.origin_system_id == LEGACY_ORIGIN_SYSTEM_ID:
        errors.append(
            AttributionError(
                Code.ORIGIN_SYSTEM_MISSING,
                "origin_system_id cannot be 'legacy-migration' - provide real system identifier",
                "origin_system_id",
            )
        )
    kind = _actor_type(ctx.actor_type)
    if kind == "HUMAN" and _blank(ctx.actor_id):
        errors.append(
            AttributionError(Code.ACTOR_ID_REQUIRED, "actor_id is required when actor_type is HUMAN", "actor_id")
        )
    elif kind in ("SYSTEM", "SERVICE") and not _blank(ctx.actor_id):
        errors.append(
            AttributionError(Code.ACTOR_ID_FORBIDDEN, f"actor_id must be null when actor_type is {kind}", "actor_id")
        )
    return errors


class EnforcementMode(str, enum.Enum):
    SHADOW = "shadow"
    """Log violations, never reject."""
    SOFT = "soft"
    """Reject, unless the legacy override is set."""
    HARD = "hard"
    """Always reject."""

    @classmethod
    def parse(cls, raw: str) -> Optional[EnforcementMode]:
        try:
            return cls(raw.strip().lower())
        except ValueError:
            return None


@dataclass(frozen=True)
class Enforcer:
    """Applies the enforcement decision to a validation, and logs what the
    contract asks to be logged."""

    mode: EnforcementMode = EnforcementMode.HARD
    allow_legacy_override: bool = False

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Enforcer:
        env = os.environ if environ is None else environ
        return cls.from_vars(env.get(ENFORCEMENT_ENV), env.get(ALLOW_LEGACY_ENV))

    @classmethod
    def from_vars(cls, mode: Optional[str], allow_legacy: Optional[str]) -> Enforcer:
        """An unknown mode enforces hard: a typo must never loosen enforcement."""
        parsed = EnforcementMode.HARD
        if mode is not None:
            known = EnforcementMode.parse(mode)
            if known is None:
                log.warning("unknown enforcement mode %r in %s; enforcing hard", mode, ENFORCEMENT_ENV)
            else:
                parsed = known
        allow = allow_legacy is not None and allow_legacy.strip().lower() == "true"
        return cls(parsed, allow)

    def enforce(self, ctx: AttributionContext) -> List[AttributionError]:
        """The violations tolerated (shadow mode, or soft mode with the
        override); raises the first violation when the run is rejected."""
        errors = validate(ctx)
        if not errors:
            return errors
        codes = ",".join(e.code for e in errors)
        log.warning(
            "attribution_validation_failed",
            extra={
                "enforcement_mode": self.mode.value,
                "agent_id": ctx.agent_id,
                "actor_type": ctx.actor_type,
                "origin_system_id": ctx.origin_system_id,
                "has_actor_id": ctx.actor_id is not None,
                "error_codes": codes,
                "error_count": len(errors),
            },
        )
        if self.mode is EnforcementMode.SHADOW:
            return errors
        if self.mode is EnforcementMode.SOFT and self.allow_legacy_override:
            log.warning(
                "attribution_override_used",
                extra={"agent_id": ctx.agent_id, "origin_system_id": ctx.origin_system_id, "error_codes": codes},
            )
            return errors
        raise errors[0]

    def override_used(self, tolerated: List[AttributionError]) -> bool:
        """Whether the soft-mode override let violations through: the server
        is told, so override use is counted (seed 000 section 6)."""
        return bool(tolerated) and self.mode is EnforcementMode.SOFT
