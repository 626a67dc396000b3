#!/usr/bin/env bash
# Training tokens/s on CPU, rnnlm_torch (PyTorch) against `rnnlm train`, same model and data:
# PTB (V = 10,000), B = 20, T = 35, full softmax, SGD + clipping, all cores, no validation;
# each run trains for MINUTES of wall time (default 0.5) and reports tokens/s over its steps
# (wall clock, as each trainer reports it) and training tokens per CPU-second of the whole process
# (start-up included: a few percent; less sensitive than wall time when other jobs share the
# cores). Configurations run in alternation (python, rnnlm, python, rnnlm, …) so that drift on a
# shared machine hits both sides alike. Usage, from the repository root after `npm run build`:
#   python/scripts/cpu_throughput.sh [MINUTES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-0.5}
ROUNDS=${2:-1}
PTB=$(cd "${RNNLM_DATA:-../shared/data}/ptb" && pwd)
PY=${RNNLM_PYTHON:-/usr/bin/python3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OMP_WAIT_POLICY=PASSIVE  # idle OpenMP threads sleep instead of spinning (torch's best setting here)

configs=(
  "sigmoid E=H=200|--cell sigmoid --embed 200 --hidden 200"
  "tanh E=H=200|--cell tanh --embed 200 --hidden 200"
  "medium: 2x650 LSTM tied, dropout 0.5|--cell lstm --layers 2 --embed 650 --hidden 650 --tied --dropout 0.5"
)
common="--train $PTB/train.txt --batch 20 --bptt 35 --lr 20 --clip 0.25 --epochs 1 --time-budget $MINUTES --json"
# measure CMD…: "tokens/s (wall) | tokens per CPU-second" of one training run (B·T = 700 tokens a step).
measure() {
  "$PY" - "$@" <<'PYEOF'
import json, resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
o = json.loads(r.stdout.strip().splitlines()[-1])
print(f"{o['tokens_per_s']:.0f} | {o['steps'] * 700 / (ru.ru_utime + ru.ru_stime):.0f}")
PYEOF
}
printf '%-40s %22s %22s\n' "model (tokens/s | per CPU-s)" "rnnlm_torch" "rnnlm train"
for ((r = 1; r <= ROUNDS; r++)); do
  for entry in "${configs[@]}"; do
    name=${entry%%|*}
    flags=${entry#*|}
    # shellcheck disable=SC2086
    p=$(PYTHONPATH=python measure "$PY" -m rnnlm_torch.train $common $flags --device cpu --save "$OUT/p.safetensors")
    # shellcheck disable=SC2086
    n=$(measure node dist/src/cli/main.js train $common $flags --save "$OUT/n.safetensors")
    printf '%-40s %22s %22s\n' "$name" "$p" "$n"
  done
done
