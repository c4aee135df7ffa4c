#!/usr/bin/env bash
# The repository stands alone: no file refers to a path outside it (the shared notes it grew
# from, the machine it was written on), and every relative Markdown link resolves to a file
# inside the repository. Run by .ci/run; Tests/GmemConformanceTests/StandaloneTests.swift
# checks the same from `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)
status=0

# Paths that leave the repository: the sibling notes directory and absolute work paths.
if grep -rnI --exclude-dir=.build --exclude-dir=.git --exclude-dir=.swiftpm --exclude=.git -e '\.\./shared' -e '/wor[k]/' . ; then
    echo "check-standalone: the lines above refer to paths outside the repository" >&2
    status=1
fi

# Relative Markdown links must resolve inside the repository, to a file or folder that exists.
while IFS= read -r -d '' file; do
    dir=$(dirname "$file")
    while IFS= read -r target; do
        target=${target#*](}
        target=${target%)}
        target=${target%% *}
        case "$target" in
            http://*|https://*|mailto:*|\#*|"") continue ;;
        esac
        path=${target%%#*}
        resolved=$(realpath -m "$dir/$path")
        case "$resolved" in
            "$root"|"$root"/*) ;;
            *) echo "$file: link $target leaves the repository" >&2; status=1; continue ;;
        esac
        if [ ! -e "$resolved" ]; then
            echo "$file: link $target does not resolve" >&2
            status=1
        fi
    done < <(grep -o '\]([^)]*)' "$file" || true)
done < <(find . -name '*.md' -not -path './.build/*' -not -path './.git/*' -not -path '*/.build/*' -print0)

exit $status
