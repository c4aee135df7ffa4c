#!/usr/bin/env bash
# API documentation (issue 14 item 8). Builds the DocC archives of the documented modules with
# swift-docc-plugin, warnings as errors (an unresolved ``link``, a bad Topics group, a
# parameter list that names no real parameter), and then fails when a public, non-SPI symbol
# declared in one of those modules has no doc comment of its own, or when a throwing one has
# no `- Throws:` naming its error type.
#
# The gate reads the symbol graphs the plugin extracted (each symbol carries its source
# location and its own doc comment, so a compiler-synthesized member such as the raw-value
# `init(rawValue:)` or an `Equatable` `!=` is not asked for one; a comment inherited from a
# standard-library protocol does not count). docc's own experimental coverage figures
# (documentation-coverage.json, "Abstract" column) are printed beside it for each module.
#
#   Scripts/check-docs.sh            all modules below
#   Scripts/check-docs.sh KVM ...    only those
# Archives: .build/plugins/Swift-DocC/outputs/<Module>.doccarchive
set -euo pipefail
cd "$(dirname "$0")/.."
MODULES=(GmemModel GmemConformance KVM GuestMemory MicroVM)
if [ "$#" -gt 0 ]; then MODULES=("$@"); fi

args=()
for module in "${MODULES[@]}"; do args+=(--target "$module"); done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
# Synthesized members (`!=`, `hash(into:)` of a derived conformance) are left out of the
# archives: they have no source to document and only add pages saying so.
if ! swift package generate-documentation "${args[@]}" \
    --experimental-skip-synthesized-symbols \
    --warnings-as-errors \
    --experimental-documentation-coverage --coverage-summary-level none >"$log" 2>&1; then
    grep -E "error:|warning:|^ *-->|^ *[0-9]+ [|+]" "$log" | grep -v "'docc convert' invocation failed" >&2 || cat "$log" >&2
    echo "check-docs: generate-documentation failed (warnings are errors here); see above" >&2
    exit 1
fi
echo "check-docs: documentation built for ${MODULES[*]} in $(( $(date +%s) - start )) s"

python3 - "${MODULES[@]}" <<'PY'
import glob, json, os, re, sys

modules = sys.argv[1:]
failures = 0

def graphs(module):
    """The symbol graphs the plugin extracted for `module`, newest package directory first."""
    dirs = glob.glob(f".build/*/extracted-symbols/*/{module}")
    if not dirs:
        sys.exit(f"check-docs: no extracted symbol graph for {module} under .build/*/extracted-symbols")
    newest = max(dirs, key=os.path.getmtime)
    return sorted(glob.glob(os.path.join(newest, "*.symbols.json")))

def docc_abstracts(module):
    """docc's coverage for `module`: (symbols with an abstract, symbols), module page excluded."""
    path = f".build/plugins/Swift-DocC/outputs/{module}.doccarchive/documentation-coverage.json"
    entries = [e for e in json.load(open(path))
               if e["kind"]["isSymbol"] and e["kind"]["name"] != "Module"]
    return sum(1 for e in entries if e["hasAbstract"]), len(entries)

for module in modules:
    source_dir = f"/Sources/{module}/"
    seen = set()
    total = documented = throwing = throws_documented = 0
    problems = []
    for path in graphs(module):
        for symbol in json.load(open(path))["symbols"]:
            if symbol["accessLevel"] not in ("public", "open") or symbol.get("spi"):
                continue
            if symbol["kind"]["identifier"] == "swift.extension":
                continue  # an extension block is not a symbol of its own; its members are
            uri = symbol.get("location", {}).get("uri", "")
            if source_dir not in uri:
                continue  # synthesized, or declared in another module
            precise = symbol["identifier"]["precise"]
            if precise in seen:
                continue
            seen.add(precise)
            where = "{}:{}".format(uri.split(source_dir, 1)[1],
                                   symbol["location"]["position"]["line"] + 1)
            name = ".".join(symbol["pathComponents"])
            total += 1
            comment = symbol.get("docComment")
            own = comment is not None and comment.get("module") == module
            text = "\n".join(line["text"] for line in comment["lines"]) if own else ""
            # The summary is the first line; a comment of `- Parameter`/`- Throws:` lines alone has none.
            summary = next((line.strip() for line in text.split("\n") if line.strip()), "")
            if own and summary and not summary.startswith("- "):
                documented += 1
            elif own and summary:
                problems.append(f"{module}/{where}: {name}'s doc comment has no summary line")
            else:
                problems.append(f"{module}/{where}: {name} has no doc comment")
            fragments = symbol.get("declarationFragments", [])
            throws_at = [i for i, f in enumerate(fragments)
                         if f["kind"] == "keyword" and f["spelling"] in ("throws", "rethrows")]
            if not throws_at:
                continue
            throwing += 1
            # `throws(KVMError)`: the Throws paragraph names the type (its last component).
            error_type = None
            i = throws_at[-1]
            if i + 2 < len(fragments) and fragments[i + 1]["spelling"].startswith("("):
                error_type = fragments[i + 2]["spelling"].split(".")[-1]
            match = re.search(r"^\s*- Throws:(.*(?:\n(?!\s*- ).*)*)", text, re.MULTILINE)
            if match is None:
                problems.append(f"{module}/{where}: {name} throws but has no `- Throws:`")
            elif error_type and len(error_type) > 1 and error_type not in match.group(1):
                problems.append(f"{module}/{where}: {name}'s `- Throws:` does not name {error_type}")
            else:
                throws_documented += 1
    with_abstract, docc_total = docc_abstracts(module)
    print(f"check-docs: {module}: {documented}/{total} public symbols documented, "
          f"{throws_documented}/{throwing} throwing ones with `- Throws:`; "
          f"docc coverage (Abstract): {with_abstract}/{docc_total}")
    for problem in sorted(problems):
        print("  " + problem)
    failures += len(problems)

if failures:
    sys.exit(f"check-docs: {failures} problem(s) above")
PY

# The ```swift blocks of each catalog page are type-checked against the modules just built, as
# one program in the body of a throwing function (their `import` lines at the top), so a page
# cannot drift from the API it shows. (The getting-started article is also compiled and run by
# Tests/KVMTests/ArticleExample*.swift.)
bin=$(swift build --show-bin-path)
python3 - "$bin" "${MODULES[@]}" <<'PY'
import glob, os, re, subprocess, sys, tempfile

bin_path, modules = sys.argv[1], sys.argv[2:]
maps = (glob.glob(os.path.join(bin_path, "*.build", "module.modulemap"))
        + glob.glob("Sources/*/include/module.modulemap")
        + glob.glob(".build/checkouts/*/Sources/*/include/module.modulemap"))
flags = ["-I", os.path.join(bin_path, "Modules")]
for module_map in maps:
    flags += ["-Xcc", f"-fmodule-map-file={module_map}"]
failures = checked = 0
with tempfile.TemporaryDirectory() as scratch:
    for module in modules:
        for page in sorted(glob.glob(f"Sources/{module}/{module}.docc/**/*.md", recursive=True)):
            text = open(page).read()
            blocks = list(re.finditer(r"^```swift\n(.*?)^```$", text, re.MULTILINE | re.DOTALL))
            if not blocks:
                continue
            # The blocks of one page are one program, in order (an article builds on its
            # earlier blocks); each block's `import` lines go to the top.
            imports, code = [f"import {module}"], []
            for block in blocks:
                for line in block.group(1).split("\n"):
                    (imports if line.startswith("import ") else code).append(line)
            source = "\n".join(imports + ["func snippet() throws {"] + code + ["}", ""])
            path = os.path.join(scratch, f"{module}-{os.path.basename(page)}.swift")
            open(path, "w").write(source)
            checked += len(blocks)
            result = subprocess.run(["swiftc", "-typecheck", *flags, path], capture_output=True, text=True)
            if result.returncode != 0:
                failures += 1
                print(f"check-docs: the swift blocks of {page} do not type-check (as one program):")
                print(result.stderr)
print(f"check-docs: {checked} swift block(s) of the catalogs type-checked")
if failures:
    sys.exit(f"check-docs: {failures} page(s) whose swift blocks do not type-check against the API")
PY
