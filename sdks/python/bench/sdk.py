"""What the Python SDK costs an agent, against a real server
(`cargo bench --bench sdks` runs it; or by hand with MANDATE_URL and
MANDATE_TOKEN set):

- the added cost per wrapped tool call when nothing is stopped: a call
  through `@agent.tool` minus the same call bare;
- events per second one process records, until the server has them all;
- the memory a full buffer holds (10,000 events, the default), the server
  unreachable.

Prints one JSON object."""

from __future__ import annotations

import json
import os
import time
import tracemalloc

import mandate

CALLS = int(os.environ.get("BENCH_CALLS", "200000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "100000"))


def main() -> None:
    client = mandate.Client()
    agent = mandate.Agent(client, mandate.AttributionContext.system("bench-python", "bench"), buffer=CALLS + EVENTS)
    deadline = time.monotonic() + 10
    while agent.control.state() is None and time.monotonic() < deadline:
        time.sleep(0.01)

    def tool(x: int) -> int:
        return x + 1

    wrapped = agent.tool("bench_tool", resource="bench")(tool)
    started = time.perf_counter()
    for i in range(CALLS):
        tool(i)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(CALLS):
        wrapped(i)
    through = time.perf_counter() - started
    overhead_us = (through - bare) / CALLS * 1e6
    agent.flush(60)

    started = time.perf_counter()
    for _ in range(EVENTS):
        agent.record(tool="bench_tool", resource="bench")
    flushed = agent.flush(120)
    per_second = EVENTS / (time.perf_counter() - started)
    counts = agent.counts()
    agent.close(1)

    dead = mandate.Client("http://127.0.0.1:9", "mdt_none")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    full = mandate.Agent(dead, mandate.AttributionContext.system("bench-full", "bench"))
    for _ in range(mandate.recorder.CAPACITY):
        full.record(tool="bench_tool", resource="bench")
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "sdk": "python",
                "wrapped_call_overhead_us": round(overhead_us, 2),
                "events_per_second": round(per_second),
                "all_stored": flushed and counts.sent == CALLS + EVENTS,
                "full_buffer_events": full.counts().queued,
                "full_buffer_mib": round(held / 2**20, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
