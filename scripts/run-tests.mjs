#!/usr/bin/env node
// `node [--test-name-pattern=REGEX] scripts/run-tests.mjs FILE...`: the given compiled test files
// in one process (node:test runs what they register; the exit code is 1 if any test failed).
// `node --test` spawns a process per file and loads the modules again in each; for the focused
// subsets of mutation testing (scripts/mutate.mjs), which run once per mutant, one process is
// several times faster. Not for `npm test`: files share the process (and its environment) here.

import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

for (const f of process.argv.slice(2)) await import(pathToFileURL(resolve(f)).href);
