#!/usr/bin/env bash
# The "medium" recipe of pytorch/examples' word_language_model on one GPU with rnnlm_torch, and
# the checkpoint it writes evaluated by `rnnlm eval` (NOT RUN in the task that wrote it: that
# machine had no GPU). The anchor: the example trains this model (2×650 LSTM, tied, dropout 0.5,
# SGD lr 20, clip 0.25, B = 20, T = 35, lr / 4 when validation does not improve, 40 epochs) to PTB
# test perplexity 75.4 in 375 s on one H200.
#
# From the repository root, with PyTorch (CUDA) for PYTHON and `npm ci` done (dist/ built):
#   python/scripts/gpu_check.sh [OUT_DIR]
# Environment: RNNLM_DATA (default ../shared/data), RNNLM_PYTHON (default python3),
# LAUNCH (default: "$RNNLM_PYTHON -m rnnlm_torch.launch", which is torchrun, repaired where
# torch < 2 meets Python 3.11; plain `torchrun` works everywhere else), EPOCHS (default 40).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/gpu-medium}
PTB=$(cd "${RNNLM_DATA:-../shared/data}/ptb" && pwd)
PY=${RNNLM_PYTHON:-python3}
LAUNCH=${LAUNCH:-$PY -m rnnlm_torch.launch}
EPOCHS=${EPOCHS:-40}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}

[ -e dist/src/cli/main.js ] || { echo "gpu_check: dist/ is not built: run npm ci (or npm run build) first" >&2; exit 1; }
"$PY" - <<'PYEOF'
import torch
assert torch.cuda.is_available(), "gpu_check: PyTorch sees no CUDA device"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
PYEOF

start=$(date +%s.%N)
# shellcheck disable=SC2086
$LAUNCH --standalone --nproc_per_node=1 -m rnnlm_torch.train \
  --train "$PTB/train.txt" --valid "$PTB/valid.txt" --test "$PTB/test.txt" \
  --cell lstm --layers 2 --embed 650 --hidden 650 --tied --dropout 0.5 \
  --optimizer sgd --lr 20 --clip 0.25 --batch 20 --bptt 35 --schedule plateau --lr-decay 4 --epochs "$EPOCHS" \
  --device cuda --save "$OUT/medium.safetensors" --log "$OUT/medium.jsonl" --json > "$OUT/train.json"
end=$(date +%s.%N)

# The same file, evaluated by the TypeScript side on the CPU (82,430 predicted tokens).
node dist/src/cli/main.js eval --model "$OUT/medium.safetensors" --text "$PTB/test.txt" --json > "$OUT/eval.json"

"$PY" - "$OUT" "$start" "$end" <<'PYEOF'
import json, sys
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
t = json.loads(open(f"{out}/train.json").read().strip().splitlines()[-1])
e = json.load(open(f"{out}/eval.json"))
valid_s = sum(h.get("valid_seconds", 0) for h in t["history"])
rel = abs(e["perplexity"] - t["test_perplexity"]) / t["test_perplexity"]
print(f"epochs {t['epochs']}, wall {end - start:.0f} s (launch to exit), of which validation {valid_s:.0f} s; "
      f"training {t['tokens_per_s']:.0f} tokens/s; best valid {t['best_valid_perplexity']:.2f}")
print(f"test perplexity: rnnlm_torch {t['test_perplexity']:.3f}, rnnlm eval {e['perplexity']:.3f} (relative difference {rel:.1e}); "
      "the example's anchor: 75.4 in 375 s on one H200")
sys.exit(0 if rel <= 1e-5 else 1)
PYEOF
