import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, formatProblem, isAbtelError, loadExperiments, parseDefinitionText, parseExperiments, type DefinitionError } from './index.js';
import { jsonErrorOffset } from './load.js';

const examples = fileURLToPath(new URL('../examples/experiments', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'abtel-core-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

/** Problems as `file: path message`: these tests are about paths and messages; positions have their own tests, counted by hand. */
async function problemsOf(dir: string): Promise<string[]> {
  try {
    await loadExperiments(dir);
  } catch (error) {
    if (isAbtelError(error, 'invalid_definition')) {
      return (error as DefinitionError).problems.map(({ file, path, message }) => formatProblem({ file, path, message }).replaceAll(`${dir}/`, 'experiments/'));
    }
    throw error;
  }
  return [];
}

const valid = `key: support
version: 1
owner: me
surface: persona
state: running
control: a
variations:
  - { key: a, weight: 1 }
  - { key: b, weight: 1 }
`;

describe('loadExperiments', () => {
  it('loads the examples with defaults applied and metrics resolved', async () => {
    const set = await loadExperiments(examples);
    expect(set.all().map((def) => def.key)).toEqual(['retrieval-profile', 'support-persona']);
    const persona = set.require('support-persona');
    expect(persona).toMatchObject({ salt: 'support-persona', coverage: 1, unit: 'conversation', description: '' });
    expect(persona.variations[1]?.config).toEqual({ name: 'Riley', tone: 'warm' });
    expect(set.metrics('support-persona').map((metric) => metric.name)).toEqual(['csat', 'latency_p95', 'resolved']);
    expect(set.fileOf('retrieval-profile')).toBe(join(examples, 'retrieval-profile.yaml'));
    const retrieval = set.require('retrieval-profile');
    expect(retrieval.layer).toEqual({ name: 'support-bot', range: [0, 0.5] });
    expect(assign(retrieval, { id: 'conv-1', attributes: { plan: 'trial', seats: 50 } }).reason).toBe('not_targeted');
  });

  it('reports one problem per issue, naming the file, the path and the fix', async () => {
    const dir = await dirWith({
      'support.yaml': `key: support
version: 0
owner: me
surface: chatbot
state: running
control: c
coverage: 1.5
variations:
  - { key: a, weight: 1, config: { name: Sam, tone: 3 } }
  - { key: b, weight: 0, config: { nmae: Riley, tone: warm } }
configSchema: { fields: { name: string, tone: string }, required: [name, tone] }
targeting: { all: [{ attribute: plan, equals: pro, in: [a] }] }
metrics: { primary: resolved, guardrails: [latency] }
colour: blue
`,
      'metrics.yaml': `metrics:
  - { name: resolved, kind: binary, from: { outcome: resolved }, direction: increase }
  - { name: latency, kind: mean, from: { span_value: duration }, direction: down }
`,
    });
    expect(await problemsOf(dir)).toEqual([
      'experiments/metrics.yaml: metrics[1].from must be one of { outcome: <name> }, { span_attribute: <attribute> }, { span_value: duration_ms|error|input_tokens|output_tokens|total_tokens|cost_usd|calls }, { evaluation: <name> } (got an object) (metric "latency")',
      'experiments/metrics.yaml: metrics[1].direction must be one of "increase", "decrease" (got "down") (metric "latency")',
      'experiments/support.yaml: version must be >= 1 (got 0)',
      'experiments/support.yaml: surface must be one of "prompt", "model", "retrieval", "tool_policy", "persona", "cta", "trigger", "other" (got "chatbot")',
      'experiments/support.yaml: variations[1].weight must be > 0 (got 0)',
      'experiments/support.yaml: coverage must be <= 1 (got 1.5)',
      'experiments/support.yaml: targeting.all[0] has 2 operators (equals, in); use one per condition and list several conditions under "all" instead',
      'experiments/support.yaml: colour is not a known field; remove it or fix its spelling',
      'experiments/support.yaml: control must be one of the variation keys "a", "b" (got "c")',
      'experiments/support.yaml: variations[0].config.tone must be a string (got 3)',
      'experiments/support.yaml: variations[1].config.name is required by configSchema (a string); add it to this variation\'s config',
      'experiments/support.yaml: variations[1].config.nmae is not a field of configSchema (known: name, tone); fix the spelling or add it to configSchema.fields',
    ]);
  });

  it('checks cross-references: metrics, duplicate keys, winner, overlapping layers', async () => {
    const dir = await dirWith({
      'a.yaml': `${valid}layer: { name: bot, range: [0, 0.6] }\nmetrics: { primary: resolved, secondary: [nope] }\n`,
      'b.json': JSON.stringify({ key: 'other', version: 1, owner: 'me', surface: 'prompt', state: 'running', control: 'x', variations: [{ key: 'x', weight: 1 }, { key: 'y', weight: 2 }], layer: { name: 'bot', range: [0.5, 1] } }),
      'c.yml': `${valid}`,
      'd.yaml': `${valid.replace('key: support', 'key: shipped-one').replace('state: running', 'state: shipped')}winner: z\n`,
      'e.yaml': `${valid.replace('key: support', 'key: third')}layer: { name: bot, range: [0.6, 1] }\n`,
      'metrics.yaml': 'metrics:\n  - { name: resolved, kind: binary, from: { outcome: resolved }, direction: increase }\n',
    });
    expect(await problemsOf(dir)).toEqual([
      'experiments/d.yaml: winner must be one of the variation keys "a", "b" (got "z")',
      'experiments/c.yml: key duplicates experiment "support" already defined in experiments/a.yaml; experiment keys must be unique',
      'experiments/a.yaml: metrics.secondary[0] references metric "nope", which is not defined; define it in metrics.yaml or under metrics.definitions (defined: resolved)',
      'experiments/b.json: layer.range [0.5, 1] overlaps experiment "support" (experiments/a.yaml, [0, 0.6]) in layer "bot"; experiments running in one layer need disjoint ranges, so move one of them',
      'experiments/e.yaml: layer.range [0.6, 1] overlaps experiment "other" (experiments/b.json, [0.5, 1]) in layer "bot"; experiments running in one layer need disjoint ranges, so move one of them',
    ]);
  });

  it('a definition that fails the schema still takes part in the checks across definitions: one run reports every problem', async () => {
    const dir = await dirWith({
      'a.yaml': `${valid.replace('weight: 1', 'weight: 0')}layer: { name: bot, range: [0, 0.6] }\nmetrics: { primary: nope }\n`,
      'b.json': JSON.stringify({ key: 'other', version: 1, owner: 'me', surface: 'prompt', state: 'running', control: 'x', variations: [{ key: 'x', weight: 1 }, { key: 'y', weight: 2 }], layer: { name: 'bot', range: [0.5, 1] } }),
      'c.yaml': `${valid.replace('key: support', 'key: copied').replace('owner:', 'bogus: 1\nowner:')}salt: support\n`,
    });
    const problems = await problemsOf(dir);
    expect(problems).toContainEqual(expect.stringMatching(/^experiments\/a\.yaml: variations\[0\]\.weight /));
    expect(problems).toContainEqual(expect.stringMatching(/^experiments\/c\.yaml: .*bogus/));
    expect(problems).toContainEqual(
      'experiments/a.yaml: metrics.primary references metric "nope", which is not defined; define it in metrics.yaml or under metrics.definitions (defined: none)',
    );
    expect(problems).toContainEqual(
      'experiments/a.yaml: layer.range [0, 0.6] overlaps experiment "other" (experiments/b.json, [0.5, 1]) in layer "bot"; experiments running in one layer need disjoint ranges, so move one of them',
    );
    expect(problems).toContainEqual(expect.stringMatching(/^experiments\/c\.yaml: salt "support" is also the salt of running experiment "support" \(experiments\/a\.yaml\)/));
  });

  it('one bad shared metric is reported alone; the valid ones still resolve references (demo definitions)', async () => {
    const demo = fileURLToPath(new URL('../../../apps/demo/experiments', import.meta.url));
    const files: Record<string, string> = {};
    for (const name of await readdir(demo)) files[name] = await readFile(join(demo, name), 'utf8');
    expect(await problemsOf(await dirWith(files))).toEqual([]);
    const csat = files['metrics.yaml']!.indexOf('- name: csat');
    expect(csat).toBeGreaterThan(0);
    const kind = files['metrics.yaml']!.indexOf('kind: mean', csat);
    files['metrics.yaml'] = `${files['metrics.yaml']!.slice(0, kind)}kind: binry${files['metrics.yaml']!.slice(kind + 'kind: mean'.length)}`;
    const dir = await dirWith(files);
    expect(await problemsOf(dir)).toEqual([
      'experiments/metrics.yaml: metrics[1].kind must be one of "binary", "mean", "sum", "ratio", "quantile", "count" (got "binry") (metric "csat")',
    ]);
    // A reference to a metric that is not in the file at all is still reported, listing the valid ones.
    files['support-persona.yaml'] = files['support-persona.yaml']!.replace('primary: csat', 'primary: csatt');
    const [problem, ...others] = await problemsOf(await dirWith(files));
    expect(others).toHaveLength(1);
    expect([problem, ...others].join('\n')).toMatch(/support-persona\.yaml: metrics\.primary references metric "csatt", which is not defined; .*\(defined: resolved, latency_per_call, /);
  });

  it('a malformed shared-metrics file is still reported as a whole', async () => {
    expect(await problemsOf(await dirWith({ 'a.yaml': valid, 'metrics.yaml': 'metrics: {}\n' }))).toEqual([
      expect.stringMatching(/^experiments\/metrics\.yaml: metrics /),
    ]);
    expect(await problemsOf(await dirWith({ 'a.yaml': valid, 'metrics.yaml': 'metrics: []\nextra: 1\n' }))).toEqual([expect.stringMatching(/^experiments\/metrics\.yaml: .*extra/)]);
  });

  it('reports YAML and JSON syntax errors, empty files and a missing winner', async () => {
    const dir = await dirWith({
      'broken.yaml': 'key: [unclosed\n',
      'broken.json': '{"key": ',
      'empty.yaml': '',
      'shipped.yaml': valid.replace('state: running', 'state: shipped'),
    });
    const problems = await problemsOf(dir);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^experiments\/broken\.json: is not valid JSON: /);
    expect(problems[1]).toMatch(/^experiments\/broken\.yaml: is not valid YAML: /);
    expect(problems[2]).toBe('experiments/empty.yaml: is empty; write an experiment definition (see the @abtel/core README for an example)');
    expect(problems[3]).toBe('experiments/shipped.yaml: winner is required when state is "shipped": name the variation that shipped (one of "a", "b")');
  });

  it('rejects two running experiments with the same salt, but not an archived one', async () => {
    const dir = await dirWith({
      'a.yaml': `${valid}salt: shared\n`,
      'b.yaml': `${valid.replace('key: support', 'key: copy')}salt: shared\n`,
      'c.yaml': `${valid.replace('key: support', 'key: old').replace('state: running', 'state: archived')}salt: shared\n`,
    });
    expect(await problemsOf(dir)).toEqual([
      'experiments/b.yaml: salt "shared" is also the salt of running experiment "support" (experiments/a.yaml); experiments sharing a salt bucket every unit identically, so their assignments are correlated; give each experiment its own salt (the default is its key)',
    ]);
  });

  it('running and non-running experiments may share layer ranges when only one runs', async () => {
    const dir = await dirWith({
      'a.yaml': `${valid}layer: { name: bot, range: [0, 0.6] }\n`,
      'b.yaml': `${valid.replace('key: support', 'key: old').replace('state: running', 'state: archived')}layer: { name: bot, range: [0, 1] }\n`,
    });
    expect(await problemsOf(dir)).toEqual([]);
  });

  it('fails clearly for a missing or empty directory', async () => {
    await expect(loadExperiments('/nonexistent/abtel')).rejects.toThrow(/cannot read experiment directory \/nonexistent\/abtel: ENOENT/);
    const dir = await dirWith({ 'notes.txt': 'hello' });
    expect(await problemsOf(dir)).toEqual([`experiments: contains no *.yaml, *.yml or *.json experiment definitions`.replace('experiments', dir)]);
  });
});

describe('parseExperiments', () => {
  it('accepts a list of definitions in one document and reports list paths', () => {
    const def = { key: 'x', version: 1, owner: 'me', surface: 'cta', variations: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }], control: 'a' };
    expect(parseExperiments([{ file: 'all.json', content: [def, { ...def, key: 'y' }] }]).all()).toHaveLength(2);
    try {
      parseExperiments([{ file: 'all.json', content: [def, { ...def, key: 'y', variations: [{ key: 'a', weight: 1 }] }] }]);
      expect.unreachable();
    } catch (error) {
      expect((error as DefinitionError).problems).toEqual([{ file: 'all.json', path: '[1].variations', message: 'needs at least 2 items (got 1)' }]);
      expect((error as Error).message).toBe('1 problem in experiment definitions: all.json: [1].variations needs at least 2 items (got 1)');
    }
  });
});

describe('parsing arbitrary input (property)', () => {
  const base = { key: 'x', version: 1, owner: 'me', surface: 'cta', state: 'running', variations: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }], control: 'a' };
  const outcome = (content: unknown): 'ok' | 'problems' => {
    try {
      parseExperiments([{ file: 'f.yaml', content }]);
      return 'ok';
    } catch (error) {
      // Only DefinitionErrors, each problem with a file and a non-empty one-line message.
      if (!isAbtelError(error, 'invalid_definition')) throw error;
      const problems = (error as DefinitionError).problems;
      if (problems.length === 0 || problems.some((p) => p.file !== 'f.yaml' || p.message.trim() === '' || p.message.includes('\n'))) throw error;
      return 'problems';
    }
  };

  it('never throws anything but a DefinitionError with located problems', () => {
    fc.assert(fc.property(fc.anything(), (content) => outcome(content) !== undefined), { numRuns: 300 });
    // Found by the property below: a winner next to a state that cannot be turned into text.
    expect(outcome({ ...base, winner: {}, state: { toString: {} } })).toBeDefined();
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...Object.keys(base), 'coverage', 'layer', 'targeting', 'metrics', 'winner'), fc.anything()), (patch) => outcome({ ...base, ...patch }) !== undefined),
      { numRuns: 600 },
    );
  });

  it('reports one problem for each broken weight', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: 0.001, max: 1000, noNaN: true }), fc.constantFrom(0, -1, Number.NaN)), { minLength: 2, maxLength: 6 }), (weights) => {
        const variations = weights.map((weight, index) => ({ key: `v${index}`, weight }));
        const bad = weights.filter((weight) => !(weight > 0)).length;
        try {
          parseExperiments([{ file: 'f.yaml', content: { ...base, variations, control: 'v0' } }]);
          return bad === 0;
        } catch (error) {
          return (error as DefinitionError).problems.filter((p) => /^variations\[\d+\]\.weight$/.test(p.path)).length === bad;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('turns any text into a document or syntax problems, never an exception', () => {
    // YAML/JSON syntax characters, letters, digits, non-ASCII and control characters.
    const alphabet = Array.from(':-[]{}#,\'"\n\t &*!|>%@`?\\ab1é😀\u0000');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 120 }), fc.constantFrom('a.yaml', 'a.json'), (text, file) => {
        const parsed = parseDefinitionText(file, text);
        return Array.isArray(parsed) ? parsed.every((p) => p.file === file && p.message.length > 0) : parsed.file === file;
      }),
      { numRuns: 300 },
    );
  });
});

describe('problem positions', () => {
  /**
   * `line:column` (1-based) of the `nth` occurrence of `token` in `text`, counted from the lines
   * before it: independent of the loader's own offset-to-position code.
   */
  function where(text: string, token: string, nth = 1): string {
    let offset = -1;
    for (let i = 0; i < nth; i++) offset = text.indexOf(token, offset + 1);
    if (offset < 0) throw new Error(`${JSON.stringify(token)} not in the test text`);
    const lines = text.slice(0, offset).split('\n');
    return `${lines.length}:${(lines[lines.length - 1] as string).length + 1}`;
  }

  async function positionedProblemsOf(dir: string): Promise<string[]> {
    try {
      await loadExperiments(dir);
    } catch (error) {
      // Files (also those named in messages) relative to the directory.
      if (isAbtelError(error, 'invalid_definition')) return (error as DefinitionError).problems.map((problem) => formatProblem(problem).replaceAll(`${dir}/`, ''));
      throw error;
    }
    return [];
  }

  const yamlText = `key: support
version: 1
owner: me
control: a
state: running
salt: shared
layer: { name: bot, range: [0, 0.5] }
variations:
  - key: a
    weight: heavy
  - key: b
    weight: 1
    config:
      tone: [warm]
configSchema:
  fields: { tone: string }
metrics:
  primary: nps
`;
  const jsonText = `{
  "key": "other",
  "version": 1,
  "owner": "me",
  "surface": "cta",
  "state": "running",
  "salt": "shared",
  "control": "a",
  "layer": { "name": "bot", "range": [0.25, 1] },
  "variations": [
    { "key": "a", "weight": "1" },
    { "key": "b", "config": { "x": { "deep": [1, 2] } } }
  ],
  "extra": null
}
`;
  const metricsText = `metrics:
  - { name: csat, kind: mean, from: { outcome: csat }, direction: increase }
  - name: csat
    kind: binary
    from: { outcome: resolved }
    direction: increase
`;

  it('every problem names the line and column of the value at its path, or of the mapping that lacks it', async () => {
    const dir = await dirWith({ 'support.yaml': yamlText, 'z.json': jsonText, 'metrics.yaml': metricsText });
    // Counted by hand for two of them, so that the helper itself is checked once.
    expect(where(yamlText, 'heavy')).toBe('10:13');
    expect(where(jsonText, '"1"')).toBe('11:29');
    expect(await positionedProblemsOf(dir)).toEqual([
      `metrics.yaml:${where(metricsText, 'csat', 3)}: metrics[1].name duplicates metric "csat" already defined in metrics.yaml; rename one of them`,
      // A missing field points at the mapping that lacks it: here the whole document.
      `support.yaml:1:1: surface must be one of "prompt", "model", "retrieval", "tool_policy", "persona", "cta", "trigger", "other" (got nothing)`,
      // A wrong type deep inside variations.
      `support.yaml:10:13: variations[0].weight must be a number (got "heavy")`,
      `support.yaml:${where(yamlText, '[warm]')}: variations[1].config.tone must be a string (got an array)`,
      `z.json:11:29: variations[0].weight must be a number (got "1")`,
      // Missing inside a list item: the item's own mapping.
      `z.json:${where(jsonText, '{ "key": "b"')}: variations[1].weight is required (a number)`,
      `z.json:${where(jsonText, 'null')}: extra is not a known field; remove it or fix its spelling`,
      // Checks across definitions.
      `support.yaml:${where(yamlText, 'nps')}: metrics.primary references metric "nps", which is not defined; define it in metrics.yaml or under metrics.definitions (defined: csat)`,
      `z.json:${where(jsonText, '[0.25, 1]')}: layer.range [0.25, 1] overlaps experiment "support" (support.yaml, [0, 0.5]) in layer "bot"; experiments running in one layer need disjoint ranges, so move one of them`,
      `z.json:${where(jsonText, '"shared"')}: salt "shared" is also the salt of running experiment "support" (support.yaml); experiments sharing a salt bucket every unit identically, so their assignments are correlated; give each experiment its own salt (the default is its key)`,
    ]);
  });

  it('a duplicate key across files points at the second key; syntax errors keep the parser position', async () => {
    const second = `[\n  {"key": "support"}\n]\n`;
    const dir = await dirWith({ 'a.yaml': valid, 'b.json': second, 'c.yaml': 'key: x\nowner: me\nkey: y\n', 'd.json': '{"key": 1,}' });
    const problems = await positionedProblemsOf(dir);
    // Map keys must be unique: the second `key` is on line 3, column 1.
    expect(problems).toContain('c.yaml:3:1: is not valid YAML: Map keys must be unique');
    // V8 names the offset: position 10 is the `}` after the trailing comma.
    expect(problems).toContain('d.json:1:11: is not valid JSON: Expected double-quoted property name in JSON at position 10');
    expect(problems).toContain(`b.json:${where(second, '"support"')}: [0].key duplicates experiment "support" already defined in a.yaml; experiment keys must be unique`);
    expect(problems.filter((problem) => problem.startsWith('b.json:'))).toContain(`b.json:${where(second, '{"key"')}: [0].owner is required (a string)`);
  });

  it('a key without a value points at the key; an alias at the alias, an anchored value after its anchor; documents without text have no position', async () => {
    const text = `${valid.replace('state: running\n', 'state: running\nwinner:\n')}description: &d 7\nsegments: *d\n`;
    const dir = await dirWith({ 'a.yaml': text });
    const problems = await positionedProblemsOf(dir);
    expect(problems).toContain(`a.yaml:${where(text, 'winner:')}: winner must be a string (got null)`);
    expect(problems).toContain(`a.yaml:${where(text, '7\nsegments')}: description must be a string (got 7)`);
    expect(problems).toContain(`a.yaml:${where(text, '*d')}: segments must be an array (got 7)`);
    try {
      parseExperiments([{ file: 'mem.yaml', content: { key: 'x' } }]);
      expect.unreachable();
    } catch (error) {
      expect((error as DefinitionError).problems.every((problem) => problem.line === undefined && problem.column === undefined)).toBe(true);
    }
  });

  it('locates any path in any parsed text without throwing', () => {
    const alphabet = Array.from(':-[]{}#,\'"\n\t &*!|>%@`?\\ab1é😀');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 120 }), fc.constantFrom('a.yaml', 'a.json'), fc.array(fc.oneof(fc.nat(3), fc.constantFrom('a', 'b', '1')), { maxLength: 4 }), (text, file, path) => {
        const parsed = parseDefinitionText(file, text);
        if (Array.isArray(parsed)) return true;
        const at = parsed.locate?.(path);
        return at !== undefined && at.line >= 1 && at.column >= 1 && at.line <= text.split('\n').length;
      }),
      { numRuns: 300 },
    );
  });
});

describe('jsonErrorOffset', () => {
  const messageOf = (text: string): string => {
    try {
      JSON.parse(text);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${text} is valid JSON`);
  };

  it('places errors V8 reports without a position (offsets counted by hand)', () => {
    // "Unexpected token 'x', … is not valid JSON": no position in the message.
    expect(jsonErrorOffset('x', messageOf('x'))).toBe(0);
    expect(jsonErrorOffset('{"a": tx}', messageOf('{"a": tx}'))).toBe(7);
    expect(jsonErrorOffset('{"a": tru}', messageOf('{"a": tru}'))).toBe(9);
    expect(jsonErrorOffset('{\n  "a": 1\n  "b": 2\n}', messageOf('{\n  "a": 1\n  "b": 2\n}'))).toBe(13);
    // End of input: just after the last character that is not white space (the colon here).
    expect(jsonErrorOffset('{"a": \n\n', messageOf('{"a": \n\n'))).toBe(5);
    expect(jsonErrorOffset('', messageOf(''))).toBe(0);
    // Trailing characters JSON does not count as white space are still searched (a BOM, a no-break space).
    expect(jsonErrorOffset('\uFEFF', messageOf('\uFEFF'))).toBe(0);
    expect(jsonErrorOffset('[1, \u00a0', messageOf('[1, \u00a0'))).toBe(4);
    // A named position is taken as it is.
    expect(jsonErrorOffset('{"a": 1,}', messageOf('{"a": 1,}'))).toBe(8);
  });

  it('agrees with the position V8 names, wherever it names one before the end (property)', () => {
    let compared = 0;
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.constantFrom('x', '}', ']', ',', ':', '"', '0', ' 1', '\\'), fc.boolean(), (json, at, inserted, remove) => {
        const place = at % (json.length + 1);
        const text = remove ? json.slice(0, place) + json.slice(place + 1) : json.slice(0, place) + inserted + json.slice(place);
        let message: string;
        try {
          JSON.parse(text);
          return;
        } catch (error) {
          message = (error as Error).message;
        }
        const named = /at position (\d+)/.exec(message)?.[1];
        if (named === undefined || Number(named) >= text.trimEnd().length) return;
        compared++;
        // An empty message makes it bisect instead of reading V8's position.
        expect(jsonErrorOffset(text, '')).toBe(Number(named));
      }),
      { numRuns: 2000 },
    );
    expect(compared).toBeGreaterThan(200);
  });

  it('a definition file with such an error gets a line and column, and a one-line message without the quoted text', async () => {
    // V8's message quotes the text around the token, newlines included ("… "owner": tx\n}\n" is not
    // valid JSON), shortened with "..." on either side when the text goes on.
    const cases = [
      ['{\n  "key": "x",\n  "owner": tx\n}\n', 3, 13],
      ['{\n  "key": "support-persona",\n  "owner": tx,\n  "surface": "prompt",\n  "unit": "user"\n}\n', 3, 13],
      ['{\r\n  "owner": tx,\r\n  "surface": "prompt",\r\n  "unit": "user",\r\n  "state": "draft"\r\n}\r\n', 2, 13],
    ] as const;
    for (const [text, line, column] of cases) {
      expect(parseDefinitionText('e.json', text)).toEqual([{ file: 'e.json', path: '', message: "is not valid JSON: Unexpected token 'x'", line, column }]);
    }
  });
});
