#!/usr/bin/env bash
# Installs every system package Berth needs to build, test and run its demo on Debian 12
# (the Docker 20.10 oracle of the tests needs more: scripts/install-oracle-deps.sh).
# Idempotent: packages already present are left alone. Must run as root.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-deps: run as root" >&2; exit 1; fi
pkgs=(pkg-config libmnl-dev libnftnl-dev libcap-dev iproute2 iptables nftables
      util-linux iputils-ping procps jq gcc python3)
missing=()
for p in "${pkgs[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
