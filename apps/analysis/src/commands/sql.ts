/**
 * `abtel sql DIR`: an SQL shell (or one `-c` query) over the collected files with the analysis
 * views defined: spans, events, exposures, outcomes, gen_ai_calls, evaluations, unit_metrics,
 * arm_stats.
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { AbtelError, memoryLimitFlag, parseFlags, UsageError, type Command, type CommandIo } from '@abtel/core/cli';
import type { DuckDBResultReader } from '@duckdb/node-api';
import { plainRows } from '@abtel/files';
import { openDataset, type Dataset, type SkippedData } from '../data/dataset.js';
import { progressBar } from '../analyze/progress.js';
import { formatCsv, formatTable } from './format.js';
import { skippedByReason } from '../report/format.js';

const FORMATS = ['table', 'json', 'csv'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `abtel sql — SQL over collected OTLP files (DuckDB), with the analysis views defined

Usage: abtel sql DIR... [-c "SELECT …"] [--format table|json|csv]

Without -c it opens an interactive shell: end a statement with ";" (of several on one line, the
last result is printed), ".tables" lists the views, ".help" the shell's commands, ".exit" (or
Ctrl-D) leaves. Piped input (echo "SELECT …;" | abtel sql ./data --format json) prints results only. Views: spans,
events, exposures, outcomes, gen_ai_calls, evaluations, unit_metrics, arm_stats
(apps/analysis/sql/*.sql). Compacted files are read from Parquet.

Flags:
  -c, --command SQL   run SQL (several statements run in order, stopping at the first error; the
                      last result is printed) and exit
  --format FORMAT     table (default), json or csv
  --memory-limit SIZE DuckDB memory limit, e.g. 1GB

Example:
  abtel sql ./data -c "SELECT variation, units, calls_sum FROM arm_stats WHERE experiment_key = 'support-retrieval'"
  abtel sql ./data -c "SELECT * FROM exposures LIMIT 5" --format json
`;

interface SqlResult {
  rows: Record<string, unknown>[];
  columns: string[];
}

function readResult(reader: DuckDBResultReader): SqlResult {
  return { rows: plainRows<Record<string, unknown>>(reader), columns: reader.deduplicatedColumnNames() };
}

/**
 * Runs every statement of `sql` in order and returns the last one's result (undefined when the
 * text holds no statement). DuckDB itself splits the text: `runAndReadAll` of a multi-statement
 * string returns the first SELECT's result, not the last. Stops at the first failing statement.
 */
async function runSql(ds: Dataset, sql: string): Promise<SqlResult | undefined> {
  let extracted;
  try {
    extracted = await ds.connection.extractStatements(sql);
  } catch {
    // Text without a statement (blank, ";", only comments) makes extraction fail with a bare
    // "Error in native callback". Running the text instead gives the parser's own message, or an
    // empty result when there is nothing to run (a text that does not parse runs no statement).
    const reader = await ds.connection.runAndReadAll(sql);
    return reader.columnCount === 0 ? undefined : readResult(reader);
  }
  let last: SqlResult | undefined;
  for (let index = 0; index < extracted.count; index += 1) {
    try {
      // Prepared one at a time: a statement may refer to what an earlier one created.
      const prepared = await extracted.prepare(index);
      try {
        last = readResult(await prepared.runAndReadAll());
      } finally {
        prepared.destroySync();
      }
    } catch (error) {
      if (extracted.count === 1) throw error;
      const rest = index + 1 < extracted.count ? '; the statements after it were not run' : '';
      throw new Error(`statement ${index + 1} of ${extracted.count} failed: ${sqlErrorLine(error)}${rest}`, { cause: error });
    }
  }
  return last;
}

function render(format: Format, result: SqlResult | undefined): string {
  if (result === undefined) return '';
  if (format === 'json') return `${JSON.stringify(result.rows, null, 2)}\n`;
  if (format === 'csv') return formatCsv(result.rows, result.columns);
  return formatTable(result.rows, result.columns);
}

/**
 * What was deliberately not read (metrics files, metrics lines in mixed files), one line per
 * reason: otherwise a query over metrics-only data returns no rows and no word why.
 */
function skippedLines(skipped: readonly SkippedData[]): string[] {
  return skippedByReason(skipped).map((phrase) => `skipped ${phrase}`);
}

/**
 * A DuckDB error on one line with its hints ("Did you mean "exposures"?", "Candidate bindings: …"),
 * without the query excerpt and caret that point into it (those only read well on their own lines).
 * @example
 * sqlErrorLine(new Error('Catalog Error: Table with name exposure does not exist!\nDid you mean "exposures"?\n\nLINE 1: SELECT * FROM exposure\n              ^'));
 * // 'Catalog Error: Table with name exposure does not exist! Did you mean "exposures"?'
 */
export function sqlErrorLine(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').map((line) => line.trim());
  return lines.filter((line) => line !== '' && !/^LINE \d+:/.test(line) && !/^\^+$/.test(line)).join(' ');
}

/**
 * True when `text` ends with a ";" that ends a statement: not one inside a string, a quoted name
 * or a comment (`SELECT 'a;'` and `SELECT 1 -- note;` are not complete).
 * @example
 * endsStatement("SELECT 'x;\n"); // false
 * endsStatement('SELECT 1; -- done\n'); // true
 */
export function endsStatement(text: string): boolean {
  let complete = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (char === "'" || char === '"') {
      // Doubled quotes escape themselves: scanning to the next one and on handles them.
      const end = text.indexOf(char, i + 1);
      if (end === -1) return false;
      i = end;
      complete = false;
    } else if (char === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      if (end === -1) return complete;
      i = end;
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return false;
      i = end + 1;
    } else if (char === ';') {
      complete = true;
    } else if (!/\s/.test(char)) {
      complete = false;
    }
  }
  return complete;
}

const SHELL_HELP = `.tables   list the views and tables
.help     this list
.exit     leave (also .quit, or Ctrl-D)
A statement runs when a line ends it with ";"; of several on one line, the last result is printed.
`;

/**
 * The interactive shell: statements end with ";" (dot commands do not need one); a statement
 * left open when the input ends is run too.
 */
async function shell(ds: Dataset, io: CommandIo, format: Format): Promise<number> {
  const input = (io as { stdin?: NodeJS.ReadableStream }).stdin ?? process.stdin;
  const interactive = Boolean((input as { isTTY?: boolean }).isTTY);
  const rl = createInterface({ input, output: io.stdout, prompt: 'abtel> ', terminal: interactive });
  io.stderr.write('abtel sql: views spans, events, exposures, outcomes, gen_ai_calls, evaluations, unit_metrics, arm_stats (.tables lists all); end with ";", .help, .exit to leave\n');
  // Node 24 throws on prompt() once the input has ended, while buffered lines are still being
  // read by the loop below; prompting is only for people, so skip it after close.
  let closed = false;
  rl.once('close', () => {
    closed = true;
  });
  const prompt = (text?: string): void => {
    // Piped input gets results only: a prompt on stdout would spoil JSON or CSV written to a file.
    if (closed || !interactive) return;
    if (text !== undefined) rl.setPrompt(text);
    rl.prompt();
  };
  const runAndPrint = async (sql: string): Promise<void> => {
    try {
      io.stdout.write(render(format, await runSql(ds, sql)));
    } catch (error) {
      // Whole, as DuckDB gives it: its hints and the caret under the query read well here.
      const message = error instanceof Error ? error.message : String(error);
      io.stderr.write(`error: ${message.trimEnd()}\n`);
    }
  };
  let buffer = '';
  prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (buffer === '' && (trimmed === '.exit' || trimmed === '.quit')) break;
    if (buffer === '' && trimmed === '.help') {
      io.stderr.write(SHELL_HELP);
      prompt();
      continue;
    }
    if (buffer === '' && trimmed === '.tables') {
      const result = await runSql(ds, "SELECT table_name AS name, table_type AS kind FROM information_schema.tables WHERE table_name NOT LIKE 'abtel_%' ORDER BY 1");
      io.stdout.write(render(format, result));
      prompt();
      continue;
    }
    buffer += `${line}\n`;
    if (!endsStatement(buffer)) {
      prompt(buffer.trim() === '' ? 'abtel> ' : '   ...> ');
      continue;
    }
    const statement = buffer;
    buffer = '';
    await runAndPrint(statement);
    prompt('abtel> ');
  }
  rl.close();
  // Input ended inside a statement (piped SQL whose last statement has no ";"): run it rather
  // than drop it.
  if (buffer.trim() !== '') await runAndPrint(buffer);
  return 0;
}

/** `abtel sql`. */
export const sqlCommand: Command = {
  name: 'sql',
  summary: 'SQL shell (or -c query) over collected files with the analysis views defined',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseFlags('sql', argv, {
      command: { type: 'string', short: 'c' },
      format: { type: 'string' },
      'memory-limit': { type: 'string' },
    });
    if (positionals.length === 0) throw new UsageError('abtel sql: give the data directory, e.g. abtel sql ./data (see abtel sql --help)');
    const format = (values.format ?? 'table') as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`abtel sql: --format must be one of ${FORMATS.join(', ')} (got "${values.format}")`);
    const memoryLimit = memoryLimitFlag('sql', values['memory-limit']);
    const bar = format === 'table' ? progressBar(io.stderr as never) : progressBar({ write: () => true });
    const ds = await openDataset({
      inputs: positionals.map((p) => resolve(io.cwd, p)),
      onProgress: (p) => bar.update(p),
      ...(memoryLimit !== undefined ? { memoryLimit } : {}),
    });
    bar.done();
    try {
      if (ds.badLineCount > 0) {
        const first = ds.badLines[0];
        io.stderr.write(
          `abtel sql: ${ds.badLineCount} unreadable line(s) skipped${first ? `, first at ${first.file}:${first.line} (${first.reason})` : ''}\n`,
        );
      }
      for (const line of skippedLines(ds.skipped)) io.stderr.write(`abtel sql: ${line}\n`);
      if (ds.files.raw + ds.files.parquet === 0) {
        // The views would answer every query with zero rows, which reads like data without events.
        io.stderr.write(
          `abtel sql: no telemetry files were found in ${positionals.join(', ')} (no OTLP JSON Lines, JSON or compacted Parquet files); every view is empty — check the directory\n`,
        );
      }
      if (values.command === undefined) return await shell(ds, io, format);
      let result;
      try {
        result = await runSql(ds, values.command);
      } catch (error) {
        throw new AbtelError('invalid_input', `SQL error: ${sqlErrorLine(error)}`, { cause: error });
      }
      io.stdout.write(render(format, result));
      return 0;
    } finally {
      await ds.close();
    }
  },
};
