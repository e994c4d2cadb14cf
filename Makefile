# Ward: the README's two commands, and the tools around them.
.PHONY: dev test bench fmt lint clean

## Serve the whole API locally at http://127.0.0.1:$API_PORT (default 9000) until Ctrl-C.
dev:
	@bash infra/dev.sh

## The whole suite: unit, storage (emulator), handler and end-to-end (cargo lambda watch) tests.
test:
	@bash infra/test.sh

## Figures measured against the local emulator (the authorizer's warm decision time, ...).
bench:
	@bash infra/bench.sh

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf target .venv .local
