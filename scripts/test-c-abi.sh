#!/usr/bin/env bash
# Tests the C ABI (include/berth.h, libberth.so):
#   1. the header compiles as strict C99 and as C++ (gcc, g++, and clang when present);
#   2. the library builds self-contained and installs (scripts/install.sh BERTH_INSTALL=lib) into
#      a scratch prefix; set BERTH_LIB_SO to reuse a library built already;
#   3. it exports exactly the header's functions (nm -D), has SONAME libberth.so.0, and needs no
#      Swift library; the C example builds with pkg-config and resolves without LD_LIBRARY_PATH;
#      berth_status_name() names every enumerator of berth.h as spelled there (a C program
#      generated from the header by Tests/CABI/gen_status_names.py);
#   4. inside `unshare --net --mount` (scripts/in-sandbox.sh), with a named netns as Berth's host
#      namespace and a temporary state directory: the C example, the Python ctypes example, an
#      argument/status/thread-safety check (Tests/CABI/abi_check.c) and the JSON keys and error
#      objects against berth.h and Berth's own records (Tests/CABI/json_shapes.py), each followed
#      by a "nothing left" check.
# Ends with "N passed, N failed"; exits non-zero when anything failed.
# Environment: BERTH_CABI_BACKENDS (default "iptables"; e.g. "iptables nftables").
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
work="$PWD/.build-cabi-rel/cabi-test"
passed=0
failed=0

# t NAME CMD...: runs one check, output to a log shown only on failure.
t() {
  local name=$1 log
  shift
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS  $name"
  else
    failed=$((failed + 1))
    echo "FAIL  $name"
    sed 's/^/      | /' "$log" | tail -n 60
  fi
  rm -f "$log"
}

summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
}

# ---- 4. Inside the sandbox ------------------------------------------------------------------
if [ "${1:-}" = --in-sandbox ]; then
  [ "${BERTH_SANDBOX:-}" = 1 ] || { echo "test-c-abi: --in-sandbox needs scripts/in-sandbox.sh" >&2; exit 2; }
  host=berth-cabi-host
  ip netns add "$host"
  hostpath=/run/netns/$host
  state=$(mktemp -d)
  lib="$work/prefix/lib/libberth.so.0"
  proxy="$work/prefix/bin/berth-proxy"   # installed with the library (scripts/install.sh BERTH_INSTALL=lib)

  # Nothing Berth made may remain: no veth or br- link in the host namespace, no namespace
  # besides the host's. (docker0 and the base chains stay by design: host set-up.) Then the
  # program's state directory goes, so the next program's may claim the host namespace (one
  # state directory per host namespace).
  nothing_left() {
    local links names
    rm -rf "$1"
    links=$(ip -n "$host" -j link show | python3 -c 'import json,sys; print(" ".join(l["ifname"] for l in json.load(sys.stdin)))')
    names=$(ls /run/netns)
    echo "host links: $links"
    echo "namespaces: $names"
    ! grep -qE '(^| )(veth|br-)' <<<"$links" && [ "$names" = "$host" ]
  }

  for backend in ${BERTH_CABI_BACKENDS:-iptables}; do
    export BERTH_BACKEND=$backend
    t "[$backend] C example (berth_example.c)" "$work/berth_example" "$hostpath" "$state/$backend-c"
    t "[$backend] nothing left after the C example" nothing_left "$state/$backend-c"
    t "[$backend] Python ctypes example" env BERTH_LIBRARY="$lib" BERTH_PROXY_BIN="$proxy" python3 Examples/python/berth_example.py "$hostpath" "$state/$backend-py"
    t "[$backend] nothing left after the Python example" nothing_left "$state/$backend-py"
    t "[$backend] statuses, bad arguments, threads (abi_check)" env BERTH_PROXY_BIN="$proxy" "$work/abi_check" "$hostpath" "$state/$backend-check"
    t "[$backend] nothing left after abi_check" nothing_left "$state/$backend-check"
    t "[$backend] TAP attach: fd custody, persistent, bad input (tap_check)" "$work/tap_check" "$hostpath" "$state/$backend-tap"
    t "[$backend] nothing left after tap_check" nothing_left "$state/$backend-tap"
    t "[$backend] JSON keys and error objects (json_shapes.py)" \
      env BERTH_LIBRARY="$lib" python3 Tests/CABI/json_shapes.py include/berth.h "$hostpath" "$state/$backend-shapes"
    t "[$backend] nothing left after json_shapes.py" nothing_left "$state/$backend-shapes"
  done
  rm -rf "$state"
  summary
  exit
fi

# ---- 1. Header ------------------------------------------------------------------------------
t "header: gcc -std=c99 -Wall -Wextra -pedantic -Werror" gcc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -x c include/berth.h
t "header: g++ -fsyntax-only -Wall -Wextra -pedantic -Werror" g++ -Wall -Wextra -pedantic -Werror -fsyntax-only -x c++ include/berth.h
if command -v clang >/dev/null; then
  t "header: clang -std=c99 -pedantic -Wnullability-completeness" clang -std=c99 -Wall -Wextra -pedantic -Werror -Wnullability-completeness -fsyntax-only -x c include/berth.h
  t "header: clang++ -pedantic" clang -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -fsyntax-only include/berth.h
fi

# ---- 2. Build and install into a scratch prefix --------------------------------------------
rm -rf "$work"
mkdir -p "$work"
t "build and install libberth (scripts/install.sh BERTH_INSTALL=lib)" \
  env BERTH_INSTALL=lib PREFIX="$work/prefix" BERTH_LIB_SCRATCH=.build-cabi-rel BERTH_NO_LDCONFIG=1 \
  BERTH_LIB_SO="${BERTH_LIB_SO:-}" bash scripts/install.sh
lib="$work/prefix/lib/libberth.so.0"
if [ ! -f "$lib" ]; then
  echo "no library, stopping"
  summary
  exit 1
fi

# ---- 3. The shared object -------------------------------------------------------------------
declared=$(grep -oE '\bberth_[a-z_]+\(' include/berth.h | tr -d '(' | sort -u)
# Global and weak definitions only (nm: upper case, or u/v/w); lower case ones are local.
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Zuvw]$/ { print $3 }' | sort -u)
t "exports only berth_* symbols" bash -c '[ -n "$1" ] && ! grep -v "^berth_" <<<"$1"' _ "$exported"
t "exports exactly the header's functions" diff <(echo "$declared") <(echo "$exported")
t "version script lists exactly the header's functions" \
  diff <(echo "$declared") <(grep -oE '^ *berth_[a-z_]+;' Sources/BerthC/libberth.map | tr -d ' ;' | sort -u)
t "SONAME is libberth.so.0" bash -c 'grep -q "SONAME.*\[libberth.so.0\]" <<<"$(readelf -d "$1")"' _ "$lib"
t "self-contained: needs no Swift or Foundation library" \
  bash -c 'needed=$(readelf -d "$1" | grep NEEDED); echo "$needed"; ! grep -qiE "swift|foundation|dispatch|icu" <<<"$needed"' _ "$lib"
t "libberth.so links to libberth.so.0" test "$(readlink "$work/prefix/lib/libberth.so")" = libberth.so.0

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
t "pkg-config knows berth" pkg-config --exists --print-errors berth
t "C example builds: gcc -std=c99 -pedantic -Werror \$(pkg-config --cflags --libs berth)" \
  bash -c 'gcc -std=c99 -Wall -Wextra -pedantic -Werror -o "$1/berth_example" Examples/c/berth_example.c $(pkg-config --cflags --libs berth)' _ "$work"
t "C example resolves libberth without LD_LIBRARY_PATH" \
  bash -c 'env -u LD_LIBRARY_PATH ldd "$1/berth_example" | grep -F "libberth.so.0 => $2"' _ "$work" "$lib"
t "C++ program builds and links against berth.h" bash -c '
  printf "#include <berth.h>\nint main() { return berth_abi_version() == BERTH_ABI_VERSION ? 0 : 1; }\n" > "$1/abi.cpp" &&
  g++ -Wall -Wextra -pedantic -Werror -o "$1/abi_cpp" "$1/abi.cpp" $(pkg-config --cflags --libs berth) && "$1/abi_cpp"' _ "$work"

# Every status of berth.h has its own name: the program is generated from the header's enum.
t "status names: generated from berth.h's enum (values exactly 0..N)" \
  bash -c 'python3 Tests/CABI/gen_status_names.py include/berth.h > "$1/status_names.c"' _ "$work"
t "status names: berth_status_name(X) is \"X\" for every status, BERTH_ERR_UNKNOWN past them" \
  bash -c 'gcc -std=c99 -Wall -Wextra -pedantic -Werror -o "$1/status_names" "$1/status_names.c" $(pkg-config --cflags --libs berth) &&
    "$1/status_names"' _ "$work"

t "abi_check.c builds (c99, pthreads)" \
  bash -c 'gcc -std=c99 -Wall -Wextra -pedantic -Werror -Wno-nonnull -pthread -o "$1/abi_check" Tests/CABI/abi_check.c $(pkg-config --cflags --libs berth)' _ "$work"

# ---- 4. Run inside a sandbox network namespace -----------------------------------------------
t "tap_check.c builds (c99 + POSIX)" \
  bash -c 'gcc -std=c99 -Wall -Wextra -pedantic -Werror -o "$1/tap_check" Tests/CABI/tap_check.c $(pkg-config --cflags --libs berth)' _ "$work"

BERTH_HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
export BERTH_HOST_NETNS
out=$(mktemp)
unshare --net --mount -- scripts/in-sandbox.sh scripts/test-c-abi.sh --in-sandbox | tee "$out"
inner=$(tail -n 1 "$out")
rm -f "$out"
if [[ $inner =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
else
  echo "FAIL  sandbox run (no summary line)"
  failed=$((failed + 1))
fi
summary
