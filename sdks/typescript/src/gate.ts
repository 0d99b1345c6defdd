/**
 * Gated actions, as the agent waits on them: an action whose type the controls
 * name as possibly gated asks the server first; gated, it waits for a person
 * (long polls, across lost answers and server restarts, up to the request's
 * end), and runs only if approved. Every other action runs without asking.
 */
import { randomUUID } from "node:crypto";
import type { Client, Json } from "./client.js";
import { ApiError, ApprovalTimedOut, ApprovalUnavailable, Denied, ProtocolError, TransportError } from "./errors.js";
import { Backoff, sleep } from "./retry.js";

/** The longest one wait on a request lasts, in seconds: short, so the server knows within seconds when an agent stopped waiting. */
const WAIT_SECONDS = 5;
/** How long the server may stay unreachable while asking before the action is refused. */
const ASK_FOR_MS = 30_000;
/** Past a request's end, how long the SDK keeps asking for its outcome. */
const GRACE_MS = 30_000;

function transient(e: unknown): boolean {
  if (e instanceof TransportError || e instanceof ProtocolError) return true;
  return e instanceof ApiError && (e.status >= 500 || e.status === 429);
}

/**
 * Asks, and waits while gated. Resolves with the approval request an approved
 * action runs under (null when it was not gated); rejects with Denied,
 * ApprovalTimedOut or ApprovalUnavailable when it may not run.
 */
export async function clear(client: Client, body: Json): Promise<Json | null> {
  const agent = String(body["agent_id"]);
  const asked: Json = { ...body, request_key: body["request_key"] ?? randomUUID() };
  const backoff = new Backoff(200, 5000);
  const started = Date.now();
  let attempt = 0;
  let answer: Json;
  for (;;) {
    try {
      answer = await client.askApproval(asked);
      break;
    } catch (e) {
      if (!transient(e) || Date.now() - started > ASK_FOR_MS) {
        throw new ApprovalUnavailable(agent, e instanceof Error ? e.message : String(e));
      }
      await sleep(backoff.delay(attempt, Math.random()));
      attempt += 1;
    }
  }
  const first = answer["approval"];
  if (first === null || typeof first !== "object" || Array.isArray(first)) return null;
  let approval = first as Json;
  attempt = 0;
  while (approval["status"] === "waiting") {
    const left = Date.parse(String(approval["expires_at"])) - Date.now();
    try {
      approval = await client.approval(Number(approval["id"]), Math.min(WAIT_SECONDS, Math.max(left, 0) / 1000 + 1));
      attempt = 0;
    } catch (e) {
      if (transient(e) && left > -GRACE_MS) {
        await sleep(backoff.delay(attempt, Math.random()));
        attempt += 1;
        continue;
      }
      throw new ApprovalTimedOut(agent, approval, `no answer from the server about it: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (approval["proceed"] === true) return approval;
  if (approval["status"] === "denied") throw new Denied(agent, approval);
  throw new ApprovalTimedOut(agent, approval);
}
