#!/usr/bin/env bash
# Installs what the CNI runtime suite needs (Tests/BerthCNITests, RuntimeTests): Debian 12's podman
# (CNI backend), containerd + runc (`ctr run --cni`), the reference CNI plugins in /usr/lib/cni
# (portmap, tuning, firewall, bridge, host-local: chaining and the benchmark's baseline) and
# busybox-static (the offline image). scripts/test.sh calls this when run as root. Idempotent.
# The packages' services must never start on this machine: while apt installs, a policy-rc.d
# denies every service start (one that Berth put there is removed again afterwards), and the
# tests run podman and containerd only inside private namespaces of their own.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-cni-deps: run as root" >&2; exit 1; fi
missing=()
for p in podman containernetworking-plugins containerd runc busybox-static iptables; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  ours=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# Put here by Berth scripts/install-cni-deps.sh while it installs runtimes.\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    ours=1
  fi
  grep -q "exit 101" /usr/sbin/policy-rc.d || { echo "install-cni-deps: /usr/sbin/policy-rc.d does not deny service starts" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -d /run/systemd/system ]; then
    systemctl disable --now containerd.service podman.socket podman.service >/dev/null 2>&1 || true
  fi
  if [ "$ours" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
for d in containerd podman; do
  if pid=$(pgrep -x "$d" | head -1) && [ -n "$pid" ] \
     && [ "$(stat -L -c %i /proc/"$pid"/ns/net)" = "$(stat -L -c %i /proc/self/ns/net)" ]; then
    echo "install-cni-deps: a $d runs in this network namespace; the tests never start one here" >&2
  fi
done
