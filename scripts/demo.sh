#!/usr/bin/env bash
# Build arom and run the demo VM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/bootstrap.sh"
B=$top/build
P=$B/guest-tools/payloads
echo "=== arom demo: a 2-vCPU guest payload under arom-vmm"
"$B/arom-vmm" --vcpus 2 --mem 256M "$P/hello.elf" -- demo
"$B/arom-vmm" --vcpus 2 --mem 256M --stats-json "$B/demo-stats.json" "$P/smp.elf"
echo "=== summary ($B/demo-stats.json)"
jq -c '{exit_status, run_time_s, launch_to_first_hypercall_s, exits, hypercalls}' "$B/demo-stats.json"
