/**
 * The attribution contract of seeds 000-003, as every Mandate SDK implements
 * it: six codes, the rules in their order, and the enforcement modes chosen by
 * AOS_ATTRIBUTION_ENFORCEMENT (shadow, soft, hard; hard by default and for
 * anything unknown) and AOS_ALLOW_ATTRIBUTION_LEGACY (true: soft mode lets
 * violations through, said).
 */
import { AttributionError } from "./errors.js";
import { ACTOR_TYPES, type AttributionContext } from "./types.js";

export const ENFORCEMENT_ENV = "AOS_ATTRIBUTION_ENFORCEMENT";
export const ALLOW_LEGACY_ENV = "AOS_ALLOW_ATTRIBUTION_LEGACY";
export const LEGACY_AGENT_ID = "legacy-unknown";
export const LEGACY_ORIGIN_SYSTEM_ID = "legacy-migration";

/** The six canonical codes. Contractual: never renamed. */
export const Code = {
  AGENT_MISSING: "ATTR_AGENT_MISSING",
  ACTOR_TYPE_MISSING: "ATTR_ACTOR_TYPE_MISSING",
  ACTOR_TYPE_INVALID: "ATTR_ACTOR_TYPE_INVALID",
  ACTOR_ID_REQUIRED: "ATTR_ACTOR_ID_REQUIRED",
  ACTOR_ID_FORBIDDEN: "ATTR_ACTOR_ID_FORBIDDEN",
  ORIGIN_SYSTEM_MISSING: "ATTR_ORIGIN_SYSTEM_MISSING",
} as const;

/** Where the SDK says what it tolerated or refused; console.warn unless replaced. */
export type Logger = (event: string, fields: Record<string, unknown>) => void;
let logger: Logger = () => {};

/** Where the SDK's events go: attribution (`attribution_validation_failed`, `attribution_override_used`), a full buffer (`events_dropped`), the server's warning to this SDK (`server_warning`, once per client: deprecated, or a version it cannot read). Nowhere by default. */
export function setLogger(next: Logger): void {
  logger = next;
}

/** Says `event` to the logger set. */
export function log(event: string, fields: Record<string, unknown>): void {
  logger(event, fields);
}

function blank(value: string | null | undefined): boolean {
  return value === null || value === undefined || value.trim() === "";
}

/** Unicode upper-casing, as the contract's `.upper()`; surrounding white space is not forgiven. */
function actorType(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const upper = raw.toUpperCase();
  return (ACTOR_TYPES as readonly string[]).includes(upper) ? upper : null;
}

/** Every violation of the contract, in the contract's order (empty when valid). */
export function validate(ctx: AttributionContext): AttributionError[] {
  const errors: AttributionError[] = [];
  if (blank(ctx.agentId)) {
    errors.push(new AttributionError(Code.AGENT_MISSING, "agent_id is required and cannot be empty", "agent_id"));
  }
  if (ctx.agentId === LEGACY_AGENT_ID) {
    errors.push(
      new AttributionError(Code.AGENT_MISSING, "agent_id cannot be 'legacy-unknown' - provide real agent identifier", "agent_id"),
    );
  }
  if (blank(ctx.actorType)) {
    errors.push(new AttributionError(Code.ACTOR_TYPE_MISSING, "actor_type is required (HUMAN | SYSTEM | SERVICE)", "actor_type"));
  } else if (actorType(ctx.actorType) === null) {
    errors.push(new AttributionError(Code.ACTOR_TYPE_INVALID, "actor_type must be one of: HUMAN, SERVICE, SYSTEM", "actor_type"));
  }
  if (blank(ctx.originSystemId)) {
    errors.push(
      new AttributionError(Code.ORIGIN_SYSTEM_MISSING, "origin_system_id is required for accountability", "origin_system_id"),
    );
  }
  if (ctx.originSystemId === LEGACY_ORIGIN_SYSTEM_ID) {
    errors.push(
      new AttributionError(
        Code.ORIGIN_SYSTEM_MISSING,
        "origin_system_id cannot be 'legacy-migration' - provide real system identifier",
        "origin_system_id",
      ),
    );
  }
  const kind = actorType(ctx.actorType);
  if (kind === "HUMAN" && blank(ctx.actorId)) {
    errors.push(new AttributionError(Code.ACTOR_ID_REQUIRED, "actor_id is required when actor_type is HUMAN", "actor_id"));
  } else if ((kind === "SYSTEM" || kind === "SERVICE") && !blank(ctx.actorId)) {
    errors.push(new AttributionError(Code.ACTOR_ID_FORBIDDEN, `actor_id must be null when actor_type is ${kind}`, "actor_id"));
  }
  return errors;
}

export type EnforcementMode = "shadow" | "soft" | "hard";

/** Applies the enforcement decision to a validation, and logs what the contract asks to be logged. */
export class Enforcer {
  constructor(
    readonly mode: EnforcementMode = "hard",
    readonly allowLegacyOverride = false,
  ) {}

  static fromEnv(env: Record<string, string | undefined> = process.env): Enforcer {
    return Enforcer.fromVars(env[ENFORCEMENT_ENV] ?? null, env[ALLOW_LEGACY_ENV] ?? null);
  }

  /** An unknown mode enforces hard: a typo must never loosen enforcement. */
  static fromVars(mode: string | null, allowLegacy: string | null): Enforcer {
    let parsed: EnforcementMode = "hard";
    if (mode !== null) {
      const wanted = mode.trim().toLowerCase();
      if (wanted === "shadow" || wanted === "soft" || wanted === "hard") {
        parsed = wanted;
      } else {
        logger("unknown_enforcement_mode", { value: mode, variable: ENFORCEMENT_ENV, enforcing: "hard" });
      }
    }
    const allow = allowLegacy !== null && allowLegacy.trim().toLowerCase() === "true";
    return new Enforcer(parsed, allow);
  }

  /** The violations tolerated (shadow, or soft with the override); throws the first when the run is rejected. */
  enforce(ctx: AttributionContext): AttributionError[] {
    const errors = validate(ctx);
    if (errors.length === 0) return errors;
    const codes = errors.map((e) => e.code).join(",");
    logger("attribution_validation_failed", {
      enforcement_mode: this.mode,
      agent_id: ctx.agentId,
      actor_type: ctx.actorType,
      origin_system_id: ctx.originSystemId,
      has_actor_id: ctx.actorId !== null && ctx.actorId !== undefined,
      error_codes: codes,
      error_count: errors.length,
    });
    if (this.mode === "shadow") return errors;
    if (this.mode === "soft" && this.allowLegacyOverride) {
      logger("attribution_override_used", { agent_id: ctx.agentId, origin_system_id: ctx.originSystemId, error_codes: codes });
      return errors;
    }
    throw errors[0];
  }

  /** Whether the soft-mode override let violations through: the server is told, so its use is counted. */
  overrideUsed(tolerated: AttributionError[]): boolean {
    return tolerated.length > 0 && this.mode === "soft";
  }
}
