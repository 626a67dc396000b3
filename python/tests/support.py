"""Shared helpers: where the repository, the compiled rnnlm CLI and the corpora are; running the
CLI; seeded texts; skip reasons. Tests that need something absent skip with the reason."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import Any, Dict, List, Optional, Sequence

import torch

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
CLI = os.path.join(REPO, "dist", "src", "cli", "main.js")
DATA = os.environ.get("RNNLM_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
PTB = os.path.join(DATA, "ptb")
NODE = os.environ.get("RNNLM_NODE") or shutil.which("node")

torch.set_num_threads(1)  # tests are tiny; the suite may share the machine with others


def node_missing() -> Optional[str]:
    """Why the TypeScript side cannot run here, or None."""
    if not NODE:
        return "node not found (set RNNLM_NODE)"
    if not os.path.exists(CLI):
        return f"{CLI} not built (run `npx tsc -p tsconfig.json` or `npm test`)"
    return None


def ptb_missing() -> Optional[str]:
    return None if os.path.exists(os.path.join(PTB, "train.txt")) else f"corpus not found at {PTB} (a fresh clone has no ../shared/data)"


def needs_node(cls_or_fn):
    return unittest.skipIf(node_missing() is not None, node_missing() or "")(cls_or_fn)


def needs_ptb(cls_or_fn):
    return unittest.skipIf(ptb_missing() is not None, ptb_missing() or "")(cls_or_fn)


def run_cli(args: Sequence[str], cwd: Optional[str] = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``node dist/src/cli/main.js ...args``, captured."""
    assert NODE is not None
    return subprocess.run([NODE, CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def cli_json(args: Sequence[str], cwd: Optional[str] = None) -> Dict[str, Any]:
    """Run the CLI with --json; fail with its stderr unless it exits 0."""
    r = run_cli([*args, "--json"], cwd)
    if r.returncode != 0:
        raise AssertionError(f"rnnlm {' '.join(args)} exited {r.returncode}:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


def rnnlm_eval(model: str, text: str) -> Dict[str, Any]:
    """``rnnlm eval --json`` on one thread."""
    return cli_json(["eval", "--model", model, "--text", text, "--threads", "1"])


def node_eval(script: str) -> Any:
    """Run an ES module snippet against the compiled library (``lib`` = dist/src/node/index.js); returns its JSON stdout."""
    assert NODE is not None
    prelude = f"const lib = await import({json.dumps('file://' + os.path.join(REPO, 'dist', 'src', 'node', 'index.js'))});\n"
    r = subprocess.run([NODE, "--input-type=module", "-e", prelude + script], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"node exited {r.returncode}:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


WORDS = (
    "the a dog cat bird sees likes runs sleeps big small red blue and house tree river walks sings old young man woman child"
).split()


def make_text(seed: int, lines: int, unk_rate: float = 0.03) -> str:
    """A seeded word-level text with something to learn: lines of 2–8 words from a 24-word list,
    each word after the first one of 3 fixed successors of the word before with probability 0.8
    (any word otherwise; a bigram model's perplexity is about 7), and some ``<unk>`` tokens (as in PTB)."""
    grammar = random.Random(0)  # the same successors for every seed
    successors = {w: grammar.sample(WORDS, 3) for w in WORDS}
    rng = random.Random(seed)
    out: List[str] = []
    for _ in range(lines):
        ws: List[str] = []
        prev = rng.choice(WORDS)
        for _ in range(rng.randint(2, 8)):
            prev = rng.choice(successors[prev]) if rng.random() < 0.8 else rng.choice(WORDS)
            ws.append("<unk>" if rng.random() < unk_rate else prev)
        out.append(" ".join(ws))
    return "\n".join(out) + "\n"


def ptb_slice(name: str, lines: int, directory: str, skip: int = 0) -> str:
    """The lines [skip, skip + lines) of a PTB file, written to directory; returns the path."""
    path = os.path.join(directory, f"{name}-{skip}-{lines}.txt")
    with open(os.path.join(PTB, f"{name}.txt"), encoding="utf-8") as f:
        chunk = f.readlines()[skip : skip + lines]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(chunk)
    return path


class TempDirCase(unittest.TestCase):
    """A fresh temporary directory per test class (``cls.dir``)."""

    dir = ""

    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.mkdtemp(prefix="rnnlm-py-")

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def write(self, name: str, text: str) -> str:
        p = self.path(name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p


def assert_rel_close(case: unittest.TestCase, a: float, b: float, tol: float, what: str) -> None:
    case.assertLessEqual(abs(a - b), tol * max(abs(a), abs(b)), f"{what}: {a!r} vs {b!r} (relative tolerance {tol})")


def train_in_process(argv: List[str]) -> Dict[str, Any]:
    """rnnlm_torch.train in this process (one rank), quiet; returns its result object."""
    import contextlib
    import io

    from rnnlm_torch import train

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        return train.run(train.build_parser().parse_args([*argv, "--threads", "1", "--device", "cpu"]))


def python_env() -> Dict[str, str]:
    """The environment for Python children: this package importable, one thread each, no bytecode files."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


PY = sys.executable
