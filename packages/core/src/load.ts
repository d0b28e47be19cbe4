/**
 * Loading experiment definitions from a directory: every `*.yaml`, `*.yml` and `*.json` file is
 * one definition (or a list of them); `metrics.yaml` (or `.yml`/`.json`) holds shared metric
 * definitions. Every problem in every file is collected before anything is rejected.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { AbtelError, DefinitionError, type DefinitionProblem, type SourcePosition } from './errors.js';
import { ExperimentDefinition } from './experiment.js';
import { ExperimentSet } from './experiment-set.js';
import { MetricDefinition, MetricsFile } from './metrics.js';
import { formatPath, isRecord, issueMessages } from './internal/issues.js';
import { positionAt, yamlOffset } from './internal/positions.js';

// The YAML parser is loaded on the first YAML file (synchronously, so parsing stays synchronous):
// it is ≈ 45 ms of start-up that valid JSON definitions, and every process that only routes, never need.
let yaml: typeof import('yaml') | undefined;
function yamlParser(): typeof import('yaml') {
  yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml;
}

const DEFINITION_FILE = /\.(ya?ml|json)$/i;
const METRICS_FILE = /^metrics\.(ya?ml|json)$/i;

/** A parsed document and the file it came from. */
export interface DefinitionDocument {
  file: string;
  content: unknown;
  /**
   * Where the value at a path inside the file is (or its nearest existing ancestor), for problems
   * that name a line and column. `parseDefinitionText` sets it; it is called only for a problem.
   */
  locate?: (path: readonly PropertyKey[]) => SourcePosition | undefined;
}

/** A problem at `path` inside `doc`, with the position of that path when the document has one. */
function problemAt(doc: DefinitionDocument, path: readonly PropertyKey[], message: string): DefinitionProblem {
  const problem: DefinitionProblem = { file: doc.file, path: formatPath(path), message };
  const at = doc.locate?.(path);
  if (at !== undefined) {
    problem.line = at.line;
    problem.column = at.column;
  }
  return problem;
}

const METRIC_SOURCE_HINT = 'must be one of { outcome: <name> }, { span_attribute: <attribute> }, { span_value: duration_ms|error|input_tokens|output_tokens|total_tokens|cost_usd|calls }, { evaluation: <name> }';
const ATTRIBUTE_VALUE_HINT = 'must be a string, a number or a boolean';

function zodProblems(doc: DefinitionDocument, prefix: PropertyKey[], error: import('zod').ZodError, input: unknown): DefinitionProblem[] {
  return issueMessages(error, input).map(({ path, message }) => {
    let text = message;
    if (message.startsWith('does not match any allowed shape')) {
      text = path[path.length - 1] === 'from' ? `${METRIC_SOURCE_HINT}${message.slice('does not match any allowed shape'.length)}` : `${ATTRIBUTE_VALUE_HINT}${message.slice('does not match any allowed shape'.length)}`;
    }
    return problemAt(doc, [...prefix, ...path], text);
  });
}

/**
 * Validates already-parsed documents (no I/O) with the same rules as `loadExperiments`.
 * @throws DefinitionError with one problem per issue.
 * @example
 * const set = parseExperiments([{ file: 'support.yaml', content: { key: 'support-persona', … } }]);
 */
export function parseExperiments(docs: readonly DefinitionDocument[]): ExperimentSet {
  const problems: DefinitionProblem[] = [];
  const definitions: { def: ExperimentDefinition; doc: DefinitionDocument; path: PropertyKey[] }[] = [];
  // Definitions that failed the schema still take part in the checks across definitions, with the
  // fields they have in the right shape, so that one run reports every problem. They come after
  // the valid ones there, which therefore own a key, a salt or a layer range first.
  const partial: { def: CrossCheckFields; doc: DefinitionDocument; path: PropertyKey[] }[] = [];
  const sharedMetrics: MetricDefinition[] = [];
  const sharedMetricFiles = new Map<string, string>();
  /** Names of shared metrics that are defined but invalid: already reported, so references to them are not. */
  const brokenSharedMetrics = new Set<string>();

  for (const doc of docs) {
    if (METRICS_FILE.test(basename(doc.file))) {
      // Each metric is checked on its own: one bad metric is reported and the others still resolve
      // the experiments' references (instead of the whole file being dropped).
      const content = doc.content;
      const list = isRecord(content) ? content['metrics'] : undefined;
      if (!Array.isArray(list)) {
        const parsed = MetricsFile.safeParse(content, { reportInput: true });
        if (!parsed.success) problems.push(...zodProblems(doc, [], parsed.error, content));
        continue;
      }
      const rest = MetricsFile.safeParse({ ...(content as object), metrics: [] }, { reportInput: true });
      if (!rest.success) problems.push(...zodProblems(doc, [], rest.error, content));
      list.forEach((item: unknown, index) => {
        const parsed = MetricDefinition.safeParse(item, { reportInput: true });
        if (!parsed.success) {
          const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
          const named = typeof name === 'string' && name !== '' ? ` (metric "${name}")` : '';
          problems.push(...zodProblems(doc, ['metrics', index], parsed.error, item).map((problem) => ({ ...problem, message: `${problem.message}${named}` })));
          if (typeof name === 'string') brokenSharedMetrics.add(name);
          return;
        }
        const metric = parsed.data;
        const previous = sharedMetricFiles.get(metric.name);
        if (previous !== undefined) {
          problems.push(problemAt(doc, ['metrics', index, 'name'], `duplicates metric "${metric.name}" already defined in ${previous}; rename one of them`));
          return;
        }
        sharedMetricFiles.set(metric.name, doc.file);
        sharedMetrics.push(metric);
      });
      continue;
    }
    const items: { content: unknown; path: PropertyKey[] }[] = Array.isArray(doc.content)
      ? doc.content.map((content, index) => ({ content, path: [index] }))
      : [{ content: doc.content, path: [] }];
    if (items.length === 0) problems.push(problemAt(doc, [], 'is an empty list; put one experiment definition (a mapping) in the file'));
    for (const item of items) {
      if (item.content === null || item.content === undefined) {
        problems.push(problemAt(doc, item.path, 'is empty; write an experiment definition (see the @abtel/core README for an example)'));
        continue;
      }
      const parsed = ExperimentDefinition.safeParse(item.content, { reportInput: true });
      if (parsed.success) {
        definitions.push({ def: parsed.data, doc, path: item.path });
        continue;
      }
      problems.push(...zodProblems(doc, item.path, parsed.error, item.content));
      if (isRecord(item.content)) partial.push({ def: crossCheckFields(item.content), doc, path: item.path });
    }
  }

  const checked = [...definitions.map((entry) => ({ ...entry, def: crossCheckFields(entry.def) })), ...partial];
  const files = new Map<string, string>();
  for (const { def, doc, path } of checked) {
    if (def.key === undefined) continue;
    const previous = files.get(def.key);
    if (previous !== undefined) {
      problems.push(problemAt(doc, [...path, 'key'], `duplicates experiment "${def.key}" already defined in ${previous}; experiment keys must be unique`));
      continue;
    }
    files.set(def.key, doc.file);
  }

  const sharedNames = new Set(sharedMetrics.map((metric) => metric.name));
  for (const { def, doc, path } of checked) {
    if (def.metrics === undefined) continue;
    const local = new Set(def.metrics.local);
    const available = [...new Set([...sharedNames, ...local])];
    const references: [PropertyKey[], string][] = [
      ...(def.metrics.primary === undefined ? [] : [[['metrics', 'primary'], def.metrics.primary] as [PropertyKey[], string]]),
      ...def.metrics.guardrails.map((name, index): [PropertyKey[], string] => [['metrics', 'guardrails', index], name]),
      ...def.metrics.secondary.map((name, index): [PropertyKey[], string] => [['metrics', 'secondary', index], name]),
    ];
    for (const [at, name] of references) {
      if (!local.has(name) && !sharedNames.has(name) && !brokenSharedMetrics.has(name)) {
        problems.push(
          problemAt(doc, [...path, ...at], `references metric "${name}", which is not defined; define it in metrics.yaml or under metrics.definitions (defined: ${available.length > 0 ? available.join(', ') : 'none'})`),
        );
      }
    }
  }

  // Running (and paused, which will resume) experiments of one layer must own disjoint ranges.
  const occupying = checked.filter(({ def }) => def.layer !== undefined && (def.state === 'running' || def.state === 'paused'));
  for (let i = 0; i < occupying.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = occupying[i] as (typeof occupying)[number];
      const b = occupying[j] as (typeof occupying)[number];
      const la = a.def.layer as NonNullable<CrossCheckFields['layer']>;
      const lb = b.def.layer as NonNullable<CrossCheckFields['layer']>;
      if (la.name !== lb.name || a.def.key === b.def.key) continue;
      if (la.range[0] < lb.range[1] && lb.range[0] < la.range[1]) {
        problems.push(
          problemAt(
            a.doc,
            [...a.path, 'layer', 'range'],
            `[${la.range.join(', ')}] overlaps experiment "${b.def.key}" (${b.doc.file}, [${lb.range.join(', ')}]) in layer "${la.name}"; experiments running in one layer need disjoint ranges, so move one of them`,
          ),
        );
      }
    }
  }

  // Independence across experiments rests on distinct salts: two live experiments with one salt
  // put every unit in the same bucket of both (a copied file that kept its salt does this).
  const live = checked.filter(({ def }) => (def.state === 'running' || def.state === 'paused') && def.salt !== undefined);
  const saltOwners = new Map<string, (typeof live)[number]>();
  for (const entry of live) {
    const salt = entry.def.salt as string;
    const owner = saltOwners.get(salt);
    if (owner === undefined) {
      saltOwners.set(salt, entry);
    } else if (owner.def.key !== entry.def.key) {
      problems.push(
        problemAt(
          entry.doc,
          [...entry.path, 'salt'],
          `"${entry.def.salt}" is also the salt of running experiment "${owner.def.key}" (${owner.doc.file}); experiments sharing a salt bucket every unit identically, so their assignments are correlated; give each experiment its own salt (the default is its key)`,
        ),
      );
    }
  }

  if (problems.length > 0) throw new DefinitionError(problems);
  return new ExperimentSet(
    definitions.filter(({ def, doc }) => files.get(def.key) === doc.file).map(({ def }) => def),
    { sharedMetrics, files },
  );
}

/**
 * Parses one definition file's text (YAML, or JSON by extension). Syntax errors become problems
 * with the parser's position; the document can locate any path for later problems.
 * @example
 * const doc = parseDefinitionText('experiments/support.yaml', text); // { file, content, locate } or problems
 */
export function parseDefinitionText(file: string, text: string): DefinitionDocument | DefinitionProblem[] {
  if (/\.json$/i.test(file)) {
    let content: unknown;
    try {
      content = JSON.parse(text) as unknown;
    } catch (error) {
      // Newer V8s (Node 22+) add " (line 1 column 13)", which the problem's own position already says;
      // "Unexpected token 'x', "…text…" is not valid JSON" quotes the text around it, newlines
      // included, which would break the one-line problem: the position says where instead.
      const message = (error as Error).message
        .replace(/ \(line \d+ column \d+\)$/, '')
        .replace(/^(Unexpected token '[^]*?'), (?:\.\.\.)?"[^]*"(?:\.\.\.)? is not valid JSON$/, '$1')
        .replace(/\s*[\r\n]+\s*/g, ' ');
      return [{ file, path: '', message: `is not valid JSON: ${message}`, ...positionAt(text, jsonErrorOffset(text, message)) }];
    }
    // JSON is YAML: the yaml library locates a path in it too. It parses the text again only when
    // a problem needs a position, and then once per file.
    let located: DefinitionDocument['locate'];
    return { file, content, locate: (path) => (located ??= parseYaml(text, false).locate)(path) };
  }
  const { document, locate } = parseYaml(text, true);
  if (document.errors.length > 0) {
    return document.errors.map((error) => {
      // The position moves from the message ("… at line 2, column 1:") to the problem's own fields.
      const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      const at = error.linePos?.[0];
      return { file, path: '', message: `is not valid YAML: ${message}`, ...(at === undefined ? {} : { line: at.line, column: at.col }) };
    });
  }
  let content: unknown;
  try {
    // toJS can still fail, e.g. on an alias without an anchor (`*name`) or too many aliases.
    content = document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    return [{ file, path: '', message: `is not valid YAML: ${(error as Error).message.split('\n')[0]}` }];
  }
  return { file, content, locate };
}

/**
 * Where `JSON.parse` failed on `text`, given its message. V8 names the offset for some errors
 * only ("… in JSON at position 12"); "Unexpected end of JSON input" means the end of the text, and
 * "Unexpected token 'x', … is not valid JSON" names no place at all. For those, the offset is found
 * by bisecting prefixes: a prefix of valid JSON either parses, or fails at its very end (end of
 * input, an unterminated string or number), so the shortest prefix that fails earlier ends just
 * after the offending character. A few parses of the text, on the error path only.
 * @example
 * jsonErrorOffset('{"a": tx}', "Unexpected token 'x', …"); // 7
 */
export function jsonErrorOffset(text: string, message: string): number {
  const named = /at position (\d+)/.exec(message)?.[1];
  if (named !== undefined) return Number(named);
  // JSON's own white space only: trimEnd would also drop a trailing BOM or no-break space, which
  // may be the very character JSON.parse rejected.
  const end = text.replace(/[ \t\n\r]+$/, '').length;
  if (/^Unexpected end of JSON input/.test(message)) return end;
  let viable = 0;
  let failing = end;
  while (failing - viable > 1) {
    const middle = (viable + failing) >>> 1;
    if (failsBefore(text.slice(0, middle))) failing = middle;
    else viable = middle;
  }
  return failing - 1;
}

/** True when parsing `prefix` fails before its end, i.e. no continuation can make it JSON. */
function failsBefore(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return false;
  } catch (error) {
    const message = (error as Error).message;
    if (/^Unexpected end of JSON input/.test(message)) return false;
    const at = /at position (\d+)/.exec(message)?.[1];
    return at === undefined || Number(at) < prefix.length;
  }
}

/**
 * Parses `text` with the yaml library, with the line counter it would create anyway for its error
 * positions (`prettyErrors`), which then also places the value at a path for later problems.
 */
function parseYaml(text: string, uniqueKeys: boolean): { document: import('yaml').Document; locate: (path: readonly PropertyKey[]) => SourcePosition } {
  const yaml = yamlParser();
  const lineCounter = new yaml.LineCounter();
  const document = yaml.parseDocument(text, { prettyErrors: true, uniqueKeys, lineCounter });
  const locate = (path: readonly PropertyKey[]): SourcePosition => {
    const { line, col } = lineCounter.linePos(yamlOffset(yaml, document, path));
    return { line, column: col };
  };
  return { document, locate };
}

/**
 * Loads and validates every definition in a directory (not recursive). Problems name files as
 * `join(dir, name)`, i.e. relative when `dir` is; a relative `dir` is resolved against
 * `options.cwd` (default: the process working directory).
 * @throws DefinitionError listing every problem in every file; AbtelError `io` when the directory cannot be read.
 * @example
 * const experiments = await loadExperiments('./experiments');
 * experiments.require('support-persona').variations.length; // 2
 */
export async function loadExperiments(dir: string, options: { cwd?: string } = {}): Promise<ExperimentSet> {
  const absolute = resolve(options.cwd ?? process.cwd(), dir);
  let names: string[];
  try {
    names = (await readdir(absolute, { withFileTypes: true })).filter((entry) => entry.isFile() && DEFINITION_FILE.test(entry.name)).map((entry) => entry.name).sort();
  } catch (error) {
    throw new AbtelError('io', `cannot read experiment directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; pass an existing directory of *.yaml/*.json definitions`, { cause: error });
  }
  if (names.length === 0) {
    throw new DefinitionError([{ file: dir, path: '', message: 'contains no *.yaml, *.yml or *.json experiment definitions' }]);
  }
  const docs: DefinitionDocument[] = [];
  const problems: DefinitionProblem[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const parsed = parseDefinitionText(file, await readFile(join(absolute, name), 'utf8'));
    if (Array.isArray(parsed)) problems.push(...parsed);
    else docs.push(parsed);
  }
  try {
    const set = parseExperiments(docs);
    if (problems.length > 0) throw new DefinitionError(problems);
    return set;
  } catch (error) {
    if (error instanceof DefinitionError && problems.length > 0 && error.problems !== problems) throw new DefinitionError([...problems, ...error.problems]);
    throw error;
  }
}

/** What the checks across definitions read from a definition. */
interface CrossCheckFields {
  key: string | undefined;
  state: string;
  salt: string | undefined;
  layer: { name: string; range: [number, number] } | undefined;
  metrics: { primary: string | undefined; guardrails: string[]; secondary: string[]; local: string[] } | undefined;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const texts = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item !== '') : []);
const record = (value: unknown): Record<string, unknown> | undefined => (isRecord(value) ? value : undefined);

/**
 * The cross-check fields of a definition, each read only where it has the right shape: a valid
 * definition has them all; in one that failed the schema, a field of the wrong shape is already
 * reported by the schema. Defaults as the schema applies them: state draft, salt = key.
 */
function crossCheckFields(def: Record<string, unknown>): CrossCheckFields {
  const key = text(def['key']);
  const layerObject = record(def['layer']);
  const range = layerObject?.['range'];
  const layer =
    layerObject !== undefined && text(layerObject['name']) !== undefined && Array.isArray(range) && range.length === 2 && range.every((end) => typeof end === 'number' && Number.isFinite(end))
      ? { name: text(layerObject['name']) as string, range: [range[0] as number, range[1] as number] as [number, number] }
      : undefined;
  const metricsObject = record(def['metrics']);
  const metrics =
    metricsObject === undefined
      ? undefined
      : {
          primary: text(metricsObject['primary']),
          guardrails: texts(metricsObject['guardrails']),
          secondary: texts(metricsObject['secondary']),
          // Names of local definitions even when a definition is otherwise invalid: a reference to it is not "undefined".
          local: (Array.isArray(metricsObject['definitions']) ? metricsObject['definitions'] : []).map((metric) => text(record(metric)?.['name'])).filter((name): name is string => name !== undefined),
        };
  return { key, state: text(def['state']) ?? 'draft', salt: text(def['salt']) ?? key, layer, metrics };
}
