"""Fixtures for ``rnnlm import`` (test/torch-import.test.ts): small models built and trained here by
PyTorch the way pytorch/examples' word_language_model builds them (its ``RNNModel``: encoder,
rnn = nn.RNN / LSTM / GRU, decoder, optional tying; its ``data.Corpus`` dictionary; its training
step: mean cross-entropy, clip_grad_norm_, plain SGD), saved as safetensors state_dicts, and
evaluated by PyTorch itself with rnnlm's convention: one stream, the text preceded by one
``<eos>``, h(0) = 0, every token predicted, log-probabilities summed in float64 (words the
dictionary lacks become ``<unk>``, as rnnlm maps them).

    python3 python/tests/torch_example.py SPEC.json  ->  one JSON object on stdout

SPEC is a list of cases: {"name", "rnn_type": RNN_TANH|RNN_RELU|LSTM|GRU, "layers", "emsize",
"nhid", "tied", "save": "state_dict"|"both"|"decoder_only"|"encoder_only", "dtype": "F32"|"F64",
"dictionary": [paths, in Corpus order], "train": path, "eval": path, "out": path, "vocab_out":
path or null, "steps", "lr", "seed"}. The output maps each name to its perplexity, nll, tokens.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rnnlm_torch import safetensors_io  # noqa: E402  (the real safetensors package when installed)


class RNNModel(nn.Module):
    """word_language_model's RNNModel: encoder [V, E] -> rnn -> decoder [V, H], log-softmax output."""

    def __init__(self, rnn_type: str, ntoken: int, ninp: int, nhid: int, nlayers: int, tie_weights: bool) -> None:
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ("LSTM", "GRU"):
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers)
        else:
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity={"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type])
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        self.rnn_type, self.nhid, self.nlayers, self.ntoken = rnn_type, nhid, nlayers, ntoken

    def forward(self, x: torch.Tensor, hidden):
        output, hidden = self.rnn(self.encoder(x), hidden)
        return F.log_softmax(self.decoder(output).view(-1, self.ntoken), dim=1), hidden

    def init_hidden(self, bsz: int):
        z = lambda: torch.zeros(self.nlayers, bsz, self.nhid)  # noqa: E731
        return (z(), z()) if self.rnn_type == "LSTM" else z()


def corpus_dictionary(paths: List[str]) -> List[str]:
    """data.Corpus's dictionary: each line's ``line.split() + ['<eos>']``, over the files in order."""
    idx2word: List[str] = []
    word2idx: Dict[str, int] = {}
    for path in paths:
        with open(path, "r", encoding="utf8") as f:
            for line in f:
                for w in line.split() + ["<eos>"]:
                    if w not in word2idx:
                        word2idx[w] = len(idx2word)
                        idx2word.append(w)
    return idx2word


def ids_of(path: str, word2idx: Dict[str, int]) -> torch.Tensor:
    unk = word2idx["<unk>"]
    out: List[int] = []
    with open(path, "r", encoding="utf8") as f:
        for line in f:
            out += [word2idx.get(w, unk) for w in line.split() + ["<eos>"]]
    return torch.tensor(out, dtype=torch.int64)


def detach(h):
    return tuple(v.detach() for v in h) if isinstance(h, tuple) else h.detach()


def train_steps(model: RNNModel, ids: torch.Tensor, steps: int, lr: float, B: int = 4, T: int = 8) -> None:
    """The example's loop for ``steps`` batches: batchify, get_batch, mean NLL, clip 0.25, SGD."""
    S = ids.numel() // B
    data = ids[: S * B].view(B, S).t().contiguous()
    model.train()
    hidden = model.init_hidden(B)
    i = 0
    for _ in range(steps):
        if i + 1 >= S:
            i, hidden = 0, model.init_hidden(B)
        n = min(T, S - 1 - i)
        x, y = data[i : i + n], data[i + 1 : i + 1 + n].reshape(-1)
        hidden = detach(hidden)
        model.zero_grad()
        out, hidden = model(x, hidden)
        F.nll_loss(out, y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        i += n


@torch.no_grad()
def evaluate_single_stream(model: RNNModel, ids: torch.Tensor, eos: int) -> Dict[str, float]:
    """rnnlm's convention: inputs <eos>, ids[0..n-2]; targets ids; h(0) = 0; float64 sum."""
    model.eval()
    x = torch.cat([torch.tensor([eos]), ids[:-1]]).view(-1, 1)
    out, _ = model(x, model.init_hidden(1))
    lp = out.gather(1, ids.view(-1, 1)).double()
    nll = -float(lp.sum())
    return {"nll": nll, "tokens": ids.numel(), "perplexity": math.exp(nll / ids.numel())}


def make_case(c: dict) -> Dict[str, float]:
    torch.manual_seed(c.get("seed", 1))
    tokens = corpus_dictionary(c["dictionary"])
    word2idx = {w: i for i, w in enumerate(tokens)}
    model = RNNModel(c["rnn_type"], len(tokens), c["emsize"], c["nhid"], c["layers"], c["tied"])
    train_steps(model, ids_of(c["train"], word2idx), c.get("steps", 40), c.get("lr", 2.0))
    result = evaluate_single_stream(model, ids_of(c["eval"], word2idx), word2idx["<eos>"])
    sd = model.state_dict()  # a tied model lists encoder.weight and decoder.weight, one tensor
    if c["save"] == "decoder_only":  # safetensors' save_model keeps decoder.weight, the first name sorted
        del sd["encoder.weight"]
    elif c["save"] == "encoder_only":
        del sd["decoder.weight"]
    if c.get("dtype") == "F64":
        sd = {k: v.double() for k, v in sd.items()}
    with open(c["out"], "wb") as f:
        f.write(safetensors_io.encode(list(sd.items()), {"format": "pt"}))
    if c.get("vocab_out"):
        with open(c["vocab_out"], "w", encoding="utf8") as f:
            f.write("".join(t + "\n" for t in tokens))
    return result


def main(argv: List[str]) -> int:
    torch.set_num_threads(1)
    with open(argv[0]) as f:
        spec = json.load(f)
    print(json.dumps({c["name"]: make_case(c) for c in spec}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
