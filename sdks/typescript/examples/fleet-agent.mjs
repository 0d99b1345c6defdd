// A small agent on the TypeScript SDK, as `mandate demo` runs it beside the
// simulated fleet: every second or two it calls one of its tools, each checked
// against the stops in force and recorded; stopped, its calls are refused (and
// counted on :agents). It ends when its standard input closes (the demo went).
//
//   (cd sdks/typescript && npm install)
//   MANDATE_URL=… MANDATE_TOKEN=… node sdks/typescript/examples/fleet-agent.mjs
import { Agent, Client, Refusal, system } from "../dist/index.js";

const agent = new Agent(new Client(), system("ticket-triager-js", "support-desk"));
const classify = agent.wrapTool(
  async (ticket) => {
    if (Math.random() < 0.05) throw new Error(`ticket ${ticket} could not be classified`);
    return "billing";
  },
  { tool: "classify_ticket", resource: "support-queue" },
);
const reply = agent.wrapTool(async (ticket) => `replied to ${ticket}`, { tool: "send_reply", resource: "notifications" });

let running = true;
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  running = false;
});
while (running) {
  await new Promise((r) => setTimeout(r, 800 + Math.random() * 1700));
  const ticket = `T-${Math.floor(Math.random() * 9000) + 1000}`;
  try {
    await classify(ticket);
    await reply(ticket);
  } catch (e) {
    if (!(e instanceof Refusal) && !(e instanceof Error)) throw e;
  }
}
await agent.close(1000);
process.exit(0);
