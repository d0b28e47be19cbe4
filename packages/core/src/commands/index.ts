/**
 * `abtel validate` and `abtel assign`: the definition checker a CI job runs before launch, and the
 * tool a support engineer uses to answer "which variation did conversation X get, and why?".
 */
import { parseFlags, requireFlag, UsageError, type Command, type CommandIo } from '../cli/index.js';
import { assign, type UnitContext } from '../assignment.js';
import { formatProblem, isAbtelError, type DefinitionError } from '../errors.js';
import { route } from '../lifecycle.js';
import { loadExperiments } from '../load.js';

function noPositionals(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`abtel ${command}: unexpected argument "${positionals[0]}" (see abtel ${command} --help)`);
}

const validateHelp = `abtel validate — check every experiment definition in a directory

Usage: abtel validate --experiments DIR [--json]

Reads every *.yaml, *.yml and *.json file in DIR (metrics.yaml holds shared metric definitions)
and prints every problem, one per line, as FILE:LINE:COLUMN: PATH MESSAGE: the file, where in it
(1-based, the shape editors and CI problem matchers read), the path inside it and the fix. LINE
and COLUMN are those of the value at PATH, or of the mapping that lacks a missing field; for a
syntax error, the parser's position. A problem with no position (an empty directory) is printed
as FILE: MESSAGE.

Flags:
  --experiments DIR   directory of experiment definitions (required)
  --json              print {"valid", "experiments", "problems": [{file, path, message, line?, column?}]}
                      instead (line and column are absent when a problem has no position)

Exit codes: 0 all definitions valid, 1 at least one problem (or DIR unreadable), 2 usage error.

Example:
  abtel validate --experiments ./experiments
  experiments/support.yaml:12:13: variations[1].weight must be > 0 (got 0)
`;

/**
 * `abtel validate --experiments DIR [--json]`: prints every problem; exit 1 when any.
 * @example
 * const code = await validateCommand.run(['--experiments', 'experiments'], io);
 */
export const validateCommand: Command = {
  name: 'validate',
  summary: 'check every experiment definition in a directory and print all problems',
  help: validateHelp,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseFlags('validate', argv, {
      experiments: { type: 'string' },
      json: { type: 'boolean' },
    });
    noPositionals('validate', positionals);
    const dir = requireFlag('validate', 'experiments', values.experiments);
    try {
      const set = await loadExperiments(dir, { cwd: io.cwd });
      const keys = set.all().map((def) => def.key);
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ valid: true, experiments: keys, problems: [] })}\n`);
      } else {
        const metrics = set.sharedMetricDefinitions().length;
        io.stdout.write(`${dir}: ${keys.length} valid experiment definition${keys.length === 1 ? '' : 's'} (${keys.join(', ')})${metrics > 0 ? `, ${metrics} shared metric${metrics === 1 ? '' : 's'}` : ''}\n`);
      }
      return 0;
    } catch (error) {
      if (!isAbtelError(error, 'invalid_definition')) throw error;
      const problems = (error as DefinitionError).problems;
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ valid: false, experiments: [], problems })}\n`);
      } else {
        for (const problem of problems) io.stdout.write(`${formatProblem(problem)}\n`);
        io.stderr.write(`abtel validate: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}\n`);
      }
      return 1;
    }
  },
};

const assignHelp = `abtel assign — which variation does a unit get, and why?

Usage: abtel assign --experiments DIR --experiment KEY --unit ID [--attr name=value ...]

Computes the deterministic assignment of a unit (normally a conversation id) under the current
definition, as a new unit would be routed, and prints one JSON object:
  {"experiment", "variation", "inExperiment", "bucket", "reason"}
bucket is the unit's hash bucket in [0, 1); reason is one of assigned, not_targeted,
outside_layer, outside_coverage, or the experiment's state (paused, shipped, rolled_back,
inconclusive, draft, archived) when it is not running. A unit that was assigned earlier keeps its
stored variation (see the sticky store); this command does not read the store.

Flags:
  --experiments DIR   directory of experiment definitions (required)
  --experiment KEY    experiment key (required)
  --unit ID           unit id, e.g. the gen_ai.conversation.id (required)
  --attr name=value   a targeting attribute; repeat for several

Example:
  abtel assign --experiments ./experiments --experiment support-persona --unit conv-1 --attr locale=en
  {"experiment":"support-persona","variation":"warm","inExperiment":true,"bucket":0.9126919650007039,"reason":"assigned"}
`;

function parseAttributes(raw: readonly string[] | undefined): NonNullable<UnitContext['attributes']> {
  const attributes: NonNullable<UnitContext['attributes']> = {};
  for (const pair of raw ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`abtel assign: --attr must be name=value (got "${pair}")`);
    attributes[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return attributes;
}

/**
 * `abtel assign --experiments DIR --experiment KEY --unit ID [--attr k=v ...]`: prints the
 * routing of a new unit as JSON.
 * @example
 * await assignCommand.run(['--experiments', 'experiments', '--experiment', 'support-persona', '--unit', 'conv-1'], io);
 */
export const assignCommand: Command = {
  name: 'assign',
  summary: 'print which variation a unit gets and why, as JSON',
  help: assignHelp,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseFlags('assign', argv, {
      experiments: { type: 'string' },
      experiment: { type: 'string' },
      unit: { type: 'string' },
      attr: { type: 'string', multiple: true },
    });
    noPositionals('assign', positionals);
    const dir = requireFlag('assign', 'experiments', values.experiments);
    const key = requireFlag('assign', 'experiment', values.experiment);
    const id = requireFlag('assign', 'unit', values.unit);
    if (id === '') throw new UsageError('abtel assign: --unit must not be empty (give the unit id, e.g. --unit conv-1)');
    const unit: UnitContext = { id, attributes: parseAttributes(values.attr) };
    const set = await loadExperiments(dir, { cwd: io.cwd });
    const def = set.require(key);
    const assignment = assign(def, unit);
    const routed = route(def, unit);
    const output = {
      experiment: def.key,
      variation: routed.variation,
      inExperiment: routed.inExperiment,
      bucket: assignment.bucket,
      reason: routed.reason,
    };
    io.stdout.write(`${JSON.stringify(output)}\n`);
    return 0;
  },
};
