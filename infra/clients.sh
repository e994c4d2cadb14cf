#!/usr/bin/env bash
# The contract as integrators use it, as make test checks it. Everything generated goes to a
# scratch folder, .local/clients/, and is never committed.
#
#   bash infra/clients.sh           Redocly's linter (recommended rules, tests/clients/redocly.yaml),
#                                   every example against its schema, a Python client
#                                   (openapi-python-client) that must generate without a warning,
#                                   TypeScript types (openapi-typescript) that strict tsc compiles
#                                   with tests/clients/journey.ts
#   bash infra/clients.sh API_URL   then one whole journey through the generated Python client
#                                   (make test runs tests/clients/python_journey.py itself, once
#                                   its stack is up)
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack.sh
ward_venv
ward_contract_tools

document=docs/openapi.yaml
scratch=.local/clients
rm -rf "$scratch"
mkdir -p "$scratch/python" "$scratch/typescript"
tools=tests/clients/node_modules/.bin

echo "--> Redocly's linter"
# An ignore file would hide problems without a reason given: a rule that must be off is turned off
# in tests/clients/redocly.yaml, with its reason.
for ignored in .redocly.lint-ignore.yaml tests/clients/.redocly.lint-ignore.yaml docs/.redocly.lint-ignore.yaml; do
  if [ -e "$ignored" ]; then
    echo "$ignored hides lint problems: turn a rule off in tests/clients/redocly.yaml instead, with a reason" >&2
    exit 1
  fi
done
"$tools/redocly" lint --config tests/clients/redocly.yaml --format=json "$document" >"$scratch/lint.json" 2>/dev/null || true
totals=$(python -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print(t["errors"], t["warnings"], t["ignored"])' "$scratch/lint.json")
if [ "$totals" != "0 0 0" ]; then
  "$tools/redocly" lint --config tests/clients/redocly.yaml --format=stylish "$document" 2>&1 | grep -v '[║╔╚]' || true
  echo "Redocly's linter: errors, warnings, ignored = $totals" >&2
  exit 1
fi
echo "no errors, no warnings, nothing ignored"

echo "--> every example against its schema"
python infra/examples.py "$document"

echo "--> the Python client (openapi-python-client)"
generated=$(openapi-python-client generate --path "$document" --meta none --fail-on-warning \
  --output-path "$scratch/python/ward_client" 2>&1) || {
  echo "$generated"
  echo "openapi-python-client failed or warned: the generated client would be missing what it warns about" >&2
  exit 1
}
if grep -qi "warning" <<<"$generated"; then
  echo "$generated"
  echo "openapi-python-client warned: the generated client would be missing what it warns about" >&2
  exit 1
fi
echo "generated without a warning: $(find "$scratch/python/ward_client" -name '*.py' | wc -l) modules"

echo "--> the TypeScript types (openapi-typescript), compiled with tsc --strict"
types=$("$tools/openapi-typescript" "$document" -o "$scratch/typescript/ward.d.ts" 2>&1)
if grep -qiE "warn|error" <<<"$types"; then
  echo "$types"
  echo "openapi-typescript warned" >&2
  exit 1
fi
cp tests/clients/journey.ts "$scratch/typescript/"
"$tools/tsc" --strict --noEmit --target es2022 --module es2022 --moduleResolution bundler \
  "$scratch/typescript/journey.ts"
echo "compiled"

if [ $# -gt 0 ]; then
  echo "--> a whole journey through the generated Python client"
  python tests/clients/python_journey.py "$scratch/python" "$1"
fi
