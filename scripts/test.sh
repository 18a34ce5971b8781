#!/usr/bin/env bash
# Runs the whole test suite. Building happens outside the sandbox; the tests themselves run inside
# `unshare --net --mount`, a private network and mount namespace, so no test can touch the
# machine's own network. Extra arguments go to `swift test` (e.g. --filter).
# Then the public API check (scripts/test-api.sh) and the C ABI tests (scripts/test-c-abi.sh: builds libberth.so outside the sandbox, runs the C
# and Python examples inside one); BERTH_SKIP_C_ABI=1 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
# The Docker 20.10 oracle's packages (docker.io, busybox-static; their services never start).
# Without them the oracle suite is skipped, loudly (CI sets BERTH_ORACLE_REQUIRED=1: a failure).
if [ "$(id -u)" = 0 ] && [ "${BERTH_NO_INSTALL:-0}" != 1 ]; then
  scripts/install-oracle-deps.sh || echo "test: could not install the oracle's packages; the oracle suite will be skipped" >&2
  # podman, containerd, runc, the reference CNI plugins (the CNI runtime suite; services never start).
  scripts/install-cni-deps.sh || echo "test: could not install the CNI runtimes; the CNI runtime suite will be skipped" >&2
fi
swift build --build-tests
# The machine namespace, so the sandbox and the tests can prove they are elsewhere.
BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
export BERTH_HOST_NETNS
unshare --net --mount -- scripts/in-sandbox.sh swift test --skip-build "$@"
# What a Swift user can name (type-checks only; no sandbox needed).
scripts/test-api.sh
if [ "${BERTH_SKIP_C_ABI:-0}" != 1 ]; then
  scripts/test-c-abi.sh
fi
