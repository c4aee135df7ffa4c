#!/usr/bin/env bash
# Strict memory safety (issue 14 item 3): every target listed below must keep
# `.strictMemorySafety()` in Package.swift, and every line of its sources that marks an
# expression `unsafe` must carry a `// SAFETY:` comment: on that line, or in the comment
# block right above it (a run of consecutive `unsafe` lines may share one block).
# Add a target here when its diagnostics are cleared; never remove one.
set -euo pipefail
cd "$(dirname "$0")/.."
STRICT_TARGETS=(KVM GuestMemory GmemModel)

status=0
manifest=$(swift package dump-package)
for target in "${STRICT_TARGETS[@]}"; do
    if ! python3 - "$target" "$manifest" <<'PY'
import json, sys
target, manifest = sys.argv[1], json.loads(sys.argv[2])
for t in manifest["targets"]:
    if t["name"] == target:
        settings = t.get("settings", [])
        if any("strictMemorySafety" in json.dumps(s) for s in settings):
            sys.exit(0)
        print(f"check-strict-memory-safety: target {target} lost .strictMemorySafety() in Package.swift")
        sys.exit(1)
print(f"check-strict-memory-safety: no target named {target} in Package.swift")
sys.exit(1)
PY
    then status=1; fi
    if ! python3 - "Sources/$target" <<'PY'
import os, re, sys
root = sys.argv[1]
unsafe_use = re.compile(r'(?<![@\w])unsafe\s+(?=[\w(&$\[_.])')
bad = 0
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if not name.endswith(".swift"):
            continue
        path = os.path.join(dirpath, name)
        lines = open(path, encoding="utf-8").read().split("\n")
        def code(line):
            return line.split("//", 1)[0]
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
                print(f"{path}:{i + 1}: `unsafe` without a // SAFETY: comment at the site")
                bad += 1
sys.exit(1 if bad else 0)
PY
    then status=1; fi
done
exit $status
