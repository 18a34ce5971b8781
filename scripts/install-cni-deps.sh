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
"$(dirname "$0")/apt-install-no-services.sh" install-cni-deps "podman containernetworking-plugins containerd runc busybox-static iptables" "containerd.service podman.socket podman.service"
for d in containerd podman; do
  if pid=$(pgrep -x "$d" | head -1) && [ -n "$pid" ] \
     && [ "$(stat -L -c %i /proc/"$pid"/ns/net)" = "$(stat -L -c %i /proc/self/ns/net)" ]; then
    echo "install-cni-deps: a $d runs in this network namespace; the tests never start one here" >&2
  fi
done
