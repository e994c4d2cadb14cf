#!/usr/bin/env bash
# `make mutants`: cargo-mutants (pinned) weakens the security rules one line at a time (a
# condition dropped, a comparison turned, a result replaced) and runs the domain tests and the
# storage tests against the local emulator on each mutant; a mutant the tests do not catch is
# printed as a survivor. The rules of API.md live in the files below; pick others with
# MUTANTS_FILES="shared/src/domain/throttle.rs shared/src/store/accounts.rs", and only the fast
# domain tests with MUTANTS_TESTS=domain; more options of cargo-mutants in MUTANTS_ARGS (e.g.
# MUTANTS_ARGS="--re sign_in" for the mutants of one function). Results: .local/mutants/mutants.out/.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack.sh

version=27.1.0
tools="$WARD_ROOT/.local/tools"
if ! "$tools/bin/cargo-mutants" mutants --version 2>/dev/null | grep -q " $version"; then
  echo "==> installing cargo-mutants $version into .local/tools"
  cargo install cargo-mutants --locked --version "$version" --root "$tools" --quiet
fi

files=${MUTANTS_FILES:-"shared/src/domain/throttle.rs shared/src/domain/second_factor.rs shared/src/domain/two_factor.rs shared/src/domain/recovery.rs shared/src/domain/password.rs shared/src/domain/account.rs shared/src/crypto/totp.rs shared/src/store/accounts.rs"}
selection=()
for file in $files; do
  selection+=(--file "$file")
done

# The domain's own tests (the in-memory store) always; the storage tests against the emulator
# unless only the domain is asked for. Tests that need the whole local stack (cargo lambda watch)
# are left out: its functions run the tree as it is, not the mutant.
tests=(--cargo-test-arg=--lib)
skips=()
if [ "${MUTANTS_TESTS:-emulator}" != "domain" ]; then
  ward_venv
  export WARD_LOG_DIR="$WARD_ROOT/.local/mutants-logs"
  trap ward_stop EXIT
  trap 'exit 130' INT TERM
  DYNAMODB_PORT=$(ward_free_port)
  export DYNAMODB_PORT
  ward_local_env "$DYNAMODB_PORT"
  export TABLE_NAME="ward-mutants-$$" KEY_REFRESH_SECS=2
  ward_start_emulator
  tests+=(--cargo-test-arg=--package=ward-tests)
  for target in accounts two_factor hardening conditions security_log tokens faults dummy_hash flood; do
    tests+=("--cargo-test-arg=--test=$target")
  done
  for stack_only in a_sign_in_racing_the_enable_never_keeps_a_password_only_session \
      the_sixth_wrong_code_at_setup_is_429_and_each_is_logged \
      sessions_are_listed_newest_first_and_end_one_by_one_or_all_but_mine \
      over_http_a_lasting_conflict_is_the_contracts_503; do
    skips+=(--skip "$stack_only")
  done
fi

# A build directory of its own, kept between runs, so that each mutant builds incrementally.
export CARGO_TARGET_DIR="$WARD_ROOT/.local/mutants-target"
mkdir -p "$WARD_ROOT/.local/mutants"
set +e
# shellcheck disable=SC2086 # MUTANTS_ARGS is a list of options
"$tools/bin/cargo-mutants" mutants --package ward "${selection[@]}" ${MUTANTS_ARGS:-} \
  "${tests[@]}" \
  --no-shuffle --timeout 300 --build-timeout 600 --output "$WARD_ROOT/.local/mutants" \
  -- -- --test-threads 4 "${skips[@]}"
status=$?
set -e
out="$WARD_ROOT/.local/mutants/mutants.out"
lines() { { wc -l < "$out/$1"; } 2>/dev/null || echo 0; }
echo "==> mutants: $(lines caught.txt) caught, $(lines missed.txt) survived, $(lines timeout.txt) timed out, $(lines unviable.txt) unviable"
if [ -s "$out/missed.txt" ]; then
  echo "==> survivors (each needs a test that kills it, or a line saying why it cannot matter):"
  cat "$out/missed.txt"
fi
# cargo-mutants' own status: 0 all caught, 2 survivors, 3 timeouts, 4 the unmutated tree failed.
exit $status
