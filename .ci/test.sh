#!/usr/bin/env bash
# The one test command (README "Testing"): formatting, lints on every crate (generated code
# included), every test, and the committed generated/ being current. Prints each stage's time.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
total_start=$SECONDS
stage() {
    local name=$1
    shift
    local start=$SECONDS
    echo "==> $name: $*"
    "$@"
    echo "<== $name took $((SECONDS - start)) s"
}

stage fmt cargo fmt --all --check
stage clippy cargo clippy --workspace --all-targets --locked -- -D warnings
stage test cargo test --workspace --locked
stage generated-is-current cargo run --quiet --locked -p generator -- --check

echo "all stages passed in $((SECONDS - total_start)) s"
