/**
 * Actions recorded as events without making the agent wait: each is held in
 * memory, and a background loop posts them in batches (up to MAX_BATCH, or
 * whatever arrived within LINGER_MS), retrying with backoff while the server
 * cannot take them; a retried batch keeps its event ids, so the server stores
 * each event once. What the process holds is bounded (`capacity`, counting
 * the batch being sent): when it is full a new record is refused and counted
 * as dropped, never blocking the agent.
 */
import { log } from "./attribution.js";
import type { Client, Json } from "./client.js";
import { ApiError, MandateError } from "./errors.js";
import { Backoff, sleep } from "./retry.js";
import { type Stop, stopFromJson } from "./types.js";

export const MAX_BATCH = 500;
export const LINGER_MS = 50;
export const CAPACITY = 10_000;

/** What became of the events recorded so far. */
export interface Counts {
  queued: number;
  /** Stored, or already stored (a replay is a no-op). */
  sent: number;
  /** Refused by the server. */
  rejected: number;
  /** Not kept: the buffer was full. */
  dropped: number;
  /** Requests that delivered a batch. */
  batches: number;
}

export class Recorder {
  readonly capacity: number;
  #client: Client;
  #waiting: Json[] = [];
  #held = 0;
  #counts: Counts = { queued: 0, sent: 0, rejected: 0, dropped: 0, batches: 0 };
  #stopped = new Map<string, Stop>();
  #sending = false;
  #closed = false;

  constructor(client: Client, capacity: number = CAPACITY) {
    if (capacity < 1) throw new RangeError("a recorder holds at least one event");
    this.#client = client;
    this.capacity = capacity;
  }

  /** Keeps `event` to send; never waits. False when the buffer is full (counted as dropped). */
  record(event: Json): boolean {
    if (this.#held >= this.capacity) {
      this.#counts.dropped += 1;
      if (this.#counts.dropped % 1000 === 1) log("events_dropped", { capacity: this.capacity, dropped: this.#counts.dropped });
      return false;
    }
    this.#held += 1;
    this.#counts.queued += 1;
    this.#waiting.push(event);
    if (!this.#sending) void this.#send();
    return true;
  }

  counts(): Counts {
    return { ...this.#counts };
  }

  /** The stops the server said hold on the agents of the events sent. */
  stopped(): Map<string, Stop> {
    return new Map(this.#stopped);
  }

  /** Waits until every event recorded so far is sent or refused, at most `timeoutMs`; whether it got there. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.#counts.sent + this.#counts.rejected < this.#counts.queued) {
      if (performance.now() > deadline) return false;
      await sleep(5);
    }
    return true;
  }

  close(): void {
    this.#closed = true;
  }

  async #send(): Promise<void> {
    this.#sending = true;
    const backoff = new Backoff(200, 15_000);
    try {
      while (this.#waiting.length > 0 && !this.#closed) {
        // A full batch goes at once; a partial one waits a little for more.
        if (this.#waiting.length < MAX_BATCH) await sleep(LINGER_MS, true);
        const batch = this.#waiting.splice(0, MAX_BATCH);
        for (let attempt = 0; !this.#closed; attempt += 1) {
          try {
            this.#done(batch, await this.#client.postEvents(batch));
            break;
          } catch (e) {
            if (!(e instanceof MandateError)) throw e;
            if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429) {
              // The whole batch refused as it is: retrying cannot help.
              this.#counts.rejected += batch.length;
              this.#held -= batch.length;
              break;
            }
            const asked = e instanceof ApiError ? e.retryAfter : null;
            await sleep(backoff.delay(attempt, Math.random(), asked), true);
          }
        }
      }
    } finally {
      this.#sending = false;
    }
  }

  #done(batch: Json[], report: Json): void {
    const accepted = typeof report["accepted"] === "number" ? report["accepted"] : 0;
    const duplicates = typeof report["duplicates"] === "number" ? report["duplicates"] : 0;
    const rejected = Array.isArray(report["rejected"]) ? report["rejected"].length : 0;
    this.#counts.sent += accepted + duplicates;
    this.#counts.rejected += rejected;
    this.#counts.batches += 1;
    this.#held -= batch.length;
    for (const event of batch) if (typeof event["agent_id"] === "string") this.#stopped.delete(event["agent_id"]);
    const stopped = report["stopped"];
    if (typeof stopped === "object" && stopped !== null) {
      for (const [agent, stop] of Object.entries(stopped as Record<string, unknown>)) {
        if (typeof stop === "object" && stop !== null) this.#stopped.set(agent, stopFromJson(stop as Record<string, unknown>));
      }
    }
  }
}
