#!/usr/bin/env bash
# Installs Berth on a Debian 12 machine, as root: system packages (scripts/install-deps.sh), a
# release build, and under PREFIX (default /usr/local): bin/berth, lib/libberth.so (when the C ABI
# product exists), include/berth.h and lib/pkgconfig/berth.pc. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
bash scripts/install-deps.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product berth
install -d "$PREFIX/bin"
install -m 0755 "$(swift build -c release --show-bin-path)/berth" "$PREFIX/bin/berth"
echo "installed $PREFIX/bin/berth"
