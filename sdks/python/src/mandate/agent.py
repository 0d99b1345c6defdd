"""One agent as it acts: before each action, the local copy of its
controls is checked (no network); a refused action never runs; an action
that ran is recorded as an event in the background, with the agent's
attribution, validated once when the agent starts."""

from __future__ import annotations

import asyncio
import datetime
import functools
import inspect
import itertools
import threading
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, TypeVar, Union, cast

from . import gate
from .client import Client
from .control import Control
from .errors import Refusal
from .recorder import CAPACITY, Counts, Recorder
from .types import AttributionContext

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: An error's message is kept to this many characters on the event.
ERROR_TEXT = 4096


class Agent:
    """An agent acting under `attribution` (its agent_id names it).

    `refuse_after`: seconds without hearing the server after which every
    action is refused (None, the default: keep acting on the last controls
    known). `buffer`: events held while the server cannot take them."""

    def __init__(
        self,
        client: Client,
        attribution: AttributionContext,
        *,
        refuse_after: Optional[float] = None,
        buffer: int = CAPACITY,
    ) -> None:
        # An agent that would be refused never starts.
        client.enforcer.enforce(attribution)
        self.client = client
        self.attribution = attribution
        self.id = attribution.agent_id or ""
        self.control = Control(client, self.id, refuse_after)
        self.recorder = Recorder(client, buffer)
        self._seq = itertools.count(1)
        self._seq_lock = threading.Lock()

    @classmethod
    def start(
        cls,
        client: Client,
        attribution: AttributionContext,
        *,
        refuse_after: Optional[float] = None,
        buffer: int = CAPACITY,
    ) -> Agent:
        """`Agent(...)`, named as the Rust SDK names it."""
        return cls(client, attribution, refuse_after=refuse_after, buffer=buffer)

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, flush_timeout: float = 5.0) -> None:
        """Sends what is held (up to `flush_timeout` seconds), then stops."""
        self.recorder.flush(flush_timeout)
        self.control.close()
        self.recorder.close()

    def check(self, tool: Optional[str] = None, run_id: Optional[str] = None) -> None:
        """Raises the Refusal when the next action may not run."""
        self.control.check(run_id, tool)

    def peek(self, tool: Optional[str] = None, run_id: Optional[str] = None) -> Optional[Refusal]:
        """The Refusal the next action would meet, without counting it."""
        return self.control.peek(run_id, tool)

    def clear(
        self,
        action_type: str = "tool_call",
        *,
        resource: Optional[str] = None,
        tool: Optional[str] = None,
        run_id: Optional[str] = None,
        summary: Optional[str] = None,
        on_behalf_of: Optional[str] = None,
    ) -> Optional[Dict[str, Any]]:
        """Clears an action with the server when its type may be gated (the
        controls say which): monitored and flagged actions proceed; a gated
        one waits for a person's decision, up to its request's end, and
        raises Denied or ApprovalTimedOut unless approved. Any other action
        is cleared at once, without the network. Returns the approval an
        approved action runs under, else None."""
        if not self.control.may_gate(action_type):
            return None
        a = self.attribution
        if on_behalf_of is None and (a.actor_type or "").upper() == "HUMAN":
            on_behalf_of = a.actor_id
        described = action_type + (f" on {resource}" if resource else "") + (f" with tool {tool}" if tool else "")
        body: Dict[str, Any] = {
            "agent_id": self.id,
            "action_type": action_type,
            "resource": resource,
            "summary": summary or described,
            "run_id": run_id,
            "on_behalf_of": on_behalf_of,
            "actor_type": a.actor_type.upper() if a.actor_type else None,
        }
        return gate.clear(self.client, {k: v for k, v in body.items() if v is not None})

    def record(
        self,
        *,
        tool: Optional[str] = None,
        resource: Optional[str] = None,
        run_id: Optional[str] = None,
        action_type: str = "tool_call",
        error: Union[BaseException, str, None] = None,
        error_code: str = "ACTION_FAILED",
    ) -> bool:
        """Records an action that ran (failed, when `error` is given); never
        waits. False when the buffer is full."""
        a = self.attribution
        with self._seq_lock:
            seq = next(self._seq)
        event: Dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "agent_id": a.agent_id,
            "actor_type": a.actor_type.upper() if a.actor_type else None,
            "actor_id": a.actor_id,
            "origin_system_id": a.origin_system_id,
            "run_id": run_id,
            "action_type": action_type,
            "tool": tool,
            "resource": resource,
            "outcome": "ok" if error is None else "error",
            "seq": seq,
            "occurred_at": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
        }
        if error is not None:
            event["error_code"] = error_code
            event["error_message"] = str(error)[:ERROR_TEXT]
        return self.recorder.record({k: v for k, v in event.items() if v is not None})

    def act(
        self,
        fn: Callable[..., T],
        *args: Any,
        tool: Optional[str] = None,
        resource: Optional[str] = None,
        run_id: Optional[str] = None,
        action_type: str = "tool_call",
        summary: Optional[str] = None,
        **kwargs: Any,
    ) -> T:
        """Checks (stops, then the gate), runs `fn(*args, **kwargs)` only if
        it may, and records what it came to. A Refusal is raised before
        anything ran; the function's own exception is recorded and raised
        again."""
        name = tool or getattr(fn, "__name__", None)
        self.check(name, run_id)
        self.clear(action_type, resource=resource, tool=name, run_id=run_id, summary=summary)
        self.check(name, run_id)
        try:
            result = fn(*args, **kwargs)
        except BaseException as e:
            self.record(tool=name, resource=resource, run_id=run_id, error=e)
            raise
        self.record(tool=name, resource=resource, run_id=run_id)
        return result

    def tool(
        self,
        name: Optional[str] = None,
        *,
        resource: Optional[str] = None,
        action_type: str = "tool_call",
        summary: Optional[str] = None,
    ) -> Callable[[F], F]:
        """Turns a tool function (plain or async) into a checked, recorded
        one: `@agent.tool(resource="payments-db")`. A `run_id` keyword, when
        the call passes one, is the run it belongs to and is passed on. An
        action type a critical point may gate waits for a person first
        (`summary` tells them what it does)."""

        def wrap(fn: F) -> F:
            tool_name = name or fn.__name__

            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def run_async(*args: Any, **kwargs: Any) -> Any:
                    run_id = kwargs.get("run_id") if isinstance(kwargs.get("run_id"), str) else None
                    self.check(tool_name, run_id)
                    if self.control.may_gate(action_type):
                        await asyncio.to_thread(
                            self.clear, action_type, resource=resource, tool=tool_name, run_id=run_id, summary=summary
                        )
                        self.check(tool_name, run_id)
                    try:
                        result = await cast(Callable[..., Awaitable[Any]], fn)(*args, **kwargs)
                    except BaseException as e:
                        self.record(
                            tool=tool_name, resource=resource, run_id=run_id, action_type=action_type, error=e
                        )
                        raise
                    self.record(tool=tool_name, resource=resource, run_id=run_id, action_type=action_type)
                    return result

                return cast(F, run_async)

            @functools.wraps(fn)
            def run(*args: Any, **kwargs: Any) -> Any:
                run_id = kwargs.get("run_id") if isinstance(kwargs.get("run_id"), str) else None
                self.check(tool_name, run_id)
                if self.control.may_gate(action_type):
                    self.clear(action_type, resource=resource, tool=tool_name, run_id=run_id, summary=summary)
                    self.check(tool_name, run_id)
                try:
                    result = fn(*args, **kwargs)
                except BaseException as e:
                    self.record(tool=tool_name, resource=resource, run_id=run_id, action_type=action_type, error=e)
                    raise
                self.record(tool=tool_name, resource=resource, run_id=run_id, action_type=action_type)
                return result

            return cast(F, run)

        return wrap

    def counts(self) -> Counts:
        return self.recorder.counts()

    def flush(self, timeout: float = 10.0) -> bool:
        return self.recorder.flush(timeout)
