#!/usr/bin/env node
// Thin launcher so the bin exists before the first build; the program is in dist/.
// On Node ≥ 22.1, V8's compiled code is cached on disk across runs (module.enableCompileCache),
// which shortens the start-up of every command; Node 20 has no such cache and skips this.
import module from "node:module";

try {
  module.enableCompileCache?.();
} catch {
  // An unwritable cache directory only costs the cache.
}
import("../dist/bin.js");
