#!/usr/bin/env bash
# Fuzzes the snapshot parser with libFuzzer: `Scripts/fuzz-snapshot.sh [RUNS] [SECONDS]`
# (default 1,000,000 executions, at most 1800 s). Seeds: a small synthetic snapshot written by
# the target's own seed maker, and a real one taken by this build's gmem run (when /dev/kvm
# is there). Crashers land in
# Fuzz/Snapshot/regressions/ (commit them: SnapshotFormatTests replays them).
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/fuzz-common.sh
runs="${1:-1000000}"
seconds="${2:-1800}"
work=.build/fuzz-snapshot
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
run_fuzzer snapshot-fuzz "$work/fuzz-snapshot" Fuzz/Snapshot/regressions "$work/log" \
  -runs="$runs" -max_total_time="$seconds" -max_len=65536 \
  "$work/corpus"
