"""rnnlm -> PyTorch -> rnnlm on a PTB slice: a model trained by ``rnnlm train`` is evaluated here to
the perplexity ``rnnlm eval`` gives (1e-5 relative), continued with ``--init`` for an epoch,
written back, and ``rnnlm eval`` of that file equals this side's evaluation again."""

from __future__ import annotations

from rnnlm_torch.checkpoint import read_checkpoint
from rnnlm_torch.evaluation import evaluate_text
from rnnlm_torch.vocab import read_text

from .support import TempDirCase, assert_rel_close, cli_json, needs_node, needs_ptb, ptb_slice, rnnlm_eval, train_in_process


@needs_node
@needs_ptb
class RoundTripTest(TempDirCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.train_file = ptb_slice("train", 600, cls.dir)
        cls.valid_file = ptb_slice("valid", 80, cls.dir)
        cls.model = cls.dir + "/cli.safetensors"
        # Two layers of LSTM with a class-factored softmax and tied weights: every piece that must map.
        cls.trained = cli_json([
            "train", "--train", cls.train_file, "--valid", cls.valid_file, "--save", cls.model, "--cell", "lstm", "--layers", "2",
            "--embed", "16", "--hidden", "16", "--tied", "--classes", "20", "--dropout", "0.1", "--batch", "10", "--bptt", "20",
            "--epochs", "1", "--optimizer", "adam", "--lr", "0.01", "--threads", "1",
        ])

    def test_python_evaluation_equals_rnnlm_eval(self):
        ck = read_checkpoint(self.model)
        self.assertEqual(ck.config.cell, "lstm")
        self.assertEqual(ck.config.classes, 20)
        ours = evaluate_text(ck.model(), ck.vocab, read_text(self.valid_file))
        theirs = rnnlm_eval(self.model, self.valid_file)
        self.assertEqual(ours["tokens"], theirs["tokens"])
        self.assertEqual(ours["unknown"], theirs["unknown"])
        assert_rel_close(self, ours["perplexity"], theirs["perplexity"], 1e-5, "rnnlm_torch vs rnnlm eval of rnnlm's checkpoint")
        assert_rel_close(self, theirs["perplexity"], self.trained["best_valid_perplexity"], 1e-9, "rnnlm eval vs rnnlm train's validation")

    def test_continue_with_init_and_back(self):
        out = self.path("continued.safetensors")
        r = train_in_process(["--train", self.train_file, "--valid", self.valid_file, "--test", self.valid_file, "--init", self.model,
                              "--save", out, "--epochs", "1", "--batch", "10", "--bptt", "20", "--optimizer", "adam", "--lr", "0.005"])
        before, after = read_checkpoint(self.model), read_checkpoint(out)
        self.assertEqual(after.config, before.config)
        self.assertEqual(after.vocab.tokens, before.vocab.tokens)
        self.assertEqual(after.word_classes, before.word_classes)
        moved = max(float((after.tensors[k] - before.tensors[k]).abs().max()) for k in before.tensors)
        self.assertGreater(moved, 1e-4, "the continued training changed nothing")
        theirs = rnnlm_eval(out, self.valid_file)
        assert_rel_close(self, theirs["perplexity"], r["test_perplexity"], 1e-5, "rnnlm eval vs rnnlm_torch after --init and training")
        assert_rel_close(self, theirs["perplexity"], r["best_valid_perplexity"], 1e-5, "rnnlm eval vs rnnlm_torch's validation")
        # Continued training from a trained model starts below where the CLI's first epoch ended.
        self.assertLess(r["best_valid_perplexity"], self.trained["best_valid_perplexity"] * 1.05)
