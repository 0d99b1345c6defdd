"""A LangChain / LangGraph agent's tools, obeying Mandate.

LangGraph runs the tools a model asks for; each here is a LangChain tool
(`@tool`) whose function is wrapped by Mandate (`@agent.tool`): before it
runs, the stops in force on the agent are checked (no network), and what ran
is recorded. No model is needed to see it: the tools are invoked as a
LangGraph ToolNode would invoke them.

    pip install ./sdks/python langchain-core
    MANDATE_URL=http://127.0.0.1:7400 MANDATE_TOKEN=mdt_… python sdks/python/examples/langchain_tools.py
"""

from __future__ import annotations

import sys
import time

from langchain_core.tools import tool

import mandate

AGENT = sys.argv[1] if len(sys.argv) > 1 else "langchain-deployer"
agent = mandate.Agent(mandate.Client(), mandate.AttributionContext.system(AGENT, "langgraph"))


@tool
@agent.tool(resource="payments-db")
def restart_pool(size: int) -> str:
    """Restart the payments-db connection pool with `size` connections."""
    return f"pool restarted with {size} connections"


@tool
@agent.tool(resource="payments-service")
def read_config(key: str) -> str:
    """Read one key of the payments-service configuration."""
    return f"{key} = 20"


def main() -> int:
    # Wait (2 s at most) for the first word from the server on this agent's stops.
    deadline = time.monotonic() + 2
    while agent.control.state() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    for call, args in [(read_config, {"key": "pool_size"}), (restart_pool, {"size": 20})]:
        try:
            print(f"{call.name}: {call.invoke(args)}")
        except mandate.Stopped as stopped:
            print(f"{call.name}: refused: {stopped}")
    agent.close()
    counts = agent.counts()
    print(f"recorded {counts.sent} tool calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
