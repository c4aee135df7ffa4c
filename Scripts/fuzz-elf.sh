#!/usr/bin/env bash
# Fuzzes the ELF loader with libFuzzer: `Scripts/fuzz-elf.sh [RUNS] [SECONDS]` (default
# 1,000,000 executions, at most 600 s). Seeds: the built guest images plus Fuzz/ELFLoader/seeds.
# Crashers land in Fuzz/ELFLoader/regressions/ (commit them: ELFImageTests replays them).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
seconds="${2:-600}"
work=.build/fuzz-elf
# GuestABI.swift imports KVM for one constant (LongMode.stackSize); the fuzz targets build
# without KVM, so they compile a copy that takes the constant from Sources/KVM/LongMode.swift.
guest_abi() {
  local stack
  stack=$(grep -o 'static let stackSize: UInt64 = [0-9* ]*' Sources/KVM/LongMode.swift | sed 's/.*= //')
  [ -n "$stack" ] || { echo "fuzz: LongMode.stackSize not found in Sources/KVM/LongMode.swift" >&2; exit 1; }
  { echo "enum LongMode { static let stackSize: UInt64 = $stack }"; grep -v '^import KVM$' Sources/MicroVM/Boot/GuestABI.swift; } > "$1"
}
mkdir -p "$work/corpus"
guest_abi "$work/GuestABI.swift"
swift build --product gmem >/dev/null
find .build -path '*GuestBuilder*' -name '*.elf' -exec cp {} "$work/corpus/" \;
cp Fuzz/ELFLoader/seeds/* "$work/corpus/" 2>/dev/null || true
swiftc -sanitize=fuzzer,address -parse-as-library -Onone -g \
  Fuzz/ELFLoader/main.swift Sources/MicroVM/Boot/ELFImage.swift "$work/GuestABI.swift" \
  -o "$work/fuzz-elf"
set +e
"$work/fuzz-elf" -runs="$runs" -max_total_time="$seconds" -max_len=4096 \
  -artifact_prefix=Fuzz/ELFLoader/regressions/ "$work/corpus" 2>"$work/log"
status=$?
set -e
tail -n 3 "$work/log"
executions=$(grep -oE '#[0-9]+' "$work/log" | tail -1 | tr -d '#')
if [ "$status" -eq 0 ]; then
  echo "elf-fuzz: ${executions:-0} executions, 0 crashes"
  echo "1 passed, 0 failed"
else
  echo "elf-fuzz: crash after ${executions:-?} executions (see Fuzz/ELFLoader/regressions/)"
  echo "0 passed, 1 failed"
  exit 1
fi
