#!/usr/bin/env node
// The vmlaunch command: runs the compiled CLI.
import('../dist/launcher/cli/main.js').catch((error) => {
  console.error(`vmlaunch: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
