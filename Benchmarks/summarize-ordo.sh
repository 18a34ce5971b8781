#!/usr/bin/env bash
# Condenses ordo-one text output (run.sh / `swift package benchmark`, default text format) into one
# Markdown row per benchmark: wall clock p50 / p99 (ms), mallocs p50, peak RSS p50 (MiB).
#   usage: ./summarize-ordo.sh results/ordo-Controller.txt [results/ordo-Firewall.txt ...]
set -euo pipefail
echo "| benchmark | wall p50 ms | wall p99 ms | mallocs p50 | peak RSS p50 MiB | samples |"
echo "|---|---:|---:|---:|---:|---:|"
for f in "$@"; do
  awk '
    function scale(label,   u) {  # unit multiplier from "(μs)", "(ms)", "(ns)", "(K)", "(M)", "(G)"
      u = 1
      if (label ~ /\(μs\)/) u = 0.001; else if (label ~ /\(ns\)/) u = 0.000001; else if (label ~ /\(s\)/) u = 1000
      else if (label ~ /\(K\)/) u = 1000; else if (label ~ /\(M\)/) u = 1000000; else if (label ~ /\(G\)/) u = 1000000000
      return u
    }
    /^[a-z].*(endpoints|networks)=[0-9]+$/ { name = $0; next }
    /│/ && name != "" {
      n = split($0, c, "│"); label = c[2]
      if (label ~ /Time \(wall clock\)/) { u = scale(label); if (label ~ /\((ms|μs|ns|s)\)/) {} else u = 0.001; p50w = c[5] * u; p99w = c[8] * u; samples = c[10] + 0 }
      else if (label ~ /Malloc \(total\)/) { mal = c[5] * scale(label) }
      else if (label ~ /Memory \(resident peak\)/) { u = scale(label); rss = c[5] * u / 1048576 }
    }
    /╛/ && name != "" { printf "| %s | %.3f | %.3f | %d | %.1f | %d |\n", name, p50w, p99w, mal, rss, samples; name = "" }
  ' "$f"
done
