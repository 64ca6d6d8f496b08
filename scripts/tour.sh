#!/usr/bin/env bash
# Builds lade and runs its main job on the embedded default: a throwaway store, a real
# root filesystem imported as an image, then listed, inspected and checked.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
lade=./target/release/lade
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
export LADE_ROOT=$root
echo "+ tar -C /usr/share -c common-licenses | lade import - tour:latest --change 'CMD [\"/bin/sh\"]'"
tar -C /usr/share -c common-licenses | $lade import - tour:latest --change 'CMD ["/bin/sh"]'
echo "+ lade images"; $lade images
echo "+ lade inspect tour"; $lade inspect tour
echo "+ lade system check"; $lade system check

echo "+ lade registry serve --addr 127.0.0.1:0 --storage \$root/registry &"
$lade registry serve --addr 127.0.0.1:0 --storage "$root/registry" --no-access-log 2>"$root/registry.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$root"' EXIT
for _ in $(seq 50); do grep -q listening "$root/registry.log" && break; sleep 0.1; done
addr=$(grep -o '127.0.0.1:[0-9]*' "$root/registry.log" | head -1)
echo "+ lade tag tour $addr/team/tour:1 && lade push $addr/team/tour:1"
$lade tag tour "$addr/team/tour:1"
$lade push "$addr/team/tour:1"
echo "+ lade pull into a second store"
LADE_ROOT=$root/second $lade pull "$addr/team/tour:1"
LADE_ROOT=$root/second $lade images
