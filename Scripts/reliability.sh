#!/usr/bin/env bash
# GmemKit reliability checks (RELIABILITY.md): fuzzing, soak, fault injection, sanitizers.
# Bounded: about 15–30 minutes on the reference host. Prints one summary line per check and a
# final "N passed, N failed"; exits non-zero if any check failed.
#   Scripts/reliability.sh            everything
#   QUICK=1 Scripts/reliability.sh    smaller counts (a few minutes), no sanitizers
set -uo pipefail
cd "$(dirname "$0")/.."

quick="${QUICK:-0}"
elf_runs=1000000; guest_runs=100000; soak_cycles=10000
if [ "$quick" = 1 ]; then elf_runs=100000; guest_runs=5000; soak_cycles=1000; fi

passed=0; failed=0
report() {  # report NAME STATUS DETAIL
  if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "PASS  $1: $3"; else failed=$((failed + 1)); echo "FAIL  $1: $3"; fi
}
# expect_line NAME EXPECTED_EXIT PATTERN -- COMMAND...: the command must exit with
# EXPECTED_EXIT and print PATTERN (one readable line), never crash.
expect_line() {
  local name="$1" want="$2" pattern="$3"; shift 4
  local out status
  out=$("$@" 2>&1); status=$?
  if [ "$status" = "$want" ] && grep -qE "$pattern" <<<"$out"; then
    report "$name" 0 "exit $status, \"$(grep -E "$pattern" <<<"$out" | head -1)\""
  else
    report "$name" 1 "exit $status (want $want), output: $(tail -2 <<<"$out" | tr '\n' ' ')"
  fi
}

swift build -c release --product gmem >/dev/null 2>&1 || { echo "FAIL  build"; echo "0 passed, 1 failed"; exit 1; }
gmem="$(swift build -c release --show-bin-path)/gmem"

# 1. ELF loader fuzzing (libFuzzer + AddressSanitizer).
out=$(Scripts/fuzz-elf.sh "$elf_runs" 900 2>&1); status=$?
report "elf-fuzz" "$status" "$(grep -E '^elf-fuzz:' <<<"$out")"

# 2. Random guest code at CPL3 with random registers.
out=$("$gmem" fuzz --runs "$guest_runs" --seed 1 2>/dev/null); status=$?
report "guest-fuzz" "$status" "$(grep -E '^fuzz:' <<<"$out")"

# 3. Soak: whole VM lifecycles in one process.
out=$("$gmem" soak --cycles "$soak_cycles" 2>/dev/null); status=$?
report "soak" "$status" "$(grep -E '^soak:' <<<"$out") $(grep -E '^descriptors' <<<"$out")"

# 4. Fault injection: each must end in one readable line and a non-zero exit, never a crash.
expect_line "released-guest-memfd" 1 "memory fault at 0x[0-9a-f]+ .* in region extra1" -- "$gmem" run release
expect_line "vcpu-kicked-by-timeout" 1 "did not finish before the timeout" -- "$gmem" run pingpong --param 100000000 --timeout 0.3
expect_line "mmap-failure" 1 "ENOMEM" -- bash -c "ulimit -v 600000; exec '$gmem' run --memory 1G"
expect_line "too-many-open-files" 1 "EMFILE" -- bash -c "ulimit -n 9; exec '$gmem' run smp --vcpus 4"
expect_line "bad-image" 1 "not an ELF file" -- "$gmem" run /etc/passwd
head -c 100 "$(find .build -path '*GuestBuilder*' -name hello.elf | head -1)" > /tmp/gmemkit-truncated.elf
expect_line "truncated-image" 1 "truncated ELF" -- "$gmem" run /tmp/gmemkit-truncated.elf

# Allocation failure under a memory cgroup limit: the kernel charges guest_memfd pages to the
# cgroup and OOM-kills the VMM (exit 137) rather than failing fallocate/KVM_RUN with an errno.
# The check is that this is what happens and that all the memory is returned afterwards.
cg=/sys/fs/cgroup/memory/gmemkit-reliability
if [ -w /sys/fs/cgroup/memory ] && mkdir -p "$cg" 2>/dev/null; then
  echo $((48 * 1024 * 1024)) > "$cg/memory.limit_in_bytes"
  (echo $BASHPID > "$cg/cgroup.procs"; exec "$gmem" run touch --memory 256M --timeout 20 >/dev/null 2>&1); status=$?
  usage=$(cat "$cg/memory.usage_in_bytes")
  rmdir "$cg" 2>/dev/null
  if [ "$status" = 137 ] && [ "$usage" -lt $((4 * 1024 * 1024)) ]; then
    report "memcg-allocation-failure" 0 "OOM-killed as documented (exit 137), cgroup usage back to $usage bytes"
  else
    report "memcg-allocation-failure" 1 "exit $status, cgroup usage $usage bytes"
  fi
else
  echo "SKIP  memcg-allocation-failure: no writable cgroup v1 memory controller here"
fi

# 5. Sanitizers over the whole test suite (RELIABILITY.md explains the LSan suppressions).
if [ "$quick" != 1 ]; then
  out=$(swift test --sanitize=thread --scratch-path .build-tsan 2>&1); status=$?
  report "sanitize-thread" "$status" "$(grep -E 'Test run with' <<<"$out" | tail -1) $(grep -c 'WARNING: ThreadSanitizer' <<<"$out") warnings"
  out=$(LSAN_OPTIONS="suppressions=$PWD/Scripts/lsan.supp" swift test --sanitize=address --scratch-path .build-asan 2>&1); status=$?
  report "sanitize-address" "$status" "$(grep -E 'Test run with' <<<"$out" | tail -1)"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
