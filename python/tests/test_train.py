"""The trainer's run control: a resumed run ends exactly where an uninterrupted one does (dropout's
random stream included), the fixed schedule's rates, the time budget, and no temporary files."""

from __future__ import annotations

import os

import torch

from rnnlm_torch.checkpoint import read_checkpoint
from rnnlm_torch.errors import ConfigError
from rnnlm_torch.train import state_path

from . import support
from .support import TempDirCase, train_in_process

FLAGS = ["--cell", "gru", "--embed", "8", "--hidden", "8", "--dropout", "0.3", "--optimizer", "adam", "--lr", "0.02", "--batch", "4", "--bptt", "7"]


class ResumeTest(TempDirCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.train_file = os.path.join(cls.dir, "train.txt")
        cls.valid_file = os.path.join(cls.dir, "valid.txt")
        with open(cls.train_file, "w") as f:
            f.write(support.make_text(7, 150))
        with open(cls.valid_file, "w") as f:
            f.write(support.make_text(8, 30))

    def run_train(self, save: str, *extra: str):
        return train_in_process(["--train", self.train_file, "--valid", self.valid_file, "--save", save, *FLAGS, *extra])

    def test_resume_continues_exactly(self):
        straight = self.run_train(self.path("a.safetensors"), "--epochs", "3", "--schedule", "fixed", "--decay-start", "1", "--lr-decay", "2")
        self.run_train(self.path("b.safetensors"), "--epochs", "1", "--schedule", "fixed", "--decay-start", "1", "--lr-decay", "2")
        resumed = train_in_process(["--train", self.train_file, "--valid", self.valid_file, "--save", self.path("b.safetensors"), "--epochs", "3", "--resume"])
        self.assertEqual([h["lr"] for h in straight["history"]], [0.02, 0.01, 0.005])  # fixed: halved after every epoch from the 1st
        strip = lambda hs: [{k: v for k, v in h.items() if k not in ("seconds", "tokens_per_s", "valid_seconds")} for h in hs]  # noqa: E731
        self.assertEqual(strip(resumed["history"]), strip(straight["history"]))
        self.assertEqual(resumed["steps"], straight["steps"])
        a, b = read_checkpoint(self.path("a.safetensors")), read_checkpoint(self.path("b.safetensors"))
        for name in a.tensors:
            self.assertTrue(torch.equal(a.tensors[name], b.tensors[name]), f"{name} differs after resume")
        self.assertTrue(os.path.exists(state_path(self.path("b.safetensors"))))
        self.assertFalse([f for f in os.listdir(self.dir) if ".tmp-" in f], "temporary files left behind")

    def test_resume_refuses_other_data(self):
        save = self.path("c.safetensors")
        self.run_train(save, "--epochs", "1")
        other = self.path("other.txt")
        with open(other, "w") as f:
            f.write(support.make_text(9, 150))
        with self.assertRaisesRegex(ConfigError, "training text differs"):
            train_in_process(["--train", other, "--save", save, "--resume"])
        with self.assertRaisesRegex(ConfigError, "--cell, --lr: a resumed run keeps its own model and options"):
            train_in_process(["--train", self.train_file, "--save", save, "--resume", "--lr", "3", "--cell", "gru"])

    def test_time_budget_stops_after_the_step_and_keeps_the_epoch(self):
        save = self.path("d.safetensors")
        r = self.run_train(save, "--epochs", "5", "--time-budget", "0.00001")
        self.assertTrue(r["budget_spent"])
        self.assertEqual(r["epochs"], 1)
        self.assertEqual(r["steps"], 1)
        self.assertIsNotNone(r["valid_perplexity"])
        self.assertTrue(os.path.exists(save))
