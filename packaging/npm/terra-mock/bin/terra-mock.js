#!/usr/bin/env node
// `npx terra-mock serve ...`: the binary of the platform package, with its own command line.
"use strict";
const { spawnSync } = require("node:child_process");
const { binaryPath } = require("../index.js");

const r = spawnSync(binaryPath(), process.argv.slice(2), { stdio: "inherit" });
if (r.error) {
  console.error(r.error.message);
  process.exit(1);
}
process.exit(r.status === null ? 1 : r.status);
