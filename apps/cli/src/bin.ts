#!/usr/bin/env node
import { abortOnSignals, handleClosedOutput } from '@abtel/core/cli';
import { run } from './run.js';

// A reader that stops early (`abtel sql … | head -1`) ends a command quietly with success; the
// collector, a server, carries on without its output.
const command = process.argv.slice(2).find((arg) => arg !== '--debug');
handleClosedOutput(command === 'collector' ? 'server' : 'command');

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: abortOnSignals(),
});
