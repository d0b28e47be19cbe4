#!/usr/bin/env node
/** `abtel-collector`: the same program as `abtel collector`, as its own bin. */
import { isAbtelError, wantsHelp } from '@abtel/core/cli';
import { collectorCommand } from './commands.js';

const argv = process.argv.slice(2);
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => controller.abort(new Error(`received ${signal}`)));
}
if (wantsHelp(argv)) {
  process.stdout.write(collectorCommand.help.replace(/abtel collector/g, 'abtel-collector'));
} else {
  try {
    process.exitCode = await collectorCommand.run(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`${message}\n`);
    process.exitCode = isAbtelError(error, 'usage') ? 2 : 1;
  }
}
