#!/usr/bin/env node
// Thin launcher so the bin exists before the first build; the program is in dist/.
import("../dist/bin.js");
