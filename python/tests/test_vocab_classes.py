"""Tokenisation, vocabulary order and the class map: the Python port against the rules, and against
the compiled TypeScript (Vocab.build, assignClasses) on awkward inputs and on all of PTB."""

from __future__ import annotations

import json
import os
import unittest

from rnnlm_torch.classes import assign_classes, unigram_counts, validate_classes
from rnnlm_torch.errors import ConfigError, InputError, VocabMismatchError
from rnnlm_torch.vocab import EOS, UNK, Vocab, read_text, tokenize

from . import support
from .support import TempDirCase, needs_node, needs_ptb, node_eval


class VocabRulesTest(TempDirCase):
    def test_word_and_char_tokens(self):
        self.assertEqual(tokenize(" a  b\n\nc\td \n", "word"), ["a", "b", EOS, EOS, "c", "d", EOS])
        self.assertEqual(tokenize("x y", "word"), ["x", "y", EOS])  # no final newline: still one line
        self.assertEqual(tokenize("ab\nç", "char"), ["a", "b", "\n", "ç"])
        # JavaScript's \s: NBSP splits words, U+001C (a space to Python's str.split) does not.
        self.assertEqual(tokenize("a\u00a0b c\x1cd\r\n", "word"), ["a", "b", "c\x1cd", EOS])

    def test_order_counts_ties_caps(self):
        v = Vocab.build("b a c\na b <unk> z\nb\n", "word")
        # b ×3; a ×2; then c, z once each in first-appearance order; <eos>, <unk> first.
        self.assertEqual(v.tokens, (EOS, UNK, "b", "a", "c", "z"))
        self.assertEqual(Vocab.build("b a c\na b z\nb\n", "word", max_vocab=4).tokens, (EOS, UNK, "b", "a"))
        self.assertEqual(Vocab.build("b a c\na b z\nb\n", "word", min_count=2).tokens, (EOS, UNK, "b", "a"))
        ids, unknown = v.encode("a q <unk>\n")
        self.assertEqual(ids.tolist(), [3, 1, 1, 0])
        self.assertEqual(unknown, 1)  # q; the literal <unk> is in the vocabulary
        c = Vocab.build("aab\n", "char")
        self.assertEqual(c.tokens, ("\n", UNK, "a", "b"))
        with self.assertRaises(VocabMismatchError):
            Vocab(["a", UNK], "word")
        with self.assertRaises(ConfigError):
            Vocab.build("a", "word", max_vocab=2)

    def test_read_text_refuses_bad_files(self):
        self.assertEqual(read_text(self.write("bom.txt", "\ufeffa b\n")), "a b\n")
        for name, data, pattern in (("empty.txt", b"", "is empty"), ("bin.txt", b"a\0b", "looks binary"),
                                    ("latin.txt", b"caf\xe9", "not valid UTF-8"), ("blank.txt", b" \n\t\n", "only whitespace")):
            with open(self.path(name), "wb") as f:
                f.write(data)
            with self.assertRaisesRegex(InputError, pattern):
                read_text(self.path(name))
        with self.assertRaisesRegex(InputError, "no such file"):
            read_text(self.path("missing.txt"))

    def test_classes_rule(self):
        # Equal unigram mass: counts 6, 3, 2, 1 of 12 with C = 2: the mass reaches 1/2 with the first
        # word but must pass it (>), so the second word still joins class 0.
        self.assertEqual(assign_classes([6, 3, 2, 1], 2), [0, 0, 1, 1])
        self.assertEqual(assign_classes([7, 3, 2, 1], 2), [0, 1, 1, 1])
        # No empty class: with C = V every word has its own class, whatever the counts.
        self.assertEqual(assign_classes([100, 1, 1, 1], 4), [0, 1, 2, 3])
        validate_classes(assign_classes([5, 0, 0, 7, 7, 1], 3), 3, 6)
        with self.assertRaisesRegex(ConfigError, "from 2 to the vocabulary size 3"):
            assign_classes([1, 2, 3], 4)


@needs_node
class AgainstTypeScriptTest(TempDirCase):
    """The same vocabulary and class map as the compiled TypeScript, token for token."""

    def typescript(self, path: str, level: str, classes: list) -> dict:
        return node_eval(
            f"""
            const text = lib.readText({json.dumps(path)});
            const vocab = lib.Vocab.build(text, {json.dumps(level)});
            const counts = lib.unigramCounts(vocab.encode(text).ids, vocab.size);
            const out = {{ tokens: vocab.tokens, classes: {{}} }};
            for (const C of {json.dumps(classes)}) out.classes[C] = Array.from(lib.assignClasses(counts, C));
            process.stdout.write(JSON.stringify(out));
            """
        )

    def compare(self, path: str, level: str, classes: list) -> None:
        ts = self.typescript(path, level, classes)
        text = read_text(path)
        v = Vocab.build(text, level)
        self.assertEqual(list(v.tokens), ts["tokens"])
        counts = unigram_counts(v.encode(text)[0], v.size)
        for C in classes:
            self.assertEqual(assign_classes(counts, C), ts["classes"][str(C)], f"{os.path.basename(path)}, {C} classes")

    def test_awkward_texts(self):
        text = support.make_text(5, 300) + "zz zz\u00a0yy \x1c\r\nünï cödé\n\n  \n"
        path = self.write("awkward.txt", text)
        v = Vocab.build(text, "word")
        self.compare(path, "word", [2, 3, 7, v.size - 1, v.size])
        self.compare(path, "char", [2, 5, 13])

    @needs_ptb
    def test_penn_treebank(self):
        path = os.path.join(support.PTB, "train.txt")
        ts = self.typescript(path, "word", [100])
        text = read_text(path)
        v = Vocab.build(text, "word")
        self.assertEqual(v.size, 10000)
        self.assertEqual(list(v.tokens), ts["tokens"])
        cls = assign_classes(unigram_counts(v.encode(text)[0], v.size), 100)
        self.assertEqual(cls, ts["classes"]["100"])
        self.assertEqual(len(set(cls)), 100)


if __name__ == "__main__":
    unittest.main()
