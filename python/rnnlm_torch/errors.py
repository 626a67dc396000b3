"""Errors for bad input, as rnnlm's (src/errors.ts): each carries the offending value and the fix.

The command-line entry points print ``rnnlm_torch: error: <message>`` (one line, no traceback)
and exit with ``exit_code``: 1 invalid usage, 2 bad input (file, checkpoint, vocabulary),
3 training diverged. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class RnnlmError(Exception):
    """Base class; ``exit_code`` is what the command line exits with."""

    exit_code = 2


class InputError(RnnlmError):
    """A file that cannot be read or is not usable text (missing, empty, binary)."""


class CheckpointError(RnnlmError):
    """A checkpoint or state file that is corrupt or does not match its own config."""


class ConfigError(RnnlmError):
    """An invalid option value (flag or config field)."""


class VocabMismatchError(RnnlmError):
    """A vocabulary that does not match the one a model or state was built with."""


class DivergenceError(RnnlmError):
    """Training produced a non-finite loss or gradient."""

    exit_code = 3
