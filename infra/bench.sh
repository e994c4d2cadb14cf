#!/usr/bin/env bash
# `make bench`: figures of the service measured against the local emulator (programs that print,
# not tests that assert).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack.sh
ward_venv
export WARD_LOG_DIR="$WARD_ROOT/.local/bench-logs"
trap ward_stop EXIT
echo "==> release builds: every function, the references, the benchmarks"
cargo build --release --workspace --bins --quiet
cargo build --release -p ward-bench --examples --quiet
cargo build --release -p ward-tests --example authorizer_bench --quiet
export DYNAMODB_PORT=$(ward_free_port)
ward_local_env "$DYNAMODB_PORT"
export TABLE_NAME="ward-bench-$$"
ward_start_emulator
"${CARGO_TARGET_DIR:-target}/release/examples/authorizer_bench"
"${CARGO_TARGET_DIR:-target}/release/ward-bench"
