import type { Command } from '@abtel/core/cli';

/** A subcommand whose module is loaded only when it runs, so `abtel --help` starts fast. */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

/**
 * Every `abtel` subcommand. Apps export their `Command` objects from `./commands`; entries are
 * added here as the apps land.
 */
export const commandEntries: readonly CommandEntry[] = [
  { name: 'validate', summary: 'check every experiment definition in a directory and print all problems', load: async () => (await import('@abtel/core/commands')).validateCommand },
  { name: 'assign', summary: 'print which variation a unit gets and why, as JSON', load: async () => (await import('@abtel/core/commands')).assignCommand },
  { name: 'collector', summary: 'run the OTLP/HTTP collector that writes Collector-compatible JSON Lines files', load: async () => (await import('@abtel/collector/commands')).collectorCommand },
  { name: 'demo', summary: 'run a simulated support-agent experiment end to end and print its report', load: async () => (await import('@abtel/demo/commands')).demoCommand },
  { name: 'sql', summary: 'SQL shell (or -c query) over collected files with the analysis views defined', load: async () => (await import('@abtel/analysis/commands/sql')).sqlCommand },
  { name: 'compact', summary: 'flatten closed OTLP files into Parquet, incrementally, for fast analysis', load: async () => (await import('@abtel/analysis/commands/compact')).compactCommand },
  { name: 'analyze', summary: 'analyse an experiment from collected files: health, lifts, guardrails, segments, decision', load: async () => (await import('@abtel/analysis/commands')).analyzeCommand },
  { name: 'power', summary: 'sample size or minimum detectable effect before launch', load: async () => (await import('./commands/power.js')).powerCommand },
  { name: 'boundaries', summary: 'group-sequential z boundaries (Lan–DeMets O\'Brien–Fleming) for planned looks', load: async () => (await import('./commands/boundaries.js')).boundariesCommand },
];
