"""``torchrun`` that also runs where Debian's torch 1.13 meets Python 3.11.

torch < 2.0 parses ``--redirects`` / ``--tee`` (default "0") by iterating the IntFlag ``Std``; from
Python 3.11 that iteration skips the zero member, ``Std.from_str("0")`` returns None and torchrun
dies with ``AttributeError: 'NoneType' object has no attribute 'get'``. Where that happens this
wrapper parses the flags with ``Std(int(v))`` instead, then runs torchrun itself unchanged:

    python -m rnnlm_torch.launch --standalone --nproc_per_node=2 -m rnnlm_torch.train ...

Elsewhere (any torch ≥ 2.0) it is plain torchrun; use ``torchrun`` directly there.
"""

from __future__ import annotations

import re
import sys


def patch_std_parsing() -> bool:
    """Repair Std.from_str when it is broken; returns whether a repair was needed."""
    from torch.distributed.elastic.multiprocessing import api

    if api.Std.from_str("0") is not None:
        return False

    def from_str(cls, vm: str):  # type: ignore[no-untyped-def]
        if re.match(api._VALUE_REGEX, vm):
            return cls(int(vm))
        if re.match(api._MAPPING_REGEX, vm):
            return {int(i): cls(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
        raise ValueError(f"{vm} does not match: <{api._VALUE_REGEX}> or <{api._MAPPING_REGEX}>")

    api.Std.from_str = classmethod(from_str)  # type: ignore[assignment]
    return True


def main() -> int:
    """torchrun; a failed worker's exit code is passed on, after its own one-line message, without
    torchrun's traceback of the launcher."""
    patch_std_parsing()
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    try:
        torchrun()
    except ChildFailedError as e:
        codes = [f.exitcode for f in e.failures.values()]
        print(f"rnnlm_torch.launch: {len(codes)} process(es) failed (exit {', '.join(map(str, codes))}); their messages are above", file=sys.stderr)
        return next((c for c in codes if c > 0), 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
