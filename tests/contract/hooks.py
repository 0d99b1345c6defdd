"""What JSON Schema cannot say, told to Schemathesis: dates relative to the
moment of the request. A date relative to "now" has no keyword, so a
well-formed date the tool generated is moved where the server's clock wants
it just before the request is sent; every other field, and every malformed
date, is sent as generated.

- An event's occurred_at lies within the server's window around its own
  clock (30 days before it to 5 minutes after it; `OCCURRED_AT_OUT_OF_RANGE`
  otherwise).
- A stop's or a pause's `until` is ahead (a stop that already ended stops
  nothing).
- A silence ends ahead of now and after its start, at most 7 days after it
  begins (90 with a weekly window)."""

import datetime
import random

import schemathesis


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _text(at: datetime.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _is_date(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _move_event(event) -> None:
    if isinstance(event, dict) and _is_date(event.get("occurred_at")):
        event["occurred_at"] = _text(_now() - datetime.timedelta(seconds=random.randint(0, 29 * 24 * 3600)))


def _ahead(body, field: str) -> None:
    if isinstance(body, dict) and _is_date(body.get(field)):
        body[field] = _text(_now() + datetime.timedelta(seconds=random.randint(60, 6 * 24 * 3600)))


def _silence(body) -> None:
    if not isinstance(body, dict):
        return
    start = _now()
    if _is_date(body.get("starts_at")):
        start += datetime.timedelta(seconds=random.randint(0, 24 * 3600))
        body["starts_at"] = _text(start)
    if _is_date(body.get("ends_at")):
        body["ends_at"] = _text(start + datetime.timedelta(seconds=random.randint(60, 6 * 24 * 3600)))


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path, method = case.operation.path, case.method.upper()
    if method != "POST":
        return
    if path == "/api/v1/events":
        for event in case.body if isinstance(case.body, list) else [case.body]:
            _move_event(event)
    elif path in ("/api/v1/stops", "/api/v1/incidents/{id}/interventions", "/api/v1/agents/{agent_id}/interventions"):
        _ahead(case.body, "until")
    elif path == "/api/v1/silences":
        _silence(case.body)
