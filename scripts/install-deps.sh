#!/usr/bin/env bash
# Installs every system package Berth needs to build, test and run its demo on Debian 12.
# Idempotent: packages already present are left alone. Must run as root.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-deps: run as root" >&2; exit 1; fi
pkgs=(pkg-config libmnl-dev libnftnl-dev libcap-dev iproute2 iptables nftables
      util-linux iputils-ping procps jq gcc python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Docker 20.10 oracle (docs/oracle.md): Debian 12's docker.io and busybox-static (its image).
# The package's service must never start: a policy-rc.d that denies every start is put in place
# first (kept, so upgrades do not start it either), and nothing may run afterwards.
oracle=()
for p in docker.io busybox-static; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || oracle+=("$p")
done
if [ "${#oracle[@]}" -gt 0 ]; then
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# Installed by Berth scripts/install-deps.sh: no package service may start.\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  grep -q "exit 101" /usr/sbin/policy-rc.d || { echo "install-deps: /usr/sbin/policy-rc.d does not deny service starts" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${oracle[@]}"
fi
if pgrep -x dockerd >/dev/null && [ "$(stat -L -c %i /proc/"$(pgrep -x dockerd | head -1)"/ns/net)" = "$(stat -L -c %i /proc/self/ns/net)" ]; then
  echo "install-deps: a dockerd runs in this network namespace; the oracle never starts one here" >&2
fi

