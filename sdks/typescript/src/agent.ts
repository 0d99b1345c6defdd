/**
 * One agent as it acts: before each action, the local copy of its controls is
 * checked (no network); a refused action never runs; an action that ran is
 * recorded as an event in the background, with the agent's attribution,
 * validated once when the agent starts.
 */
import { randomUUID } from "node:crypto";
import type { Client, Json } from "./client.js";
import { Control } from "./control.js";
import { clear } from "./gate.js";
import type { Refusal } from "./errors.js";
import { CAPACITY, type Counts, Recorder } from "./recorder.js";
import type { AttributionContext } from "./types.js";

/** An error's message is kept to this many characters on the event. */
const ERROR_TEXT = 4096;

export interface AgentOptions {
  /** Milliseconds without hearing the server after which every action is refused; null (default): keep acting. */
  refuseAfterMs?: number | null;
  /** Events held at most while the server cannot take them. */
  buffer?: number;
}

export interface ActionOptions {
  tool?: string | null;
  resource?: string | null;
  runId?: string | null;
  actionType?: string;
  /** What it does, in words, for a person asked to approve it. */
  summary?: string | null;
  /** The person the agent acts for (four eyes: they may not approve it). */
  onBehalfOf?: string | null;
}

export interface RecordOptions extends ActionOptions {
  /** The action failed with this. */
  error?: unknown;
  errorCode?: string;
}

export class Agent {
  readonly id: string;
  readonly client: Client;
  readonly attribution: AttributionContext;
  readonly control: Control;
  readonly recorder: Recorder;
  #seq = 0;

  /** An agent that would be refused never starts: its attribution is enforced here. */
  constructor(client: Client, attribution: AttributionContext, options: AgentOptions = {}) {
    client.enforcer.enforce(attribution);
    this.client = client;
    this.attribution = attribution;
    this.id = attribution.agentId ?? "";
    this.control = new Control(client, this.id, options.refuseAfterMs ?? null);
    this.recorder = new Recorder(client, options.buffer ?? CAPACITY);
  }

  static start(client: Client, attribution: AttributionContext, options: AgentOptions = {}): Agent {
    return new Agent(client, attribution, options);
  }

  /** Sends what is held (up to `flushTimeoutMs`), then stops the subscription and the sender. */
  async close(flushTimeoutMs = 5000): Promise<void> {
    await this.recorder.flush(flushTimeoutMs);
    this.control.close();
    this.recorder.close();
  }

  /** Throws the Refusal when the next action may not run. */
  check(tool: string | null = null, runId: string | null = null): void {
    this.control.check(runId, tool);
  }

  /** The Refusal the next action would meet, without counting it. */
  peek(tool: string | null = null, runId: string | null = null): Refusal | null {
    return this.control.peek(runId, tool);
  }

  /**
   * Clears an action with the server when its type may be gated (the controls say which):
   * monitored and flagged actions proceed; a gated one waits for a person's decision, up to its
   * request's end, and rejects with Denied or ApprovalTimedOut unless approved. Any other action
   * is cleared at once, without the network. Resolves with the approval an approved action runs
   * under, else null.
   */
  async clear(options: ActionOptions = {}): Promise<Json | null> {
    const actionType = options.actionType ?? "tool_call";
    if (!this.control.mayGate(actionType)) return null;
    const a = this.attribution;
    const human = a.actorType?.toUpperCase() === "HUMAN" ? a.actorId : null;
    const described =
      actionType + (options.resource ? ` on ${options.resource}` : "") + (options.tool ? ` with tool ${options.tool}` : "");
    const body: Json = {
      agent_id: this.id,
      action_type: actionType,
      resource: options.resource,
      summary: options.summary ?? described,
      run_id: options.runId,
      on_behalf_of: options.onBehalfOf ?? human,
      actor_type: a.actorType?.toUpperCase(),
    };
    for (const key of Object.keys(body)) if (body[key] === undefined || body[key] === null) delete body[key];
    return clear(this.client, body);
  }

  /** Records an action that ran (failed, when `error` is given); never waits. False when the buffer is full. */
  record(options: RecordOptions = {}): boolean {
    const a = this.attribution;
    this.#seq += 1;
    const event: Json = {
      event_id: randomUUID(),
      agent_id: a.agentId,
      actor_type: a.actorType?.toUpperCase(),
      actor_id: a.actorId,
      origin_system_id: a.originSystemId,
      run_id: options.runId,
      action_type: options.actionType ?? "tool_call",
      tool: options.tool,
      resource: options.resource,
      outcome: options.error === undefined ? "ok" : "error",
      seq: this.#seq,
      occurred_at: new Date().toISOString(),
    };
    if (options.error !== undefined) {
      event["error_code"] = options.errorCode ?? "ACTION_FAILED";
      const text = options.error instanceof Error ? options.error.message : String(options.error);
      event["error_message"] = text.slice(0, ERROR_TEXT);
    }
    for (const key of Object.keys(event)) if (event[key] === undefined || event[key] === null) delete event[key];
    return this.recorder.record(event);
  }

  /**
   * Turns a tool function (plain or async) into a checked, recorded one:
   * `const restart = agent.wrapTool(restartPool, { resource: "payments-db" })`.
   * A Refusal is thrown before the function runs; its own error is recorded and
   * thrown again. An action type a critical point may gate waits for a person
   * first: the wrapped call then returns a Promise, rejected with Denied or
   * ApprovalTimedOut unless approved.
   */
  wrapTool<A extends unknown[], R>(fn: (...args: A) => R, options: ActionOptions = {}): (...args: A) => R {
    const tool = options.tool ?? (fn.name || null);
    const base: ActionOptions = { ...options, tool };
    const actionType = options.actionType ?? "tool_call";
    const run = (...args: A): R => {
      let result: R;
      try {
        result = fn(...args);
      } catch (error) {
        this.record({ ...base, error });
        throw error;
      }
      if (result instanceof Promise) {
        return result.then(
          (value: unknown) => {
            this.record(base);
            return value;
          },
          (error: unknown) => {
            this.record({ ...base, error });
            throw error;
          },
        ) as R;
      }
      this.record(base);
      return result;
    };
    return (...args: A): R => {
      this.check(tool, options.runId ?? null);
      if (!this.control.mayGate(actionType)) return run(...args);
      return this.clear(base).then(async () => {
        this.check(tool, options.runId ?? null);
        return await (run(...args) as unknown);
      }) as R;
    };
  }

  counts(): Counts {
    return this.recorder.counts();
  }

  flush(timeoutMs = 10_000): Promise<boolean> {
    return this.recorder.flush(timeoutMs);
  }
}

/** `agent.wrapTool(fn, options)`, as a function. */
export function wrapTool<A extends unknown[], R>(agent: Agent, fn: (...args: A) => R, options: ActionOptions = {}): (...args: A) => R {
  return agent.wrapTool(fn, options);
}
