export { run } from './run.js';
export { commandEntries } from './commands.js';
export type { CommandEntry } from './commands.js';
