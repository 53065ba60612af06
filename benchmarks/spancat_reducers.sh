#!/usr/bin/env bash
# spancat with SpanBERT boundary representations vs spaCy's mean_max reducer on
# nested spans (GENIA), and spanbert_ner vs spancat + boundary reducer on flat
# NER (WNUT-17). Same encoder, steps and seed within each comparison; one
# training at a time. Prints Markdown tables; everything lands under OUT.
#
#   benchmarks/spancat_reducers.sh CORPORA OUT [ENCODER] [STEPS] [SEED]
#   e.g. benchmarks/spancat_reducers.sh ../shared/corpora /tmp/reducers assets/encoders/minilm 600 0
set -euo pipefail
CORPORA=${1:?corpora directory (with genia_nested/ and wnut17/)}
OUT=${2:?output directory}
ENCODER=${3:-assets/encoders/minilm}
STEPS=${4:-600}
SEED=${5:-0}
PY=${PYTHON:-python}
mkdir -p "$OUT"

echo "== corpora"
$PY -m spacy_spanbert convert-nested "$CORPORA/genia_nested/dev.jsonl" "$OUT/genia/all.spacy" --spans-key sc
$PY -m spacy_spanbert split-docs "$OUT/genia/all.spacy" "$OUT/genia/train.spacy" "$OUT/genia/eval.spacy" \
    --heldout-share 0.2 --seed 0 --spans-key sc
for split in train dev test; do
    $PY -m spacy_spanbert convert-iob "$CORPORA/wnut17/$split.conll" "$OUT/wnut17/$split.spacy" --scheme iob2 --spans-key sc
done

echo "== width caps (99.5% of training spans) and suggester recall"
width() {  # the cap the span-widths report chose
    $PY -m spacy_spanbert span-widths "$1" "$2" --spans-key sc --coverage 0.995 | tee "$3" \
        | sed -n 's/.*Width cap covering .*: \([0-9]*\).*/\1/p'
}
GENIA_W=$(width "$OUT/genia/train.spacy" "$OUT/genia/eval.spacy" "$OUT/genia/widths.txt")
WNUT_W=$(width "$OUT/wnut17/train.spacy" "$OUT/wnut17/dev.spacy" "$OUT/wnut17/widths.txt")
echo "GENIA width cap $GENIA_W, WNUT-17 width cap $WNUT_W"

train() {  # name config corpus-dir dev-file width-overrides...
    local name=$1 config=$2 corpus=$3 dev=$4
    shift 4
    local start=$SECONDS
    $PY -m spacy train "configs/$config.cfg" --output "$OUT/runs/$name" \
        --paths.train "$corpus/train.spacy" --paths.dev "$dev" --paths.encoder "$ENCODER" \
        --training.max_steps "$STEPS" --training.optimizer.learn_rate.total_steps "$STEPS" \
        --training.eval_frequency 100 --system.seed "$SEED" "$@" \
        > "$OUT/runs/$name.log" 2>&1
    echo "$name: trained in $((SECONDS - start)) s" | tee -a "$OUT/times.txt"
}
mkdir -p "$OUT/runs"
: > "$OUT/times.txt"
SPANCAT_W=(--components.spancat.suggester.max_size "$GENIA_W")
train genia-boundary spancat "$OUT/genia" "$OUT/genia/eval.spacy" "${SPANCAT_W[@]}" --components.spancat.model.reducer.max_span_width "$GENIA_W"
train genia-mean-max spancat_mean_max "$OUT/genia" "$OUT/genia/eval.spacy" "${SPANCAT_W[@]}"
train wnut17-spanbert-ner spanbert_ner "$OUT/wnut17" "$OUT/wnut17/dev.spacy" --components.spanbert_ner.model.max_span_width "$WNUT_W"
train wnut17-spancat-boundary spancat "$OUT/wnut17" "$OUT/wnut17/dev.spacy" \
    --components.spancat.suggester.max_size "$WNUT_W" --components.spancat.model.reducer.max_span_width "$WNUT_W"

echo "== evaluation"
evaluate() {  # run model split-file output
    $PY -m spacy evaluate "$OUT/runs/$1/$2" "$3" --output "$4" > /dev/null
}
# GENIA has no split of its own to select on: report the last model on the held-out 20%.
for run in genia-boundary genia-mean-max; do
    evaluate "$run" model-last "$OUT/genia/eval.spacy" "$OUT/runs/$run-eval.json"
done
for run in wnut17-spanbert-ner wnut17-spancat-boundary; do
    for split in dev test; do
        evaluate "$run" model-best "$OUT/wnut17/$split.spacy" "$OUT/runs/$run-$split.json"
    done
done
$PY -m benchmarks.score_table \
    "GENIA held-out, spancat + SpanBERT boundary reducer=$OUT/runs/genia-boundary-eval.json" \
    "GENIA held-out, spancat + mean_max reducer=$OUT/runs/genia-mean-max-eval.json" \
    "WNUT-17 dev, spanbert_ner=$OUT/runs/wnut17-spanbert-ner-dev.json" \
    "WNUT-17 dev, spancat + boundary reducer=$OUT/runs/wnut17-spancat-boundary-dev.json" \
    "WNUT-17 test, spanbert_ner=$OUT/runs/wnut17-spanbert-ner-test.json" \
    "WNUT-17 test, spancat + boundary reducer=$OUT/runs/wnut17-spancat-boundary-test.json" \
    | tee "$OUT/table.md"
