#!/usr/bin/env bash
# Shared by Scripts/fuzz-{elf,snapshot,scenario}.sh (sourced, not run).

# guest_abi OUT: GuestABI.swift imports KVM for one constant (LongMode.stackSize); the fuzz
# targets build without KVM, so they compile a copy that takes the constant from
# Sources/KVM/LongMode.swift.
guest_abi() {
  local stack
  stack=$(grep -o 'static let stackSize: UInt64 = [0-9* ]*' Sources/KVM/LongMode.swift | sed 's/.*= //')
  [ -n "$stack" ] || { echo "fuzz: LongMode.stackSize not found in Sources/KVM/LongMode.swift" >&2; exit 1; }
  { echo "enum LongMode { static let stackSize: UInt64 = $stack }"; grep -v '^import KVM$' Sources/MicroVM/Boot/GuestABI.swift; } > "$1"
}

# run_fuzzer LABEL BINARY REGRESSIONS LOG [libFuzzer arguments…]: runs a built libFuzzer
# target with its crashers written under REGRESSIONS/, then prints the execution count and
# one `N passed, M failed` line; exits 1 on a crash.
run_fuzzer() {
  local label=$1 binary=$2 regressions=$3 log=$4 status executions
  shift 4
  set +e
  "$binary" -artifact_prefix="$regressions/" "$@" 2>"$log"
  status=$?
  set -e
  tail -n 3 "$log"
  executions=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
  if [ "$status" -eq 0 ]; then
    echo "$label: ${executions:-0} executions, 0 crashes"
    echo "1 passed, 0 failed"
  else
    echo "$label: crash after ${executions:-?} executions (see $regressions/)"
    echo "0 passed, 1 failed"
    exit 1
  fi
}
