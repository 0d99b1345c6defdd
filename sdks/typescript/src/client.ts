/**
 * A connection to one Mandate server with one token: runs created (their
 * attribution enforced before anything is sent) and completed, events posted,
 * an agent's controls read. Node's own http and https modules, trusting a
 * private CA when MANDATE_CA_FILE (or `caFile`) names one.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { Enforcer, log } from "./attribution.js";
import { ApiError, ConfigError, ProtocolError, TransportError } from "./errors.js";
import { retryAfter } from "./retry.js";
import type { AttributionContext } from "./types.js";
import { VERSION } from "./version.js";

/** The header that tells the server the soft-mode override let a violation through. */
export const OVERRIDE_HEADER = "mandate-attribution-override";

export type Json = Record<string, unknown>;

export interface ClientOptions {
  /** The server's root; default MANDATE_URL. */
  baseUrl?: string;
  /** The agent's token; default MANDATE_TOKEN. Never printed. */
  token?: string;
  /** PEM file of the CA that signed the server's certificate; default MANDATE_CA_FILE. */
  caFile?: string;
  enforcer?: Enforcer;
  timeoutMs?: number;
}

export interface RunOptions {
  providerType?: string;
  riskLevel?: "low" | "medium" | "high" | "critical";
  source?: "SDK" | "API" | "SYSTEM";
}

export class Client {
  readonly baseUrl: string;
  readonly enforcer: Enforcer;
  readonly timeoutMs: number;
  readonly #token: string;
  readonly #ca: Buffer | undefined;
  /** The server's warning to this SDK was logged (once per client). */
  #warned = false;

  constructor(options: ClientOptions = {}) {
    const url = options.baseUrl ?? process.env["MANDATE_URL"];
    if (!url) throw new ConfigError("no Mandate server: pass baseUrl or set MANDATE_URL (e.g. http://127.0.0.1:7400)");
    const token = options.token ?? process.env["MANDATE_TOKEN"];
    if (!token) throw new ConfigError("no token: pass token or set MANDATE_TOKEN (mandate token create --role agent)");
    this.baseUrl = url.replace(/\/+$/, "");
    this.#token = token;
    this.enforcer = options.enforcer ?? Enforcer.fromEnv();
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const ca = options.caFile ?? (process.env["MANDATE_CA_FILE"] || undefined);
    if (ca !== undefined) {
      try {
        this.#ca = readFileSync(ca);
      } catch (e) {
        throw new ConfigError(`cannot use the CA file ${ca}: ${(e as Error).message}`);
      }
    }
  }

  toJSON(): Json {
    return { baseUrl: this.baseUrl, enforcer: this.enforcer };
  }

  /**
   * Creates a run. Its attribution is enforced first: in hard mode (and soft
   * mode without the override) a violation throws AttributionError and nothing
   * is sent.
   */
  async createRun(goal: string, ctx: AttributionContext, options: RunOptions = {}): Promise<Json> {
    const at = ctx.originTs ?? new Date();
    const tolerated = this.enforcer.enforce({ ...ctx, originTs: at });
    const body = {
      goal,
      agent_id: ctx.agentId ?? null,
      actor_type: ctx.actorType?.toUpperCase() ?? null,
      actor_id: ctx.actorId ?? null,
      origin_system_id: ctx.originSystemId ?? null,
      source: options.source ?? "SDK",
      provider_type: options.providerType ?? "node",
      risk_level: options.riskLevel ?? "low",
      origin_ts: at.toISOString(),
      origin_ip: ctx.originIp ?? null,
    };
    const headers: Record<string, string> = this.enforcer.overrideUsed(tolerated) ? { [OVERRIDE_HEADER]: "true" } : {};
    return this.#object("POST", "/api/v1/runs", body, headers);
  }

  /** `status`: succeeded, failed or cancelled. */
  completeRun(runId: string, status: "succeeded" | "failed" | "cancelled"): Promise<Json> {
    return this.#object("POST", `/api/v1/runs/${encodeURIComponent(runId)}/complete`, { status });
  }

  getRun(runId: string): Promise<Json> {
    return this.#object("GET", `/api/v1/runs/${encodeURIComponent(runId)}`);
  }

  /** Posts a batch (at most 1,000): what was stored, refused, and which of their agents are stopped. */
  postEvents(events: Json[]): Promise<Json> {
    return this.#object("POST", "/api/v1/events", events);
  }

  /** The agent's controls: at once without `since`; with it, when they change or `wait` seconds pass (null: unchanged). */
  async agentControl(agent: string, since: string | null, wait = 25, signal?: AbortSignal): Promise<Json | null> {
    let path = `/api/v1/agents/${encodeURIComponent(agent)}/control`;
    if (since !== null) path += `?${new URLSearchParams({ since, wait: String(wait) })}`;
    const answer = await this.#request("GET", path, undefined, {}, (wait + 10) * 1000, signal);
    return answer === null ? null : asObject(answer);
  }

  /** Reports `attempts` the agent's SDK refused under one stop. */
  async reportRefusals(agent: string, scope: string, target: string, attempts: number): Promise<void> {
    await this.#object("POST", `/api/v1/agents/${encodeURIComponent(agent)}/refusals`, { attempts, scope, target });
  }

  /** Asks about an action an agent is about to take: its decision and, when gated, the approval request to wait on. */
  askApproval(body: Json): Promise<Json> {
    return this.#object("POST", "/api/v1/approvals", body);
  }

  /** Approval request `id`: at once, or when decided or `wait` seconds pass. */
  async approval(id: number, wait = 0): Promise<Json> {
    const seconds = Math.min(Math.max(Math.floor(wait), 0), 30);
    const answer = await this.#request("GET", `/api/v1/approvals/${id}?wait=${seconds}`, undefined, {}, (seconds + 10) * 1000);
    if (answer === null) throw new ProtocolError("GET approval: the server answered 304 where an answer was due");
    return asObject(answer);
  }

  whoami(): Promise<Json> {
    return this.#object("GET", "/api/v1/whoami");
  }

  async #object(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Json> {
    const answer = await this.#request(method, path, body, headers, this.timeoutMs);
    if (answer === null) throw new ProtocolError(`${method} ${path}: the server answered 304 where an answer was due`);
    return asObject(answer);
  }

  #request(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = new URL(`${this.baseUrl}${path}`);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const transport = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${this.#token}`,
            "user-agent": `mandate-node/${VERSION}`,
            [SDK_HEADER]: `typescript/${VERSION}`,
            accept: "application/json",
            ...(data ? { "content-type": "application/json", "content-length": String(data.length) } : {}),
            ...headers,
          },
          ...(this.#ca && url.protocol === "https:" ? { ca: this.#ca } : {}),
          ...(signal ? { signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (c: Buffer) => chunks.push(c));
          response.on("error", (e) => reject(new TransportError(`the answer from ${this.baseUrl} was cut: ${e.message}`)));
          response.on("end", () => {
            const warning = response.headers[WARNING_HEADER];
            if (typeof warning === "string" && !this.#warned) {
              this.#warned = true;
              log("server_warning", { warning, server: this.baseUrl });
            }
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            if (status === 304) return resolve(null);
            if (status < 200 || status >= 300) {
              const after = retryAfter(typeof response.headers["retry-after"] === "string" ? response.headers["retry-after"] : null);
              return reject(apiError(status, text, after));
            }
            try {
              resolve(JSON.parse(text));
            } catch (e) {
              reject(new ProtocolError(`${method} ${path}: the answer is not JSON (${(e as Error).message})`));
            }
          });
        },
      );
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on("error", (e) => reject(new TransportError(`cannot reach the Mandate API at ${this.baseUrl}: ${e.message}`)));
      if (data) request.write(data);
      request.end();
    });
  }
}

/** What every request says about this SDK. */
export const SDK_HEADER = "mandate-sdk";
/** A server's warning to this SDK: deprecated, or a version it cannot read. */
export const WARNING_HEADER = "mandate-sdk-warning";

function asObject(answer: unknown): Json {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
    throw new ProtocolError(`expected a JSON object from the server, got ${Array.isArray(answer) ? "an array" : typeof answer}`);
  }
  return answer as Json;
}

function apiError(status: number, text: string, after: number | null): ApiError {
  let body: Json = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as Json;
  } catch {
    // Not JSON: the status says enough.
  }
  const code = typeof body["code"] === "string" ? body["code"] : "UNEXPECTED_RESPONSE";
  const message = typeof body["message"] === "string" ? body["message"] : text.slice(0, 200);
  return new ApiError(status, code, message, after);
}
