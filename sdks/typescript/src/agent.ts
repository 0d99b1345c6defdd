/**
 * One agent as it acts: before each action, the local copy of its controls is
 * checked (no network); a refused action never runs; an action that ran is
 * recorded as an event in the background, with the agent's attribution,
 * validated once when the agent starts.
 */
import { randomUUID } from "node:crypto";
import type { Client, Json } from "./client.js";
import { Control } from "./control.js";
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
   * thrown again.
   */
  wrapTool<A extends unknown[], R>(fn: (...args: A) => R, options: ActionOptions = {}): (...args: A) => R {
    const tool = options.tool ?? (fn.name || null);
    const base: ActionOptions = { ...options, tool };
    return (...args: A): R => {
      this.check(tool, options.runId ?? null);
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
