// Where the shared corpora are: ../shared/data beside the repository (CI has it there too).
// Tests that need a corpus skip, with this reason, when a fresh clone has no ../shared.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (tests run from dist/test/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DATA = process.env.RNNLM_DATA ?? join(ROOT, '..', 'shared', 'data');
export const PTB = join(DATA, 'ptb');

/** `skip` option for node:test: false when the corpus exists, else the reason. */
export function needs(path: string): false | string {
  return existsSync(path) ? false : `corpus not found at ${path} (a fresh clone has no ../shared/data)`;
}
