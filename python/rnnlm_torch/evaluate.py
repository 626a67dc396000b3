"""``python -m rnnlm_torch.evaluate --model MODEL.safetensors --text FILE [--json] [--device cpu|cuda]``:
exact single-stream perplexity of an rnnlm checkpoint, as ``rnnlm eval`` prints it (evaluation.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from .checkpoint import read_checkpoint
from .cli import ArgumentParser, run_main, set_threads
from .evaluation import evaluate_text, pick_device
from .vocab import read_text


def main(argv: Optional[List[str]] = None) -> int:
    p = ArgumentParser(prog="python -m rnnlm_torch.evaluate", description="exact perplexity of an rnnlm checkpoint on a text (one stream)")
    p.add_argument("--model", required=True, help="an rnnlm checkpoint (.safetensors)")
    p.add_argument("--text", required=True, help="text to evaluate")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: available cores)")
    p.add_argument("--chunk", type=int, default=256, help="steps per forward call (the figure does not depend on it)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    def body(a: argparse.Namespace) -> int:
        set_threads(a.threads, 1)
        ck = read_checkpoint(a.model)
        model = ck.model().to(pick_device(a.device))
        r = evaluate_text(model, ck.vocab, read_text(a.text), a.text, a.chunk)
        if a.json:
            print(json.dumps({**r, "model": a.model, "text": a.text}))
        else:
            unit = "token" if ck.vocab.level == "word" else "char"
            print(f"perplexity      {r['perplexity']:.3f}")
            print(f"cross-entropy   {r['cross_entropy']:.5f} nats/{unit}, {r['bits_per_token']:.5f} bits/{unit}")
            print(f"tokens          {r['tokens']} predicted ({100 * r['unk_rate']:.2f}% <unk>, {r['unknown']} out of vocabulary)")
        return 0

    return run_main(p, argv, body)


if __name__ == "__main__":
    sys.exit(main())
