import { createRequire } from 'node:module';

/** Instrumentation scope of everything this package emits. */
export const PACKAGE_NAME = '@abtel/node';
// Read at run time so the scope version follows releases; the path is the same from src/ and dist/.
export const PACKAGE_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
