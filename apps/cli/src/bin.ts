#!/usr/bin/env node
import { abortOnSignals } from '@abtel/core/cli';
import { run } from './run.js';

// A reader that stops early (`abtel sql … | head -1`) closes the pipe; like other CLIs, end
// quietly with success instead of crashing on the unhandled EPIPE error event.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
// Nothing more can be said on a closed stderr; the command carries on and sets the exit code.
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: abortOnSignals(),
});
