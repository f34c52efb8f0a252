/**
 * A typed client for the loyalty service, for mobile and web apps (and their servers).
 *
 * The types come from openapi/openapi.json (`src/schema.d.ts`, made by openapi-typescript;
 * regenerate with `python -m clients.generate` at the repository root). Calls go through
 * openapi-fetch: `loyalty.GET("/v1/me")` is typed by path, parameters, body and answer, and
 * `createLoyalty(...)` gives every operation by its id: `loyalty.getMe()`, `loyalty.redeem(...)`.
 */
import createClient from "openapi-fetch";
import type { Client } from "openapi-fetch";

import { operationsOf } from "./operations.js";
import type { Operations } from "./operations.js";
import type { components, operations, paths } from "./schema.js";

export { operationsOf };
export type { components, operations, Operations, paths };
export type Schemas = components["schemas"];
export type Problem = components["schemas"]["Problem"];

export interface LoyaltyOptions {
  /** Where the service runs, e.g. https://loyalty.example.com */
  baseUrl: string;
  /** An API key (lk_...) for a server, or a member token for the member's app. */
  token?: string;
  fetch?: typeof globalThis.fetch;
}

export type LoyaltyClient = Client<paths>;

/** A client sending `token` as the bearer credential on every call. */
export function createLoyaltyClient(options: LoyaltyOptions): LoyaltyClient {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/** Every operation by its operation id (`getMe`, `listRewards`, `redeem`, `postEvent`...). */
export function createLoyalty(options: LoyaltyOptions): Operations {
  return operationsOf(createLoyaltyClient(options));
}

/** A refused call: the HTTP status and the problem document (RFC 9457) that says why. */
export class LoyaltyError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** The request field the refusal names, when it names one. */
  readonly field: string | undefined;

  constructor(status: number, problem: Problem) {
    super(`${status} ${problem.title}: ${problem.detail}`);
    this.status = status;
    this.problem = problem;
    this.field = problem.errors?.[0]?.field;
  }
}

/** The answer of a call, or a LoyaltyError for a refusal. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || data === undefined) {
    throw new LoyaltyError(response.status, (error ?? {}) as Problem);
  }
  return data;
}
