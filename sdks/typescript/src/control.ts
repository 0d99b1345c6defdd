/**
 * The agent's side of a stop: a subscription that keeps the controls the
 * server holds for this agent (the stops in force, the disabled tools) in a
 * local copy, and a check against that copy before every action, which never
 * waits on the network.
 *
 * The subscription is a long poll of GET /api/v1/agents/{id}/control, run in
 * the background: the server answers as soon as the controls change, and with
 * 304 after 25 s otherwise. While the server cannot be heard, the last
 * controls known stay in force, the poll is retried with backoff, and
 * `refuseAfterMs` says whether actions go on meanwhile (null: keep acting).
 */
import type { Client, Json } from "./client.js";
import { ApiError, MandateError, OutOfContact, type Refusal, Stopped, ToolDisabled } from "./errors.js";
import { Backoff, sleep } from "./retry.js";
import { type Stop, covers, holdsAt, stopFromJson } from "./types.js";

const WAIT_SECONDS = 25;
const REPOLL_SPREAD_MS = 500;
const REPORT_EVERY_MS = 250;

export class Control {
  readonly agent: string;
  readonly refuseAfterMs: number | null;
  #client: Client;
  #state: Json | null = null;
  #heard: number | null = null;
  #lost: number | null = null;
  #started = performance.now();
  #refused = new Map<string, { scope: string; target: string; n: number }>();
  #reporting = false;
  #closed = false;
  #abort = new AbortController();

  constructor(client: Client, agent: string, refuseAfterMs: number | null = null) {
    this.#client = client;
    this.agent = agent;
    this.refuseAfterMs = refuseAfterMs;
    void this.#poll();
  }

  close(): void {
    this.#closed = true;
    this.#abort.abort();
  }

  /** What would refuse an action now, by the local copy, without counting an attempt. */
  peek(runId: string | null = null, tool: string | null = null): Refusal | null {
    return this.#decide(runId, tool)[0];
  }

  /**
   * Throws the Refusal when the agent's next action (of `runId`, with `tool`)
   * may not run. No network. An attempt refused by a stop is counted and
   * reported in the background.
   */
  check(runId: string | null = null, tool: string | null = null): void {
    const [refusal, stop] = this.#decide(runId, tool);
    if (refusal === null) return;
    if (stop !== null) {
      const key = `${stop.scope}\u0000${stop.target}`;
      const counted = this.#refused.get(key) ?? { scope: stop.scope, target: stop.target, n: 0 };
      counted.n += 1;
      this.#refused.set(key, counted);
      void this.#report();
    }
    throw refusal;
  }

  /**
   * Whether an action of this type may be gated, by the controls as last heard (then the server is
   * asked before it runs). Never heard: asked by an agent that refuses out of contact, not by one
   * that keeps acting.
   */
  mayGate(actionType: string): boolean {
    if (this.#state === null) return this.refuseAfterMs !== null;
    const gates = this.#state["gates"];
    return Array.isArray(gates) && (gates.includes("*") || gates.includes(actionType));
  }

  /** The controls as last heard; null until the server first answers. */
  state(): Json | null {
    return this.#state;
  }

  stopInForce(runId: string | null = null): Stop | null {
    return this.#state === null ? null : stopFor(this.#state, this.agent, runId);
  }

  /** Milliseconds the server has not been heard, if it is not now. */
  outOfContact(): number | null {
    return this.#lost === null ? null : performance.now() - this.#lost;
  }

  #decide(runId: string | null, tool: string | null): [Refusal | null, Stop | null] {
    const state = this.#state;
    if (state !== null) {
      const stop = stopFor(state, this.agent, runId);
      if (stop !== null) return [new Stopped(this.agent, stop), stop];
      const disabled = state["disabled_tools"];
      if (tool !== null && Array.isArray(disabled) && disabled.includes(tool)) return [new ToolDisabled(this.agent, tool), null];
    }
    if (this.refuseAfterMs !== null) {
      const since = this.#lost ?? (this.#heard === null ? this.#started : null);
      if (since !== null) {
        const outFor = performance.now() - since;
        if (outFor > this.refuseAfterMs) return [new OutOfContact(this.agent, outFor), null];
      }
    }
    return [null, null];
  }

  async #poll(): Promise<void> {
    const backoff = new Backoff(250, 15_000);
    let attempt = 0;
    while (!this.#closed) {
      // After losing the server, the first poll asks for the controls at once
      // (no `since`): contact is back the moment the server answers.
      const tag = this.#state !== null && this.#lost === null ? this.#state["tag"] : null;
      try {
        const answer = await this.#client.agentControl(
          this.agent,
          typeof tag === "string" ? tag : null,
          WAIT_SECONDS,
          this.#abort.signal,
        );
        attempt = 0;
        this.#heard = performance.now();
        this.#lost = null;
        if (answer !== null) {
          this.#state = answer;
          await sleep(Math.random() * REPOLL_SPREAD_MS, true);
        }
      } catch (e) {
        if (this.#closed) return;
        this.#lost ??= performance.now();
        let asked: number | null = null;
        if (e instanceof ApiError) asked = e.retryAfter ?? (e.status === 429 ? 2000 : null);
        if (!(e instanceof MandateError)) throw e;
        await sleep(backoff.delay(attempt, Math.random(), asked), true);
        attempt += 1;
      }
    }
  }

  async #report(): Promise<void> {
    if (this.#reporting) return;
    this.#reporting = true;
    try {
      while (this.#refused.size > 0 && !this.#closed) {
        await sleep(REPORT_EVERY_MS, true);
        const counts = [...this.#refused.values()];
        this.#refused.clear();
        for (const { scope, target, n } of counts) {
          try {
            await this.#client.reportRefusals(this.agent, scope, target, n);
          } catch {
            const key = `${scope}\u0000${target}`;
            const counted = this.#refused.get(key) ?? { scope, target, n: 0 };
            counted.n += n;
            this.#refused.set(key, counted);
            await sleep(1000, true);
          }
        }
      }
    } finally {
      this.#reporting = false;
    }
  }
}

/** The stop that refuses an action of `runId` now, if any: every stop listed, then the one on the whole agent. */
function stopFor(state: Json, agent: string, runId: string | null): Stop | null {
  const raw: unknown[] = Array.isArray(state["stops"]) ? [...(state["stops"] as unknown[])] : [];
  if (typeof state["stop"] === "object" && state["stop"] !== null) raw.push(state["stop"]);
  const now = new Date();
  for (const item of raw) {
    if (typeof item !== "object" || item === null) continue;
    const stop = stopFromJson(item as Record<string, unknown>);
    if (holdsAt(stop, now) && covers(stop, agent, runId)) return stop;
  }
  return null;
}
