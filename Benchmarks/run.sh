#!/usr/bin/env bash
# Runs the ordo-one benchmarks of the Berth package. Building happens first, outside the sandbox;
# the benchmark run itself happens inside `unshare --net --mount` (a private network and mount
# namespace, set up by ../scripts/in-sandbox.sh), so nothing can reach the machine's own network
# namespace. Extra arguments go to `swift package benchmark` (e.g. `--filter attach`,
# `baseline update`, `--format markdown`).
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release
# The machine namespace, so in-sandbox.sh can prove the run is elsewhere.
BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
export BERTH_HOST_NETNS
exec unshare --net --mount -- ../scripts/in-sandbox.sh swift package --disable-sandbox benchmark "$@"
