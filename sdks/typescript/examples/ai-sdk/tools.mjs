// Vercel AI SDK tools, obeying Mandate.
//
// The AI SDK calls a tool's `execute` when the model asks for it; here each
// `execute` is wrapped by Mandate (`agent.wrapTool`): before it runs, the stops
// in force on the agent are checked (no network), and what ran is recorded.
// No model is needed to see it: the tools are executed as generateText would
// execute them.
//
//   (cd sdks/typescript && npm install) && (cd sdks/typescript/examples/ai-sdk && npm install)
//   MANDATE_URL=http://127.0.0.1:7400 MANDATE_TOKEN=mdt_… node sdks/typescript/examples/ai-sdk/tools.mjs
import { Agent, Client, Stopped, system } from "@mandate/sdk";
import { tool } from "ai";
import { z } from "zod";

const name = process.argv[2] ?? "ai-sdk-deployer";
const agent = new Agent(new Client(), system(name, "ai-sdk"));

const tools = {
  readConfig: tool({
    description: "Read one key of the payments-service configuration",
    inputSchema: z.object({ key: z.string() }),
    execute: agent.wrapTool(async ({ key }) => `${key} = 20`, { tool: "read_config", resource: "payments-service" }),
  }),
  restartPool: tool({
    description: "Restart the payments-db connection pool",
    inputSchema: z.object({ size: z.number().int() }),
    execute: agent.wrapTool(async ({ size }) => `pool restarted with ${size} connections`, {
      tool: "restart_pool",
      resource: "payments-db",
    }),
  }),
};

// Wait for the first word from the server on this agent's stops.
for (let i = 0; i < 200 && agent.control.state() === null; i += 1) await new Promise((r) => setTimeout(r, 10));
for (const [key, args] of [["readConfig", { key: "pool_size" }], ["restartPool", { size: 20 }]]) {
  try {
    console.log(`${key}: ${await tools[key].execute(args, { toolCallId: key, messages: [] })}`);
  } catch (e) {
    if (!(e instanceof Stopped)) throw e;
    console.log(`${key}: refused: ${e.message}`);
  }
}
await agent.close();
console.log(`recorded ${agent.counts().sent} tool calls`);
