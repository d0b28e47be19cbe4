/**
 * `abtel sql DIR`: an SQL shell (or one `-c` query) over the collected files with the analysis
 * views defined: spans, events, exposures, outcomes, gen_ai_calls, evaluations, unit_metrics,
 * arm_stats.
 */
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { AbtelError, memoryLimitFlag, parseFlags, UsageError, type Command, type CommandIo } from '@abtel/core/cli';
import { plainRows } from '@abtel/files';
import { openDataset, type Dataset } from '../data/dataset.js';
import { progressBar } from '../analyze/progress.js';
import { formatCsv, formatTable } from './format.js';

const FORMATS = ['table', 'json', 'csv'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `abtel sql — SQL over collected OTLP files (DuckDB), with the analysis views defined

Usage: abtel sql DIR... [-c "SELECT …"] [--format table|json|csv]

Without -c it opens an interactive shell: end a statement with ";", ".tables" lists the views,
".exit" (or Ctrl-D) leaves. Views: spans, events, exposures, outcomes, gen_ai_calls, evaluations,
unit_metrics, arm_stats (apps/analysis/sql/*.sql). Compacted files are read from Parquet.

Flags:
  -c, --command SQL   run SQL (several statements allowed; the last result is printed) and exit
  --format FORMAT     table (default), json or csv
  --memory-limit SIZE DuckDB memory limit, e.g. 1GB

Example:
  abtel sql ./data -c "SELECT variation, units, calls_sum FROM arm_stats WHERE experiment_key = 'support-prompt'"
  abtel sql ./data -c "SELECT * FROM exposures LIMIT 5" --format json
`;

async function runSql(ds: Dataset, sql: string): Promise<{ rows: Record<string, unknown>[]; columns: string[] }> {
  const reader = await ds.connection.runAndReadAll(sql);
  return { rows: plainRows<Record<string, unknown>>(reader), columns: reader.deduplicatedColumnNames() };
}

function render(format: Format, result: { rows: Record<string, unknown>[]; columns: string[] }): string {
  if (format === 'json') return `${JSON.stringify(result.rows, null, 2)}\n`;
  if (format === 'csv') return formatCsv(result.rows, result.columns);
  return formatTable(result.rows, result.columns);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** The interactive shell: statements end with ";" (dot commands do not need one). */
async function shell(ds: Dataset, io: CommandIo, format: Format): Promise<number> {
  const input = (io as { stdin?: NodeJS.ReadableStream }).stdin ?? process.stdin;
  const rl = createInterface({ input, output: io.stdout, prompt: 'abtel> ', terminal: Boolean((input as { isTTY?: boolean }).isTTY) });
  io.stderr.write('abtel sql: views spans, events, exposures, outcomes, gen_ai_calls, evaluations, unit_metrics, arm_stats; end with ";", .exit to leave\n');
  // Node 24 throws on prompt() once the input has ended, while buffered lines are still being
  // read by the loop below; prompting is only for people, so skip it after close.
  let closed = false;
  rl.once('close', () => {
    closed = true;
  });
  const prompt = (text?: string): void => {
    if (closed) return;
    if (text !== undefined) rl.setPrompt(text);
    rl.prompt();
  };
  let buffer = '';
  prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (buffer === '' && (trimmed === '.exit' || trimmed === '.quit')) break;
    if (buffer === '' && trimmed === '.tables') {
      const result = await runSql(ds, "SELECT table_name AS name, table_type AS kind FROM information_schema.tables WHERE table_name NOT LIKE 'abtel_%' ORDER BY 1");
      io.stdout.write(render(format, result));
      prompt();
      continue;
    }
    buffer += `${line}\n`;
    if (!trimmed.endsWith(';')) {
      prompt(buffer.trim() === '' ? 'abtel> ' : '   ...> ');
      continue;
    }
    const statement = buffer;
    buffer = '';
    try {
      io.stdout.write(render(format, await runSql(ds, statement)));
    } catch (error) {
      io.stderr.write(`error: ${firstLine(error)}\n`);
    }
    prompt('abtel> ');
  }
  rl.close();
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
      if (values.command === undefined) return await shell(ds, io, format);
      let result;
      try {
        result = await runSql(ds, values.command);
      } catch (error) {
        throw new AbtelError('invalid_input', `SQL error: ${firstLine(error)}`, { cause: error });
      }
      io.stdout.write(render(format, result));
      return 0;
    } finally {
      await ds.close();
    }
  },
};
