#!/usr/bin/env bash
# lade's benchmark suite: times lade beside its peers (skopeo, the CNCF registry, and in
# --full podman and Docker) and beside the physical references (sha256, gzip, a copy on
# the same disk, loopback TCP) measured in the same run on the same files, and writes
# the table to docs/BENCHMARKS.md. See bench/README.md. Timings are never asserted.
#
#   bench/run.sh [--quick | --full] [--out FILE] [--note TEXT] [--keep] [--no-build]
#
#   --quick   (default) a 256 MiB image of 8 layers, 5,000 small files, a store of 1,000
#             images, 3 runs each
#   --full    a 1 GiB image of 8 layers, 20,000 small files, a store of 10,000 images,
#             5 runs each, podman and Docker as extra peers when they install and run here
#   --out     where the markdown goes (default docs/BENCHMARKS.md)
#   --note    a sentence added under the table (e.g. that the machine was shared)
#   --keep    keep the work directory (target/bench/run) for a look afterwards
#   --no-build  use the lade and lade-bench already in target/release
#
# BENCH_LAYER_MIB, BENCH_FILES, BENCH_RUNS, BENCH_WRK_SECS and BENCH_IMAGES override the
# mode's sizes (for trying the script out on tiny inputs); BENCH_PEER_IMAGES the size of
# the store podman and Docker get (default 1,000: loading is slow in both).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
quote() { # a word as a shell would need it typed
  if [[ $1 =~ ^[A-Za-z0-9_./:=+,-]+$ ]]; then printf '%s' "$1"; else
    local w=${1//\\/\\\\}; w=${w//\"/\\\"}; w=${w//\$/\\\$}; w=${w//\`/\\\`}; printf '"%s"' "$w"; fi
}
command_line="bench/run.sh"
for a in "$@"; do command_line="$command_line $(quote "$a")"; done
for v in BENCH_LAYER_MIB BENCH_FILES BENCH_RUNS BENCH_WRK_SECS BENCH_IMAGES BENCH_PEER_IMAGES; do
  if [ -n "${!v:-}" ]; then command_line="$v=${!v} $command_line"; fi
done

mode=quick out=docs/BENCHMARKS.md note="" keep=0 build=1
while [ $# -gt 0 ]; do
  case $1 in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --out) out=$2; shift ;;
    --note) note=$2; shift ;;
    --keep) keep=1 ;;
    --no-build) build=0 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$mode" = full ]; then
  layer_mib=128 files=20000 runs=5 wrk_secs=10 many_n=10000
else
  layer_mib=32 files=5000 runs=3 wrk_secs=3 many_n=1000
fi
layer_mib=${BENCH_LAYER_MIB:-$layer_mib}
files=${BENCH_FILES:-$files}
runs=${BENCH_RUNS:-$runs}
wrk_secs=${BENCH_WRK_SECS:-$wrk_secs}
many_n=${BENCH_IMAGES:-$many_n}
peer_n=${BENCH_PEER_IMAGES:-1000}
if [ "$peer_n" -gt "$many_n" ]; then peer_n=$many_n; fi
if [ "$many_n" -lt 12 ] || [ "$peer_n" -lt 12 ]; then
  echo "bench/run.sh: BENCH_IMAGES and BENCH_PEER_IMAGES must be at least 12" >&2; exit 2
fi
layers=8

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------
# Tools: installed from Debian when missing. podman and docker.io only in --full.
say "tools"
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then $sudo apt-get update -qq || true; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
need=()
command -v skopeo >/dev/null || need+=(skopeo)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v wrk >/dev/null || need+=(wrk)
command -v jq >/dev/null || need+=(jq)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  note "installing ${need[*]}"
  apt_install "${need[@]}"
fi
want_podman=0 want_docker=0
if [ "$mode" = full ]; then
  want_podman=1 want_docker=1
  if ! command -v podman >/dev/null; then
    note "installing podman"
    apt_install podman || { note "podman did not install: skipped"; want_podman=0; }
  fi
  if ! command -v dockerd >/dev/null; then
    note "installing docker.io"
    apt_install docker.io || { note "docker.io did not install: skipped"; want_docker=0; }
  fi
fi

lade=$repo/target/release/lade
lb=$repo/target/release/lade-bench
if [ $build = 1 ]; then
  say "building lade and lade-bench (release)"
  cargo build --release --locked -p lade-cli -p lade-bench >&2
fi
if [ ! -x "$lade" ] || [ ! -x "$lb" ]; then
  echo "bench/run.sh: $lade or $lb is missing: build them first" >&2; exit 1
fi
lade_built=$(date -u -r "$lade" +%Y-%m-%dT%H:%MZ)

# ---------------------------------------------------------------------------------------
# Work directory: on the same disk as the repository. Everything started is stopped on exit.
work=$repo/target/bench
run=$work/run
log=$work/bench.log
results=$work/results.tsv
pairs=$work/pairs.tsv # measure_alternating: round-by-round ratios
mkdir -p "$work"
rm -rf "$run"
mkdir -p "$run"
: >"$log"
: >"$results"
: >"$pairs"
: >"$work/distribution.log"
pids=()
dockerd_pid=""
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  if [ $keep = 0 ]; then rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "bench/run.sh: line $LINENO failed: $BASH_COMMAND (see $log)" >&2' ERR

# ---------------------------------------------------------------------------------------
# Inputs, reproducible: every byte comes from AES-256-CTR over zeros with a fixed key, so
# the layers are incompressible and identical from run to run. Kept between runs of the
# same size in target/bench/inputs-*.
random_bytes() { # random_bytes SEED BYTES (openssl stops on SIGPIPE once head has enough)
  { openssl enc -aes-256-ctr -nosalt -K "$(printf '%064x' "$1")" -iv "$(printf '%032x' 0)" \
    -in /dev/zero 2>/dev/null || true; } | head -c "$2"
}
deterministic_tar() { # deterministic_tar DIR OUT
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$1" -cf "$2" .
}
arch=$(uname -m)
case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac

# make_image NAME LAYER_TAR... : an OCI layout in $inputs/NAME tagged "1", layers gzip -1
make_image() {
  local dir=$inputs/$1 tarball line diff blob size
  shift
  local layers_json="[]" diffs_json="[]"
  rm -rf "$dir"
  mkdir -p "$dir/blobs/sha256"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  for tarball in "$@"; do
    line=$("$lb" gzip "$tarball" "$dir/layer.tmp")
    diff=$(echo "$line" | awk '{print $2}')
    blob=$(echo "$line" | awk '{print $4}')
    size=$(stat -c %s "$dir/layer.tmp")
    mv "$dir/layer.tmp" "$dir/blobs/sha256/${blob#sha256:}"
    layers_json=$(jq -c --arg d "$blob" --argjson s "$size" \
      '. + [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d, size: $s}]' <<<"$layers_json")
    diffs_json=$(jq -c --arg d "$diff" '. + [$d]' <<<"$diffs_json")
  done
  jq -cn --arg arch "$arch" --argjson diffs "$diffs_json" \
    '{architecture: $arch, os: "linux", created: "1970-01-01T00:00:00Z",
      config: {Cmd: ["/bin/sh"]}, rootfs: {type: "layers", diff_ids: $diffs}}' >"$dir/config.tmp"
  local config size_c
  config=$(sha256sum "$dir/config.tmp" | cut -d' ' -f1)
  size_c=$(stat -c %s "$dir/config.tmp")
  mv "$dir/config.tmp" "$dir/blobs/sha256/$config"
  jq -cn --arg c "sha256:$config" --argjson cs "$size_c" --argjson layers "$layers_json" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: $layers}' >"$dir/manifest.tmp"
  local manifest size_m
  manifest=$(sha256sum "$dir/manifest.tmp" | cut -d' ' -f1)
  size_m=$(stat -c %s "$dir/manifest.tmp")
  mv "$dir/manifest.tmp" "$dir/blobs/sha256/$manifest"
  jq -cn --arg m "sha256:$manifest" --argjson ms "$size_m" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: $m, size: $ms, annotations: {"org.opencontainers.image.ref.name": "1"}}]}' >"$dir/index.json"
}

inputs=$work/inputs-${layer_mib}m-${files}f
say "inputs in $inputs"
if [ ! -f "$inputs/done" ]; then
  rm -rf "$inputs"
  mkdir -p "$inputs/data" "$inputs/tree"
  note "$layers layers of $layer_mib MiB of incompressible data"
  for i in $(seq 1 $layers); do
    mkdir -p "$inputs/data/$i"
    random_bytes "$i" $((layer_mib * 1024 * 1024)) >"$inputs/data/$i/layer-$i.bin"
    deterministic_tar "$inputs/data/$i" "$inputs/layer-$i.tar"
  done
  note "the same data as one tarball for import"
  mkdir -p "$inputs/all"
  for i in $(seq 1 $layers); do ln "$inputs/data/$i/layer-$i.bin" "$inputs/all/"; done
  deterministic_tar "$inputs/all" "$inputs/big.tar"
  note "$files files of 4 KiB in 100 directories"
  per_dir=$((files / 100)) # whole files in each directory
  for d in $(seq 100 199); do
    mkdir "$inputs/tree/d$d"
    random_bytes "$d" $((per_dir * 4096)) | (cd "$inputs/tree/d$d" && split -b 4096 -a 4 -d - f)
  done
  deterministic_tar "$inputs/tree" "$inputs/small.tar"
  note "OCI layouts: big (8 layers), small (1 layer)"
  big_tars=()
  for i in $(seq 1 $layers); do big_tars+=("$inputs/layer-$i.tar"); done
  make_image big "${big_tars[@]}"
  make_image small "$inputs/small.tar"
  rm -rf "$inputs/all" "$inputs/tree" "$inputs"/layer-*.tar
  touch "$inputs/done"
fi
big_manifest=$(jq -r '.manifests[0].digest' "$inputs/big/index.json")
mapfile -t big_digests < <(jq -r '.layers[].digest' "$inputs/big/blobs/sha256/${big_manifest#sha256:}")
big_layers=()
for d in "${big_digests[@]}"; do big_layers+=("$inputs/big/blobs/sha256/${d#sha256:}"); done
big_blob_bytes=$(cat "${big_layers[@]}" | wc -c)
big_tar_bytes=$(stat -c %s "$inputs/big.tar")
small_tar_bytes=$(stat -c %s "$inputs/small.tar")
small_blob_bytes=$(du -cb "$inputs/small/blobs/sha256/"* | tail -1 | cut -f1)
big_label="$((layers * layer_mib)) MiB image, $layers layers"
small_label="$files-file image, 1 layer"

# ---------------------------------------------------------------------------------------
# Measuring. `measure GROUP TOOL KIND BYTES OP` runs OP N times: before each run
# `OP_pre i` (untimed) if it exists, then a `sync` (untimed: no tool pays for the disk
# writes of what ran before it), then `OP i` sets CMD=(...), which is timed (wall
# clock from bash's EPOCHREALTIME, peak RSS = /usr/bin/time's "Maximum resident set
# size"), then `OP_post i` if it exists. KIND is lade, peer or floor. With RSS_PID set, the RSS
# reported is that process's VmHWM after the last run instead (a server, dockerd); with
# RSS_FROM set and no RSS_PID, it is $server_max, which the hooks keep up to date (a
# fresh server per run). One TSV row per tool goes to $results.
RSS_PID="" RSS_FROM="" server_max=0
# run_once OP I: one timed run of OP (its hooks included); sets $run_time (seconds) and
# $run_rss (KiB), returns non-zero when the run or its preparation failed.
run_once() {
  local op=$1 i=$2 t0 t1
  if declare -F "${op}_pre" >/dev/null && ! "${op}_pre" "$i" >>"$log" 2>&1; then
    note "  failed to prepare run $i (see $log)"; return 1
  fi
  CMD=()
  "$op" "$i"
  echo "+ ${CMD[*]}" >>"$log"
  # Untimed: what earlier work left for the disk to write (a registry's blobs, the
  # previous run's files, freed space) is written now, not during this run.
  sync
  t0=${EPOCHREALTIME/[.,]/} # microseconds, read by bash itself (no process started)
  if ! /usr/bin/time -f '%M' -o "$run/rss" "${CMD[@]}" >>"$log" 2>&1; then
    note "  failed: ${CMD[*]} (see $log)"
    tail -5 "$log" | sed 's/^/     | /' >&2
    if declare -F "${op}_post" >/dev/null; then "${op}_post" "$i" >>"$log" 2>&1 || true; fi
    return 1
  fi
  t1=${EPOCHREALTIME/[.,]/}
  run_time=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')
  run_rss=$(tail -1 "$run/rss")
  if declare -F "${op}_post" >/dev/null; then "${op}_post" "$i" >>"$log" 2>&1 || true; fi
}
measure() {
  local group=$1 tool=$2 kind=$3 bytes=$4 op=$5 i rss=0 times=() status=ok
  note "$group: $tool"
  for i in $(seq 1 "$runs"); do
    run_once "$op" "$i" || { status=failed; break; }
    times+=("$run_time")
    if [ "$run_rss" -gt "$rss" ]; then rss=$run_rss; fi
  done
  if [ -n "$RSS_PID" ]; then
    rss=$(hwm "$RSS_PID")
  elif [ -n "$RSS_FROM" ]; then
    rss=$server_max
  fi
  record "$group" "$tool" "$kind" s "$bytes" "$rss" "$status" "${times[@]}"
}
# measure_alternating GROUP BYTES "TOOL|KIND|OP"...: as `measure` for each tool, but run
# by run in turn (A B, then B A, …), so that a slow spell of the machine falls on every
# tool alike rather than on whichever was measuring then; their ratio is what counts.
# At least 7 runs (they are seconds each): a median of 3 moves with one slow spell.
measure_alternating() {
  local group=$1 bytes=$2 i k n order tool kind op runs=$((runs > 7 ? runs : 7))
  shift 2
  local specs=("$@") alt_times=() alt_rss=() alt_status=()
  n=${#specs[@]}
  for k in $(seq 0 $((n - 1))); do alt_times[k]="" alt_rss[k]=0 alt_status[k]=ok; done
  note "$group: ${n} tools in turn"
  for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) = 1 ]; then order=$(seq 0 $((n - 1))); else order=$(seq $((n - 1)) -1 0); fi
    for k in $order; do
      [ "${alt_status[k]}" = ok ] || continue
      IFS='|' read -r tool kind op <<<"${specs[k]}"
      if run_once "$op" "$i"; then
        alt_times[k]+=" $run_time"
        if [ "$run_rss" -gt "${alt_rss[k]}" ]; then alt_rss[k]=$run_rss; fi
      else
        alt_status[k]=failed
      fi
    done
  done
  for k in $(seq 0 $((n - 1))); do
    IFS='|' read -r tool kind op <<<"${specs[k]}"
    # shellcheck disable=SC2086 # the times are words
    record "$group" "$tool" "$kind" s "$bytes" "${alt_rss[k]}" "${alt_status[k]}" ${alt_times[k]}
  done
  # Round by round, each other tool's time over the first's (lade's): the two ran back
  # to back, so a drift of the machine's speed over minutes cancels out of each ratio.
  local first other ratios
  read -r -a first <<<"${alt_times[0]}"
  for k in $(seq 1 $((n - 1))); do
    read -r -a other <<<"${alt_times[k]}"
    [ "${alt_status[0]}" = ok ] && [ "${alt_status[k]}" = ok ] && [ ${#other[@]} = ${#first[@]} ] || continue
    ratios=()
    for i in "${!first[@]}"; do
      ratios+=("$(awk -v a="${other[i]}" -v b="${first[i]}" 'BEGIN { printf "%.3f", a / b }')")
    done
    IFS='|' read -r tool kind op <<<"${specs[k]}"
    printf '%s\t%s\t%s\n' "$group" "$tool" "$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.2f× (%.2f×–%.2f×, %d rounds)", m, v[1], v[NR], NR }')" >>"$pairs"
  done
}
hwm() { awk '/VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
track_hwm() { local h; h=$(hwm "$1"); if [ "${h:-0}" -gt "$server_max" ]; then server_max=$h; fi; }

# record GROUP TOOL KIND UNIT BYTES RSS_KB STATUS VALUE...: median, min, max to $results
record() {
  local group=$1 tool=$2 kind=$3 unit=$4 bytes=$5 rss=$6 status=$7
  shift 7
  local stats="- - - 0"
  if [ $# -gt 0 ] && [ "$status" = ok ]; then
    stats=$(printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s %s %s %d", m, v[1], v[NR], NR }')
  fi
  if [ -n "$RSS_FROM" ]; then tool="$tool ($RSS_FROM RSS)"; fi
  last_stats="$kind	$unit	$bytes	$rss	$status	$stats"
  printf '%s\t%s\t%s\n' "$group" "$tool" "$last_stats" >>"$results"
}
# copy_row GROUP TOOL ROW: a row measured once (a floor) shown again in another group
copy_row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; }

# Servers on 127.0.0.1. start_* set $port and $pid; stop forgets the pid again.
server_n=0
start_lade_registry() { # start_lade_registry STORAGE
  server_n=$((server_n + 1))
  local errlog=$run/lade-registry-$server_n.log # a new file: never an old port
  "$lade" registry serve --addr 127.0.0.1:0 --storage "$1" --no-access-log 2>"$errlog" &
  pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$errlog" 2>/dev/null | head -1) || true
    if [ -n "$port" ]; then return 0; fi
    sleep 0.1
  done
  echo "lade registry did not start:" >&2; cat "$errlog" >&2; return 1
}
start_distribution() { # start_distribution STORAGE
  mkdir -p "$1"
  port=$("$lb" free-port)
  cat >"$1.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $1
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YML
  # It logs every 404 (a HEAD before each upload) at level error: kept apart from $log.
  docker-registry serve "$1.yml" >>"$work/distribution.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "docker-registry did not start (see $log)" >&2; return 1
}
stop() { # stop PID
  local p keep_pids=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${pids[@]}"; do if [ "$p" != "$1" ]; then keep_pids+=("$p"); fi; done
  pids=("${keep_pids[@]}")
}
skopeo_in() { # skopeo_in NAME HOSTPORT: copy an input image into a registry, quietly
  skopeo copy -q --dest-tls-verify=false "oci:$inputs/$1:1" "docker://$2/bench/$1:1" >>"$log" 2>&1
}
skopeo_version=$(skopeo --version | awk '{print $3}')
dist_version=$(docker-registry --version | awk '{print $3}')

# ---------------------------------------------------------------------------------------
say "physical references (lade-bench, same files, same disk)"
op_sha256() { CMD=("$lb" sha256 "${big_layers[@]}"); }
measure refs "sha256 (sha2)" floor "$big_blob_bytes" op_sha256
sha_row=$last_stats
op_copy_pre() { rm -rf "$run/copy"; mkdir -p "$run/copy"; }
op_copy() { CMD=("$lb" copy "${big_layers[@]}" "$run/copy"); }
op_copy_post() { rm -rf "$run/copy"; }
measure refs "copy on the same disk, fsync" floor "$big_blob_bytes" op_copy
copy_row_big=$last_stats
op_loop() { CMD=("$lb" loopback "$big_blob_bytes"); }
measure refs "loopback TCP, one connection" floor "$big_blob_bytes" op_loop
loop_row=$last_stats
# shellcheck disable=SC2016 # $0 and $f are the inner shell's
op_gunzip() { CMD=(sh -c 'for f; do "$0" gunzip "$f" /dev/null; done' "$lb" "${big_layers[@]}"); }
measure refs "gunzip (flate2/zlib-rs)" floor "$big_blob_bytes" op_gunzip
gunzip_row=$last_stats
# What the timing adds to every row (starting /usr/bin/time and the command): next to
# the store rows, which take milliseconds.
op_harness() { CMD=(true); }
saved_runs=$runs runs=10
measure refs "the timing alone: /usr/bin/time true" floor 0 op_harness
runs=$saved_runs
harness_row=$last_stats
sed -i '/^refs\t/d' "$results" # shown in the groups they bound

# ---------------------------------------------------------------------------------------
say "import"
import_tar="" import_bytes=0
op_import_pre() { rm -rf "$run/import"; }
op_import() { CMD=("$lade" --root "$run/import" import "$import_tar" bench/import:1); }
op_gzip() { CMD=("$lb" gzip "$import_tar" "$run/floor.gz"); }
op_gzip_post() { rm -f "$run/floor.gz"; }
import_group() { # import_group TAR LABEL
  import_tar=$1 import_bytes=$(stat -c %s "$1")
  g="import $2"
  measure "$g" "lade import" lade "$import_bytes" op_import
  measure "$g" "gzip -1 + sha256 of input and output, one thread" floor "$import_bytes" op_gzip
  rm -rf "$run/import"
}
import_group "$inputs/big.tar" "a $((big_tar_bytes / 1048576)) MiB tarball of $layers incompressible files"
copy_row "$g" "sha256 (sha2)" "$sha_row"
copy_row "$g" "copy on the same disk, fsync" "$copy_row_big"
import_group "$inputs/small.tar" "a tarball of $files files of 4 KiB ($((small_tar_bytes / 1048576)) MiB)"

# ---------------------------------------------------------------------------------------
g="skopeo pushes the $big_label into the registry (empty storage each run)"
say "$g"
op_reg_lade_pre() { rm -rf "$run/reg-lade"; start_lade_registry "$run/reg-lade"; reg_pid=$pid; }
op_reg_lade() { CMD=(skopeo copy -q --dest-tls-verify=false "oci:$inputs/big:1" "docker://127.0.0.1:$port/bench/big:1"); }
op_reg_lade_post() { track_hwm "$reg_pid"; stop "$reg_pid"; }
op_reg_dist_pre() { rm -rf "$run/reg-dist"; start_distribution "$run/reg-dist"; reg_pid=$pid; }
op_reg_dist() { op_reg_lade "$@"; }
op_reg_dist_post() { op_reg_lade_post "$@"; }
RSS_FROM=server server_max=0
measure "$g" "lade registry" lade "$big_blob_bytes" op_reg_lade
server_max=0
measure "$g" "distribution $dist_version" peer "$big_blob_bytes" op_reg_dist
RSS_FROM=""
copy_row "$g" "copy on the same disk, fsync" "$copy_row_big"

# The last run's storage of each holds the big image now; add the small one, then serve
# both from fresh processes (so that their peak RSS counts only what follows).
start_lade_registry "$run/reg-lade"; skopeo_in small "127.0.0.1:$port"; stop "$pid"
start_distribution "$run/reg-dist"; skopeo_in small "127.0.0.1:$port"; stop "$pid"
start_lade_registry "$run/reg-lade"; lade_pid=$pid lade_src=127.0.0.1:$port
start_distribution "$run/reg-dist"; dist_pid=$pid dist_src=127.0.0.1:$port
skopeo inspect --tls-verify=false "docker://$lade_src/bench/big:1" >/dev/null
skopeo inspect --tls-verify=false "docker://$dist_src/bench/big:1" >/dev/null

g="GET the $layers layer blobs ($((big_blob_bytes / 1048576)) MiB) with curl, one connection"
say "$g"
get_src=""
op_get() {
  local d
  CMD=(curl -fsS)
  for d in "${big_digests[@]}"; do CMD+=(-o /dev/null "http://$get_src/v2/bench/big/blobs/$d"); done
}
RSS_FROM=server
get_src=$lade_src RSS_PID=$lade_pid
measure "$g" "lade registry" lade "$big_blob_bytes" op_get
get_src=$dist_src RSS_PID=$dist_pid
measure "$g" "distribution $dist_version" peer "$big_blob_bytes" op_get
RSS_PID="" RSS_FROM=""
copy_row "$g" "loopback TCP, one connection" "$loop_row"

g="GET the manifest with wrk -t2 -c32, ${wrk_secs}s per run"
say "$g"
wrk_run() { # wrk_run TOOL KIND HOSTPORT PID
  local i out rps values=() status=ok
  note "$g: $1"
  for i in $(seq 1 "$runs"); do
    out=$(wrk -t2 -c32 -d"${wrk_secs}s" -H "Accept: application/vnd.oci.image.manifest.v1+json" \
      "http://$3/v2/bench/big/manifests/1" 2>&1) || true
    echo "$out" >>"$log"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    if [ -z "$rps" ] || grep -q 'Non-2xx' <<<"$out"; then
      status=failed; note "  failed (see $log)"; break
    fi
    # seconds per request, so that the ratio column reads like the others
    values+=("$(awk -v r="$rps" 'BEGIN { printf "%.9f", 1 / r }')")
  done
  RSS_FROM=server
  record "$g" "$1" "$2" req 0 "$(hwm "$4")" "$status" "${values[@]}"
  RSS_FROM=""
}
wrk_run "lade registry" lade "$lade_src" "$lade_pid"
wrk_run "distribution $dist_version" peer "$dist_src" "$dist_pid"

# ---------------------------------------------------------------------------------------
# podman and Docker (--full only), checked on the small image before they count.
podman_driver=""
if [ "$want_podman" = 1 ]; then
  say "podman: checking that it can pull here"
  for d in overlay vfs; do
    if podman --root "$run/podman/root" --runroot "$run/podman/run" --storage-driver $d \
      pull -q --tls-verify=false "$dist_src/bench/small:1" >>"$log" 2>&1; then
      podman_driver=$d
      break
    fi
  done
  rm -rf "$run/podman"
  if [ -z "$podman_driver" ]; then want_podman=0; note "podman cannot pull here (see $log): skipped"; fi
fi
podman_() { podman --root "$run/podman/root" --runroot "$run/podman/run" --storage-driver "$podman_driver" "$@"; }
docker_driver=""
docker_() { docker -H "unix://$run/docker.sock" "$@"; }
if [ "$want_docker" = 1 ]; then
  say "docker: starting a dockerd of our own"
  dockerd --data-root "$run/docker" --exec-root "$run/docker-exec" --pidfile "$run/docker.pid" \
    -H "unix://$run/docker.sock" --bridge=none --iptables=false --ip6tables=false \
    --insecure-registry 127.0.0.0/8 >>"$log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 150); do if docker_ info >/dev/null 2>&1; then break; fi; sleep 0.2; done
  if docker_ pull -q "$dist_src/bench/small:1" >>"$log" 2>&1; then
    docker_driver=$(docker_ info -f '{{.Driver}}')
    docker_ rmi -f "$dist_src/bench/small:1" >>"$log" 2>&1
  else
    note "dockerd cannot pull here (see $log): skipped"
    kill "$dockerd_pid" 2>/dev/null || true; wait "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=""
  fi
fi

# ---------------------------------------------------------------------------------------
# Pulls start from an empty store each run. Before each run (untimed) the registry's
# blobs are read once, so that every tool finds them in the page cache: this machine
# pages out what nobody touched for a minute (DAMON's reclaim), and the first tool after
# a pause would otherwise pay for the registry's disk reads.
pull_ref="" pull_storage=""
warm_registry() { find "$pull_storage" -type f -size +1M -exec cat {} + >/dev/null; }
op_pull_lade_pre() { rm -rf "$run/pull"; warm_registry; }
op_pull_lade() { CMD=("$lade" --root "$run/pull" pull -q "$pull_ref"); }
op_pull_skopeo_pre() { rm -rf "$run/pull"; mkdir -p "$run/pull"; warm_registry; }
op_pull_skopeo() { CMD=(skopeo copy -q --src-tls-verify=false "docker://$pull_ref" "oci:$run/pull:1"); }
op_pull_podman_pre() { rm -rf "$run/podman"; warm_registry; }
op_pull_podman() { CMD=(podman --root "$run/podman/root" --runroot "$run/podman/run"
  --storage-driver "$podman_driver" pull -q --tls-verify=false "$pull_ref"); }
op_pull_docker_pre() { warm_registry; }
op_pull_docker() { CMD=(docker -H "unix://$run/docker.sock" pull -q "$pull_ref"); }
op_pull_docker_post() { docker_ rmi -f "$pull_ref"; }
pull_group() { # pull_group REF STORAGE BYTES LABEL [all]: lade, skopeo, and with "all" podman and Docker
  pull_ref=$1 pull_storage=$2
  shift
  g="pull the $3"
  say "$g"
  measure_alternating "$g" "$2" "lade pull|lade|op_pull_lade" \
    "skopeo copy docker:// oci: $skopeo_version|peer|op_pull_skopeo"
  if [ "${4:-}" = all ] && [ "$want_podman" = 1 ]; then
    measure "$g" "podman pull ($podman_driver)" peer "$2" op_pull_podman
  fi
  if [ "${4:-}" = all ] && [ -n "$dockerd_pid" ]; then
    RSS_PID=$dockerd_pid RSS_FROM=dockerd
    measure "$g" "docker pull ($docker_driver)" peer "$2" op_pull_docker
    RSS_PID="" RSS_FROM=""
  fi
  rm -rf "$run/pull" "$run/podman"
}
pull_group "$dist_src/bench/big:1" "$run/reg-dist" "$big_blob_bytes" "$big_label from distribution" all
copy_row "$g" "loopback TCP, one connection" "$loop_row"
copy_row "$g" "sha256 (sha2)" "$sha_row"
copy_row "$g" "copy on the same disk, fsync" "$copy_row_big"
if [ "$want_podman" = 1 ] || [ -n "$dockerd_pid" ]; then copy_row "$g" "gunzip (flate2/zlib-rs)" "$gunzip_row"; fi
pull_group "$dist_src/bench/small:1" "$run/reg-dist" "$small_blob_bytes" "$small_label from distribution" all
pull_group "$lade_src/bench/big:1" "$run/reg-lade" "$big_blob_bytes" "$big_label from lade's registry"

# ---------------------------------------------------------------------------------------
# Pushes go to a registry started on empty storage each run: nothing can be skipped or
# mounted. lade pushes from a store that pulled the image; skopeo from the OCI layout.
"$lade" --root "$run/store" pull -q "$dist_src/bench/big:1" >>"$log" 2>&1 ||
  note "lade pull into the store to push from failed (see $log)"
push_start="" push_ref=""
push_pre() { "$push_start" "$run/push"; push_pid=$pid; push_ref=127.0.0.1:$port/bench/big:1; }
push_post() { stop "$push_pid"; rm -rf "$run/push" "$run/push.yml"; }
op_push_lade_pre() { push_pre && "$lade" --root "$run/store" tag "$dist_src/bench/big:1" "$push_ref"; }
op_push_lade() { CMD=("$lade" --root "$run/store" push -q "$push_ref"); }
op_push_lade_post() { "$lade" --root "$run/store" rmi "$push_ref"; push_post; }
op_push_skopeo_pre() { push_pre; }
op_push_skopeo() { CMD=(skopeo copy -q --dest-tls-verify=false "oci:$inputs/big:1" "docker://$push_ref"); }
op_push_skopeo_post() { push_post; }
op_push_podman_pre() { push_pre; }
op_push_podman() { CMD=(podman --root "$run/podman/root" --runroot "$run/podman/run"
  --storage-driver "$podman_driver" push -q --tls-verify=false "$dist_src/bench/big:1" "docker://$push_ref"); }
op_push_podman_post() { push_post; }
op_push_docker_pre() { push_pre && docker_ tag "$dist_src/bench/big:1" "$push_ref"; }
op_push_docker() { CMD=(docker -H "unix://$run/docker.sock" push -q "$push_ref"); }
op_push_docker_post() { docker_ rmi "$push_ref"; push_post; }

push_start=start_distribution
g="push the $big_label to distribution"
say "$g"
measure_alternating "$g" "$big_blob_bytes" "lade push|lade|op_push_lade" \
  "skopeo copy oci: docker:// $skopeo_version|peer|op_push_skopeo"
if [ "$want_podman" = 1 ] && podman_ pull -q --tls-verify=false "$dist_src/bench/big:1" >>"$log" 2>&1; then
  measure "$g" "podman push ($podman_driver)" peer "$big_blob_bytes" op_push_podman
  rm -rf "$run/podman"
fi
if [ -n "$dockerd_pid" ] && docker_ pull -q "$dist_src/bench/big:1" >>"$log" 2>&1; then
  RSS_PID=$dockerd_pid RSS_FROM=dockerd
  measure "$g" "docker push ($docker_driver)" peer "$big_blob_bytes" op_push_docker
  RSS_PID="" RSS_FROM=""
fi
copy_row "$g" "loopback TCP, one connection" "$loop_row"
copy_row "$g" "copy on the same disk, fsync" "$copy_row_big"

push_start=start_lade_registry
g="push the $big_label to lade's registry"
say "$g"
measure_alternating "$g" "$big_blob_bytes" "lade push|lade|op_push_lade" \
  "skopeo copy oci: docker:// $skopeo_version|peer|op_push_skopeo"
copy_row "$g" "copy on the same disk, fsync" "$copy_row_big"

# ---------------------------------------------------------------------------------------
# save, load and export (issue 7), on the big image and the small-files image. lade saves
# from the store that pushed; skopeo copies from the OCI layout in the inputs; podman and
# Docker save what they pulled from distribution beforehand (untimed). Every tool then
# loads the archive lade wrote, into an empty store each run.
"$lade" --root "$run/store" pull -q "$dist_src/bench/small:1" >>"$log" 2>&1 ||
  note "lade pull of the small image into the store failed (see $log)"
save_ref="" save_name="" load_tar=""
op_save_lade_pre() { rm -f "$run/save-lade.tar"; }
op_save_lade() { CMD=("$lade" --root "$run/store" save -q -o "$run/save-lade.tar" "$save_ref"); }
op_save_skopeo_pre() { rm -f "$run/save-peer.tar"; }
op_save_skopeo() { CMD=(skopeo copy -q "oci:$inputs/$save_name:1" "docker-archive:$run/save-peer.tar:bench/$save_name:1"); }
op_save_skopeo_post() { ls -l "$run/save-peer.tar"; rm -f "$run/save-peer.tar"; }
op_save_podman_pre() { op_save_skopeo_pre; }
op_save_podman() { CMD=(podman --root "$run/podman/root" --runroot "$run/podman/run"
  --storage-driver "$podman_driver" save -q -o "$run/save-peer.tar" "$save_ref"); }
op_save_podman_post() { op_save_skopeo_post; }
op_save_docker_pre() { op_save_skopeo_pre; }
op_save_docker() { CMD=(docker -H "unix://$run/docker.sock" save -o "$run/save-peer.tar" "$save_ref"); }
op_save_docker_post() { op_save_skopeo_post; }
op_load_lade_pre() { rm -rf "$run/load"; }
op_load_lade() { CMD=("$lade" --root "$run/load" load -q -i "$load_tar"); }
op_load_skopeo_pre() { rm -rf "$run/load"; mkdir -p "$run/load"; }
op_load_skopeo() { CMD=(skopeo copy -q "docker-archive:$load_tar" "oci:$run/load:1"); }
op_load_podman_pre() { rm -rf "$run/podman"; }
op_load_podman() { CMD=(podman --root "$run/podman/root" --runroot "$run/podman/run"
  --storage-driver "$podman_driver" load -q -i "$load_tar"); }
op_load_docker_pre() { docker_ rmi -f "$save_ref" >/dev/null 2>&1 || true; }
op_load_docker() { CMD=(docker -H "unix://$run/docker.sock" load -q -i "$load_tar"); }
op_export_lade_pre() { rm -f "$run/export.tar"; }
op_export_lade() { CMD=("$lade" --root "$run/store" image export -q -o "$run/export.tar" "$save_ref"); }
op_export_lade_post() { ls -l "$run/export.tar"; rm -f "$run/export.tar"; }
op_copy_small_pre() { op_copy_pre; }
op_copy_small() { CMD=("$lb" copy "${small_layers[@]}" "$run/copy"); }
op_copy_small_post() { op_copy_post; }
small_manifest=$(jq -r '.manifests[0].digest' "$inputs/small/index.json")
small_layers=()
for d in $(jq -r '.layers[].digest' "$inputs/small/blobs/sha256/${small_manifest#sha256:}"); do
  small_layers+=("$inputs/small/blobs/sha256/${d#sha256:}")
done
save_group() { # save_group NAME BYTES LABEL: save, load and export groups for one image
  save_name=$1 save_ref=$dist_src/bench/$1:1
  local copy_row_this
  local podman_has=0 docker_has=0
  if [ "$want_podman" = 1 ] && podman_ pull -q --tls-verify=false "$save_ref" >>"$log" 2>&1; then podman_has=1; fi
  if [ -n "$dockerd_pid" ] && docker_ pull -q "$save_ref" >>"$log" 2>&1; then docker_has=1; fi
  g="save the $3 to a docker-archive"
  say "$g"
  measure "$g" "lade save -o" lade "$2" op_save_lade
  measure "$g" "skopeo copy oci: docker-archive: $skopeo_version" peer "$2" op_save_skopeo
  if [ $podman_has = 1 ]; then measure "$g" "podman save -o ($podman_driver)" peer "$2" op_save_podman; fi
  if [ $docker_has = 1 ]; then
    RSS_PID=$dockerd_pid RSS_FROM=dockerd
    measure "$g" "docker save -o ($docker_driver)" peer "$2" op_save_docker
    RSS_PID="" RSS_FROM=""
  fi
  if [ "$1" = big ]; then
    copy_row_this=$copy_row_big
    copy_row "$g" "copy on the same disk, fsync" "$copy_row_this"
  else
    measure "$g" "copy on the same disk, fsync" floor "$2" op_copy_small
    copy_row_this=$last_stats
  fi
  if [ ! -s "$run/save-lade.tar" ]; then note "no archive from lade save: load skipped"; return 0; fi
  load_tar=$run/save-$1.tar
  mv "$run/save-lade.tar" "$load_tar"
  local load_bytes
  load_bytes=$(stat -c %s "$load_tar")
  g="load the $3 from lade's docker-archive ($((load_bytes / 1048576)) MiB) into an empty store"
  say "$g"
  measure "$g" "lade load -i" lade "$load_bytes" op_load_lade
  measure "$g" "skopeo copy docker-archive: oci: $skopeo_version" peer "$load_bytes" op_load_skopeo
  if [ "$want_podman" = 1 ]; then measure "$g" "podman load -i ($podman_driver)" peer "$load_bytes" op_load_podman; fi
  if [ -n "$dockerd_pid" ]; then
    RSS_PID=$dockerd_pid RSS_FROM=dockerd
    measure "$g" "docker load -i ($docker_driver)" peer "$load_bytes" op_load_docker
    RSS_PID="" RSS_FROM=""
  fi
  copy_row "$g" "copy on the same disk, fsync" "$copy_row_this"
  rm -rf "$run/load" "$run/podman" "$load_tar"
  if [ -n "$dockerd_pid" ]; then docker_ rmi -f "$save_ref" >>"$log" 2>&1 || true; fi
  g="export the filesystem of the $3 as one tar"
  say "$g"
  measure "$g" "lade image export -o" lade "$2" op_export_lade
  copy_row "$g" "copy on the same disk, fsync" "$copy_row_this"
  if [ "$1" = big ]; then copy_row "$g" "gunzip (flate2/zlib-rs)" "$gunzip_row"; fi
}
save_group big "$big_blob_bytes" "$big_label"
save_group small "$small_blob_bytes" "$small_label"

# ---------------------------------------------------------------------------------------
# A store of many images (issue 6): `lade-bench many-images N` writes one docker-archive
# of N images that share a base layer and one of 10 middle layers, each with a top layer
# and a config of its own; every tool loads it (timed once, as a row of its own) and then
# lists and changes its store. lade runs on $many_n images; podman and Docker on
# $peer_n (loading is slow in both: see bench/README.md), and lade again on that many so
# that each group compares the same store.
many_tool="" many_dir=""
many_cmd() { # many_cmd ARGS...: CMD=(the tool under test on its store, ARGS...)
  case $many_tool in
    lade) CMD=("$lade" --root "$many_dir" "$@") ;;
    podman) CMD=(podman --root "$run/podman/root" --runroot "$run/podman/run" --storage-driver "$podman_driver" "$@") ;;
    docker) CMD=(docker -H "unix://$run/docker.sock" "$@") ;;
  esac
}
many_do() { many_cmd "$@"; "${CMD[@]}"; } # untimed, in the hooks
to_null() { CMD=(sh -c 'exec "$@" >/dev/null' sh "${CMD[@]}"); } # listing output to /dev/null
many_tar="" many_n_now=0
op_many_load_pre() {
  case $many_tool in
    lade) rm -rf "$many_dir" ;;
    podman) rm -rf "$run/podman" ;;
    docker) docker_ image prune -af ;;
  esac
}
op_many_load() { many_cmd load -q -i "$many_tar"; to_null; }
op_many_images() { many_cmd images; to_null; }
op_many_digests() { many_cmd images --digests; to_null; }
op_many_filter() { many_cmd images --filter 'reference=bench/img-1*'; to_null; }
op_many_df() { many_cmd system df -v; to_null; }
op_many_tag() { many_cmd tag bench/img-1:1 "bench/tagged:$1"; }
op_many_tag_post() { many_do rmi "bench/tagged:$1"; }
op_many_rmi_pre() { many_do tag bench/img-1:1 "bench/untag:$1"; }
op_many_rmi() { many_cmd rmi "bench/untag:$1"; }
op_many_prune_pre() { # moves 10 tags onto img-0's image: their own images become dangling
  local k
  for k in $(seq 0 9); do
    many_do tag bench/img-0:1 "bench/img-$((2 + (($1 - 1) * 10 + k) % (many_n_now - 2))):1" || return 1
  done
}
op_many_prune() { many_cmd image prune -f; }
many_ops=(
  "images|op_many_images|list: images"
  "images --digests|op_many_digests|list: images --digests"
  "images --filter reference=|op_many_filter|list: images --filter reference='bench/img-1*' (@MATCH@ images)"
  "system df -v|op_many_df|system df -v"
  "tag|op_many_tag|tag one image"
  "rmi|op_many_rmi|rmi one tag (the image keeps another)"
  "image prune -f|op_many_prune|image prune -f (10 dangling images)"
)
many_tool_label() { # many_tool_label TOOL VERB
  case $1 in
    lade) echo "lade $2" ;;
    podman) echo "podman $2 ($podman_driver)" ;;
    docker) echo "docker $2 ($docker_driver)" ;;
  esac
}
many_measure() { # many_measure GROUP TOOL VERB OP
  many_tool=$2
  if [ "$2" = docker ]; then RSS_PID=$dockerd_pid RSS_FROM=dockerd; fi
  measure "$1" "$(many_tool_label "$2" "$3")" "$([ "$2" = lade ] && echo lade || echo peer)" 0 "$4"
  RSS_PID="" RSS_FROM=""
}
peer_load_ms=() # "tool ms-per-image" as measured, for the note under the table
many_group() { # many_group N TOOL...: load N images into each TOOL, then time the operations
  local n=$1 t spec verb op what saved_runs=$runs
  shift
  many_n_now=$n many_tar=$run/many-$n.tar many_dir=$run/many-$n
  "$lb" many-images "$n" "$many_tar" >>"$log"
  g="load $n images from one docker-archive into an empty store (once)"
  say "$g"
  runs=1
  for t in "$@"; do
    many_measure "$g" "$t" "load -i" op_many_load
    if [ "$t" != lade ]; then
      peer_load_ms+=("$t $(awk -v s="${last_stats##*	}" -v n="$n" 'BEGIN { split(s, a, " "); printf "%.0f", a[1] * 1000 / n }')")
    fi
  done
  runs=$saved_runs
  for spec in "${many_ops[@]}"; do
    IFS='|' read -r verb op what <<<"$spec"
    what=${what//@MATCH@/$(seq 0 $((n - 1)) | grep -c '^1')}
    g="$what, on a store of $n images"
    say "$g"
    for t in "$@"; do many_measure "$g" "$t" "$verb" "$op"; done
    copy_row "$g" "the timing alone: /usr/bin/time true" "$harness_row"
  done
  rm -rf "$many_dir" "$many_tar"
}
many_peers=()
if [ "$want_podman" = 1 ]; then many_peers+=(podman); fi
if [ -n "$dockerd_pid" ]; then many_peers+=(docker); fi
if [ ${#many_peers[@]} -gt 0 ] && [ "$peer_n" != "$many_n" ]; then
  many_group "$peer_n" lade "${many_peers[@]}"
  many_group "$many_n" lade
else
  many_group "$many_n" lade "${many_peers[@]}"
fi
rm -rf "$run/podman"

# ---------------------------------------------------------------------------------------
say "writing $out"
fmt_time() { awk -v s="$1" 'BEGIN { if (s < 1) printf "%.0f ms", s * 1000; else printf "%.2f s", s }'; }
table() {
  echo "| work | tool | runs | median | min–max | MiB/s | peak RSS | time lade ÷ this | RSS lade ÷ this |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '
    function t(s) { return s == "-" ? "-" : (s < 1 ? sprintf("%.0f ms", s * 1000) : sprintf("%.2f s", s)) }
    function rate(unit, s) { return unit == "req" ? sprintf("%.0f req/s", 1 / s) : t(s) }
    function range(unit, a, b) { return unit == "req" ? sprintf("%.0f–%.0f req/s", 1 / b, 1 / a) : t(a) "–" t(b) }
    {
      g = $1; tool = $2; kind = $3; unit = $4; bytes = $5; rss = $6; status = $7
      split($8, st, " "); med = st[1]; lo = st[2]; hi = st[3]; n = st[4]
      if (!(g in seen)) { seen[g] = 1; order[++ng] = g }
      row[g, ++nr[g]] = $0
      if (kind == "lade" && !((g, "lade") in base) && status == "ok") { base[g, "lade"] = med; base[g, "rss"] = rss }
    }
    END {
      for (k = 1; k <= ng; k++) {
        g = order[k]
        for (j = 1; j <= nr[g]; j++) {
          split(row[g, j], f, "\t"); tool = f[2]; kind = f[3]; unit = f[4]; bytes = f[5]; rss = f[6]; status = f[7]
          split(f[8], st, " "); med = st[1]; lo = st[2]; hi = st[3]; n = st[4]
          label = (j == 1) ? g : ""
          if (kind == "floor") tool = "floor: " tool
          if (kind == "lade") tool = "**" tool "**"
          if (status != "ok") { printf "| %s | %s | %d | failed | | | | | |\n", label, tool, n; continue }
          mibs = (unit == "req" || bytes == 0) ? "" : sprintf("%.0f", bytes / 1048576 / med)
          mem = (rss > 0) ? sprintf("%.0f MiB", rss / 1024) : ""
          tr = ""; rr = ""
          if (kind != "lade" && ((g, "lade") in base)) {
            tr = sprintf("%.2f", base[g, "lade"] / med)
            if (kind != "floor" && rss > 0 && base[g, "rss"] > 0) rr = sprintf("%.2f", base[g, "rss"] / rss)
          }
          printf "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", label, tool, n, rate(unit, med), range(unit, lo, hi), mibs, mem, tr, rr
        }
      }
    }' "$results"
}
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
disk=$(df -h "$work" | awk 'NR == 2 { printf "%s (%s, %s used), mounted on %s", $1, $2, $5, $6 }')
fstype=$(df -T "$work" | awk 'NR == 2 { print $2 }')
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || rev="$rev with uncommitted changes"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$(dirname "$out")"
{
  echo "# Benchmarks"
  echo
  echo "Produced by \`bench/run.sh\` (see [bench/README.md](../bench/README.md)); do not edit by hand,"
  echo "run it again. Each operation ran $runs times; the table gives the median and the"
  echo "range. **time lade ÷ this** is lade's median time over this row's median time in the"
  echo "same run (below 1: lade is faster; for wrk rows, time per request, i.e. the other's"
  echo "requests/s over lade's). **RSS lade ÷ this** compares peak resident memory. Rows"
  echo "marked *floor* are the physical references, measured on the same files and disk"
  echo "with the same crates lade uses; lade's ratio to them says how close it is to the limit."
  echo "In the pull and push groups, lade and skopeo ran in turn, run by run, at least 7 times."
  echo
  echo "- command: \`$command_line\` ($mode: $layers layers of $layer_mib MiB, $files small files, a store of $many_n images, $runs runs, wrk ${wrk_secs}s)"
  echo "- lade: $rev, built with \`cargo build --release\` at $lade_built"
  echo "- machine: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r), disk $disk ($fstype)"
  echo "- load average at start: $load_start; at end: $load_end"
  echo "- peers: skopeo $skopeo_version, docker-registry (distribution) $(docker-registry --version | awk '{print $3}'), $(wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}')$([ "$want_podman" = 1 ] && echo ", $(podman --version)")$([ -n "$dockerd_pid" ] && echo ", dockerd $(dockerd --version | awk '{print $3}' | tr -d ,)")"
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  table
  if [ -s "$pairs" ]; then
    echo
    echo "Round by round, where lade and a peer ran back to back: the peer's time over"
    echo "lade's (above 1: lade is faster), median and range over the rounds:"
    echo
    while IFS=$'\t' read -r g tool stats; do echo "- $g, $tool: $stats"; done <"$pairs"
  fi
  echo
  echo "How each row is measured:"
  echo
  echo "- Wall time from bash's \`\$EPOCHREALTIME\` around \`/usr/bin/time COMMAND\`; peak RSS is \`/usr/bin/time\`'s"
  echo "  \"Maximum resident set size\" of the client, or \`VmHWM\` of the server process"
  echo "  (\"server RSS\": since that process started; for pushes, the largest over the fresh"
  echo "  registry each run starts) or of dockerd (since it started)."
  echo "- Inputs are incompressible (AES-CTR over zeros with a fixed key) and sit in the page"
  echo "  cache; the layers are gzip level 1. Everything runs on 127.0.0.1."
  echo "- Pulls start from an empty store (a new \`--root\` or directory) each run; pushes go"
  echo "  to a registry started on empty storage each run, so no blob can be skipped or mounted."
  echo "- The import rows compare \`lade import\` of a plain tarball with what it must do at"
  echo "  least: sha256 of the tar, gzip -1, sha256 of the result, write and fsync."
  echo "- save: each tool writes a docker-archive of the image it holds (lade its store, skopeo"
  echo "  the OCI layout of the inputs, podman and Docker what they pulled before, untimed);"
  echo "  lade keeps the layers gzip'd as stored; skopeo, podman and Docker write them"
  echo "  uncompressed (a gunzip, or a tar of the unpacked layer, each)."
  echo "  load: every tool reads the archive lade saved, into an empty store each run (Docker:"
  echo "  the image removed before each run). export: the image's filesystem as one plain tar."
  echo "- The store rows: \`lade-bench many-images N\` writes one docker-archive of N images"
  echo "  (\`bench/img-0:1\`…), each with a 64 KiB base layer all share, one of 10 middle"
  echo "  layers, a top layer and a config of its own; each tool loads it once (the *load*"
  echo "  row), then each operation runs $runs times; listings go to /dev/null. \`tag\` adds"
  echo "  a tag (removed after, untimed); \`rmi\` removes a tag added before (untimed);"
  echo "  before each \`image prune\`, 10 tags are moved onto another image, which leaves"
  echo "  their images dangling. Docker's RSS is dockerd's peak since it started."
  if [ ${#peer_load_ms[@]} -gt 0 ] && [ "$peer_n" != "$many_n" ]; then
    rates="" est=""
    for x in "${peer_load_ms[@]}"; do
      rates="$rates${rates:+, }${x% *} ${x#* } ms per image"
      est="$est${est:+, }${x% *} ~$((${x#* } * many_n / 60000)) min"
    done
    echo "- podman and Docker got a store of $peer_n images (BENCH_PEER_IMAGES), lade one of"
    echo "  $many_n as well: loading took $rates here, so $many_n images would"
    echo "  take $est (at least: loading slows as their stores grow)."
  fi
  if [ "$mode" = full ] && [ "$want_podman" = 0 ]; then echo "- podman was skipped: it did not install or could not pull here (see the log)."; fi
  if [ "$mode" = full ] && [ "$want_docker" = 1 ] && [ -z "$dockerd_pid" ]; then echo "- Docker was skipped: dockerd did not start or could not pull here."; fi
  if [ "$mode" = full ] && [ "$want_docker" = 0 ]; then echo "- Docker was skipped: docker.io did not install."; fi
  if [ "$mode" = quick ]; then echo "- Quick mode: podman and Docker run only in \`--full\`."; fi
  if [ -n "$note" ]; then echo "- $note"; fi
} >"$out"
say "done: $out"
table >&2
