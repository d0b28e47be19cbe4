#!/usr/bin/env node
/** `abtel-collector`: the same program as `abtel collector`, as its own bin. */
import { abortOnSignals, handleClosedOutput, isAbtelError, wantsHelp } from '@abtel/core/cli';
import { collectorCommand } from './commands.js';

// A closed output pipe must not stop the collector, nor its drain on SIGTERM.
handleClosedOutput('server');
const argv = process.argv.slice(2);
const signal = abortOnSignals();
if (wantsHelp(argv)) {
  process.stdout.write(collectorCommand.help.replace(/abtel collector/g, 'abtel-collector'));
} else {
  try {
    process.exitCode = await collectorCommand.run(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const usage = isAbtelError(error, 'usage');
    // Usage messages already name the command.
    process.stderr.write(usage ? `${message}\n` : `abtel-collector: ${message}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}
