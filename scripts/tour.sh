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
