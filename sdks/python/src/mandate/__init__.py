"""Mandate's SDK for agents.

    import mandate

    client = mandate.Client()  # MANDATE_URL, MANDATE_TOKEN, MANDATE_CA_FILE
    agent = mandate.Agent(client, mandate.AttributionContext.system("deployer", "ci"))

    @agent.tool(resource="payments-db")
    def restart_pool() -> None: ...

Each call of `restart_pool` is checked against the stops in force on the
agent (locally: no network) and refused with `mandate.Stopped` when one
holds; a call that ran is recorded in the background. Attribution follows
seeds 000-003 under AOS_ATTRIBUTION_ENFORCEMENT (hard by default): an
invalid one never leaves the process.
"""

__version__ = "0.2.0"

import logging as _logging

# A library logs; the application decides where to.
_logging.getLogger("mandate").addHandler(_logging.NullHandler())

from .agent import Agent
from .attribution import ALLOW_LEGACY_ENV, ENFORCEMENT_ENV, Code, EnforcementMode, Enforcer, validate
from .client import OVERRIDE_HEADER, Client
from .control import Control
from .errors import (
    ApiError,
    ApprovalTimedOut,
    ApprovalUnavailable,
    AttributionError,
    ConfigError,
    Denied,
    MandateError,
    OutOfContact,
    ProtocolError,
    Refusal,
    Stopped,
    ToolDisabled,
    TransportError,
)
from .recorder import Counts, Recorder
from .types import AttributionContext, Stop

__all__ = [
    "ALLOW_LEGACY_ENV",
    "ENFORCEMENT_ENV",
    "OVERRIDE_HEADER",
    "Agent",
    "ApiError",
    "ApprovalTimedOut",
    "ApprovalUnavailable",
    "AttributionContext",
    "AttributionError",
    "Client",
    "Code",
    "ConfigError",
    "Control",
    "Counts",
    "Denied",
    "EnforcementMode",
    "Enforcer",
    "MandateError",
    "OutOfContact",
    "ProtocolError",
    "Recorder",
    "Refusal",
    "Stop",
    "Stopped",
    "ToolDisabled",
    "TransportError",
    "validate",
]
