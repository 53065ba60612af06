#!/usr/bin/env bash
# On a machine with a GPU: convert the sample corpus, then train the joint config
# for 200 steps on a random SpanBERT-base-shaped encoder and report words/s and peak
# GPU memory. Needs `pip install -e ".[cuda12x]"` and a CUDA build of torch.
set -euo pipefail
cd "$(dirname "$0")/.."
python scripts/convert_corpus.py sample assets corpus/sample > /dev/null
python -m benchmarks.gpu_check --gpu-id "${GPU_ID:-0}" --steps "${STEPS:-200}" "$@"
