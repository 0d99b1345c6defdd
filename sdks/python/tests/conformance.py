"""The shared conformance cases (sdks/conformance), run against this SDK.

Attribution cases need nothing else. Behaviour cases need a real
`mandate serve` reached through the test's relay:

    MANDATE_URL            the relay the SDK talks to
    MANDATE_TOKEN          an agent token
    MANDATE_ADMIN_TOKEN    an admin token (root-admin): the operator's stops
    MANDATE_RELAY_CONTROL  the relay's control (GET …/down, …/up)

    python tests/conformance.py [attribution|behaviour|all]

One line per case ("ok …" or "FAIL …: why"); the exit status is 1 when a
case failed. `tests/suite/sdk_conformance.rs` runs it as the SDK's users
run it: the package installed with pip into a fresh virtual environment."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import mandate

SDK = "python"
CASES = Path(os.environ.get("MANDATE_CONFORMANCE", Path(__file__).resolve().parents[2] / "conformance"))


class Failed(Exception):
    pass


def fill(text: str, agent: str) -> str:
    return text.replace("{agent}", agent).replace("{sdk}", SDK)


def context(raw: Dict[str, Any]) -> mandate.AttributionContext:
    return mandate.AttributionContext(
        raw.get("agent_id"), raw.get("actor_type"), raw.get("origin_system_id"), raw.get("actor_id")
    )


def attribution_cases() -> List[str]:
    cases = json.loads((CASES / "attribution.json").read_text())
    failures = []
    for case in cases["validate"]:
        got = [{"code": e.code, "field": e.field, "message": e.message} for e in mandate.validate(context(case["context"]))]
        if got != case["errors"]:
            failures.append(f"FAIL validate: {case['name']}: {got} != {case['errors']}")
        else:
            print(f"ok validate: {case['name']}")
    for case in cases["enforcement"]:
        env = case["env"]
        enforcer = mandate.Enforcer.from_vars(env["AOS_ATTRIBUTION_ENFORCEMENT"], env["AOS_ALLOW_ATTRIBUTION_LEGACY"])
        expect = case["expect"]
        try:
            tolerated = enforcer.enforce(context(case["context"]))
            got: Dict[str, Any] = {
                "outcome": "accepted",
                "tolerated": [e.code for e in tolerated],
                "override_used": enforcer.override_used(tolerated),
            }
        except mandate.AttributionError as e:
            got = {"outcome": "rejected", "code": e.code}
            if str(e) != f"[{e.code}] {e.message}":
                failures.append(f"FAIL enforcement: {case['name']}: the rejection reads {str(e)!r}")
        if got != expect:
            failures.append(f"FAIL enforcement: {case['name']}: {got} != {expect}")
        else:
            print(f"ok enforcement: {case['name']}")
    return failures


def http(method: str, url: str, token: Optional[str] = None, body: Any = None) -> Any:
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def until(within_ms: int, what: str, ok: Callable[[], bool]) -> None:
    deadline = time.monotonic() + within_ms / 1000
    while not ok():
        if time.monotonic() > deadline:
            raise Failed(f"{what} not within {within_ms} ms")
        time.sleep(0.02)


class Run:
    """One behaviour case's steps, against the relay."""

    def __init__(self) -> None:
        self.url = os.environ["MANDATE_URL"]
        self.server_url = os.environ.get("MANDATE_SERVER_URL", self.url)
        self.token = os.environ["MANDATE_TOKEN"]
        self.admin = os.environ["MANDATE_ADMIN_TOKEN"]
        self.relay = os.environ["MANDATE_RELAY_CONTROL"]
        self.agent: Optional[mandate.Agent] = None
        self.name = ""

    def step(self, step: Dict[str, Any]) -> None:
        (kind, arg), = step.items()
        getattr(self, kind)(arg)

    def start(self, arg: Dict[str, Any]) -> None:
        self.name = f"{SDK}-{arg['agent']}"
        policy = arg.get("out_of_contact", "keep_acting")
        refuse_after = None if policy == "keep_acting" else policy["refuse_after_ms"] / 1000
        client = mandate.Client(self.url, self.token)
        attribution = mandate.AttributionContext.system(self.name, "conformance")
        self.agent = mandate.Agent(client, attribution, refuse_after=refuse_after, buffer=arg.get("buffer", 10_000))

    def call(self, arg: Dict[str, Any]) -> None:
        assert self.agent is not None
        ran: List[bool] = []

        fails = arg.get("fails_with")

        class ToolFailed(Exception):
            pass

        @self.agent.tool(
            arg["tool"], resource=arg.get("resource"), action_type=arg.get("action_type", "tool_call"),
            summary=arg.get("summary"),
        )
        def tool() -> str:
            ran.append(True)
            if fails is not None:
                raise ToolFailed(fails)
            return "done"

        decider: Optional[threading.Thread] = None
        decided: List[str] = []
        if "operator_decides" in arg:
            decision = arg["operator_decides"]
            decider = threading.Thread(target=lambda: decided.append(self.decide_when_asked(decision)), daemon=True)
            decider.start()
        for n in range(arg.get("times", 1)):
            ran.clear()
            try:
                tool()
                got, refusal = "ran", None
            except ToolFailed as e:
                if str(e) != fails:
                    raise Failed(f"the tool's error came back as {e!r}")
                got, refusal = "failed", None
            except mandate.Stopped as e:
                got, refusal = "stopped", e
            except mandate.OutOfContact as e:
                got, refusal = "out_of_contact", e
            except mandate.ToolDisabled as e:
                got, refusal = "tool_disabled", e
            except mandate.Denied as e:
                got, refusal = "denied", e
            except mandate.ApprovalTimedOut as e:
                got, refusal = "timed_out", e
            except mandate.ApprovalUnavailable as e:
                got, refusal = "unavailable", e
            if got != arg["expect"]:
                raise Failed(f"call {n + 1} of {arg['tool']}: {got} ({refusal}), not {arg['expect']}")
            if (got in ("ran", "failed")) != bool(ran):
                raise Failed(f"call {n + 1}: the tool {'did not run' if got == 'ran' else 'ran though refused'}")
            if isinstance(refusal, mandate.Stopped):
                for field, wanted in arg.get("stop", {}).items():
                    have = getattr(refusal.stop, field)
                    if have != fill(wanted, self.name):
                        raise Failed(f"the stop's {field} is {have!r}, not {fill(wanted, self.name)!r}")
            starts = arg.get("message_starts_with")
            if starts is not None and not str(refusal).startswith(fill(starts, self.name)):
                raise Failed(f"the refusal reads {str(refusal)!r}")
            ends = arg.get("message_ends_with")
            if ends is not None and not str(refusal).endswith(fill(ends, self.name)):
                raise Failed(f"the refusal reads {str(refusal)!r}")
        if decider is not None:
            decider.join(30)
            if decided != ["ok"]:
                raise Failed(f"the operator could not decide: {decided}")

    def decide_when_asked(self, decision: Dict[str, Any]) -> str:
        """A person (root-admin) decides the request this agent waits on, as
        soon as it appears, with the digest of what they read."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listed = http("GET", f"{self.server_url}/api/v1/approvals", self.admin)
            mine = [a for a in listed["approvals"] if a["agent_id"] == self.name and a["status"] == "waiting"]
            if mine:
                body = {
                    "decision": decision["decision"], "reason": decision["reason"], "digest": mine[0]["digest"],
                    "confirm": True, "actor_type": "HUMAN", "actor_id": "root-admin", "agent_id": "conformance",
                    "origin_system_id": "conformance",
                }
                try:
                    http("POST", f"{self.server_url}/api/v1/approvals/{mine[0]['id']}/decision", self.admin, body)
                except OSError as e:
                    return f"deciding: {e}"
                return "ok"
            time.sleep(0.02)
        return f"no approval request from {self.name} came to decide"

    def operator(self, arg: Dict[str, Any]) -> None:
        if "critical_point" in arg:
            point = json.loads(fill(json.dumps(arg["critical_point"]), self.name))
            routing = http("GET", f"{self.server_url}/api/v1/routing", self.admin)
            points = [p for p in routing.get("critical_point", []) if p.get("name") != point["name"]]
            routing["critical_point"] = points + [point]
            http("PUT", f"{self.server_url}/api/v1/routing", self.admin, routing)
            return
        who = {"actor_type": "HUMAN", "actor_id": "root-admin", "agent_id": "conformance", "origin_system_id": "conformance"}
        if "stop" in arg:
            body = {"scope": arg["stop"], "target": fill(arg["target"], self.name), "reason": arg.get("reason"), **who}
            if arg["stop"] == "fleet":
                body["confirm"] = True
            http("POST", f"{self.server_url}/api/v1/stops", self.admin, body)
        else:
            body = {"scope": arg["lift"], "target": fill(arg["target"], self.name), **who}
            http("POST", f"{self.server_url}/api/v1/stops/lift", self.admin, body)

    def wait(self, arg: Dict[str, Any]) -> None:
        assert self.agent is not None
        agent = self.agent
        wanted = arg["until"]
        if wanted == "gates":
            kind = arg["action_type"]
            until(arg["within_ms"], f"{self.name} gates {kind}", lambda: kind in ((agent.control.state() or {}).get("gates") or []))
            return
        until(arg["within_ms"], f"{self.name} {wanted}", lambda: (agent.peek() is None) == (wanted == "allowed"))

    def server(self, state: str) -> None:
        http("GET", f"{self.relay}/{state}")

    def sleep(self, ms: int) -> None:
        time.sleep(ms / 1000)

    def flush(self, arg: Dict[str, Any]) -> None:
        assert self.agent is not None
        if not self.agent.flush(arg["within_ms"] / 1000):
            raise Failed(f"not flushed within {arg['within_ms']} ms: {self.agent.counts()}")

    def counts(self, arg: Dict[str, int]) -> None:
        assert self.agent is not None
        counts = self.agent.counts()
        for field, wanted in arg.items():
            if getattr(counts, field) != wanted:
                raise Failed(f"{field} is {getattr(counts, field)}, not {wanted}: {counts}")

    def server_says(self, arg: Dict[str, int]) -> None:
        def counted() -> bool:
            agents = http("GET", f"{self.server_url}/api/v1/agents", self.admin)
            mine = [a for a in agents if a.get("agent_id") == self.name]
            return bool(mine) and mine[0].get("refused_attempts", 0) >= arg["refused_attempts_at_least"]

        until(arg["within_ms"], "the server counts the refusal", counted)

    def run(self, arg: Dict[str, Any]) -> None:
        if arg["expect"] == "rejected":
            # Pointed at nothing: a request sent would fail to connect.
            nowhere = mandate.Client("http://127.0.0.1:9", self.token)
            raw = {k: (fill(v, self.name) if isinstance(v, str) else v) for k, v in arg["context"].items()}
            try:
                nowhere.create_run("conformance", context(raw))
            except mandate.AttributionError as e:
                if e.code != arg["code"]:
                    raise Failed(f"an invalid run refused with {e.code}, not {arg['code']}") from None
                return
            raise Failed("an invalid run was not refused")
        client = mandate.Client(self.url, self.token)
        run = client.create_run("conformance", mandate.AttributionContext.system(f"{SDK}-{arg['agent']}", "conformance"))
        done = client.complete_run(str(run["run_id"]), arg["complete"])
        if done.get("status") != arg["complete"]:
            raise Failed(f"the run completed as {done.get('status')}")

    def stored(self, arg: Dict[str, Any]) -> None:
        # Counted in the database by the test that runs this, once the runner is done.
        pass

    def close(self) -> None:
        if self.agent is not None:
            self.agent.close(0.5)


def behaviour_cases() -> List[str]:
    cases = json.loads((CASES / "behaviour.json").read_text())
    failures = []
    for case in cases["cases"]:
        run = Run()
        try:
            for step in case["steps"]:
                run.step(step)
            print(f"ok behaviour: {case['name']}")
        except (Failed, mandate.MandateError, OSError) as e:
            failures.append(f"FAIL behaviour: {case['name']}: {e}")
        finally:
            run.close()
            try:
                http("GET", f"{run.relay}/up")
            except OSError:
                pass
    return failures


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    failures = []
    if which in ("attribution", "all"):
        failures += attribution_cases()
    if which in ("behaviour", "all"):
        failures += behaviour_cases()
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
