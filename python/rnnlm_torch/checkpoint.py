"""rnnlm checkpoints (README "Checkpoint format"; src/io/checkpoint.ts), read and written.

One safetensors file of F32 tensors named as PyTorch's word_language_model names them, in rnnlm's
order (``checkpoint_specs``); a tied model stores encoder.weight and an equal decoder.weight.
``__metadata__``: format "rnnlm", config (JSON), vocab (JSON array of the tokens in id order) and,
for a class-factored model, classes (JSON array: each word id's class). Loading validates what
rnnlm validates. With the built-in safetensors writer the bytes are exactly those rnnlm writes for
the same weights (tested), so a checkpoint read here and written back is the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch

from . import safetensors_io
from .atomic import read_bytes, write_atomic
from .classes import validate_classes
from .config import ModelConfig
from .errors import CheckpointError, RnnlmError
from .model import RnnLM, checkpoint_specs
from .vocab import Vocab

FORMAT = "rnnlm"


@dataclass
class Checkpoint:
    """A decoded, validated checkpoint."""

    config: ModelConfig
    vocab: Vocab
    word_classes: Optional[List[int]]
    tensors: Dict[str, torch.Tensor]  #: name -> F32 tensor, every name of checkpoint_specs(config)
    metadata: Dict[str, str]

    def model(self) -> RnnLM:
        """An RnnLM holding these weights (CPU, float32)."""
        m = RnnLM(self.config, self.word_classes)
        with torch.no_grad():
            params = m.state_dict(keep_vars=True)  # every name, a tied decoder.weight included
            for name, _ in checkpoint_specs(self.config):
                params[name].copy_(self.tensors[name])
        return m


def _json(text: str, what: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f'{where}: metadata "{what}" is not valid JSON ({e.msg})') from None


def decode_checkpoint(data: bytes, where: str = "checkpoint") -> Checkpoint:
    """Decode and validate checkpoint bytes; CheckpointError names the problem."""
    try:
        tensors, meta = safetensors_io.decode(data)
    except CheckpointError as e:
        raise CheckpointError(f"{where}: {e}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f'{where}: not an rnnlm checkpoint (metadata "format" is {json.dumps(meta.get("format"))}, expected "{FORMAT}")')
    for k in ("config", "vocab"):
        if k not in meta:
            raise CheckpointError(f'{where}: metadata lacks "{k}"')
    try:
        config = ModelConfig.from_json(_json(meta["config"], "config", where))
        tokens = _json(meta["vocab"], "vocab", where)
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise CheckpointError(f'{where}: metadata "vocab" must be a JSON array of strings')
        vocab = Vocab(tokens, config.level)
        classes = None
        if config.classes > 0:
            if "classes" not in meta:
                raise CheckpointError(f'{where}: config has classes {config.classes} but metadata lacks "classes" (each word id\'s class)')
            classes = _json(meta["classes"], "classes", where)
            if not isinstance(classes, list):
                raise CheckpointError(f'{where}: metadata "classes" must be a JSON array of {config.vocab_size} class ids')
            validate_classes(classes, config.classes, config.vocab_size, f'{where}: metadata "classes"')
        elif "classes" in meta:
            raise CheckpointError(f'{where}: metadata has "classes" but the config has no class-factored softmax (classes 0)')
    except CheckpointError:
        raise
    except RnnlmError as e:
        raise CheckpointError(f"{where}: {e}") from None
    if vocab.size != config.vocab_size:
        raise CheckpointError(f"{where}: vocabulary lists {vocab.size} tokens but config says vocab_size {config.vocab_size}")
    specs = checkpoint_specs(config)
    expected = {n for n, _ in specs}
    unexpected = [n for n in tensors if n not in expected]
    if unexpected:
        raise CheckpointError(f"{where}: unexpected tensors for this config: {', '.join(unexpected)}")
    for name, shape in specs:
        t = tensors.get(name)
        if t is None:
            raise CheckpointError(f"{where}: missing tensor {name} {list(shape)}")
        if t.dtype != torch.float32:
            raise CheckpointError(f"{where}: tensor {name} has dtype {t.dtype}, expected F32")
        if tuple(t.shape) != shape:
            raise CheckpointError(f"{where}: tensor {name} has shape {list(t.shape)}, config needs {list(shape)}")
        bad = (~torch.isfinite(t.reshape(-1))).nonzero()
        if bad.numel():
            raise CheckpointError(f"{where}: tensor {name} holds a non-finite value at index {int(bad[0])}")
    if config.tied and not torch.equal(tensors["decoder.weight"], tensors["encoder.weight"]):
        raise CheckpointError(f"{where}: config says tied, but decoder.weight differs from encoder.weight")
    return Checkpoint(config, vocab, classes, tensors, meta)


def read_checkpoint(path: str) -> Checkpoint:
    """Read and validate a checkpoint file."""
    return decode_checkpoint(read_bytes(path), path)


def encode_checkpoint(model: RnnLM, vocab: Vocab, extra: Optional[Dict[str, str]] = None) -> bytes:
    """Checkpoint bytes of a model and its vocabulary (F32, rnnlm's tensor order and metadata)."""
    c = model.config
    if vocab.size != c.vocab_size:
        raise CheckpointError(f"vocabulary has {vocab.size} tokens but the model's vocab_size is {c.vocab_size}")
    params = model.state_dict(keep_vars=True)  # every name, a tied decoder.weight included
    tensors = []
    for name, shape in checkpoint_specs(c):
        t = params[name].detach().to("cpu", torch.float32)
        if not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"cannot save: tensor {name} holds non-finite values")
        tensors.append((name, t))
    dumps = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))  # noqa: E731  (JSON.stringify)
    meta = dict(extra or {})
    meta.update(format=FORMAT, config=c.to_json_text(), vocab=dumps(list(vocab.tokens)))
    if model.word_class is not None:
        meta["classes"] = dumps(model.word_class.tolist())
    return safetensors_io.encode(tensors, meta)


def save_checkpoint(path: str, model: RnnLM, vocab: Vocab, extra: Optional[Dict[str, str]] = None) -> None:
    """Write a checkpoint atomically (temp file in the same directory, fsync, os.replace)."""
    write_atomic(path, encode_checkpoint(model, vocab, extra))
