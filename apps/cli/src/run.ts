import { readFileSync } from 'node:fs';
import { formatProblem, isAbtelError, type CommandIo, type DefinitionError } from '@abtel/core/cli';
import { commandEntries } from './commands.js';

const version: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function mainHelp(): string {
  const width = Math.max(...commandEntries.map((entry) => entry.name.length), 8);
  const lines = commandEntries.map((entry) => `  ${entry.name.padEnd(width)}  ${entry.summary}`);
  return [
    'abtel — conversation-level LLM experiments on OpenTelemetry data',
    '',
    'Usage: abtel <command> [flags]        abtel <command> --help for its flags and an example',
    '',
    'Commands:',
    ...lines,
    '',
    'Global flags: --help, --version, --debug (print stack traces)',
    '',
  ].join('\n');
}

/**
 * The one error boundary of the CLI: maps error codes to exit codes (2 usage, 3 fail-on, 1 other)
 * and prints a one-line message; the stack only with --debug.
 * @example
 * process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
 */
export async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((arg) => arg !== '--debug');
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version}\n`);
    return 0;
  }
  const entry = commandEntries.find((candidate) => candidate.name === name);
  if (!entry) {
    const hint = name.startsWith('-') ? `unknown flag ${name}` : `unknown command "${name}"`;
    io.stderr.write(`abtel: ${hint} (see abtel --help)\n`);
    return 2;
  }
  try {
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (debug && error instanceof Error) io.stderr.write(`${error.stack ?? error.message}\n`);
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    if (isAbtelError(error, 'usage')) {
      io.stderr.write(`${message}\n`);
      return 2;
    }
    if (isAbtelError(error, 'fail_on')) {
      io.stderr.write(`${message}\n`);
      return 3;
    }
    // By code and shape, not instanceof: a second copy of @abtel/core has its own class.
    const problems = isAbtelError(error, 'invalid_definition') ? (error as Partial<DefinitionError>).problems : undefined;
    if (Array.isArray(problems) && problems.length > 0) {
      // One problem per line, as `abtel validate` prints them (editors and CI problem matchers
      // read `file:line:column: message`), instead of all of them on one long line.
      const count = problems.length;
      for (const problem of problems) io.stderr.write(`${formatProblem(problem)}\n`);
      io.stderr.write(`abtel ${name}: ${count} problem${count === 1 ? '' : 's'} in experiment definitions (above); fix them, then re-run (abtel validate checks them alone)\n`);
      return 1;
    }
    io.stderr.write(`abtel ${name}: ${message}${debug ? '' : ' (run with --debug for details)'}\n`);
    return 1;
  }
}
