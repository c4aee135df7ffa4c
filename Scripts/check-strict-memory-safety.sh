#!/usr/bin/env bash
# Strict memory safety (issue 14 item 3): EVERY Swift target of Package.swift (libraries,
# executables, test targets; a target is a Swift target when its directory holds a .swift
# file) must have `.strictMemorySafety()` in its swiftSettings, and every line of its sources
# that marks an expression `unsafe` must carry a `// SAFETY:` comment: on that line, or in the
# comment block right above it (a run of consecutive `unsafe` lines may share one block).
# C targets and plugins are not Swift targets. PENDING lists targets whose diagnostics are
# still being cleared; it only shrinks.
set -euo pipefail
cd "$(dirname "$0")/.."
PENDING=()

manifest=$(swift package dump-package)
python3 - "$manifest" "${PENDING[@]}" <<'PY'
import json, os, re, sys
manifest, pending = json.loads(sys.argv[1]), set(sys.argv[2:])
unsafe_use = re.compile(r'(?<![@\w])unsafe\s+(?=[\w(&$\[_.])')

def code(line):
    return line.split("//", 1)[0]

def unmarked(path):
    """Lines of `path` that use `unsafe` with no // SAFETY: comment at the site."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    for i, line in enumerate(lines):
        if not unsafe_use.search(code(line)) or "SAFETY:" in line:
            continue
        j = i - 1
        while j >= 0 and unsafe_use.search(code(lines[j])) and not lines[j].strip().startswith("//"):
            if "SAFETY:" in lines[j]:
                break
            j -= 1
        ok = j >= 0 and "SAFETY:" in lines[j]
        while not ok and j >= 0 and lines[j].strip().startswith("//"):
            if "SAFETY:" in lines[j]:
                ok = True
            j -= 1
        if not ok:
            found.append(i + 1)
    return found

status = 0
names = set()
for target in manifest["targets"]:
    name, kind = target["name"], target["type"]
    names.add(name)
    if kind in ("plugin", "system", "binary", "macro"):
        continue
    directory = target.get("path") or os.path.join("Tests" if kind == "test" else "Sources", name)
    sources = [os.path.join(d, f) for d, _, files in os.walk(directory) for f in sorted(files) if f.endswith(".swift")]
    if not sources:
        continue  # a C target
    strict = any("strictMemorySafety" in json.dumps(s) for s in target.get("settings", []))
    if not strict and name not in pending:
        print(f"check-strict-memory-safety: Swift target {name} has no .strictMemorySafety() in Package.swift")
        status = 1
    if strict and name in pending:
        print(f"check-strict-memory-safety: {name} is strict now: remove it from PENDING in Scripts/check-strict-memory-safety.sh")
        status = 1
    for path in sources:
        for line in unmarked(path):
            print(f"{path}:{line}: `unsafe` without a // SAFETY: comment at the site")
            status = 1
for name in sorted(pending - names):
    print(f"check-strict-memory-safety: PENDING names {name}, which is not a target")
    status = 1
sys.exit(status)
PY
