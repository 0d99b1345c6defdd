"""What JSON Schema cannot say, told to Schemathesis: an event's occurred_at
lies within the server's window around its own clock (30 days before it to 5
minutes after it, `OCCURRED_AT_OUT_OF_RANGE` otherwise). A date relative to
the moment of the request has no keyword: a well-formed date the tool
generated is moved into the window just before the request is sent; every
other field, and every malformed date, is sent as generated."""

import datetime
import random

import schemathesis


def _within_window() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    at = now - datetime.timedelta(seconds=random.randint(0, 29 * 24 * 3600))
    return at.isoformat().replace("+00:00", "Z")


def _move(event) -> None:
    if not isinstance(event, dict) or not isinstance(event.get("occurred_at"), str):
        return
    try:
        datetime.datetime.fromisoformat(event["occurred_at"].replace("z", "Z"))
    except ValueError:
        return
    event["occurred_at"] = _within_window()


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.operation.path == "/api/v1/events" and case.method.upper() == "POST":
        for event in case.body if isinstance(case.body, list) else [case.body]:
            _move(event)
