#!/usr/bin/env bash
# The code is formatted by swift-format (it ships with the toolchain) with the repository's
# .swift-format: 4-space indentation, 120 columns. `swift format lint --strict` fails on any
# line the formatter would change and on the enabled lint rules.
#
#   Scripts/check-format.sh         check
#   Scripts/check-format.sh --fix   format in place (then review and commit)
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Sources Tests Package.swift Guests Fuzz Benchmarks Plugins)
if [ "${1:-}" = "--fix" ]; then
    swift format format -i -r --parallel "${paths[@]}"
    exit 0
fi
if ! swift format lint --strict -r --parallel "${paths[@]}"; then
    echo "check-format: run Scripts/check-format.sh --fix and commit the result" >&2
    exit 1
fi
echo "check-format: every Swift file is formatted (.swift-format)"
