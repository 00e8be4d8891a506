#!/bin/sh
# train-default-model.sh -- rebuilds models/eta-default.json, the model the
# sensor uses when no --model is given, from the public labelled captures
# in ../shared/corpus/labelled (labels.csv says which hosts and servers are
# malicious). Same captures, same nightjar, same XGBoost: same bytes (one
# thread, fixed seed, nothing from the clock). The metrics of the run
# (5-fold cross-validation by capture) go to build/eta-default-report/.
#
#   sh scripts/train-default-model.sh [CORPUS_DIR] [OUTPUT]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-${NIGHTJAR_CORPUS:-$here/../shared/corpus}/labelled}
out=${2:-$here/models/eta-default.json}
if [ ! -f "$corpus/labels.csv" ]; then
    echo "train-default-model: no $corpus/labels.csv (the labelled corpus is missing)" >&2
    exit 1
fi
[ -x "$here/build/nightjar-train" ] || make -C "$here" build/nightjar-train >/dev/null
# Flows of the infected captures that labels.csv does not name (Windows
# background in the sandboxes) train as benign, so the model learns the
# C2 flows' shape rather than what a sandbox's traffic looks like; every
# capture weighs the same within its class (QuasarRAT's 77 reconnects
# would otherwise be half of all malicious flows).
exec "$here/build/nightjar-train" --labels "$corpus/labels.csv" --dir "$corpus" \
    --unlisted-benign --source-balance --folds 5 --rounds 200 --max-depth 4 --learning-rate 0.1 \
    --min-packets 4 --target-fpr 0.001 \
    --report "$here/build/eta-default-report" -o "$out"
