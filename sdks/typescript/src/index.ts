/**
 * Mandate's SDK for agents.
 *
 *     import { Agent, Client, system } from "@mandate/sdk";
 *     const agent = new Agent(new Client(), system("deployer", "ci"));
 *     const restart = agent.wrapTool(restartPool, { resource: "payments-db" });
 *
 * Each call of `restart` is checked against the stops in force on the agent
 * (locally: no network) and refused with `Stopped` when one holds; a call that
 * ran is recorded in the background. Attribution follows seeds 000-003 under
 * AOS_ATTRIBUTION_ENFORCEMENT (hard by default): an invalid one never leaves
 * the process.
 */
export { Agent, type AgentOptions, type ActionOptions, type RecordOptions, wrapTool } from "./agent.js";
export {
  ALLOW_LEGACY_ENV,
  Code,
  ENFORCEMENT_ENV,
  type EnforcementMode,
  Enforcer,
  type Logger,
  setLogger,
  validate,
} from "./attribution.js";
export { Client, type ClientOptions, type Json, OVERRIDE_HEADER, type RunOptions } from "./client.js";
export { Control } from "./control.js";
export {
  ApiError,
  ApprovalTimedOut,
  ApprovalUnavailable,
  AttributionError,
  ConfigError,
  Denied,
  MandateError,
  OutOfContact,
  ProtocolError,
  Refusal,
  Stopped,
  ToolDisabled,
  TransportError,
} from "./errors.js";
export { type Counts, Recorder } from "./recorder.js";
export { type AttributionContext, type Stop, human, service, system } from "./types.js";
export { VERSION } from "./version.js";
