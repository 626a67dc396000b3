"""Checkpoints between the two sides: what rnnlm_torch writes, ``rnnlm eval`` reads and evaluates to
the same perplexity (1e-5 relative) for every cell and option; a checkpoint written by ``rnnlm
train`` is read and written back byte for byte; damaged checkpoints are refused; the command
line's errors are one line with rnnlm's exit codes."""

from __future__ import annotations

import contextlib
import io
import os
import unittest

import torch

from rnnlm_torch import safetensors_io as st
from rnnlm_torch import train
from rnnlm_torch.checkpoint import decode_checkpoint, encode_checkpoint
from rnnlm_torch.errors import CheckpointError

from . import support
from .support import TempDirCase, assert_rel_close, cli_json, needs_node, rnnlm_eval, train_in_process

#: (name, flags): every cell, tied and untied, classes, dropout, 2 layers, the three optimizers, char level.
CONFIGS = [
    ("sigmoid-2x12-tied-classes-dropout", "--cell sigmoid --layers 2 --embed 12 --hidden 12 --tied --classes 5 --dropout 0.1 --optimizer adam --lr 0.05"),
    ("tanh-10x14-adagrad", "--cell tanh --embed 10 --hidden 14 --optimizer adagrad --lr 0.3"),
    ("relu-8-clip", "--cell relu --embed 8 --hidden 8 --lr 2 --clip 0.5"),
    ("lstm-2x10-classes-adam", "--cell lstm --layers 2 --embed 10 --hidden 10 --classes 4 --forget-bias 1 --optimizer adam --lr 0.05"),
    ("gru-12-tied", "--cell gru --embed 12 --hidden 12 --tied --lr 5"),
    ("char-lstm-16", "--level char --cell lstm --embed 6 --hidden 16 --optimizer adam --lr 0.03"),
]


@needs_node
class PythonToRnnlmTest(TempDirCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.train_file = os.path.join(cls.dir, "train.txt")
        cls.valid_file = os.path.join(cls.dir, "valid.txt")
        with open(cls.train_file, "w") as f:
            f.write(support.make_text(1, 400))
        with open(cls.valid_file, "w") as f:
            f.write(support.make_text(2, 60) + "an unseen word\n")

    def test_rnnlm_eval_equals_own_evaluation(self):
        for name, flags in CONFIGS:
            with self.subTest(config=name):
                save = self.path(f"{name}.safetensors")
                r = train_in_process(["--train", self.train_file, "--valid", self.valid_file, "--test", self.valid_file, "--save", save,
                                      "--epochs", "2", "--batch", "4", "--bptt", "9", *flags.split()])
                ev = rnnlm_eval(save, self.valid_file)
                self.assertEqual(ev["tokens"], r["test_tokens"])
                assert_rel_close(self, ev["perplexity"], r["test_perplexity"], 1e-5, f"{name}: rnnlm eval vs rnnlm_torch")
                assert_rel_close(self, ev["nll"], r["test_nll"], 1e-5, f"{name}: Σ nll")
                self.assertLess(r["test_perplexity"], 0.9 * r["vocab_size"], f"{name}: no better than uniform: the model learned nothing")


@needs_node
class RnnlmToPythonBytesTest(TempDirCase):
    @unittest.skipUnless(st.implementation() == "built-in", f"the installed {st.implementation()} lays the header out its own way")
    def test_checkpoint_of_rnnlm_train_is_rewritten_byte_for_byte(self):
        text = self.write("train.txt", support.make_text(3, 200))
        save = self.path("m.safetensors")
        cli_json(["train", "--train", text, "--valid", text, "--save", save, "--cell", "lstm", "--embed", "8", "--hidden", "8", "--tied",
                  "--classes", "6", "--dropout", "0.25", "--forget-bias", "1", "--epochs", "1", "--backend", "ref"])
        with open(save, "rb") as f:
            original = f.read()
        ck = decode_checkpoint(original, save)
        self.assertEqual(ck.config.to_json_text(), '{"level":"word","cell":"lstm","layers":1,"embed":8,"hidden":8,"vocab_size":%d,'
                         '"dropout":0.25,"tied":true,"classes":6,"forget_bias":1}' % ck.config.vocab_size)
        self.assertEqual(encode_checkpoint(ck.model(), ck.vocab), original)


class CheckpointRefusalTest(TempDirCase):
    def good(self):
        from rnnlm_torch.config import ModelConfig
        from rnnlm_torch.model import RnnLM
        from rnnlm_torch.vocab import Vocab

        v = Vocab(["<eos>", "<unk>", "a", "b"], "word")
        m = RnnLM(ModelConfig("word", "gru", 1, 3, 3, 4, tied=True), None)
        m.init_weights(1)
        return m, v

    def test_refusals_name_the_problem(self):
        m, v = self.good()
        data = encode_checkpoint(m, v)
        tensors, meta = st.decode(data)
        decode_checkpoint(data)  # the untouched file loads
        cases = []
        cases.append(({**tensors}, {**meta, "format": "pt"}, "not an rnnlm checkpoint"))
        t = dict(tensors)
        t["decoder.weight"] = t["decoder.weight"] + 1
        cases.append((t, meta, "tied, but decoder.weight differs"))
        t = dict(tensors)
        del t["rnn.bias_hh_l0"]
        cases.append((t, meta, "missing tensor rnn.bias_hh_l0"))
        t = dict(tensors)
        t["rnn.weight_hh_l0"] = torch.zeros(9, 4)
        cases.append((t, meta, r"rnn.weight_hh_l0 has shape \[9, 4\], config needs \[9, 3\]"))
        t = dict(tensors)
        t["decoder.bias"] = torch.tensor([0.0, float("nan"), 0.0, 0.0])
        cases.append((t, meta, "decoder.bias holds a non-finite value at index 1"))
        cases.append((tensors, {**meta, "vocab": '["<eos>","<unk>","a"]'}, "vocabulary lists 3 tokens but config says vocab_size 4"))
        cases.append(({**tensors, "extra": torch.zeros(1)}, meta, "unexpected tensors for this config: extra"))
        t = dict(tensors)
        t["decoder.bias"] = t["decoder.bias"].double()
        cases.append((t, meta, "decoder.bias has dtype torch.float64, expected F32"))
        for tens, md, pattern in cases:
            with self.subTest(pattern=pattern), self.assertRaisesRegex(CheckpointError, pattern):
                decode_checkpoint(st.encode(tens, md), "m.safetensors")


class CommandLineErrorsTest(TempDirCase):
    def main(self, *argv: str):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = train.main(list(argv))
        return code, err.getvalue()

    def assert_one_line(self, code: int, err: str, exit_code: int, pattern: str) -> None:
        self.assertEqual(code, exit_code, err)
        self.assertRegex(err, r"^rnnlm_torch: error: ")
        self.assertRegex(err, pattern)
        self.assertEqual(err.count("\n"), 1, f"more than one line:\n{err}")

    def test_bad_input_is_one_line_exit_2(self):
        text = self.write("t.txt", support.make_text(4, 50))
        code, err = self.main("--train", self.path("missing.txt"), "--save", self.path("m.safetensors"))
        self.assert_one_line(code, err, 2, "cannot read .*missing.txt: no such file")
        code, err = self.main("--train", text, "--save", self.path("m.safetensors"), "--resume")
        self.assert_one_line(code, err, 2, "nothing to resume")
        code, err = self.main("--train", text, "--save", self.path("m.safetensors"), "--init", text)
        self.assert_one_line(code, err, 2, "invalid safetensors")
        code, err = self.main("--train", text, "--save", self.path("m.safetensors"), "--init", text, "--cell", "gru")
        self.assert_one_line(code, err, 2, "--cell: the model comes from --init")
        code, err = self.main("--train", text, "--save", self.path("m.safetensors"), "--embed", "8", "--hidden", "9", "--tied")
        self.assert_one_line(code, err, 2, "tied weights need embed = hidden")
        self.assertFalse(os.path.exists(self.path("m.safetensors")))

    def test_usage_error_exits_1(self):
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as cm:
            train.main(["--train", "x"])  # --save missing
        self.assertEqual(cm.exception.code, 1)


if __name__ == "__main__":
    unittest.main()
