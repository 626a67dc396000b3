// Reading training / evaluation text (Node): a path, or `builtin:train|valid|test` for the
// built-in corpus. Missing, empty and binary files are refused with a clear message.

import { InputError } from '../errors.js';
import { BUILTIN_PREFIX, builtinText, parseBuiltinName } from '../data/builtin/index.js';
import { readFileBytes } from './atomic.js';

export function readText(name: string): string {
  if (name.startsWith(BUILTIN_PREFIX)) return builtinText(parseBuiltinName(name));
  const bytes = readFileBytes(name);
  if (bytes.length === 0) throw new InputError(`${name} is empty: give a text file with at least one line`);
  const probe = Math.min(bytes.length, 1 << 20);
  for (let i = 0; i < probe; i++) {
    if (bytes[i] === 0) throw new InputError(`${name} looks binary (a NUL byte at offset ${i}): give a UTF-8 text file`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${name} is not valid UTF-8 text`);
  }
  if (text.trim() === '') throw new InputError(`${name} holds only whitespace: give a text file with at least one word`);
  return text;
}
