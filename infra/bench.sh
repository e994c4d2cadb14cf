#!/usr/bin/env bash
# `make bench`: what every function costs, measured against the local emulator (programs that
# print figures, not tests that assert). Builds release binaries of every function (x86_64, to run
# here) and their arm64 packages (to weigh them as Lambda takes them), then runs the authorizer's
# decision benchmark and bench/ (cold starts, DynamoDB calls, sizes, memory, CPU, growth), which
# writes target/bench/summary.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack.sh
ward_venv
export WARD_LOG_DIR="$WARD_ROOT/.local/bench-logs"
trap ward_stop EXIT
target="${CARGO_TARGET_DIR:-$WARD_ROOT/target}"
packages=()
for dir in functions/*/; do
  packages+=(-p "$(basename "$dir")")
done
started=$(date +%s)
echo "==> release builds of every function (x86_64, to measure here)"
# Each function's own feature set: built apart from the benchmark, whose usual-peer reference
# turns on aws-config's defaults.
cargo build --release --bins --quiet "${packages[@]}"
echo "==> the benchmark and its references (the floor, the usual peer)"
cargo build --release -p ward-bench --bins --examples --quiet
cargo build --release -p ward-tests --example authorizer_bench --quiet
echo "==> arm64 packages, as cargo lambda builds them for Lambda"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
export BENCH_LAMBDA_DIR="$target/lambda-arm64"
cargo lambda build --release --arm64 --output-format zip --lambda-dir "$BENCH_LAMBDA_DIR" --quiet "${packages[@]}"
echo "==> built in $(( $(date +%s) - started )) s"
export DYNAMODB_PORT=$(ward_free_port)
ward_local_env "$DYNAMODB_PORT"
export TABLE_NAME="ward-bench-$$"
ward_start_emulator
# Two more tables for the growth figures: one left small, one the benchmark fills with 10,000
# accounts.
export BENCH_TABLE_SMALL="$TABLE_NAME-small" BENCH_TABLE_LARGE="$TABLE_NAME-large"
TABLE_NAME=$BENCH_TABLE_SMALL python infra/bootstrap.py
TABLE_NAME=$BENCH_TABLE_LARGE python infra/bootstrap.py
"$target/release/examples/authorizer_bench"
"$target/release/ward-bench"
