// The shared conformance cases (sdks/conformance), run against this SDK as
// its users install it: `tests/suite/sdk_conformance.rs` copies this file
// into a fresh project that did `npm install <repo>/sdks/typescript`.
//
//   MANDATE_CONFORMANCE    the cases' folder
//   MANDATE_URL            the relay the SDK talks to
//   MANDATE_SERVER_URL     the server itself (the operator's calls)
//   MANDATE_TOKEN          an agent token
//   MANDATE_ADMIN_TOKEN    an admin token (root-admin)
//   MANDATE_RELAY_CONTROL  the relay's control (GET …/down, …/up)
//
//   node conformance.mjs [attribution|behaviour|all]
//
// One line per case ("ok …" or "FAIL …: why"); exit status 1 when a case failed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as mandate from "@mandate/sdk";

const SDK = "typescript";
const CASES = process.env.MANDATE_CONFORMANCE;
const load = (name) => JSON.parse(readFileSync(join(CASES, name), "utf8"));
const fill = (text, agent) => text.replaceAll("{agent}", agent).replaceAll("{sdk}", SDK);
const context = (raw) => ({
  agentId: raw.agent_id,
  actorType: raw.actor_type,
  originSystemId: raw.origin_system_id,
  actorId: raw.actor_id,
});
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Failed extends Error {}

function attributionCases() {
  const cases = load("attribution.json");
  const failures = [];
  for (const c of cases.validate) {
    const got = mandate.validate(context(c.context)).map((e) => ({ code: e.code, field: e.field, message: e.detail }));
    if (same(got, c.errors)) console.log(`ok validate: ${c.name}`);
    else failures.push(`FAIL validate: ${c.name}: ${JSON.stringify(got)} != ${JSON.stringify(c.errors)}`);
  }
  for (const c of cases.enforcement) {
    const enforcer = mandate.Enforcer.fromVars(c.env.AOS_ATTRIBUTION_ENFORCEMENT, c.env.AOS_ALLOW_ATTRIBUTION_LEGACY);
    let got;
    try {
      const tolerated = enforcer.enforce(context(c.context));
      got = { outcome: "accepted", tolerated: tolerated.map((e) => e.code), override_used: enforcer.overrideUsed(tolerated) };
    } catch (e) {
      if (!(e instanceof mandate.AttributionError)) throw e;
      got = { outcome: "rejected", code: e.code };
      if (e.message !== `[${e.code}] ${e.detail}`) failures.push(`FAIL enforcement: ${c.name}: the rejection reads ${e.message}`);
    }
    if (same(got, c.expect)) console.log(`ok enforcement: ${c.name}`);
    else failures.push(`FAIL enforcement: ${c.name}: ${JSON.stringify(got)} != ${JSON.stringify(c.expect)}`);
  }
  return failures;
}

async function http(method, url, token, body) {
  const response = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Failed(`${method} ${url}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function until(withinMs, what, ok) {
  const deadline = Date.now() + withinMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Failed(`${what} not within ${withinMs} ms`);
    await sleep(20);
  }
}

class Run {
  constructor() {
    this.url = process.env.MANDATE_URL;
    this.serverUrl = process.env.MANDATE_SERVER_URL ?? this.url;
    this.token = process.env.MANDATE_TOKEN;
    this.admin = process.env.MANDATE_ADMIN_TOKEN;
    this.relay = process.env.MANDATE_RELAY_CONTROL;
    this.agent = null;
    this.name = "";
  }

  async step(step) {
    const [[kind, arg]] = Object.entries(step);
    await this[kind](arg);
  }

  async start(arg) {
    this.name = `${SDK}-${arg.agent}`;
    const policy = arg.out_of_contact ?? "keep_acting";
    const client = new mandate.Client({ baseUrl: this.url, token: this.token });
    this.agent = new mandate.Agent(client, mandate.system(this.name, "conformance"), {
      refuseAfterMs: policy === "keep_acting" ? null : policy.refuse_after_ms,
      buffer: arg.buffer ?? 10_000,
    });
  }

  async call(arg) {
    let ran = false;
    class ToolFailed extends Error {}
    const tool = this.agent.wrapTool(
      () => {
        ran = true;
        if (arg.fails_with !== undefined) throw new ToolFailed(arg.fails_with);
        return "done";
      },
      { tool: arg.tool, resource: arg.resource ?? null, actionType: arg.action_type ?? "tool_call", summary: arg.summary ?? null },
    );
    const decided = arg.operator_decides ? this.decideWhenAsked(arg.operator_decides) : null;
    for (let n = 1; n <= (arg.times ?? 1); n += 1) {
      ran = false;
      let got = "ran";
      let refusal = null;
      try {
        await tool();
      } catch (e) {
        refusal = e;
        if (e instanceof ToolFailed) {
          if (e.message !== arg.fails_with) throw new Failed(`the tool's error came back as ${e.message}`);
          got = "failed";
          refusal = null;
        } else if (e instanceof mandate.Stopped) got = "stopped";
        else if (e instanceof mandate.OutOfContact) got = "out_of_contact";
        else if (e instanceof mandate.ToolDisabled) got = "tool_disabled";
        else if (e instanceof mandate.Denied) got = "denied";
        else if (e instanceof mandate.ApprovalTimedOut) got = "timed_out";
        else if (e instanceof mandate.ApprovalUnavailable) got = "unavailable";
        else throw e;
      }
      if (got !== arg.expect) throw new Failed(`call ${n} of ${arg.tool}: ${got} (${refusal?.message}), not ${arg.expect}`);
      if ((got === "ran" || got === "failed") !== ran) throw new Failed(`call ${n}: the tool ${got === "ran" ? "did not run" : "ran though refused"}`);
      if (refusal instanceof mandate.Stopped) {
        for (const [field, wanted] of Object.entries(arg.stop ?? {})) {
          const have = refusal.stop[field];
          if (have !== fill(wanted, this.name)) throw new Failed(`the stop's ${field} is ${have}, not ${fill(wanted, this.name)}`);
        }
      }
      if (arg.message_starts_with && !refusal.message.startsWith(fill(arg.message_starts_with, this.name))) {
        throw new Failed(`the refusal reads ${refusal.message}`);
      }
      if (arg.message_ends_with && !refusal.message.endsWith(fill(arg.message_ends_with, this.name))) {
        throw new Failed(`the refusal reads ${refusal.message}`);
      }
    }
    if (decided) await decided;
  }

  /** A person (root-admin) decides the request this agent waits on, as soon as it appears, with the digest of what they read. */
  async decideWhenAsked(decision) {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const listed = await http("GET", `${this.serverUrl}/api/v1/approvals`, this.admin);
      const mine = listed.approvals.find((a) => a.agent_id === this.name && a.status === "waiting");
      if (mine) {
        const body = {
          decision: decision.decision, reason: decision.reason, digest: mine.digest, confirm: true,
          actor_type: "HUMAN", actor_id: "root-admin", agent_id: "conformance", origin_system_id: "conformance",
        };
        await http("POST", `${this.serverUrl}/api/v1/approvals/${mine.id}/decision`, this.admin, body);
        return;
      }
      await sleep(20);
    }
    throw new Failed(`no approval request from ${this.name} came to decide`);
  }

  async operator(arg) {
    if (arg.critical_point) {
      const point = JSON.parse(fill(JSON.stringify(arg.critical_point), this.name));
      const routing = await http("GET", `${this.serverUrl}/api/v1/routing`, this.admin);
      routing.critical_point = [...(routing.critical_point ?? []).filter((p) => p.name !== point.name), point];
      await http("PUT", `${this.serverUrl}/api/v1/routing`, this.admin, routing);
      return;
    }
    const who = { actor_type: "HUMAN", actor_id: "root-admin", agent_id: "conformance", origin_system_id: "conformance" };
    if (arg.stop) {
      const body = { scope: arg.stop, target: fill(arg.target, this.name), reason: arg.reason ?? null, ...who };
      if (arg.stop === "fleet") body.confirm = true;
      await http("POST", `${this.serverUrl}/api/v1/stops`, this.admin, body);
    } else {
      await http("POST", `${this.serverUrl}/api/v1/stops/lift`, this.admin, { scope: arg.lift, target: fill(arg.target, this.name), ...who });
    }
  }

  async wait(arg) {
    if (arg.until === "gates") {
      const kind = arg.action_type;
      await until(arg.within_ms, `${this.name} gates ${kind}`, () => (this.agent.control.state()?.gates ?? []).includes(kind));
      return;
    }
    const allowed = arg.until === "allowed";
    await until(arg.within_ms, `${this.name} ${arg.until}`, () => (this.agent.peek() === null) === allowed);
  }

  async server(state) {
    await http("GET", `${this.relay}/${state}`);
  }

  async sleep(ms) {
    await sleep(ms);
  }

  async flush(arg) {
    if (!(await this.agent.flush(arg.within_ms))) throw new Failed(`not flushed within ${arg.within_ms} ms: ${JSON.stringify(this.agent.counts())}`);
  }

  async counts(arg) {
    const counts = this.agent.counts();
    for (const [field, wanted] of Object.entries(arg)) {
      if (counts[field] !== wanted) throw new Failed(`${field} is ${counts[field]}, not ${wanted}: ${JSON.stringify(counts)}`);
    }
  }

  async server_says(arg) {
    await until(arg.within_ms, "the server counts the refusal", async () => {
      const agents = await http("GET", `${this.serverUrl}/api/v1/agents`, this.admin);
      const mine = agents.find((a) => a.agent_id === this.name);
      return mine !== undefined && (mine.refused_attempts ?? 0) >= arg.refused_attempts_at_least;
    });
  }

  async run(arg) {
    if (arg.expect === "rejected") {
      // Pointed at nothing: a request sent would fail to connect.
      const nowhere = new mandate.Client({ baseUrl: "http://127.0.0.1:9", token: this.token });
      const raw = Object.fromEntries(Object.entries(arg.context).map(([k, v]) => [k, typeof v === "string" ? fill(v, this.name) : v]));
      try {
        await nowhere.createRun("conformance", context(raw));
      } catch (e) {
        if (!(e instanceof mandate.AttributionError)) throw new Failed(`an invalid run: ${e.name}: ${e.message}`);
        if (e.code !== arg.code) throw new Failed(`an invalid run refused with ${e.code}, not ${arg.code}`);
        return;
      }
      throw new Failed("an invalid run was not refused");
    }
    const client = new mandate.Client({ baseUrl: this.url, token: this.token });
    const run = await client.createRun("conformance", mandate.system(`${SDK}-${arg.agent}`, "conformance"));
    const done = await client.completeRun(String(run.run_id), arg.complete);
    if (done.status !== arg.complete) throw new Failed(`the run completed as ${done.status}`);
  }

  async stored() {
    // Counted in the database by the test that runs this, once the runner is done.
  }

  async close() {
    if (this.agent) await this.agent.close(500);
  }
}

async function behaviourCases() {
  const failures = [];
  for (const c of load("behaviour.json").cases) {
    const run = new Run();
    try {
      for (const step of c.steps) await run.step(step);
      console.log(`ok behaviour: ${c.name}`);
    } catch (e) {
      if (!(e instanceof Failed || e instanceof mandate.MandateError)) throw e;
      failures.push(`FAIL behaviour: ${c.name}: ${e.message}`);
    } finally {
      await run.close();
      await http("GET", `${run.relay}/up`).catch(() => {});
    }
  }
  return failures;
}

const which = process.argv[2] ?? "all";
const failures = [];
if (which === "attribution" || which === "all") failures.push(...attributionCases());
if (which === "behaviour" || which === "all") failures.push(...(await behaviourCases()));
for (const f of failures) console.log(f);
process.exit(failures.length > 0 ? 1 : 0);
