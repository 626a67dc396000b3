"""Training with DistributedDataParallel, writing rnnlm checkpoints (rnnlm's src/train/trainer.ts,
with PyTorch DDP as the engine).

    python -m rnnlm_torch.train --train TRAIN --valid VALID --save MODEL.safetensors [rnnlm train's flags]
    torchrun --nproc_per_node=8 -m rnnlm_torch.train ...              (NCCL on GPUs, gloo on CPUs)

Truncated BPTT as rnnlm's: the token stream is cut into B parallel streams and T-step segments;
the hidden state is carried across segments with the gradient cut and reset each epoch. Under
DDP, rank r of W holds the contiguous streams ``stream_share(B, W, r)`` and its own hidden state;
its loss is Σ_local nll · W / (T·B), so the all-reduced (averaged) gradient is exactly that of
the mean over all T·B tokens of the global batch: the same run for any W ≥ 1 up to float
rounding (any B ≥ W; the shares may differ by one stream). Then global-norm clipping and
sgd / adagrad / adam with rnnlm's formulas (optim.py), rnnlm's schedules (plateau: divide lr by
lr-decay after an epoch whose validation did not improve; fixed: after every epoch from
decay-start), patience and a time budget.

After each epoch rank 0 evaluates exactly (one stream, float64 sums; evaluate.py), writes the
best model as an rnnlm checkpoint (atomically) and a resumable state MODEL.torchstate (a
safetensors file: weights, optimizer buffers, schedule, every rank's RNG); ``--resume`` continues from it, ``--init`` starts
from a checkpoint written by ``rnnlm train`` (weights, config, vocabulary, class map).
Legend: B streams, T bptt, W ranks, S steps per stream, L layers, H hidden.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.distributed as dist

from . import safetensors_io
from .atomic import read_bytes, write_atomic
from .batches import batchify, segment, segment_count, stream_share
from .checkpoint import read_checkpoint, save_checkpoint
from .classes import assign_classes, unigram_counts
from .cli import ArgumentParser, run_main, set_threads
from .config import CELLS, ModelConfig
from .errors import CheckpointError, ConfigError, DivergenceError, InputError, RnnlmError
from .evaluation import evaluate_ids, pick_device
from .model import RnnLM, detach_state
from .optim import OPTIMIZERS, Optimizer, clip_grad_norm
from .vocab import Vocab, read_text

STATE_FORMAT = "rnnlm-torch-state"


def state_path(save: str) -> str:
    """Where the resumable state of a run saving to ``save`` is kept."""
    return f"{save}.torchstate"


@dataclass
class TrainOptions:
    """rnnlm's TrainOptions (DEFAULT_TRAIN), snake_case."""

    batch: int = 20  #: parallel streams B (global, over all ranks)
    bptt: int = 35  #: truncated-BPTT segment length T
    epochs: int = 10  #: epochs in total (a resumed run counts the ones done)
    lr: float = 20.0
    optimizer: str = "sgd"
    clip: float = 0.25  #: max global gradient L2 norm; 0 = off
    lr_decay: float = 4.0  #: divide the rate by this at each decay
    schedule: str = "plateau"  #: 'plateau' or 'fixed'
    decay_start: int = 4  #: fixed schedule: epochs at the initial rate
    patience: int = 0  #: stop after this many epochs without improvement; 0 = off
    seed: int = 1
    time_budget: float = 0.0  #: seconds of wall time for the whole run; 0 = none

    def validate(self) -> "TrainOptions":
        def integer(name: str, v: Any, lo: int, hi: int) -> None:
            if not isinstance(v, int) or isinstance(v, bool) or v < lo or v > hi:
                raise ConfigError(f"{name} must be an integer from {lo} to {hi}, got {v!r}")

        integer("batch", self.batch, 1, 100000)
        integer("bptt", self.bptt, 1, 100000)
        integer("epochs", self.epochs, 1, 1000000)
        integer("seed", self.seed, 0, 0xFFFFFFFF)
        integer("decay-start", self.decay_start, 0, 1000000)
        integer("patience", self.patience, 0, 1000000)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        if not (self.clip >= 0 and math.isfinite(self.clip)):
            raise ConfigError(f"clip must be ≥ 0 (0 = off), got {self.clip}")
        if not (self.lr_decay >= 1 and math.isfinite(self.lr_decay)):
            raise ConfigError(f"lr-decay must be ≥ 1, got {self.lr_decay}")
        if self.schedule not in ("plateau", "fixed"):
            raise ConfigError(f"schedule must be plateau or fixed, got {self.schedule!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not (self.time_budget >= 0 and math.isfinite(self.time_budget)):
            raise ConfigError(f"time budget must be ≥ 0 (0 = none), got {self.time_budget}")
        return self


@dataclass
class DistEnv:
    """This process's place in the run, from torchrun's environment (one process without it)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @staticmethod
    def from_environ() -> "DistEnv":
        e = os.environ
        if "WORLD_SIZE" not in e:
            return DistEnv()
        return DistEnv(int(e.get("RANK", 0)), int(e["WORLD_SIZE"]), int(e.get("LOCAL_RANK", 0)), int(e.get("LOCAL_WORLD_SIZE", e["WORLD_SIZE"])))


def finite_perplexity(ce: float) -> bool:
    """exp(ce) is finite: a mean loss beyond ~709.8 nats/token has diverged too (rnnlm's test)."""
    return math.isfinite(ce) and ce < LOG_MAX_FLOAT


LOG_MAX_FLOAT = math.log(sys.float_info.max)


def ids_hash(ids: torch.Tensor) -> str:
    """FNV-1a over the ids, as rnnlm's idsHash: ``<length>:<hex>``, a fingerprint of the training data."""
    h = 0x811C9DC5
    for x in ids.tolist():
        h = ((h ^ x) * 0x01000193) & 0xFFFFFFFF
    return f"{ids.numel()}:{h:x}"


@dataclass
class Progress:
    """The scalars of a run that a resumable state carries (rnnlm's TrainState, at an epoch's end)."""

    epoch: int = 0  #: epochs done
    step: int = 0  #: optimizer steps taken
    lr: float = 0.0
    best_valid: Optional[float] = None  #: best validation cross-entropy (nats/token)
    since_best: int = 0  #: epochs in a row without improvement
    seconds: float = 0.0  #: wall time of the run so far
    tokens: int = 0  #: training tokens so far (all ranks)
    data_hash: str = ""
    history: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class Setup:
    """Everything a run needs before the first step."""

    model: RnnLM
    vocab: Vocab
    options: TrainOptions
    train_ids: torch.Tensor
    valid_ids: Optional[torch.Tensor]
    test_ids: Optional[torch.Tensor]
    resume: Optional[Dict[str, Any]]


MODEL_FLAGS = ("level", "cell", "layers", "embed", "hidden", "tied", "classes", "forget_bias", "max_vocab", "min_count")
TRAIN_FLAGS = ("batch", "bptt", "lr", "optimizer", "clip", "lr_decay", "schedule", "decay_start", "patience", "seed")
MODEL_DEFAULTS = dict(level="word", cell="sigmoid", layers=1, embed=200, hidden=200, dropout=0.0, tied=False, classes=0, forget_bias=0.0, max_vocab=0, min_count=1)


def encode_state(model: RnnLM, vocab: Vocab, opt: Optimizer, progress: Progress, options: TrainOptions, rngs: List[Dict[str, Any]]) -> bytes:
    """The resumable state as safetensors (no pickle): tensors ``param.<name>`` (current weights),
    ``optimizer.<buffer>.<i>`` (per parameter, in model.parameters() order), ``rng.<rank>.cpu`` /
    ``.cuda`` (each rank's generator state); metadata: config, vocab, classes, progress, options."""
    tensors: List[Tuple[str, torch.Tensor]] = [(f"param.{k}", v) for k, v in model.state_dict().items()]
    for k, bufs in opt.state.items():
        tensors += [(f"optimizer.{k}.{i}", b) for i, b in enumerate(bufs)]
    for r, s in enumerate(rngs):
        tensors += [(f"rng.{r}.{dev}", t) for dev, t in s.items() if t is not None]
    meta = {
        "kind": STATE_FORMAT,
        "config": model.config.to_json_text(),
        "vocab": json.dumps(list(vocab.tokens), ensure_ascii=False),
        "classes": json.dumps(model.word_class.tolist() if model.word_class is not None else None),
        "progress": json.dumps(dataclasses.asdict(progress)),
        "options": json.dumps(dataclasses.asdict(options)),
        "optimizer": json.dumps({"name": opt.name, "t": opt.t}),
        "world_size": str(len(rngs)),
    }
    return safetensors_io.encode(tensors, meta)


def decode_state(data: bytes, where: str) -> Dict[str, Any]:
    """The parts of a state written by encode_state (CheckpointError when it is not one)."""
    try:
        tensors, meta = safetensors_io.decode(data)
    except CheckpointError as e:
        raise CheckpointError(f"{where}: {e}") from None
    if meta.get("kind") != STATE_FORMAT:
        raise CheckpointError(f"{where}: not a training state written by rnnlm_torch.train (kind {json.dumps(meta.get('kind'))})")
    try:
        world = int(meta["world_size"])
        opt = json.loads(meta["optimizer"])
        out = {
            "config": ModelConfig.from_json(json.loads(meta["config"])),
            "vocab": json.loads(meta["vocab"]),
            "classes": json.loads(meta["classes"]),
            "progress": json.loads(meta["progress"]),
            "options": json.loads(meta["options"]),
            "optimizer": opt["name"],
            "t": opt["t"],
            "params": {k[len("param.") :]: v for k, v in tensors.items() if k.startswith("param.")},
            "buffers": {k[len("optimizer.") :]: v for k, v in tensors.items() if k.startswith("optimizer.")},
            "rng": [{"cpu": tensors[f"rng.{r}.cpu"], "cuda": tensors.get(f"rng.{r}.cuda")} for r in range(world)],
        }
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{where}: incomplete training state ({type(e).__name__}: {e})") from None
    return out


def prepare(a: argparse.Namespace) -> Setup:
    """Read the texts, build or load the model and vocabulary, and validate the options (no collectives)."""
    resume = None
    given = {k for k in MODEL_FLAGS if getattr(a, k) is not None}
    if a.resume:
        fixed = sorted(given | {k for k in TRAIN_FLAGS + ("init", "dropout") if getattr(a, k) is not None})
        if fixed:
            flags = ", ".join("--" + k.replace("_", "-") for k in fixed)
            raise ConfigError(f"{flags}: a resumed run keeps its own model and options (only --epochs and --time-budget may change); leave these flags out")
        sp = state_path(a.save)
        if not os.path.exists(sp):
            raise InputError(f"nothing to resume: {sp} does not exist (train without --resume first)")
        resume = decode_state(read_bytes(sp), sp)
        config = resume["config"]
        vocab = Vocab(resume["vocab"], config.level)
        model = RnnLM(config, resume["classes"])
        try:
            model.load_state_dict(resume["params"])
        except RuntimeError as e:
            raise CheckpointError(f"{sp}: the weights do not fit the config ({str(e).splitlines()[0]})") from None
        o = TrainOptions(**resume["options"])
        # The run continues with its own options; only its length may change on resume.
        if a.epochs is not None:
            o.epochs = a.epochs
        if a.time_budget is not None:
            o.time_budget = a.time_budget * 60
    else:
        if a.init:
            if given:
                flags = ", ".join("--" + k.replace("_", "-") for k in sorted(given))
                raise ConfigError(f"{flags}: the model comes from --init {a.init} (its config, vocabulary and class map); leave these flags out")
            ck = read_checkpoint(a.init)
            config, vocab = ck.config, ck.vocab
            if a.dropout is not None and a.dropout != config.dropout:
                config = dataclasses.replace(config, dropout=a.dropout)
            model = RnnLM(config, ck.word_classes)
            with torch.no_grad():
                params = model.state_dict(keep_vars=True)
                for name, t in ck.tensors.items():
                    params[name].copy_(t)
        else:
            m = {k: (getattr(a, k) if getattr(a, k) is not None else d) for k, d in MODEL_DEFAULTS.items()}
            text = read_text(a.train)
            vocab = Vocab.build(text, m["level"], m["max_vocab"], m["min_count"])
            config = ModelConfig(
                level=m["level"], cell=m["cell"], layers=m["layers"], embed=m["embed"], hidden=m["hidden"], vocab_size=vocab.size,
                dropout=m["dropout"], tied=bool(m["tied"]), classes=m["classes"], forget_bias=m["forget_bias"],
            )
            # A class-factored softmax bins words by their training counts (Mikolov's equal-mass classes).
            classes = assign_classes(unigram_counts(vocab.encode(text)[0], vocab.size), config.classes) if config.classes else None
            model = RnnLM(config, classes)
            model.init_weights(a.seed if a.seed is not None else TrainOptions.seed)
        d = TrainOptions()
        o = TrainOptions(**{k: (getattr(a, k) if getattr(a, k) is not None else getattr(d, k)) for k in TRAIN_FLAGS + ("epochs",)})
        o.time_budget = (a.time_budget or 0) * 60
    o.validate()
    train_ids = vocab.encode(read_text(a.train))[0]
    valid_ids = vocab.encode(read_text(a.valid))[0] if a.valid else None
    test_ids = vocab.encode(read_text(a.test))[0] if a.test else None
    return Setup(model, vocab, o, train_ids, valid_ids, test_ids, resume)


def check_batches(o: TrainOptions, n_tokens: int, env: "DistEnv") -> None:
    """The global batch fits the text and every rank gets a stream (before any collective)."""
    stream_share(o.batch, env.world, env.rank)
    if segment_count(n_tokens // o.batch, o.bptt) == 0:
        raise ConfigError(f"the training text has {n_tokens} tokens: too few for {o.batch} streams (--batch); it needs at least {2 * o.batch}")


def _rng_state(device: torch.device) -> Dict[str, Any]:
    return {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def _set_rng_state(s: Dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(s["cpu"])
    if device.type == "cuda" and s.get("cuda") is not None:
        torch.cuda.set_rng_state(s["cuda"], device)


class Run:
    """One training run on this rank (all ranks run the same code and agree on every decision)."""

    def __init__(self, s: Setup, a: argparse.Namespace, env: DistEnv, device: torch.device) -> None:
        self.s, self.a, self.env, self.device = s, a, env, device
        self.o = s.options
        self.lead = env.rank == 0
        self.model = s.model.to(device)
        if device.type == "cuda" and hasattr(self.model.rnn, "flatten_parameters"):
            self.model.rnn.flatten_parameters()
        self.params = list(self.model.parameters())  # a tied weight once
        self.opt = Optimizer(self.o.optimizer, self.params)
        if env.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [device.index] if device.type == "cuda" else None
            self.net: torch.nn.Module = DDP(self.model, device_ids=ids, broadcast_buffers=False)
        else:
            self.net = self.model
        data = batchify(s.train_ids, self.o.batch)  # [S, B]
        self.segments = segment_count(data.size(0), self.o.bptt)
        lo, hi = stream_share(self.o.batch, env.world, env.rank)
        self.local = data[:, lo:hi].contiguous().to(device)  # this rank's streams [S, hi - lo]
        self.p = Progress(lr=self.o.lr, data_hash=ids_hash(s.train_ids))
        if s.resume is not None:
            self._restore(s.resume)
        else:
            torch.manual_seed(self.o.seed * 1000003 + env.rank)  # this rank's dropout stream
        self.log_file = open(a.log, "a" if s.resume is not None else "w") if (a.log and self.lead) else None

    # --- output ---------------------------------------------------------------------------------
    def info(self, line: str) -> None:
        if self.lead:
            print(line, file=sys.stderr if self.a.json else sys.stdout, flush=True)

    def record(self, obj: Dict[str, Any]) -> None:
        if self.log_file:
            self.log_file.write(json.dumps(obj) + "\n")
            self.log_file.flush()

    # --- collectives (no-ops in one process) ----------------------------------------------------
    def all_sum(self, *xs: float) -> List[float]:
        if self.env.world == 1:
            return list(xs)
        t = torch.tensor(xs, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def from_lead(self, x: float) -> float:
        if self.env.world == 1:
            return x
        t = torch.tensor([x], dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        return float(t[0])

    # --- resumable state ------------------------------------------------------------------------
    def _restore(self, st: Dict[str, Any]) -> None:
        p = Progress(**st["progress"])
        if p.data_hash != self.p.data_hash:
            raise ConfigError(f"the training text differs from the one this run started with (fingerprint {self.p.data_hash}, state has {p.data_hash})")
        self.p = p
        if st["optimizer"] != self.opt.name:
            raise CheckpointError(f"the state holds {st['optimizer']} buffers, the run uses {self.opt.name}")
        self.opt.t = st["t"]
        for k, bufs in self.opt.state.items():
            for i, b in enumerate(bufs):
                b.copy_(st["buffers"][f"{k}.{i}"])
        rngs = st["rng"]
        if len(rngs) == self.env.world:
            _set_rng_state(rngs[self.env.rank], self.device)
        elif self.model.config.dropout > 0:
            raise ConfigError(f"the state was written by {len(rngs)} processes and this run has {self.env.world}: with dropout the masks depend on it; resume with {len(rngs)}")
        else:
            torch.manual_seed(self.o.seed * 1000003 + self.env.rank)

    def save_state(self) -> None:
        rng = _rng_state(self.device)
        rngs = [rng]
        if self.env.world > 1:
            rngs = [None] * self.env.world
            dist.all_gather_object(rngs, rng)
        if self.lead:
            write_atomic(state_path(self.a.save), encode_state(self.model, self.s.vocab, self.opt, self.p, self.o, rngs))

    # --- the loop -------------------------------------------------------------------------------
    def train(self) -> Dict[str, Any]:
        o, p, env = self.o, self.p, self.env
        B, T = o.batch, o.bptt
        t0 = time.monotonic()
        seconds_before = p.seconds
        elapsed = lambda: seconds_before + time.monotonic() - t0  # noqa: E731
        session_tokens, train_seconds = 0, 0.0
        budget_spent = stopped_early = False
        last_print = last_log = time.monotonic()
        while p.epoch < o.epochs:
            state = self.model.new_state(self.local.size(1), self.device)  # h(0) = 0 at the start of the text
            epoch_nll, epoch_tokens = 0.0, 0
            epoch_start = time.monotonic()
            self.model.train()
            for i in range(self.segments):
                step_start = time.monotonic()
                x, y = segment(self.local, T, i)
                n = x.size(0)
                for w in self.params:
                    w.grad = None
                nll_local, state = self.net(x, state, y)
                # Σ_local nll · W / (n·B): DDP averages over W ranks -> the mean over all n·B tokens.
                (nll_local * (env.world / (n * B))).backward()
                state = detach_state(state)
                stop = 1.0 if (self.lead and o.time_budget > 0 and elapsed() >= o.time_budget) else 0.0
                nll, stop = self.all_sum(float(nll_local), stop)
                p.step += 1
                where = f"step {p.step} (epoch {p.epoch + 1}, batch {i + 1}/{self.segments})"
                if not finite_perplexity(nll / (n * B)):
                    raise DivergenceError(f"training diverged at {where}: the loss is {nll / (n * B):.4g} nats/token; lower --lr or set --clip")
                norm = clip_grad_norm(self.params, o.clip)
                if not math.isfinite(norm):
                    raise DivergenceError(f"training diverged at {where}: the gradient norm is {norm}; lower --lr or set --clip")
                self.opt.step(p.lr)
                epoch_nll += nll
                epoch_tokens += n * B
                p.tokens += n * B
                session_tokens += n * B
                now = time.monotonic()
                train_seconds += now - step_start
                tps = session_tokens / max(train_seconds, 1e-9)
                if self.lead and (now - last_print > 10 or i + 1 == self.segments):
                    last_print = now
                    loss = epoch_nll / epoch_tokens
                    print(f"epoch {p.epoch + 1}/{o.epochs} batch {i + 1}/{self.segments} loss {loss:.3f} ppl {math.exp(loss):.1f} {tps:.0f} tok/s lr {p.lr:.3g}", file=sys.stderr, flush=True)
                if now - last_log > 1 or i + 1 == self.segments:
                    last_log = now
                    self.record({"type": "step", "step": p.step, "epoch": p.epoch + 1, "batch": i + 1, "loss": epoch_nll / epoch_tokens, "lr": p.lr, "tokens_per_s": tps, "grad_norm": norm})
                if stop > 0:
                    budget_spent = True
                    break
            epoch_seconds = time.monotonic() - epoch_start
            self._end_epoch(epoch_nll, epoch_tokens, epoch_seconds)
            patience_out = o.patience > 0 and p.since_best >= o.patience
            p.epoch += 1
            p.seconds = elapsed()
            self.save_state()
            if budget_spent:
                self.info(f"time budget of {o.time_budget / 60:g} min spent after {len(p.history)} epoch(s)")
                break
            if patience_out:
                stopped_early = True
                self.info(f"stopped early: {o.patience} epoch(s) without improvement")
                break
        if self.log_file:
            self.log_file.close()
        last = p.history[-1] if p.history else None
        result = {
            "tokens_per_s": session_tokens / max(train_seconds, 1e-9), "seconds": elapsed(), "epochs": len(p.history), "steps": p.step,
            "train_perplexity": last["train_perplexity"] if last else None, "valid_perplexity": last["valid_perplexity"] if last else None,
            "best_valid_perplexity": math.exp(p.best_valid) if p.best_valid is not None else None,
            "vocab_size": self.s.vocab.size, "train_tokens": self.s.train_ids.numel(),
            "valid_tokens": self.s.valid_ids.numel() if self.s.valid_ids is not None else 0,
            "world_size": env.world, "device": str(self.device), "threads": torch.get_num_threads(), "model": self.a.save,
            "budget_spent": budget_spent, "stopped_early": stopped_early, "history": p.history,
        }
        if self.s.test_ids is not None and self.lead:
            # The figure of the file written, not of the weights in memory: read it back.
            best = read_checkpoint(self.a.save).model().to(self.device)
            ev = evaluate_ids(best, self.s.test_ids, self.a.eval_chunk)
            result.update(test_perplexity=ev.perplexity, test_tokens=ev.tokens, test_nll=ev.nll)
            self.info(f"test perplexity {ev.perplexity:.3f} ({ev.tokens} tokens) of {self.a.save}")
        return result

    def _end_epoch(self, epoch_nll: float, epoch_tokens: int, epoch_seconds: float) -> bool:
        """Validate, keep the best model, apply the schedule; returns whether validation improved."""
        o, p = self.o, self.p
        train_ppl = math.exp(epoch_nll / max(epoch_tokens, 1))
        valid_ppl: Optional[float] = None
        improved = True
        valid_start = time.monotonic()
        if self.s.valid_ids is not None and self.s.valid_ids.numel() > 0:
            ce = evaluate_ids(self.model, self.s.valid_ids, self.a.eval_chunk).cross_entropy if self.lead else 0.0
            ce = self.from_lead(ce)
            if not finite_perplexity(ce):
                raise DivergenceError(f"training diverged in epoch {p.epoch + 1} (step {p.step}): validation cross-entropy is {ce}; lower --lr or set --clip")
            valid_ppl = math.exp(ce)
            improved = p.best_valid is None or ce < p.best_valid
            if improved:
                p.best_valid = ce
        rec = {
            "epoch": p.epoch + 1, "train_perplexity": train_ppl, "valid_perplexity": valid_ppl, "lr": p.lr, "seconds": epoch_seconds,
            "tokens_per_s": epoch_tokens / max(epoch_seconds, 1e-9), "valid_seconds": time.monotonic() - valid_start,
        }
        p.history.append(rec)
        if improved:
            p.since_best = 0
            if self.lead:
                save_checkpoint(self.a.save, self.model, self.s.vocab)
        else:
            p.since_best += 1
        if (not improved) if o.schedule == "plateau" else (p.epoch + 1 >= o.decay_start):
            p.lr /= o.lr_decay
        self.record({"type": "epoch", **rec})
        v = "" if valid_ppl is None else f" | valid ppl {valid_ppl:.2f}" + (" (best, saved)" if improved else f" (no better: lr -> {p.lr:.3g})")
        self.info(f"epoch {rec['epoch']} | {epoch_seconds:.1f} s | {rec['tokens_per_s']:.0f} tok/s | train ppl {train_ppl:.2f}{v}")
        return improved


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m rnnlm_torch.train",
        description="train an rnnlm model with PyTorch (DistributedDataParallel under torchrun); writes rnnlm checkpoints",
    )
    f = p.add_argument
    f("--train", required=True, help="training text")
    f("--valid", help="validation text (exact single-stream perplexity after each epoch)")
    f("--test", help="test text: the best checkpoint's exact perplexity at the end")
    f("--save", required=True, help="where the best model is written (an rnnlm .safetensors); the state goes to SAVE.torchstate")
    f("--init", help="start from an rnnlm checkpoint (weights, config, vocabulary, class map)")
    f("--resume", action="store_true", help="continue the run saved at SAVE.torchstate (same training text)")
    f("--level", choices=["word", "char"], default=None, help="tokens: words (+ <eos> per line) or characters (default word)")
    f("--cell", choices=list(CELLS), default=None, help="recurrent cell (default sigmoid, the notes')")
    f("--layers", type=int, default=None, help="stacked recurrent layers (default 1)")
    f("--embed", type=int, default=None, help="embedding width (default 200)")
    f("--hidden", type=int, default=None, help="hidden width (default 200)")
    f("--dropout", type=float, default=None, help="dropout on embeddings, between layers and before the output (default 0)")
    f("--tied", action="store_const", const=True, default=None, help="tie decoder.weight to encoder.weight (needs --embed = --hidden)")
    f("--classes", type=int, default=None, help="class-factored softmax with c frequency classes (default 0: full softmax)")
    f("--forget-bias", type=float, default=None, help="lstm: added to the forget-gate bias at initialisation (default 0)")
    f("--max-vocab", type=int, default=None, help="vocabulary cap including <eos> and <unk> (default 0: none)")
    f("--min-count", type=int, default=None, help="drop words seen fewer times (default 1)")
    f("--batch", type=int, default=None, help="parallel streams B over all processes (default 20)")
    f("--bptt", type=int, default=None, help="truncated BPTT length T (default 35)")
    f("--epochs", type=int, default=None, help="epochs (default 10)")
    f("--lr", type=float, default=None, help="initial learning rate (default 20)")
    f("--lr-decay", type=float, default=None, help="divide the learning rate by this at each decay (default 4)")
    f("--schedule", choices=["plateau", "fixed"], default=None, help="when to decay (default plateau)")
    f("--decay-start", type=int, default=None, help="fixed schedule: epochs at the initial rate (default 4)")
    f("--patience", type=int, default=None, help="stop after n epochs without improvement (default 0: off)")
    f("--optimizer", choices=list(OPTIMIZERS), default=None, help="optimizer (default sgd)")
    f("--clip", type=float, default=None, help="max gradient L2 norm (default 0.25; 0 = off)")
    f("--seed", type=int, default=None, help="random seed (default 1)")
    f("--time-budget", type=float, default=None, help="stop after this many minutes of wall time (the epoch in progress is validated and kept)")
    f("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: cuda:<local rank> when a GPU is visible, else cpu")
    f("--threads", type=int, default=None, help="CPU threads per process (default: available cores / local processes)")
    f("--eval-chunk", type=int, default=256, help="steps per forward call in evaluation (the figure does not depend on it)")
    f("--log", help="metrics log: JSON lines per progress report and per epoch (rank 0)")
    f("--json", action="store_true", help="print one JSON object with the results on stdout (progress goes to stderr)")
    return p


def run(a: argparse.Namespace) -> Dict[str, Any]:
    """Train as the command line says; returns the result object (on every rank)."""
    env = DistEnv.from_environ()
    device = pick_device(a.device, env.local_rank)
    if device.type == "cpu":
        set_threads(a.threads, env.local_world)
    else:
        torch.cuda.set_device(device)
    try:
        s = prepare(a)
        check_batches(s.options, s.train_ids.numel(), env)
    except RnnlmError as e:
        e.quiet = env.rank != 0  # every rank read the same input: rank 0 says it once
        raise
    if env.world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(hours=2))
    try:
        return Run(s, a, env, device).train()
    finally:
        if env.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def main(argv: Optional[List[str]] = None) -> int:
    def body(a: argparse.Namespace) -> int:
        r = run(a)
        if a.json and DistEnv.from_environ().rank == 0:
            print(json.dumps(r), flush=True)
        return 0

    return run_main(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
