#!/usr/bin/env bash
# Installs Berth on a Debian 12 machine, as root: system packages (scripts/install-deps.sh), a
# release build, and under PREFIX (default /usr/local): bin/berth, bin/berth-proxy (the userland
# proxy of published ports), the C library
# lib/libberth.so.0 (+ the lib/libberth.so link), include/berth.h and lib/pkgconfig/berth.pc, so
# that `cc app.c $(pkg-config --cflags --libs berth)` works and the program runs with no
# LD_LIBRARY_PATH. Idempotent.
#
# Environment:
#   PREFIX             install prefix (default /usr/local); LIBDIR (default $PREFIX/lib),
#                      INCLUDEDIR (default $PREFIX/include)
#   BERTH_INSTALL      all (default) | lib: only the C library, header and berth.pc (no system
#                      packages, no CLI)
#   BERTH_LIB_SO       an already built libberth (skips building it)
#   BERTH_LIB_SCRATCH  scratch path of the library build (default .build-libberth)
#   BERTH_NO_LDCONFIG  1: do not run ldconfig (tests installing into a temporary prefix)
#   BERTH_VERSION      version written to berth.pc (default 0.1.0)
#   BERTH_CNI_DIRS     where the CNI plugin `berth` is linked (default "/opt/cni/bin /usr/lib/cni";
#                      empty: nowhere)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
BERTH_INSTALL=${BERTH_INSTALL:-all}
export PATH="/opt/swift/usr/bin:$PATH"

if [ "$BERTH_INSTALL" = all ]; then
  bash scripts/install-deps.sh
  # Swift runtime linked statically: no dynamic relocation of ~20 libraries at each start (a CLI
  # call is a process start), and nothing to break when the toolchain moves.
  swift build -c release --product berth -Xswiftc -static-stdlib
  swift build -c release --product berth-proxy -Xswiftc -static-stdlib
  install -d "$PREFIX/bin"
  install -m 0755 "$(swift build -c release --show-bin-path)/berth" "$PREFIX/bin/berth"
  # The userland proxy (ControllerConfiguration.userlandProxyPath's default, /usr/local/bin/berth-proxy;
  # berth finds the one next to itself).
  install -m 0755 "$(swift build -c release --show-bin-path)/berth-proxy" "$PREFIX/bin/berth-proxy"
  echo "installed $PREFIX/bin/berth, $PREFIX/bin/berth-proxy"
  # The CNI plugin `berth` (README, "Use with Podman / containerd / Kubernetes"): the same binary,
  # which runs the CNI protocol when CNI_COMMAND is set, linked into the directories runtimes
  # search (containerd and kubelet: /opt/cni/bin; Debian's podman and libcni: /usr/lib/cni).
  for dir in ${BERTH_CNI_DIRS-/opt/cni/bin /usr/lib/cni}; do
    install -d "$dir"
    ln -sfn "$PREFIX/bin/berth" "$dir/berth"
    echo "installed $dir/berth -> $PREFIX/bin/berth"
  done
elif [ "$BERTH_INSTALL" != lib ]; then
  echo "install: BERTH_INSTALL must be all or lib, not '$BERTH_INSTALL'" >&2
  exit 1
fi

# --- The C library (design.md §3, §6) ---------------------------------------------------------
# Self-contained: the Swift runtime and Foundation linked statically (-static-stdlib), SONAME
# libberth.so.0, and only the functions of include/berth.h exported (linker version script).
# These flags are passed here, not as unsafeFlags in Package.swift. The SwiftPM product is called
# BerthC (the product name "berth" is the CLI's), so the build output is libBerthC.so.
lib_so=${BERTH_LIB_SO:-}
if [ -z "$lib_so" ]; then
  scratch=${BERTH_LIB_SCRATCH:-.build-libberth}
  flags=(-c release --scratch-path "$scratch")
  swift build "${flags[@]}" --product BerthC -Xswiftc -static-stdlib \
    -Xlinker -soname -Xlinker libberth.so.0 \
    -Xlinker "--version-script=$PWD/Sources/BerthC/libberth.map"
  lib_so="$(swift build "${flags[@]}" --show-bin-path)/libBerthC.so"
  if [ "$BERTH_INSTALL" = lib ]; then
    # The library's default userland proxy (published ports): $PREFIX/bin/berth-proxy.
    swift build "${flags[@]}" --product berth-proxy -Xswiftc -static-stdlib
    install -d "$PREFIX/bin"
    install -m 0755 "$(swift build "${flags[@]}" --show-bin-path)/berth-proxy" "$PREFIX/bin/berth-proxy"
  fi
fi
[ -f "$lib_so" ] || { echo "install: no library at $lib_so" >&2; exit 1; }

install -d "$LIBDIR" "$LIBDIR/pkgconfig" "$INCLUDEDIR"
tmp_so="$LIBDIR/.libberth.so.0.tmp.$$"
install -m 0755 "$lib_so" "$tmp_so"
# As Debian strips shared libraries: debug info and the static symbol table go, the dynamic
# symbol table stays (about 15 MB smaller; the static ICU data of Foundation is most of the rest).
if command -v strip >/dev/null; then strip --strip-unneeded "$tmp_so"; fi
mv -f "$tmp_so" "$LIBDIR/libberth.so.0"   # atomic: a running program keeps its mapped copy
ln -sfn libberth.so.0 "$LIBDIR/libberth.so"
install -m 0644 include/berth.h "$INCLUDEDIR/berth.h"

# A libdir outside the dynamic linker's search path gets an rpath in berth.pc, so programs still
# run without LD_LIBRARY_PATH.
libs_extra=""
case "$LIBDIR" in
  /lib|/usr/lib|/lib64|/usr/lib64|/lib/*-linux-gnu|/usr/lib/*-linux-gnu) ;;
  *)
    if ! grep -qsxF "$LIBDIR" /etc/ld.so.conf /etc/ld.so.conf.d/*.conf; then
      libs_extra=" -Wl,-rpath,\${libdir}"
    fi
    ;;
esac
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@LIBDIR@|$LIBDIR|g" -e "s|@INCLUDEDIR@|$INCLUDEDIR|g" \
    -e "s|@VERSION@|${BERTH_VERSION:-0.1.0}|g" -e "s|@LIBS_EXTRA@|$libs_extra|g" \
    pkgconfig/berth.pc.in > "$LIBDIR/pkgconfig/berth.pc"
chmod 0644 "$LIBDIR/pkgconfig/berth.pc"
if [ "${BERTH_NO_LDCONFIG:-0}" != 1 ]; then ldconfig; fi
echo "installed $LIBDIR/libberth.so.0, $INCLUDEDIR/berth.h, $LIBDIR/pkgconfig/berth.pc"
