#!/usr/bin/env bash
# Throughput and peak memory of `casebridge redact` on a generated support-bundle corpus.
# Usage: bench/redact-throughput.sh [MEGABYTES]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-200}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
python3 bench/make_corpus.py "$work/corpus" "$size"
bin=target/release/casebridge
echo "corpus: $(du -sh "$work/corpus" | cut -f1) in $(ls "$work/corpus" | wc -l) files; $(nproc) cores"
for jobs in 1 "$(nproc)"; do
  rm -rf "$work/out" "$work/map.json"
  /usr/bin/time -f "%e s wall, %M KB max RSS" -o "$work/time" \
    "$bin" redact "$work/corpus" -o "$work/out" --map "$work/map.json" --jobs "$jobs" --report "$work/report.json" 2>/dev/null
  python3 - "$work/report.json" "$jobs" "$(cat "$work/time")" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
mb = report["bytes"] / 1e6
print(f"jobs={sys.argv[2]}: {mb:.0f} MB, redaction {report['megabytes_per_second']:.1f} MB/s "
      f"(both passes, writing output); {sys.argv[3]}; findings {sum(report['totals'].values())}")
PY
done
# One big file: memory must stay bounded however large the input.
cat "$work"/corpus/* > "$work/one.log"
for jobs in 1 "$(nproc)"; do
  rm -rf "$work/out1"
  /usr/bin/time -f "%e s wall, %M KB max RSS" -o "$work/time" "$bin" redact "$work/one.log" -o "$work/out1" --jobs "$jobs" 2>/dev/null
  echo "one $(du -h "$work/one.log" | cut -f1) file, jobs=$jobs: $(cat "$work/time")"
done
