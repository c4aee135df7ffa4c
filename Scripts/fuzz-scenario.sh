#!/usr/bin/env bash
# Fuzzes the scenario language and the model with libFuzzer: `Scripts/fuzz-scenario.sh [RUNS]
# [SECONDS]` (default 1,000,000 executions, at most 900 s). Seeds: the built-in catalogue's
# texts, Scenarios/*.gmem and Fuzz/Scenario/seeds. Crashers land in Fuzz/Scenario/regressions/
# (commit them: ScenarioPropertyTests replays them). No AddressSanitizer: the target is Swift
# without unsafe code, so what it looks for is traps (overflow, bounds, preconditions).
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/fuzz-common.sh
runs="${1:-1000000}"
seconds="${2:-900}"
work=.build/fuzz-scenario
mkdir -p "$work/corpus" "$work/module" Fuzz/Scenario/regressions
cp Scenarios/*.gmem Fuzz/Scenario/seeds/* "$work/corpus/" 2>/dev/null || true
# GmemModel as a module of its own (its sources import nothing).
swiftc -sanitize=fuzzer -parse-as-library -O -g -module-name GmemModel -emit-module \
  -emit-module-path "$work/module/GmemModel.swiftmodule" -emit-library -static \
  -o "$work/libGmemModel.a" $(find Sources/GmemModel -name '*.swift' | sort)
swiftc -sanitize=fuzzer -parse-as-library -O -g -I "$work/module" \
  Fuzz/Scenario/main.swift Sources/GmemConformance/Scenario.swift Sources/GmemConformance/ScenarioFormat.swift \
  Sources/GmemConformance/CapabilityNames.swift Sources/GmemConformance/Backend.swift \
  "$work/libGmemModel.a" -o "$work/fuzz-scenario"
run_fuzzer scenario-fuzz "$work/fuzz-scenario" Fuzz/Scenario/regressions "$work/log" \
  -runs="$runs" -max_total_time="$seconds" -max_len=1024 \
  -dict=Fuzz/Scenario/scenario.dict "$work/corpus"
