"""Command-line plumbing shared by the entry points: rnnlm's exit codes (0 ok, 1 usage, 2 bad
input, 3 diverged) and one ``rnnlm_torch: error: ...`` line instead of a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, List, NoReturn, Optional

import torch

from .errors import RnnlmError


class ArgumentParser(argparse.ArgumentParser):
    """argparse, exiting 1 on invalid usage (rnnlm's code) instead of argparse's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def run_main(parser: argparse.ArgumentParser, argv: Optional[List[str]], body: Callable[[argparse.Namespace], int]) -> int:
    """Parse argv and run body; RnnlmError becomes one line on stderr (unless marked quiet: the same
    error of another rank) and its exit code."""
    args = parser.parse_args(argv)
    try:
        return body(args)
    except RnnlmError as e:
        if not getattr(e, "quiet", False):
            rank = os.environ.get("RANK", "0") if "WORLD_SIZE" in os.environ else "0"
            print(f"rnnlm_torch: error: {'' if rank == '0' else f'[rank {rank}] '}{e}", file=sys.stderr)
        return e.exit_code


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def set_threads(threads: Optional[int], local_world: int) -> int:
    """CPU threads for torch: the given number, or the available cores shared among local ranks."""
    n = threads if threads else max(1, available_cores() // max(1, local_world))
    torch.set_num_threads(n)
    return n
