"""A small agent on the Python SDK, as `mandate demo` runs it beside the
simulated fleet: every second or two it calls one of its tools, each checked
against the stops in force and recorded; stopped, its calls are refused (and
counted on :agents). It ends when its standard input closes (the demo went).

    MANDATE_URL=… MANDATE_TOKEN=… PYTHONPATH=sdks/python/src python sdks/python/examples/fleet_agent.py
"""

from __future__ import annotations

import random
import sys
import threading
import time

import mandate

agent = mandate.Agent(mandate.Client(), mandate.AttributionContext.system("report-builder-py", "reports-scheduler"))


@agent.tool(resource="reports")
def build_report(name: str) -> str:
    if random.random() < 0.05:
        raise TimeoutError(f"report {name} timed out")
    return f"report {name} built"


@agent.tool(resource="report-db")
def read_rows(table: str) -> int:
    return random.randint(100, 1000)


def main() -> None:
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.wait(random.uniform(0.8, 2.5)):
        try:
            read_rows("orders")
            build_report(random.choice(["daily-revenue", "churn", "refunds"]))
        except (mandate.Refusal, TimeoutError):
            pass
    agent.close(1.0)


if __name__ == "__main__":
    main()
