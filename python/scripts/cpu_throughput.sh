#!/usr/bin/env bash
# Training tokens/s on CPU, rnnlm_torch (PyTorch) against `rnnlm train`, same model and data:
# PTB (V = 10,000), B = 20, T = 35, full softmax, SGD + clipping, all cores, no validation;
# each run trains for MINUTES of wall time (default 0.5) and reports tokens/s over its steps.
# Configurations run in alternation (python, rnnlm, python, rnnlm, …) so that drift on a shared
# machine hits both sides alike. Usage, from the repository root after `npm run build`:
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
tps() { "$PY" -c 'import json,sys; print(round(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"]))'; }
printf '%-40s %14s %14s\n' "model" "rnnlm_torch" "rnnlm train"
for ((r = 1; r <= ROUNDS; r++)); do
  for entry in "${configs[@]}"; do
    name=${entry%%|*}
    flags=${entry#*|}
    # shellcheck disable=SC2086
    p=$(PYTHONPATH=python "$PY" -m rnnlm_torch.train $common $flags --device cpu --save "$OUT/p.safetensors" 2>/dev/null | tps)
    # shellcheck disable=SC2086
    n=$(node dist/src/cli/main.js train $common $flags --save "$OUT/n.safetensors" 2>/dev/null | tps)
    printf '%-40s %14s %14s\n' "$name" "$p" "$n"
  done
done
