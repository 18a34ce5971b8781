#!/usr/bin/env bash
# Installs what the Docker 20.10 oracle suite needs (docs/oracle.md): Debian 12's docker.io and
# busybox-static (its image). Only the tests need them; scripts/test.sh calls this when run as root.
# Idempotent. The package's services must never start on this machine: while apt installs, a
# policy-rc.d denies every service start (one that Berth put there is removed again afterwards;
# one that was already there is left as it was), and the oracle only ever runs dockerd inside
# private namespaces of its own (scripts/oracle-dockerd.sh).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-oracle-deps: run as root" >&2; exit 1; fi
missing=()
for p in docker.io busybox-static; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  ours=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# Put here by Berth scripts/install-oracle-deps.sh while it installs docker.io.\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    ours=1
  fi
  grep -q "exit 101" /usr/sbin/policy-rc.d || { echo "install-oracle-deps: /usr/sbin/policy-rc.d does not deny service starts" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Where systemd runs, keep the units from starting later (socket activation included).
  if [ -d /run/systemd/system ]; then
    systemctl disable --now docker.socket docker.service containerd.service >/dev/null 2>&1 || true
  fi
  if [ "$ours" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
if pid=$(pgrep -x dockerd | head -1) && [ -n "$pid" ] \
   && [ "$(stat -L -c %i /proc/"$pid"/ns/net)" = "$(stat -L -c %i /proc/self/ns/net)" ]; then
  echo "install-oracle-deps: a dockerd runs in this network namespace; the oracle never starts one here" >&2
fi
