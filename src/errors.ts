// Errors the library throws for bad input. Each carries the offending value and, where there
// is one, the fix. The CLI prints `message` (no stack trace) and exits non-zero; programming
// errors (any other Error) still show their stack.

export class RnnlmError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A file that cannot be read or is not usable text (missing, empty, binary). */
export class InputError extends RnnlmError {}

/**
 * A file that cannot be written (disk full, no permission, read-only file system, missing
 * directory). Files are replaced atomically, so the previous version is still intact; the
 * message says so and where it is. Exit code 5.
 */
export class OutputError extends RnnlmError {
  /** The system's error code (ENOSPC, EACCES, …), as on the error that caused it. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message, 5);
    this.code = code;
  }
}

/** A checkpoint that is truncated, corrupt, or does not match its own config. */
export class CheckpointError extends RnnlmError {}

/** An invalid option value (flag or config field). */
export class ConfigError extends RnnlmError {}

/** A vocabulary that does not match the one a model or state was built with. */
export class VocabMismatchError extends RnnlmError {}

/** Training produced a non-finite loss or gradient; `step` is the optimizer step that did. */
export class DivergenceError extends RnnlmError {
  readonly step: number;
  constructor(message: string, step: number) {
    super(message, 3);
    this.step = step;
  }
}
