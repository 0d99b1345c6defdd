"""A connection to one Mandate server with one token: runs created (their
attribution enforced before anything is sent) and completed, events
posted, an agent's controls read. Standard library only: urllib, with TLS
trusting a private CA when MANDATE_CA_FILE (or `ca_file`) names one."""

from __future__ import annotations

import datetime
import json
import logging
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Mapping, Optional

from . import __version__
from .attribution import Enforcer
from .errors import ApiError, ConfigError, ProtocolError, TransportError
from .retry import retry_after
from .types import AttributionContext

log = logging.getLogger("mandate.client")

#: What every request says about this SDK.
SDK_HEADER = "Mandate-Sdk"
#: A server's warning to this SDK: deprecated, or a version it cannot read.
WARNING_HEADER = "Mandate-Sdk-Warning"

#: The header that tells the server the soft-mode override let a violation through.
OVERRIDE_HEADER = "mandate-attribution-override"

Json = Dict[str, Any]


class Client:
    """`base_url` is the server's root (default: MANDATE_URL), `token` the
    agent's token (default: MANDATE_TOKEN; never printed)."""

    def __init__(
        self,
        base_url: Optional[str] = None,
        token: Optional[str] = None,
        *,
        ca_file: Optional[str] = None,
        enforcer: Optional[Enforcer] = None,
        timeout: float = 30.0,
    ) -> None:
        url = base_url or os.environ.get("MANDATE_URL")
        if not url:
            raise ConfigError("no Mandate server: pass base_url or set MANDATE_URL (e.g. http://127.0.0.1:7400)")
        secret = token or os.environ.get("MANDATE_TOKEN")
        if not secret:
            raise ConfigError("no token: pass token or set MANDATE_TOKEN (mandate token create --role agent)")
        self.base_url = url.rstrip("/")
        self._token = secret
        self.enforcer = enforcer if enforcer is not None else Enforcer.from_env()
        self.timeout = timeout
        self._ssl = self._tls(ca_file or os.environ.get("MANDATE_CA_FILE") or None)
        self._warned = False

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, enforcer={self.enforcer!r})"

    @staticmethod
    def _tls(ca_file: Optional[str]) -> Optional[ssl.SSLContext]:
        if ca_file is None:
            return None
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"cannot use the CA file {ca_file}: {e}") from e
        return context

    # Runs -----------------------------------------------------------------

    def create_run(
        self,
        goal: str,
        ctx: AttributionContext,
        *,
        provider_type: str = "python",
        risk_level: str = "low",
        source: str = "SDK",
    ) -> Json:
        """Creates a run. Its attribution is enforced first: in hard mode (and
        soft mode without the override) a violation raises AttributionError
        and nothing is sent."""
        if ctx.origin_ts is None:
            ctx = ctx.at(datetime.datetime.now(datetime.timezone.utc))
        tolerated = self.enforcer.enforce(ctx)
        body: Json = {
            "goal": goal,
            "agent_id": ctx.agent_id,
            "actor_type": ctx.actor_type.upper() if ctx.actor_type is not None else None,
            "actor_id": ctx.actor_id,
            "origin_system_id": ctx.origin_system_id,
            "source": source,
            "provider_type": provider_type,
            "risk_level": risk_level,
            "origin_ts": ctx.origin_ts.isoformat() if ctx.origin_ts else None,
            "origin_ip": ctx.origin_ip,
        }
        headers = {OVERRIDE_HEADER: "true"} if self.enforcer.override_used(tolerated) else {}
        return self._object("POST", "/api/v1/runs", body, headers=headers)

    def complete_run(self, run_id: str, status: str) -> Json:
        """`status`: succeeded, failed or cancelled."""
        return self._object("POST", f"/api/v1/runs/{_segment(run_id)}/complete", {"status": status})

    def get_run(self, run_id: str) -> Json:
        return self._object("GET", f"/api/v1/runs/{_segment(run_id)}")

    # Events and controls --------------------------------------------------

    def post_events(self, events: List[Json]) -> Json:
        """Posts a batch (at most 1,000): what was stored, refused, and which
        of their agents are stopped."""
        return self._object("POST", "/api/v1/events", events)

    def agent_control(self, agent: str, since: Optional[str] = None, wait: int = 25) -> Optional[Json]:
        """The agent's controls: at once without `since`; with it, when they
        change or `wait` seconds pass (None: unchanged)."""
        path = f"/api/v1/agents/{_segment(agent)}/control"
        if since is not None:
            path += "?" + urllib.parse.urlencode({"since": since, "wait": wait})
        answer = self._request("GET", path, None, timeout=wait + 10.0)
        return None if answer is None else _as_object(answer)

    def report_refusals(self, agent: str, scope: str, target: str, attempts: int) -> None:
        """Reports `attempts` the agent's SDK refused under one stop."""
        body = {"attempts": attempts, "scope": scope, "target": target}
        self._object("POST", f"/api/v1/agents/{_segment(agent)}/refusals", body)

    def ask_approval(self, body: Json) -> Json:
        """Asks about an action an agent is about to take: its decision and,
        when gated, the approval request to wait on."""
        return self._object("POST", "/api/v1/approvals", body)

    def approval(self, approval_id: int, wait: int = 0) -> Json:
        """Approval request `approval_id`: at once, or when decided or `wait`
        seconds pass."""
        answer = self._request("GET", f"/api/v1/approvals/{int(approval_id)}?wait={min(int(wait), 30)}", None, timeout=wait + 10.0)
        if answer is None:
            raise ProtocolError("GET approval: the server answered 304 where an answer was due")
        return _as_object(answer)

    def whoami(self) -> Json:
        return self._object("GET", "/api/v1/whoami")

    # HTTP -------------------------------------------------------------------

    def _heed(self, headers: Any) -> None:
        """Logs the server's warning to this SDK, once per client."""
        warning = headers.get(WARNING_HEADER) if headers is not None else None
        if warning and not self._warned:
            self._warned = True
            log.warning("%s (server %s)", warning, self.base_url)

    def _object(self, method: str, path: str, body: Any = None, headers: Optional[Mapping[str, str]] = None) -> Json:
        answer = self._request(method, path, body, headers=headers)
        if answer is None:
            raise ProtocolError(f"{method} {path}: the server answered 304 where an answer was due")
        return _as_object(answer)

    def _request(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Optional[Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("User-Agent", f"mandate-python/{__version__}")
        request.add_header(SDK_HEADER, f"python/{__version__}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout, context=self._ssl) as response:
                self._heed(response.headers)
                raw = response.read()
        except urllib.error.HTTPError as e:
            self._heed(e.headers)
            if e.code == 304:
                return None
            raise _api_error(e) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TransportError(f"cannot reach the Mandate API at {self.base_url}: {reason}") from None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ProtocolError(f"{method} {path}: the answer is not JSON ({e})") from None


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _as_object(answer: Any) -> Json:
    if not isinstance(answer, dict):
        raise ProtocolError(f"expected a JSON object from the server, got {type(answer).__name__}")
    return answer


def _api_error(e: urllib.error.HTTPError) -> ApiError:
    after = retry_after(e.headers.get("Retry-After") if e.headers else None)
    try:
        raw = e.read()
        body = json.loads(raw) if raw else {}
    except (ValueError, OSError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("code") if isinstance(body.get("code"), str) else "UNEXPECTED_RESPONSE"
    message = body.get("message") if isinstance(body.get("message"), str) else (e.reason or "")
    return ApiError(e.code, str(code), str(message), after)
