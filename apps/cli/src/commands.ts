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
  { name: 'demo', summary: 'run a simulated support-agent experiment end to end and print its report', load: async () => (await import('@abtel/demo/commands')).demoCommand },
];
