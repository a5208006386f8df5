#!/usr/bin/env bash
# Native TensorFlow backend: build it when this machine can (pip + C++ compiler +
# make + Node headers), then run the native test set (test/native) against it.
#
#   build impossible        -> prints "native: skipped (<reason>)", exits 0
#   build possible, fails   -> exits non-zero
#   tests fail              -> exits non-zero
#
# GANON_NATIVE_DIR picks the build directory (default <repo>/.native, which
# survives `npm ci`); a second run reuses a working build in a second or so.
set -uo pipefail
cd "$(dirname "$0")/.."
export GANON_NATIVE_DIR="${GANON_NATIVE_DIR:-$PWD/.native}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
node scripts/setup-native.mjs --dir "$GANON_NATIVE_DIR" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 2 ]; then
  reason="$(sed -n 's/^setup-native: cannot build: //p' "$log" | tail -n 1)"
  echo "native: skipped (${reason:-prerequisite missing})"
  exit 0
fi
if [ "$rc" -ne 0 ]; then
  echo "native: build FAILED (setup-native exit $rc)" >&2
  exit "$rc"
fi

GANON_NATIVE_TESTS=1 npx vitest run test/native
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "native: tests FAILED (exit $rc)" >&2
  exit "$rc"
fi
echo "native: ok ($GANON_NATIVE_DIR)"
