#!/usr/bin/env bash
# Fuzzes the snapshot parser with libFuzzer: `Scripts/fuzz-snapshot.sh [RUNS] [SECONDS]`
# (default 1,000,000 executions, at most 1800 s). Seeds: a small synthetic snapshot written by
# the target's own seed maker, and a real one taken by this build's gmem run (when /dev/kvm
# is there). Crashers land in
# Fuzz/Snapshot/regressions/ (commit them: SnapshotFormatTests replays them).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
seconds="${2:-1800}"
work=.build/fuzz-snapshot
# GuestABI.swift imports KVM for one constant (LongMode.stackSize); the fuzz targets build
# without KVM, so they compile a copy that takes the constant from Sources/KVM/LongMode.swift.
guest_abi() {
  local stack
  stack=$(grep -o 'static let stackSize: UInt64 = [0-9* ]*' Sources/KVM/LongMode.swift | sed 's/.*= //')
  [ -n "$stack" ] || { echo "fuzz: LongMode.stackSize not found in Sources/KVM/LongMode.swift" >&2; exit 1; }
  { echo "enum LongMode { static let stackSize: UInt64 = $stack }"; grep -v '^import KVM$' Sources/MicroVM/Boot/GuestABI.swift; } > "$1"
}
mkdir -p "$work/corpus" Fuzz/Snapshot/regressions
guest_abi "$work/GuestABI.swift"
if [ -e /dev/kvm ]; then
  swift build --product gmem >/dev/null
  .build/debug/gmem run pingpong --param 40 --memory 4M --snapshot-at exits=20 --snapshot "$work/corpus/fresh-pingpong.gsnap" >/dev/null
fi
sources=(Fuzz/Snapshot/main.swift Sources/MicroVM/Snapshot/SnapshotFormat.swift "$work/GuestABI.swift")
include=(-I Sources/CChecksum/include -Xcc -fmodule-map-file=Sources/CChecksum/include/module.modulemap)
{
  clang -c -O1 -g Sources/CChecksum/crc32c.c -I Sources/CChecksum/include -o "$work/crc32c-plain.o"
  swiftc -parse-as-library -D MAKE_SEED "${include[@]}" "${sources[@]}" "$work/crc32c-plain.o" -o "$work/seed-maker"
  clang -c -O1 -g -fsanitize=fuzzer-no-link,address Sources/CChecksum/crc32c.c -I Sources/CChecksum/include -o "$work/crc32c.o"
  swiftc -sanitize=fuzzer,address -parse-as-library -Onone -g "${include[@]}" "${sources[@]}" "$work/crc32c.o" -o "$work/fuzz-snapshot"
} >"$work/build.log" 2>&1 || { grep -v "Cannot export local symbol" "$work/build.log"; exit 1; }
"$work/seed-maker" "$work/corpus/synthetic.gsnap"
set +e
"$work/fuzz-snapshot" -runs="$runs" -max_total_time="$seconds" -max_len=65536 \
  -artifact_prefix=Fuzz/Snapshot/regressions/ "$work/corpus" 2>"$work/log"
status=$?
set -e
tail -n 3 "$work/log"
executions=$(grep -oE '#[0-9]+' "$work/log" | tail -1 | tr -d '#')
if [ "$status" -eq 0 ]; then
  echo "snapshot-fuzz: ${executions:-0} executions, 0 crashes"
  echo "1 passed, 0 failed"
else
  echo "snapshot-fuzz: crash after ${executions:-?} executions (see Fuzz/Snapshot/regressions/)"
  echo "0 passed, 1 failed"
  exit 1
fi
