// terra-mock for Node tests: starts the emulator of DJI TerraAPI v2 (the binary of the
// platform package `@terra-mock/<platform>-<arch>`) on a free loopback port with a
// private state folder, and gives its control API as methods.
"use strict";
const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");

const API_PREFIX = "/terra-rescon-be/v2";
const CONTROL_PREFIX = "/_terra-mock/v1";

/** A TerraAPI call that did not succeed: HTTP `status`, the envelope's `code` and `msg`
 * (`null` and the start of the body when the answer was not an envelope), the `body`. */
class ApiError extends Error {
  constructor(method, pathname, status, code, msg, body) {
    super(`${method} ${pathname}: HTTP ${status}, code ${code}: ${msg}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.msg = msg;
    this.body = body;
  }
}

/** A refusal of the control API: its `kind`, message and HTTP status. */
class ControlError extends Error {
  constructor(kind, message, status) {
    super(`${kind}: ${message} (HTTP ${status})`);
    this.name = "ControlError";
    this.kind = kind;
    this.status = status;
    this.detail = message;
  }
}

/** The binary: `explicit`, else `$TERRA_MOCK_BIN`, else the platform package's. */
function binaryPath(explicit) {
  const given = explicit || process.env.TERRA_MOCK_BIN;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`no terra-mock binary at ${given}`);
    return given;
  }
  const pkg = `@terra-mock/${process.platform}-${process.arch}`;
  let dir;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(
      `terra-mock has no binary for ${process.platform}-${process.arch}: the optional dependency ${pkg} is not installed ` +
        "(npm skips it when installing with --omit=optional); set TERRA_MOCK_BIN to a terra-mock binary");
  }
  return path.join(dir, "bin", process.platform === "win32" ? "terra-mock.exe" : "terra-mock");
}

/** The gateway headers of a TerraAPI request; `target` starts with `/terra-rescon-be`. */
function sign(method, target, body, { appKey, secret, date } = {}) {
  const data = body === undefined || body === null ? "" : body;
  const when = date || new Date().toUTCString();
  const digest = "SHA-256=" + crypto.createHash("sha256").update(data).digest("base64");
  const signing = `date: ${when}\n@request-target: ${method.toLowerCase()} ${target}\ndigest: ${digest}`;
  const signature = crypto.createHmac("sha256", secret).update(signing).digest("base64");
  return {
    Date: when,
    Digest: digest,
    Authorization: `hmac username="${appKey}", algorithm="hmac-sha256", headers="date @request-target digest", signature="${signature}"`,
  };
}

const running = new Set();
process.on("exit", () => {
  for (const m of running) m._kill("SIGKILL");
});

class TerraMock {
  constructor(child, baseUrl, dir, appKey, secret) {
    this._child = child;
    this._dir = dir;
    this.baseUrl = baseUrl;
    this.storageEndpoint = baseUrl;
    this.controlUrl = baseUrl + CONTROL_PREFIX;
    this.appKey = appKey;
    this.secret = secret;
    this.logPath = path.join(dir, "terra-mock.log");
  }

  /** The gateway headers for a call to this server with its account's keys. */
  sign(method, target, body) {
    return sign(method, target, body, { appKey: this.appKey, secret: this.secret });
  }

  /** A signed TerraAPI call (`path` after `/terra-rescon-be/v2`); resolves to `data`. */
  async api(method, pathname, body) {
    const target = API_PREFIX + pathname;
    const data = body === undefined ? "" : JSON.stringify(body);
    const r = await fetch(this.baseUrl + target, {
      method,
      headers: { ...this.sign(method, target, data), "Content-Type": "application/json;charset=UTF-8" },
      body: body === undefined ? undefined : data,
    });
    const text = await r.text();
    let env;
    try { env = JSON.parse(text); } catch { env = null; }
    const result = env && typeof env === "object" ? env.result : null;
    if (!result || result.code !== 0) {
      throw result
        ? new ApiError(method, pathname, r.status, result.code, result.msg, text)
        : new ApiError(method, pathname, r.status, null, text.slice(0, 200), text);
    }
    return env.data;
  }

  async _control(method, pathname, body, query) {
    let url = this.controlUrl + pathname;
    if (query) {
      const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null));
      if ([...q].length) url += "?" + q;
    }
    const r = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json" },
      body: method === "GET" ? undefined : JSON.stringify(body === undefined ? {} : body),
    });
    const text = await r.text();
    if (!r.ok) {
      let err;
      try { err = JSON.parse(text).error; } catch { err = { kind: "http", message: text }; }
      throw new ControlError(err.kind, err.message, r.status);
    }
    return text ? JSON.parse(text) : null;
  }

  health() { return this._control("GET", "/health"); }
  stats() { return this._control("GET", "/stats"); }
  advance(seconds) { return this._control("POST", "/clock/advance", { seconds }); }
  setClock({ now, nowMs, mode } = {}) {
    const body = {};
    if (now !== undefined) body.now = now;
    if (nowMs !== undefined) body.now_ms = nowMs;
    if (mode !== undefined) body.mode = mode;
    return this._control("PUT", "/clock", body);
  }
  failJob(uuid, { message = "Reconstruction failed", code } = {}) {
    return this._control("POST", `/jobs/${uuid}/fail`, code === undefined ? { message } : { message, code });
  }
  failNext(count = 1, { message = "Reconstruction failed", at } = {}) {
    return this._control("POST", "/jobs/fail-next", at === undefined ? { count, message } : { count, message, at });
  }
  async addFault(fault, { method, path: p, times, scope } = {}) {
    const body = { fault };
    if (method !== undefined) body.method = method;
    if (p !== undefined) body.path = p;
    if (times !== undefined) body.times = times;
    if (scope !== undefined) body.scope = scope;
    return (await this._control("POST", "/faults", body)).id;
  }
  faults() { return this._control("GET", "/faults"); }
  clearFaults() { return this._control("DELETE", "/faults"); }
  requests(filters = {}) {
    const q = { ...filters };
    if (q.appKey !== undefined) { q.app_key = q.appKey; delete q.appKey; }
    if (q.apiCode !== undefined) { q.api_code = q.apiCode; delete q.apiCode; }
    return this._control("GET", "/requests", undefined, q);
  }
  async report({ text = false } = {}) {
    if (!text) return this._control("GET", "/report");
    const r = await fetch(this.controlUrl + "/report?format=text");
    const body = await r.text();
    if (!r.ok) throw new ControlError("http", body, r.status);
    return body;
  }
  clearRequests() { return this._control("DELETE", "/requests"); }
  reset(appKey) { return this._control("POST", "/reset", {}, appKey ? { app_key: appKey } : undefined); }
  exportState() { return this._control("GET", "/state"); }
  importState(doc) { return this._control("PUT", "/state", doc); }
  createAccount(appKey, secret, provider = "s3") {
    return this._control("POST", "/accounts", { app_key: appKey, secret, provider });
  }
  expireTokens() { return this._control("POST", "/tokens/expire"); }
  storageCors(provider = "s3") { return this._control("GET", `/storage/${provider}/cors`); }
  setStorageCors(provider, rules, { responseVary = false } = {}) {
    if (rules === null || rules === undefined) return this._control("DELETE", `/storage/${provider}/cors`);
    return this._control("PUT", `/storage/${provider}/cors`, { rules, response_vary: responseVary });
  }

  /** The server's log so far. */
  log() {
    try { return fs.readFileSync(this.logPath, "utf8"); } catch { return ""; }
  }

  _kill(signal) {
    if (this._child.exitCode === null && this._child.signalCode === null) this._child.kill(signal);
  }

  /** Stops the server (SIGTERM, then SIGKILL after `timeoutMs`) and removes its folder. */
  async stop(timeoutMs = 10000) {
    running.delete(this);
    if (this._child.exitCode === null && this._child.signalCode === null) {
      const exited = new Promise((resolve) => this._child.once("exit", resolve));
      this._kill("SIGTERM");
      const timer = setTimeout(() => this._kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(path.join(this._dir, "state"), { recursive: true, force: true });
  }
}

/**
 * Starts terra-mock on a free loopback port with a private state folder; resolves when it
 * answers. Options: `binary`, `args` (more `terra-mock serve` flags), `env`, `appKey`,
 * `secret`, `timeoutMs`.
 */
async function startTerraMock(options = {}) {
  const { args = [], env = {}, appKey = "terra-mock-ak", secret = "terra-mock-sk", timeoutMs = 30000 } = options;
  const binary = binaryPath(options.binary);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "terra-mock-node-"));
  const log = fs.openSync(path.join(dir, "terra-mock.log"), "w");
  const childEnv = { ...process.env, ...env };
  delete childEnv.DJI_APP_KEY;
  delete childEnv.DJI_SECRET_KEY;
  const child = spawn(binary, ["serve", "--addr", "127.0.0.1:0", "--data-dir", path.join(dir, "state"),
    "--app-key", appKey, "--secret", secret, ...args], { stdio: ["ignore", "pipe", log], env: childEnv });
  fs.closeSync(log);
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("terra-mock did not start in time")), timeoutMs);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const m = /^terra-mock listening on (\S+)/.exec(line.trim());
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      let text = "";
      try { text = fs.readFileSync(path.join(dir, "terra-mock.log"), "utf8"); } catch { /* none */ }
      reject(new Error(`terra-mock exited with ${code}: ${text}`));
    });
    child.once("error", reject);
  });
  child.stdout.resume();
  const mock = new TerraMock(child, baseUrl, dir, appKey, secret);
  running.add(mock);
  child.unref();
  await mock.health();
  return mock;
}

module.exports = { startTerraMock, TerraMock, ApiError, ControlError, sign, binaryPath };
