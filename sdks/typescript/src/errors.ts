/**
 * Every error the SDK throws is a MandateError: attribution refused before
 * anything is sent, the server's refusal, a server that cannot be reached or
 * answers nonsense, and the refusals of an action that may not run.
 */
import { type Stop, scopeLabel } from "./types.js";

export class MandateError extends Error {
  override name = "MandateError";
}

/** One attribution violation (seed 001): its canonical code, the field, the contract's message. */
export class AttributionError extends MandateError {
  static readonly ERROR_TYPE = "attribution_validation";
  override name = "AttributionError";
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly field: string,
  ) {
    super(`[${code}] ${detail}`);
  }

  toJSON(): Record<string, string> {
    return { error_type: AttributionError.ERROR_TYPE, code: this.code, message: this.detail, field: this.field };
  }
}

/** The SDK is set up wrong: no server URL, no token, an unusable CA file. */
export class ConfigError extends MandateError {
  override name = "ConfigError";
}

/** The server could not be reached, or stopped answering. */
export class TransportError extends MandateError {
  override name = "TransportError";
}

/** The server answered with an error: its status, code and message, and how long it asked to wait. */
export class ApiError extends MandateError {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly retryAfter: number | null = null,
  ) {
    super(`the server answered ${status}: ${code}: ${detail}`);
  }
}

/** The server's answer could not be read as Mandate's API. */
export class ProtocolError extends MandateError {
  override name = "ProtocolError";
}

/** An action that may not run: it was not run. */
export class Refusal extends MandateError {
  override name = "Refusal";
  constructor(
    readonly agent: string,
    message: string,
  ) {
    super(message);
  }
}

/** A stop covers the agent or its run: who made it, why, since when, until when, over what. */
export class Stopped extends Refusal {
  override name = "Stopped";
  constructor(
    agent: string,
    readonly stop: Stop,
  ) {
    const reason = stop.reason ? `: ${stop.reason}` : "";
    const incident = stop.incidentId !== null ? ` (incident #${stop.incidentId})` : "";
    super(agent, `agent ${agent} is stopped (${scopeLabel(stop)}) by ${stop.by} since ${stop.since}${reason}${incident}`);
  }
}

export class ToolDisabled extends Refusal {
  override name = "ToolDisabled";
  constructor(
    agent: string,
    readonly tool: string,
  ) {
    super(agent, `tool ${tool} is disabled for agent ${agent}`);
  }
}

/** The agent's policy refuses to act after this long without hearing the server. */
export class OutOfContact extends Refusal {
  override name = "OutOfContact";
  constructor(
    agent: string,
    readonly outForMs: number,
  ) {
    super(agent, `agent ${agent} has not heard the server for ${Math.floor(outForMs / 1000)}s and refuses to act out of contact`);
  }
}

function actionOf(approval: Record<string, unknown>): string {
  const action = String(approval["action_type"] ?? "action");
  return approval["resource"] ? `${action} on ${String(approval["resource"])}` : action;
}

/** A person denied the gated action: `approval` is the request as decided (`decided_by`, `decision_reason`). */
export class Denied extends Refusal {
  override name = "Denied";
  constructor(
    agent: string,
    readonly approval: Record<string, unknown>,
  ) {
    const by = approval["decided_by"] ?? "a person";
    const why = approval["decision_reason"] ?? "no reason given";
    super(agent, `agent ${agent}'s ${actionOf(approval)} was denied by ${String(by)} (approval #${String(approval["id"])}): ${String(why)}`);
  }
}

/** Nobody approved the gated action in time (or it was abandoned, or its outcome could not be heard): it was not run. */
export class ApprovalTimedOut extends Refusal {
  override name = "ApprovalTimedOut";
  constructor(
    agent: string,
    readonly approval: Record<string, unknown>,
    why = "",
  ) {
    const tail = why ? `: ${why}` : "";
    super(
      agent,
      `agent ${agent}'s ${actionOf(approval)} was not approved in time (approval #${String(approval["id"])}, ${String(approval["status"])})${tail}`,
    );
  }
}

/** The gated action could not be asked about: the server did not answer. */
export class ApprovalUnavailable extends Refusal {
  override name = "ApprovalUnavailable";
  constructor(agent: string, why: string) {
    super(agent, `agent ${agent} cannot ask whether its action may run, so it does not: ${why}`);
  }
}
