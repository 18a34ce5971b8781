#!/usr/bin/env bash
# Installs Debian packages whose services must never start on this machine (the test suites run
# those daemons only inside private namespaces of their own): the one place for the oracle's and
# the CNI runtimes' packages. While apt installs, a policy-rc.d denies every service start (one
# put here is removed again afterwards; one that was already there is left as it was); where
# systemd runs, the given units are disabled afterwards (socket activation included). Idempotent:
# installed packages are skipped.
#   usage: scripts/apt-install-no-services.sh WHO "PKG..." "UNIT..."
set -euo pipefail
who=$1; read -r -a packages <<< "$2"; read -r -a units <<< "${3:-}"
if [ "$(id -u)" != 0 ]; then echo "$who: run as root" >&2; exit 1; fi
missing=()
for p in "${packages[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done
[ "${#missing[@]}" -gt 0 ] || exit 0
ours=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# Put here by Berth scripts/apt-install-no-services.sh (%s) while it installs.\nexit 101\n' "$who" > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  ours=1
fi
grep -q "exit 101" /usr/sbin/policy-rc.d || { echo "$who: /usr/sbin/policy-rc.d does not deny service starts" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ -d /run/systemd/system ] && [ "${#units[@]}" -gt 0 ]; then
  systemctl disable --now "${units[@]}" >/dev/null 2>&1 || true
fi
if [ "$ours" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
