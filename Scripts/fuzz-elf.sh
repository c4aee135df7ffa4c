#!/usr/bin/env bash
# Fuzzes the ELF loader with libFuzzer: `Scripts/fuzz-elf.sh [RUNS] [SECONDS]` (default
# 1,000,000 executions, at most 600 s). Seeds: the built guest images plus Fuzz/ELFLoader/seeds.
# Crashers land in Fuzz/ELFLoader/regressions/ (commit them: ELFImageTests replays them).
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/fuzz-common.sh
runs="${1:-1000000}"
seconds="${2:-600}"
work=.build/fuzz-elf
mkdir -p "$work/corpus"
guest_abi "$work/GuestABI.swift"
swift build --product gmem >/dev/null
find .build -path '*GuestBuilder*' -name '*.elf' -exec cp {} "$work/corpus/" \;
cp Fuzz/ELFLoader/seeds/* "$work/corpus/" 2>/dev/null || true
# The loader's own files, as the package compiles them: ELFImage.swift and HostFiles.swift need
# only the C library (ELFError's text, which names errnos through KVM, is ELFErrorText.swift,
# not needed here).
swiftc -sanitize=fuzzer,address -parse-as-library -Onone -g \
  Fuzz/ELFLoader/main.swift Sources/MicroVM/Boot/ELFImage.swift Sources/MicroVM/HostFiles.swift "$work/GuestABI.swift" \
  -o "$work/fuzz-elf"
run_fuzzer elf-fuzz "$work/fuzz-elf" Fuzz/ELFLoader/regressions "$work/log" \
  -runs="$runs" -max_total_time="$seconds" -max_len=4096 \
  "$work/corpus"
