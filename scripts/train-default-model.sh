#!/bin/sh
# train-default-model.sh -- rebuilds models/eta-default.json, the model the
# sensor uses when no --model is given, from the public labelled captures
# in ../shared/corpus/labelled.
#
# The training set is pinned: models/eta-default.training.csv holds the
# labels.csv rows the model was trained on, in training order, each with
# the SHA-256 of its capture in a first column (sha256). The script trains
# on exactly those captures with exactly those labels, and refuses to run
# when one is missing or its checksum differs, so captures added to the
# corpus later do not change the model: same captures, same labels, same
# nightjar, same XGBoost, same bytes (one thread, fixed seed, nothing from
# the clock). tests/e2e/eta_model_guard.sh holds it to that.
#
# Retraining on the corpus as it is now is a deliberate step:
# --update-list rewrites the pinned list from labels.csv (every row) and
# then trains; update the figures in docs/eta.md (python3
# scripts/eta-report.py REPORT_DIR prints its tables) and the constants of
# tests/e2e/eta_model_guard.sh with it.
#
#   sh scripts/train-default-model.sh [--update-list] [--lofo]
#       [--report DIR] [CORPUS_DIR] [OUTPUT]
#
# CORPUS_DIR: the labelled captures (default ../shared/corpus/labelled, or
# $NIGHTJAR_CORPUS/labelled); OUTPUT: the model (default
# models/eta-default.json). The metrics of the run (5-fold
# cross-validation by capture) go to build/eta-default-report/ or --report
# DIR. --lofo also evaluates leave-one-family-out (a model trained without
# any capture of a family scores that family's captures) and writes one
# such model per family to REPORT/lofo-models/; the model written to
# OUTPUT is the same either way.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
pinned=$here/models/eta-default.training.csv
me=train-default-model
update=no lofo=no report=$here/build/eta-default-report
while [ $# -gt 0 ]; do
    case $1 in
        --update-list) update=yes ;;
        --lofo) lofo=yes ;;
        --report) [ $# -ge 2 ] || { echo "$me: --report needs a directory" >&2; exit 2; }
                  report=$2; shift ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "$me: unknown option $1 (try --help)" >&2; exit 2 ;;
        *) break ;;
    esac
    shift
done
corpus=${1:-${NIGHTJAR_CORPUS:-$here/../shared/corpus}/labelled}
out=${2:-$here/models/eta-default.json}
if [ ! -d "$corpus" ]; then
    echo "$me: no $corpus (the labelled corpus is missing)" >&2
    exit 1
fi

# The first field of a labels.csv line: the capture's file name, which
# must be a plain name (no quotes, commas or slashes) to be pinned.
first_field() { printf '%s' "${1%%,*}"; }
plain_name() {
    case $1 in ''|*\"*|*/*|.*) return 1 ;; esac
    return 0
}

if [ "$update" = yes ]; then
    [ -f "$corpus/labels.csv" ] || { echo "$me: no $corpus/labels.csv" >&2; exit 1; }
    tmp=$pinned.tmp
    {
        head -n 1 "$corpus/labels.csv" | tr -d '\r' | sed 's/^/sha256,/'
        tail -n +2 "$corpus/labels.csv" | tr -d '\r' | while IFS= read -r line || [ -n "$line" ]; do
            [ -n "$line" ] || continue
            f=$(first_field "$line")
            plain_name "$f" || { echo "$me: labels.csv: '$f' is not a plain file name" >&2; exit 1; }
            [ -f "$corpus/$f" ] || { echo "$me: labels.csv lists $f, which is not in $corpus" >&2; exit 1; }
            sum=$(sha256sum < "$corpus/$f" | cut -d' ' -f1)
            printf '%s,%s\n' "$sum" "$line"
        done
    } > "$tmp" || { rm -f "$tmp"; exit 1; }
    mv "$tmp" "$pinned"
    echo "$me: pinned $(($(wc -l < "$pinned") - 1)) captures in ${pinned#"$here"/}; retraining" >&2
fi

[ -f "$pinned" ] || { echo "$me: no $pinned (the list of captures the model is trained on)" >&2; exit 1; }
# Every pinned capture must be there with the same bytes.
bad=0 n=0
tail -n +2 "$pinned" | cut -d, -f1,2 > "${TMPDIR:-/tmp}/$me.$$"
while IFS=, read -r sum f; do
    n=$((n + 1))
    if [ ! -f "$corpus/$f" ]; then
        echo "$me: $f is missing from $corpus: the default model was trained on it (models/eta-default.training.csv)" >&2
        bad=$((bad + 1))
    elif [ "$(sha256sum < "$corpus/$f" | cut -d' ' -f1)" != "$sum" ]; then
        echo "$me: $corpus/$f is not the capture the default model was trained on: its SHA-256 differs from $sum (models/eta-default.training.csv)" >&2
        bad=$((bad + 1))
    fi
done < "${TMPDIR:-/tmp}/$me.$$"
rm -f "${TMPDIR:-/tmp}/$me.$$"
if [ "$bad" -gt 0 ]; then
    echo "$me: $bad of $n pinned captures are missing or changed; the model cannot be reproduced (--update-list retrains on the corpus as it is, deliberately)" >&2
    exit 1
fi
# Say (without failing) when the corpus has moved on from the pinned set.
if [ -f "$corpus/labels.csv" ]; then
    new=0 changed=0
    tail -n +2 "$corpus/labels.csv" | tr -d '\r' > "${TMPDIR:-/tmp}/$me.$$"
    while IFS= read -r line || [ -n "$line" ]; do
        [ -n "$line" ] || continue
        f=$(first_field "$line")
        if ! cut -d, -f2 "$pinned" | grep -qxF -- "$f"; then
            new=$((new + 1))
        elif ! cut -d, -f2- "$pinned" | grep -qxF -- "$line"; then
            changed=$((changed + 1))
            echo "$me: note: labels.csv's row for $f differs from the pinned one; the model keeps the pinned labels" >&2
        fi
    done < "${TMPDIR:-/tmp}/$me.$$"
    rm -f "${TMPDIR:-/tmp}/$me.$$"
    [ "$new" -eq 0 ] || echo "$me: note: labels.csv lists $new captures the default model was not trained on (--update-list retrains with them)" >&2
fi

[ -x "$here/build/nightjar-train" ] || make -C "$here" build/nightjar-train >/dev/null
set --
[ "$lofo" = no ] || set -- --lofo --lofo-models "$report/lofo-models"
# Flows of the infected captures that the labels do not name (Windows
# background in the sandboxes) train as benign, so the model learns the
# C2 flows' shape rather than what a sandbox's traffic looks like; every
# capture weighs the same within its class (QuasarRAT's 77 reconnects
# would otherwise be half of all malicious flows).
exec "$here/build/nightjar-train" --labels "$pinned" --dir "$corpus" \
    --unlisted-benign --source-balance --folds 5 --rounds 200 --max-depth 4 --learning-rate 0.1 \
    --min-packets 4 --target-fpr 0.001 "$@" \
    --report "$report" -o "$out"
