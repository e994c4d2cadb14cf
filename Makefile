# Ward: the README's two commands, and the tools around them.
.PHONY: dev test load bench mutants package deploy fmt lint clean

## Serve the whole API locally at http://127.0.0.1:$API_PORT (default 9000) until Ctrl-C.
dev:
	@bash infra/dev.sh

## The whole suite: unit, storage (emulator), handler and end-to-end (cargo lambda watch) tests.
test:
	@bash infra/test.sh

## Whole journeys from dozens of concurrent clients against a running `make dev` (another
## terminal): throughput, latency per route, every answer checked against the contract, every
## account read back. LOAD_ARGS="--seconds 60 --clients 32 --url http://127.0.0.1:9000".
load:
	@bash -c 'source infra/stack.sh && ward_venv && python infra/load.py $(LOAD_ARGS)'

## Figures measured against the local emulator (the authorizer's warm decision time, ...).
bench:
	@bash infra/bench.sh

## Mutation testing of the security rules (cargo-mutants, pinned): the survivors are printed.
## MUTANTS_FILES="shared/src/domain/throttle.rs ..." to choose files, MUTANTS_TESTS=domain for
## the in-memory domain tests alone.
mutants:
	@bash infra/mutants.sh

## Every function built for arm64 with `sam build` (cargo-lambda and zig, no Docker); prints sizes.
package:
	@bash infra/package.sh

## Deploys the packages built by `make package` with `sam deploy` (settings in samconfig.toml).
deploy:
	@bash -c 'source infra/stack.sh && ward_venv && SAM_CLI_TELEMETRY=0 sam deploy --template-file .aws-sam/build/template.yaml'

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf target .venv .local .aws-sam
