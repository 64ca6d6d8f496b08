#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and prints one line per target:
# executions, time, corpus size, and whether it found a crash (kept in artifacts/TARGET/).
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on stable through RUSTC_BOOTSTRAP.
#   bash fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(reference digest manifest challenge route registry_http template archive)
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build >/dev/null 2>&1 || cargo fuzz build
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log="$(mktemp)"
  cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
  corpus="$(ls "corpus/$t" | wc -l)"
  if [ $rc -eq 0 ]; then
    echo "$t: ${runs:-?} inputs in ${secs}s, corpus $corpus, no crash"
  else
    status=1
    echo "$t: CRASH after ${runs:-?} inputs (exit $rc); see artifacts/$t and $log"
    grep -E "panicked|ERROR: libFuzzer|SUMMARY" "$log" | head -5
  fi
done
exit $status
