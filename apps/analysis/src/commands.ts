/**
 * The `abtel` subcommands this app provides, loaded lazily by the CLI.
 */
export { analyzeCommand } from './analyze/command.js';
