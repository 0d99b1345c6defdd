/** A run's attribution and a stop as the server describes it. */

/** The closed set of actor types (seed 001), any case accepted. */
export const ACTOR_TYPES = ["HUMAN", "SYSTEM", "SERVICE"] as const;

/**
 * A run's attribution exactly as the caller gives it. The fields are raw
 * (optional strings) on purpose: validation, not the type checker, decides
 * what is acceptable, so every violation gets its canonical code.
 */
export interface AttributionContext {
  agentId?: string | null;
  actorType?: string | null;
  originSystemId?: string | null;
  actorId?: string | null;
  originTs?: Date | null;
  originIp?: string | null;
}

/** Automation: cron jobs, schedulers, policy triggers. */
export function system(agentId: string, originSystemId: string): AttributionContext {
  return { agentId, actorType: "SYSTEM", originSystemId };
}

/** A person, named by `actorId`. */
export function human(agentId: string, actorId: string, originSystemId: string): AttributionContext {
  return { agentId, actorType: "HUMAN", originSystemId, actorId };
}

/** A service-to-service call. */
export function service(agentId: string, originSystemId: string): AttributionContext {
  return { agentId, actorType: "SERVICE", originSystemId };
}

/** A stop in force on an agent. */
export interface Stop {
  by: string;
  /** As the server wrote it (RFC 3339). */
  since: string;
  scope: string;
  target: string;
  reason: string | null;
  until: Date | null;
  incidentId: number | null;
}

export function stopFromJson(raw: Record<string, unknown>): Stop {
  const text = (v: unknown): string | null => (typeof v === "string" ? v : null);
  const until = text(raw["until"]);
  const incident = raw["incident_id"];
  return {
    by: text(raw["by"]) ?? "",
    since: text(raw["since"]) ?? "",
    scope: text(raw["scope"]) ?? "agent",
    target: text(raw["target"]) ?? "",
    reason: text(raw["reason"]),
    until: until === null ? null : new Date(until),
    incidentId: typeof incident === "number" && Number.isInteger(incident) ? incident : null,
  };
}

export function holdsAt(stop: Stop, at: Date): boolean {
  const since = Date.parse(stop.since);
  return (Number.isNaN(since) || at.getTime() >= since) && (stop.until === null || at < stop.until);
}

export function covers(stop: Stop, agent: string, run: string | null): boolean {
  switch (stop.scope) {
    case "run":
      return run === stop.target;
    case "agent":
      return agent === stop.target;
    case "agents":
      return agent.startsWith(stop.target.replace(/\*+$/, ""));
    default:
      return stop.scope === "fleet";
  }
}

/** "agent deployer", "agents deployer-*", "run r-1", "the fleet". */
export function scopeLabel(stop: Stop): string {
  return stop.scope === "fleet" ? "the fleet" : `${stop.scope} ${stop.target}`;
}
