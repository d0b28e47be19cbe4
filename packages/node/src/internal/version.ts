/** Instrumentation scope of everything this package emits. */
export const PACKAGE_NAME = '@abtel/node';
export const PACKAGE_VERSION = '0.0.0';
