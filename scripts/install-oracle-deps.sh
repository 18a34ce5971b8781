#!/usr/bin/env bash
# Installs what the Docker 20.10 oracle suite needs (docs/oracle.md): Debian 12's docker.io and
# busybox-static (its image). Only the tests need them; scripts/test.sh calls this when run as root.
# Idempotent. The package's services must never start on this machine: while apt installs, a
# policy-rc.d denies every service start (one that Berth put there is removed again afterwards;
# one that was already there is left as it was), and the oracle only ever runs dockerd inside
# private namespaces of its own (scripts/oracle-dockerd.sh).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-oracle-deps: run as root" >&2; exit 1; fi
"$(dirname "$0")/apt-install-no-services.sh" install-oracle-deps "docker.io busybox-static" "docker.socket docker.service containerd.service"
if pid=$(pgrep -x dockerd | head -1) && [ -n "$pid" ] \
   && [ "$(stat -L -c %i /proc/"$pid"/ns/net)" = "$(stat -L -c %i /proc/self/ns/net)" ]; then
  echo "install-oracle-deps: a dockerd runs in this network namespace; the oracle never starts one here" >&2
fi
