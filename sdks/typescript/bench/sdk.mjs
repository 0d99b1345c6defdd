// What the TypeScript SDK costs an agent, against a real server
// (`cargo bench --bench sdks` runs it; or by hand with MANDATE_URL and
// MANDATE_TOKEN set, after `npm install` here):
//
// - the added cost per wrapped tool call when nothing is stopped: a call
//   through `wrapTool` minus the same call bare;
// - events per second one process records, until the server has them all;
// - the memory a full buffer holds (10,000 events, the default), the server
//   unreachable (run with --expose-gc for a steady figure).
//
// Prints one JSON object.
import { Agent, Client, system } from "../dist/index.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const agent = new Agent(new Client(), system("bench-typescript", "bench"), { buffer: CALLS + EVENTS });
for (let i = 0; i < 1000 && agent.control.state() === null; i += 1) await sleep(10);

const tool = (x) => x + 1;
const wrapped = agent.wrapTool(tool, { tool: "bench_tool", resource: "bench" });
let sink = 0;
let started = performance.now();
for (let i = 0; i < CALLS; i += 1) sink += tool(i);
const bare = performance.now() - started;
started = performance.now();
for (let i = 0; i < CALLS; i += 1) sink += wrapped(i);
const through = performance.now() - started;
const overheadUs = ((through - bare) / CALLS) * 1000;
await agent.flush(60_000);

started = performance.now();
for (let i = 0; i < EVENTS; i += 1) agent.record({ tool: "bench_tool", resource: "bench" });
const flushed = await agent.flush(120_000);
const perSecond = EVENTS / ((performance.now() - started) / 1000);
const counts = agent.counts();
await agent.close(1000);

globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const full = new Agent(new Client({ baseUrl: "http://127.0.0.1:9", token: "mdt_none" }), system("bench-full", "bench"));
for (let i = 0; i < 10_000; i += 1) full.record({ tool: "bench_tool", resource: "bench" });
globalThis.gc?.();
const held = process.memoryUsage().heapUsed - before;
console.log(
  JSON.stringify({
    sdk: "typescript",
    wrapped_call_overhead_us: Math.round(overheadUs * 100) / 100,
    events_per_second: Math.round(perSecond),
    all_stored: flushed && counts.sent === CALLS + EVENTS,
    full_buffer_events: full.counts().queued,
    full_buffer_mib: Math.round((held / 2 ** 20) * 100) / 100,
    sink: sink > 0,
  }),
);
full.control.close();
full.recorder.close();
process.exit(0);
