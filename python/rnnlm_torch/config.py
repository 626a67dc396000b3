"""The model configuration, as rnnlm's src/nn/config.ts: one frozen object, stored in every
checkpoint's metadata as JSON with snake_case keys (fields at their defaults left out)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Dict

from .errors import ConfigError

ELMAN_CELLS = ("sigmoid", "tanh", "relu")
CELLS = ELMAN_CELLS + ("lstm", "gru")
#: Gate blocks per cell: the rows of weight_ih / weight_hh are G·H.
GATES = {"sigmoid": 1, "tanh": 1, "relu": 1, "lstm": 4, "gru": 3}


def _positive_int(name: str, v: Any, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > hi:
        raise ConfigError(f"{name} must be an integer from 1 to {hi}, got {v!r}")
    return v


@dataclass(frozen=True)
class ModelConfig:
    """Model shape and options (validated on construction, like makeConfig)."""

    level: str  #: 'word' (whitespace words + <eos> per line) or 'char'
    cell: str  #: sigmoid (the notes), tanh, relu (Elman), lstm, gru (torch.nn.LSTM / GRU gate order)
    layers: int  #: stacked recurrent layers L
    embed: int  #: embedding width E (rows of encoder.weight are e(t))
    hidden: int  #: hidden width H of every layer
    vocab_size: int  #: vocabulary size V
    dropout: float = 0.0  #: Zaremba placement: embeddings, between layers, before the output; 0 = off
    tied: bool = False  #: decoder.weight is encoder.weight (needs embed == hidden)
    classes: int = 0  #: class-factored softmax with C classes; 0 = full softmax
    forget_bias: float = 0.0  #: LSTM only: added to the forget-gate block of bias_ih at initialisation

    def __post_init__(self) -> None:
        if self.level not in ("word", "char"):
            raise ConfigError(f"level must be word or char, got {self.level!r}")
        if self.cell not in CELLS:
            raise ConfigError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        _positive_int("layers", self.layers, 16)
        _positive_int("embed", self.embed, 65536)
        _positive_int("hidden", self.hidden, 65536)
        _positive_int("vocab_size", self.vocab_size, 1 << 24)
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be a probability from 0 (off) to below 1, got {self.dropout!r}")
        if not isinstance(self.tied, bool):
            raise ConfigError(f"tied must be true or false, got {self.tied!r}")
        if self.tied and self.embed != self.hidden:
            raise ConfigError(
                f"tied weights need embed = hidden (decoder.weight [V, H] is encoder.weight [V, Emb]), got embed {self.embed} and hidden {self.hidden}"
            )
        c = self.classes
        if not isinstance(c, int) or isinstance(c, bool) or c < 0 or c == 1 or c > self.vocab_size:
            raise ConfigError(f"classes must be 0 (full softmax) or an integer from 2 to the vocabulary size {self.vocab_size}, got {c!r}")
        fb = self.forget_bias
        if isinstance(fb, bool) or not isinstance(fb, (int, float)) or not math.isfinite(fb):
            raise ConfigError(f"forget bias must be a finite number, got {fb!r}")
        if fb != 0 and self.cell != "lstm":
            raise ConfigError(f"forget bias applies to the lstm cell only (cell is {self.cell}); leave it at 0 or use --cell lstm")

    @property
    def gates(self) -> int:
        return GATES[self.cell]

    def to_json_text(self) -> str:
        """The JSON text rnnlm's configToJson + JSON.stringify write, byte for byte."""
        parts = [
            f'"level":"{self.level}"', f'"cell":"{self.cell}"', f'"layers":{self.layers}', f'"embed":{self.embed}',
            f'"hidden":{self.hidden}', f'"vocab_size":{self.vocab_size}',
        ]
        if self.dropout != 0:
            parts.append(f'"dropout":{js_number(self.dropout)}')
        if self.tied:
            parts.append('"tied":true')
        if self.classes != 0:
            parts.append(f'"classes":{self.classes}')
        if self.forget_bias != 0:
            parts.append(f'"forget_bias":{js_number(self.forget_bias)}')
        return "{" + ",".join(parts) + "}"

    @staticmethod
    def from_json(obj: Any) -> "ModelConfig":
        """A config from its parsed JSON form (validated)."""
        if not isinstance(obj, dict):
            raise ConfigError("config must be a JSON object")
        for k in ("level", "cell", "layers", "embed", "hidden", "vocab_size"):
            if k not in obj:
                raise ConfigError(f'config lacks the field "{k}"')
        # rnnlm-only output layers (README, "Beyond the notes"): refused here by name rather than by
        # a missing decoder tensor. A folded input (fold_input) needs nothing: its file holds
        # rnn.weight_ih_l0 = I, an ordinary nn.RNN weight computing the same function.
        if obj.get("output", "softmax") not in ("softmax", "classes"):
            raise ConfigError(f'output {obj["output"]!r} (hierarchical softmax) is an rnnlm-only output layer; rnnlm_torch reads full and class-factored softmax models')
        if obj.get("direct", 0):
            raise ConfigError(f'direct {obj["direct"]!r}: max-ent direct connections (direct.weight) are rnnlm-only; rnnlm_torch reads models without them')
        return ModelConfig(
            level=obj["level"], cell=obj["cell"], layers=obj["layers"], embed=obj["embed"], hidden=obj["hidden"],
            vocab_size=obj["vocab_size"], dropout=obj.get("dropout", 0.0), tied=obj.get("tied", False),
            classes=obj.get("classes", 0), forget_bias=obj.get("forget_bias", 0.0),
        )

    def describe(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def js_number(x: float) -> str:
    """A finite number as JavaScript's Number.prototype.toString writes it (shortest round trip;
    positional from 1e-7 < |x| < 1e21, else d.ddde±n)."""
    if isinstance(x, bool) or not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    if float(x).is_integer() and abs(x) < 1e21:
        return str(int(x))
    r = repr(float(x))
    if "e" not in r:
        return r
    mantissa, exp = r.split("e")
    e = int(exp)
    if -7 < e < 21:
        return format(Decimal(r), "f")
    return f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"
