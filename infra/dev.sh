#!/usr/bin/env bash
# `make dev`: the whole API on this machine, with the DynamoDB emulator, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack.sh

export API_PORT=${API_PORT:-9000}
export DYNAMODB_PORT=${DYNAMODB_PORT:-8000}

ward_venv
ward_local_env "$DYNAMODB_PORT"
trap ward_stop EXIT
trap 'exit 130' INT TERM

echo "==> building every function"
# The default members, as cargo lambda watch runs them (the benchmark is not built here).
cargo build --bins
echo "==> starting the DynamoDB emulator on port $DYNAMODB_PORT (under a supervisor that starts it again)"
ward_supervise_emulator
echo "==> starting the API on port $API_PORT"
ward_start_api "$API_PORT" --concurrency 4
echo
echo "Ward is serving at http://127.0.0.1:$API_PORT (emulator at $AWS_ENDPOINT_URL)"
echo "The account pages: open http://127.0.0.1:$API_PORT/ in a browser (sign up, then Settings > Account)"
echo "Logs: .local/logs/api.log and .local/logs/emulator.log. Ctrl-C stops everything."
tail -n 0 -f .local/logs/api.log &
WARD_PIDS+=($!)
# The API: the emulator's supervisor never exits while the stack runs.
wait "${WARD_PIDS[1]}"
