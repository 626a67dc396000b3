"""Vocabulary and tokenisation, exactly as rnnlm's src/data/vocab.ts.

* word level: each line -> its whitespace-separated tokens, then ``<eos>``;
* char level: the text's characters (code points) as they are, ``\\n`` included.

Ids: the boundary token first (``<eos>`` / ``\\n``), ``<unk>`` second, then the other types by
descending count in the training text, ties broken by first appearance; capped by
``max_vocab`` and ``min_count``. Unseen tokens map to ``<unk>``.

"Whitespace" is JavaScript's ``\\s`` (what ``String.prototype.trim`` and ``split(/\\s+/)`` use),
not Python's ``str.split()``: the two agree on ASCII but not on every Unicode space, and the
vocabulary must be the one the TypeScript side builds. Lines are split on ``\\n`` only (the
file is read as bytes, no newline translation); a final newline does not start an extra line.
"""

from __future__ import annotations

import re
from typing import Dict, List, Sequence, Tuple

import torch

from .atomic import read_bytes
from .errors import ConfigError, InputError, VocabMismatchError

EOS = "<eos>"
UNK = "<unk>"
LEVELS = ("word", "char")

#: JavaScript's \s: WhiteSpace (incl. every Zs space and U+FEFF) and LineTerminator.
JS_SPACE = "\t\n\v\f\r \u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPLIT = re.compile("[" + re.escape(JS_SPACE) + "]+")


def split_lines(text: str) -> List[str]:
    """Lines of a word-level text; a final newline does not start an extra line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def line_words(line: str) -> List[str]:
    """Word-level tokens of one line (without the ``<eos>``)."""
    t = line.strip(JS_SPACE)
    return [] if t == "" else _SPLIT.split(t)


def tokenize(text: str, level: str) -> List[str]:
    """All tokens of a text in order: words with one ``<eos>`` per line, or characters."""
    if level == "char":
        return list(text)
    out: List[str] = []
    for line in split_lines(text):
        out.extend(line_words(line))
        out.append(EOS)
    return out


def boundary(level: str) -> str:
    """The sequence boundary token: ``<eos>`` (word level) or ``\\n`` (char level)."""
    return EOS if level == "word" else "\n"


class Vocab:
    """Tokens in id order; ``tokens[0]`` is the boundary, ``tokens[1]`` is ``<unk>``."""

    def __init__(self, tokens: Sequence[str], level: str) -> None:
        if level not in LEVELS:
            raise ConfigError(f"level must be word or char, got {level!r}")
        b = boundary(level)
        if len(tokens) < 2 or tokens[0] != b or tokens[1] != UNK:
            raise VocabMismatchError(f"a {level}-level vocabulary must start with {b!r} and {UNK!r}, got {list(tokens[:2])!r}")
        index: Dict[str, int] = {}
        for i, t in enumerate(tokens):
            if not isinstance(t, str):
                raise VocabMismatchError(f"vocabulary entry {i} is not a string")
            if t in index:
                raise VocabMismatchError(f"vocabulary lists {t!r} twice (ids {index[t]} and {i})")
            index[t] = i
        self.level = level
        self.tokens: Tuple[str, ...] = tuple(tokens)
        self._index = index

    @staticmethod
    def build(text: str, level: str, max_vocab: int = 0, min_count: int = 1) -> "Vocab":
        """Vocab.build of rnnlm: boundary, <unk>, then by descending count, ties by first appearance."""
        if not isinstance(max_vocab, int) or max_vocab < 0 or max_vocab in (1, 2):
            raise ConfigError(f"max-vocab must be 0 (no cap) or an integer ≥ 3, got {max_vocab}")
        if not isinstance(min_count, int) or min_count < 1:
            raise ConfigError(f"min-count must be an integer ≥ 1, got {min_count}")
        counts: Dict[str, int] = {}  # insertion order = first appearance
        for t in tokenize(text, level):
            counts[t] = counts.get(t, 0) + 1
        counts.pop(boundary(level), None)
        counts.pop(UNK, None)
        order = sorted(
            ((t, c, first) for first, (t, c) in enumerate(counts.items()) if c >= min_count),
            key=lambda e: (-e[1], e[2]),
        )
        tokens = [boundary(level), UNK] + [t for t, _, _ in order]
        if max_vocab > 0:
            tokens = tokens[:max_vocab]
        return Vocab(tokens, level)

    @property
    def size(self) -> int:
        return len(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        return self._index.get(token, 1)

    def encode(self, text: str) -> Tuple[torch.Tensor, int]:
        """Token ids [n] (int64) of a text, and how many tokens were unseen (mapped to ``<unk>``)."""
        get = self._index.get
        ids = [get(t, -1) for t in tokenize(text, self.level)]
        unknown = ids.count(-1)
        out = torch.tensor(ids, dtype=torch.int64)
        if unknown:
            out[out < 0] = 1
        return out, unknown

    def assert_same(self, other: "Vocab", what: str) -> None:
        """Raise unless ``other`` lists the same tokens in the same order."""
        if other.level != self.level or other.tokens != self.tokens:
            raise VocabMismatchError(f"{what}: the vocabulary differs ({other.level}, {other.size} tokens vs {self.level}, {self.size})")


def read_text(path: str) -> str:
    """A UTF-8 text file as rnnlm's readText reads it: missing, empty, binary or blank files refused."""
    if path.startswith("builtin:"):
        raise InputError(f"{path}: the built-in corpus lives in rnnlm (TypeScript) only; give a file path")
    data = read_bytes(path)
    if len(data) == 0:
        raise InputError(f"{path} is empty: give a text file with at least one line")
    nul = data.find(b"\0", 0, 1 << 20)
    if nul >= 0:
        raise InputError(f"{path} looks binary (a NUL byte at offset {nul}): give a UTF-8 text file")
    try:
        text = data.decode("utf-8-sig")  # TextDecoder drops a leading byte-order mark, so does this
    except UnicodeDecodeError:
        raise InputError(f"{path} is not valid UTF-8 text") from None
    if text.strip(JS_SPACE) == "":
        raise InputError(f"{path} holds only whitespace: give a text file with at least one word")
    return text
