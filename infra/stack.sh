# The local stack, shared by `make dev` and `make test` (sourced, not run).
#
# ward_venv             builds .venv/ from infra/requirements.txt (pinned) when it is missing or stale
# ward_local_env PORT   exports what the functions and tests read to reach the emulator on PORT
# ward_start_emulator   starts moto's server on $DYNAMODB_PORT and creates the table and key secret
# ward_supervise_emulator  the same under a supervisor that starts it again whenever it exits
# ward_start_api PORT   serves every function with `cargo lambda watch` on PORT and waits until it answers
#                       (WARD_FUNCTION_LOG: the functions' RUST_LOG; WARD_API_LOG: the log's file name)
# ward_browser          makes sure the browser tests have Debian's Chromium and axe-core (npm, pinned)
# ward_contract_tools   Redocly's linter, openapi-typescript and TypeScript for infra/clients.sh (npm, pinned)
# ward_stop             stops everything started here (installed as an EXIT trap)

WARD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WARD_PIDS=()
WARD_LOG_DIR=${WARD_LOG_DIR:-$WARD_ROOT/.local/logs}

ward_venv() {
  local stamp="$WARD_ROOT/.venv/.requirements"
  if [ ! -x "$WARD_ROOT/.venv/bin/python" ] || ! cmp -s "$WARD_ROOT/infra/requirements.txt" "$stamp"; then
    echo "==> installing pinned tools into .venv/ (moto's server, cargo-lambda)"
    python3 -m venv "$WARD_ROOT/.venv"
    "$WARD_ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$WARD_ROOT/infra/requirements.txt"
    cp "$WARD_ROOT/infra/requirements.txt" "$stamp"
  fi
  export PATH="$WARD_ROOT/.venv/bin:$PATH"
}

ward_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ward_local_env() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
  export AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=local
  export AWS_SECRET_ACCESS_KEY=local
  export AWS_EC2_METADATA_DISABLED=true
  export TABLE_NAME=${TABLE_NAME:-ward}
  export KEY_SECRET_ID=${KEY_SECRET_ID:-ward/master-key}
  export TOTP_ISSUER=${TOTP_ISSUER:-Ward Local}
}

ward_wait_http() {
  local url=$1 seconds=$2 pid=${3:-} i
  for ((i = 0; i < seconds * 10; i++)); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if python3 -c "import urllib.request,sys
try: urllib.request.urlopen('$url', timeout=1)
except urllib.error.HTTPError: sys.exit(0)
except Exception: sys.exit(1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

ward_start_emulator() {
  mkdir -p "$WARD_LOG_DIR"
  setsid python "$WARD_ROOT/infra/emulator.py" 127.0.0.1 "$DYNAMODB_PORT" >"$WARD_LOG_DIR/emulator.log" 2>&1 &
  WARD_PIDS+=($!)
  if ! ward_wait_http "http://127.0.0.1:$DYNAMODB_PORT/moto-api/" 30 "$!"; then
    echo "the DynamoDB emulator did not start on port $DYNAMODB_PORT; see $WARD_LOG_DIR/emulator.log" >&2
    return 1
  fi
  python "$WARD_ROOT/infra/bootstrap.py"
}

# ward_supervise_emulator: the emulator under a supervisor that reports when it exits and starts
# it again (with a fresh table and key secret: moto keeps nothing), so the stack keeps serving.
# The supervisor, the emulators it starts and their bootstraps share one process group; its
# reports go to the terminal and to the emulator's log ($WARD_EMULATOR_LOG, default emulator.log),
# beside which it keeps `.pid` (the emulator serving now) and `.ready` (while it serves).
# WARD_SUPERVISOR_PID is the supervisor's own pid.
ward_supervise_emulator() {
  mkdir -p "$WARD_LOG_DIR"
  local log="$WARD_LOG_DIR/${WARD_EMULATOR_LOG:-emulator.log}"
  rm -f "$log.ready" "$log.pid"
  setsid bash -c '
    root=$1 port=$2 log=$3
    source "$root/infra/stack.sh"
    report() { echo "==> $*" >&2; echo "==> $(date -u +%FT%TZ) $*" >>"$log"; }
    while true; do
      python "$root/infra/emulator.py" 127.0.0.1 "$port" >>"$log" 2>&1 &
      pid=$!
      echo "$pid" >"$log.pid"
      if ward_wait_http "http://127.0.0.1:$port/moto-api/" 30 "$pid" && python "$root/infra/bootstrap.py" >>"$log" 2>&1; then
        report "the DynamoDB emulator is serving on port $port (pid $pid)"
        touch "$log.ready"
      fi
      wait "$pid"
      status=$?
      rm -f "$log.ready"
      report "the DynamoDB emulator exited (status $status): starting it again; its data is gone"
      sleep 1
    done' supervisor "$WARD_ROOT" "$DYNAMODB_PORT" "$log" &
  WARD_PIDS+=($!)
  WARD_SUPERVISOR_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do
    [ -f "$log.ready" ] && return 0
    sleep 0.1
  done
  echo "the DynamoDB emulator did not start on port $DYNAMODB_PORT; see $log" >&2
  return 1
}

ward_start_api() {
  local port=$1
  shift
  mkdir -p "$WARD_LOG_DIR"
  # The functions' log level; cargo lambda watch itself keeps its own default.
  local level=${WARD_FUNCTION_LOG:-${RUST_LOG:-info}} log="$WARD_LOG_DIR/${WARD_API_LOG:-api.log}"
  if [[ "$level" == *,* ]]; then
    echo "RUST_LOG=$level: one directive only (cargo lambda watch's --env-vars splits on commas)" >&2
    return 1
  fi
  local vars="AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,AWS_REGION=$AWS_REGION,AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID"
  vars="$vars,AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY,AWS_EC2_METADATA_DISABLED=true"
  vars="$vars,TABLE_NAME=$TABLE_NAME,KEY_SECRET_ID=$KEY_SECRET_ID,TOTP_ISSUER=$TOTP_ISSUER,RUST_LOG=$level"
  vars="$vars,KEY_REFRESH_SECS=${KEY_REFRESH_SECS:-300}"
  setsid env -u RUST_LOG cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --env-vars "$vars" "$@" >"$log" 2>&1 &
  WARD_PIDS+=($!)
  if ! ward_wait_http "http://127.0.0.1:$port/v1/whoami" 120 "$!"; then
    echo "cargo lambda watch did not answer on port $port; see $log" >&2
    return 1
  fi
}

ward_browser() {
  export WARD_CHROMIUM=${WARD_CHROMIUM:-/usr/bin/chromium}
  if [ ! -x "$WARD_CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "==> installing Debian's chromium for the browser tests"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
      [ -x "$WARD_CHROMIUM" ] || { echo "apt-get installed chromium, but $WARD_CHROMIUM is not there" >&2; return 1; }
    else
      echo "The browser tests need Chromium at $WARD_CHROMIUM: sudo apt-get install chromium" >&2
      echo "(or point WARD_CHROMIUM at a Chromium or Chrome binary)" >&2
      return 1
    fi
  fi
  local browser="$WARD_ROOT/tests/browser" stamp="$WARD_ROOT/tests/browser/node_modules/.lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$browser/package-lock.json" "$stamp"; then
    echo "==> installing axe-core (npm ci, pinned in tests/browser/package-lock.json)"
    (cd "$browser" && npm ci --silent --no-audit --no-fund)
    cp "$browser/package-lock.json" "$stamp"
  fi
}

# ward_contract_tools: what checks docs/openapi.yaml as integrators would (Redocly's linter,
# openapi-typescript, TypeScript), npm, pinned in tests/clients/package-lock.json.
ward_contract_tools() {
  local tools="$WARD_ROOT/tests/clients" stamp="$WARD_ROOT/tests/clients/node_modules/.lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$tools/package-lock.json" "$stamp"; then
    echo "==> installing the contract's tools (npm ci, pinned in tests/clients/package-lock.json)"
    (cd "$tools" && npm ci --silent --no-audit --no-fund)
    cp "$tools/package-lock.json" "$stamp"
  fi
}

ward_stop() {
  local pid
  for pid in "${WARD_PIDS[@]}"; do
    # Each service was started in a session of its own: end the whole group (woken first, in
    # case a check that held a supervisor stopped did not get to let it go).
    kill -CONT -- "-$pid" 2>/dev/null || true
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${WARD_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  WARD_PIDS=()
}
