// Validates glTF binaries with the Khronos glTF validator (npm `gltf-validator`).
// Usage: node validate_gltf.cjs <gltf-validator module dir> <file.glb>...
// Prints one JSON report summary per file; exits 1 when any file has errors.
"use strict";
const fs = require("fs");
const validator = require(process.argv[2]);

async function main() {
  let failed = false;
  for (const file of process.argv.slice(3)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)), {
      uri: file,
      maxIssues: 50,
    });
    const issues = report.issues;
    console.log(JSON.stringify({
      file,
      errors: issues.numErrors,
      warnings: issues.numWarnings,
      messages: issues.messages.filter((m) => m.severity <= 1),
    }));
    failed = failed || issues.numErrors > 0;
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
