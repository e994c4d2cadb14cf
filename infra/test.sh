#!/usr/bin/env bash
# `make test`: unit, storage, handler and end-to-end tests, with everything they need started on
# free ports (so a running `make dev` is never disturbed) and stopped again, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack.sh

started=$(date +%s)
ward_venv
export WARD_LOG_DIR="$WARD_ROOT/.local/test-logs"
rm -rf "$WARD_LOG_DIR"
trap ward_stop EXIT
trap 'exit 130' INT TERM

echo "==> formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "==> template.yaml (cfn-lint, sam validate --lint, IAM actions) and docs/openapi.yaml"
export SAM_CLI_TELEMETRY=0
cfn-lint template.yaml
python infra/iam_actions.py template.yaml
AWS_REGION=us-east-1 sam validate --lint --template template.yaml
openapi-spec-validator docs/openapi.yaml

echo "==> docs/openapi.yaml as integrators use it: Redocly's linter, its examples, generated Python and TypeScript clients"
bash infra/clients.sh

echo "==> the browser tests' Chromium and axe-core"
ward_browser

echo "==> building every function and test"
# The workspace's default members (not the benchmark): the same selection, and so the same
# features, as the `cargo run --bin <function>` that cargo lambda watch starts each function with,
# so nothing is compiled twice.
cargo build --bins --quiet
cargo test --no-run --quiet

export DYNAMODB_PORT=$(ward_free_port)
ward_local_env "$DYNAMODB_PORT"
export TABLE_NAME="ward-test-$$"
# Instances read the key ring again after 2 s (300 in AWS), so the key rotation test's two steps
# take seconds, not minutes.
export KEY_REFRESH_SECS=2
echo "==> emulator on port $DYNAMODB_PORT"
ward_start_emulator
API_PORT=$(ward_free_port)
echo "==> cargo lambda watch on port $API_PORT"
# One instance per function: cargo lambda watch (1.9.2) can lose a request when it starts several
# instances of a cold function at once (12 concurrent setups: one never answered). Races between
# requests to one function are proven in-process against the emulator; over HTTP, requests to
# different functions still run at once.
ward_start_api "$API_PORT" --ignore-changes --concurrency 1
export WARD_API_URL="http://127.0.0.1:$API_PORT"
export WARD_EMULATOR_URL="$AWS_ENDPOINT_URL"
# A second instance, cold and used by tests/tests/deployed.rs alone: its journey's calls prove the
# IAM policies (every function's first request after its cold start among them), and its functions
# log at trace, every line searched for secrets.
TRACE_PORT=$(ward_free_port)
echo "==> cargo lambda watch on port $TRACE_PORT, functions at RUST_LOG=trace"
WARD_FUNCTION_LOG=trace WARD_API_LOG=api-trace.log ward_start_api "$TRACE_PORT" --ignore-changes --concurrency 1
export WARD_TRACE_API_URL="http://127.0.0.1:$TRACE_PORT"
echo "==> starting an instance of every function of both"
python infra/warm.py "$WARD_API_URL" & warming=$!
python infra/warm.py "$WARD_TRACE_API_URL"
wait "$warming"
export WARD_TRACE_LOGS="$WARD_LOG_DIR/api-trace.log:$WARD_LOG_DIR/emulator.log"

echo "==> tests"
cargo test -- --test-threads 8

echo "==> the pages in Chromium (Playwright): every flow of the user guide, axe-core on every screen"
WARD_SCREENSHOTS="$WARD_ROOT/.local/screenshots" python -m pytest -q -p no:cacheprovider tests/browser

echo "==> one whole journey through the generated Python client"
python tests/clients/python_journey.py .local/clients/python "$WARD_API_URL"

echo "==> contract: schemathesis against the local stack, every operation of docs/openapi.yaml, every phase"
python infra/contract.py "$WARD_API_URL"

echo "==> outages: the database and the key store going away under a stack of their own"
# Its own emulator, under the supervisor `make dev` uses, and its own functions, so that what it
# stops and kills disturbs nothing else.
OUTAGE_PORT=$(ward_free_port)
OUTAGE_EMULATOR="http://127.0.0.1:$OUTAGE_PORT"
DYNAMODB_PORT=$OUTAGE_PORT AWS_ENDPOINT_URL=$OUTAGE_EMULATOR WARD_EMULATOR_LOG=outage-emulator.log \
  ward_supervise_emulator
OUTAGE_API_PORT=$(ward_free_port)
AWS_ENDPOINT_URL=$OUTAGE_EMULATOR WARD_API_LOG=outage-api.log \
  ward_start_api "$OUTAGE_API_PORT" --ignore-changes --concurrency 1
python infra/warm.py "http://127.0.0.1:$OUTAGE_API_PORT"
python infra/outage.py "http://127.0.0.1:$OUTAGE_API_PORT" "$OUTAGE_EMULATOR" "$WARD_SUPERVISOR_PID" \
  "$WARD_LOG_DIR/outage-emulator.log"
echo "==> suite finished in $(( $(date +%s) - started )) s"
