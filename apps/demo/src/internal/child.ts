/** Helpers shared by the demo's child-process entry points (agent, ticket service). */

/**
 * Reads a required environment variable or exits with a message that says how to set it.
 * @example
 * const url = requiredEnv('ABTEL_DEMO_MODEL_URL');
 */
export function requiredEnv(name: string, example: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    process.stderr.write(`${name} is not set: set it to ${example} (abtel demo sets it for its child processes)\n`);
    process.exit(2);
  }
  return value;
}

/** One JSON message per stdout line: the parent reads progress and the final summary from them. */
export function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}
