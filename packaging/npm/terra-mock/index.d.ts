// Type declarations of the terra-mock helper.

/** Options of {@link startTerraMock}. */
export interface StartOptions {
  /** The terra-mock binary (default: `$TERRA_MOCK_BIN`, else the platform package's). */
  binary?: string;
  /** More `terra-mock serve` flags, e.g. `["--provider", "oss"]`. */
  args?: string[];
  /** More environment for the server. */
  env?: Record<string, string>;
  /** The account's app key (default `terra-mock-ak`). */
  appKey?: string;
  /** Its secret (default `terra-mock-sk`). */
  secret?: string;
  /** How long to wait for the server, milliseconds (default 30 000). */
  timeoutMs?: number;
}

/** A fault to inject: `{type: "status", status: 503, retry_after: 1}`, `{type: "delay", ms: 500}`, `{type: "reset"}`, ... */
export interface Fault {
  type: "status" | "status_after_processing" | "api_error" | "delay" | "reset" | "reset_after_processing";
  status?: number;
  retry_after?: number;
  code?: number;
  message?: string;
  ms?: number;
}

/** Filters of {@link TerraMock.requests}. */
export interface RequestFilters {
  limit?: number;
  method?: string;
  path?: string;
  status?: number;
  appKey?: string;
  apiCode?: number;
  /** Only refused (`true`) or served (`false`) requests. */
  refused?: boolean;
  /** Only requests with this reason code (`signature_mismatch`, `digest_not_checked`, ...). */
  code?: string;
  full?: boolean;
}

/** Why a request was refused, or what a stricter server would have refused. */
export interface Reason {
  /** The stable code: `signature_mismatch`, `store_path_denied`, `digest_over_query`, ... */
  code: string;
  /** What was wrong and what was expected. */
  message: string;
  /** What the emulator signed, for a signature mismatch (never a secret). */
  signed?: string;
}

/** A request of the log. */
export interface RecordedRequest {
  at: string;
  at_ms: number;
  method: string;
  path: string;
  target: string;
  status: number;
  app_key: string | null;
  api_code: number | null;
  latency_ms: number;
  fault: string | null;
  /** Why it was refused, when it was. */
  refusal?: Reason;
  /** What was let through that a stricter server would refuse. */
  warnings?: Reason[];
  headers?: { name: string; value: string }[];
  body?: string;
}

/** The tally of one reason code. */
export interface ReportEntry {
  code: string;
  kind: "refusal" | "warning";
  count: number;
  clients: { client: string; count: number }[];
  first: { at: string; method: string; target: string; status: number; client: string; message: string; signed?: string };
}

/** Refusals and warnings by code and client. */
export interface Report {
  requests: number;
  refusals: ReportEntry[];
  warnings: ReportEntry[];
}

/** A refusal of the control API. */
/** A TerraAPI call that did not succeed. */
export class ApiError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The envelope's `result.code`, `null` when the answer was not an envelope. */
  readonly code: number | null;
  /** The envelope's `result.msg`, or the start of the body. */
  readonly msg: string;
  /** The body as received. */
  readonly body: string;
}

export class ControlError extends Error {
  /** `not_found`, `conflict`, `invalid`, ... */
  readonly kind: string;
  /** HTTP status. */
  readonly status: number;
  /** The message. */
  readonly detail: string;
}

/** One CORS rule of a storage bucket, as `PutBucketCors` takes it. */
export interface CorsRule {
  id?: string;
  allowed_origins: string[];
  allowed_methods: ("GET" | "PUT" | "POST" | "DELETE" | "HEAD")[];
  allowed_headers?: string[];
  expose_headers?: string[];
  max_age_seconds?: number;
}

/** A storage bucket's CORS configuration (no rules: CORS off). */
export interface CorsConfig {
  rules: CorsRule[];
  response_vary: boolean;
}

/** A running terra-mock server. */
export class TerraMock {
  readonly baseUrl: string;
  readonly storageEndpoint: string;
  readonly controlUrl: string;
  readonly appKey: string;
  readonly secret: string;
  readonly logPath: string;
  /** The gateway headers (`Date`, `Digest`, `Authorization`) of a TerraAPI call; `target` starts with `/terra-rescon-be`. */
  sign(method: string, target: string, body?: string): Record<string, string>;
  /** A signed TerraAPI call (`path` after `/terra-rescon-be/v2`); resolves to the envelope's `data`, rejects with `ApiError`. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  health(): Promise<any>;
  stats(): Promise<any>;
  /** Moves the emulator's time forward: jobs move on. */
  advance(seconds: number): Promise<any>;
  setClock(clock: { now?: string; nowMs?: number; mode?: "system" | "manual" }): Promise<any>;
  failJob(uuid: string, options?: { message?: string; code?: string }): Promise<any>;
  failNext(count?: number, options?: { message?: string; at?: string | number }): Promise<any>;
  /** Injects a fault; resolves to its id. */
  addFault(fault: Fault, match?: { method?: string; path?: string; times?: number; scope?: "all" | "api" | "storage" }): Promise<number>;
  faults(): Promise<any[]>;
  clearFaults(): Promise<void>;
  requests(filters?: RequestFilters): Promise<RecordedRequest[]>;
  /** Refusals and warnings by code and client, with the first example of each. */
  report(): Promise<Report>;
  /** The report as the text `terra-mock report` prints. */
  report(options: { text: true }): Promise<string>;
  clearRequests(): Promise<void>;
  /** Empties every account (or one), objects, faults and the request log. */
  reset(appKey?: string): Promise<void>;
  exportState(): Promise<any>;
  importState(doc: unknown): Promise<void>;
  createAccount(appKey: string, secret: string, provider?: "s3" | "oss"): Promise<any>;
  expireTokens(): Promise<void>;
  /** The CORS configuration of a storage bucket. */
  storageCors(provider?: "s3" | "oss"): Promise<CorsConfig>;
  /** Replaces a bucket's CORS rules (`[]`: CORS off; `null`: the configured rules back). */
  setStorageCors(provider: "s3" | "oss", rules: CorsRule[] | null, options?: { responseVary?: boolean }): Promise<CorsConfig>;
  /** The server's log so far. */
  log(): string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its state. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts terra-mock on a free loopback port with a private state folder. */
export function startTerraMock(options?: StartOptions): Promise<TerraMock>;

/** The gateway headers of a TerraAPI request. */
export function sign(method: string, target: string, body: string | undefined, keys: { appKey: string; secret: string; date?: string }): Record<string, string>;

/** The terra-mock binary this package would run. */
export function binaryPath(explicit?: string): string;
