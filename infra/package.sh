#!/usr/bin/env bash
# `make package`: every function built for arm64 by `sam build` (cargo-lambda with zig, no Docker),
# then each package's size. The release profile is tuned for size (opt-level s, LTO, stripped).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/stack.sh
ward_venv
export SAM_CLI_TELEMETRY=0
started=$(date +%s)
sam build --beta-features --build-in-source --template template.yaml --build-dir .aws-sam/build
echo "==> built in $(( $(date +%s) - started )) s; package sizes (bootstrap, and zipped as Lambda takes it):"
python3 - <<'PY'
import io, os, zipfile
root = ".aws-sam/build"
rows = []
for name in sorted(os.listdir(root)):
    bootstrap = os.path.join(root, name, "bootstrap")
    if not os.path.isfile(bootstrap):
        continue
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(bootstrap, "bootstrap")
    rows.append((name, os.path.getsize(bootstrap), len(buffer.getvalue())))
for name, raw, zipped in rows:
    print(f"  {name:<28} {raw / 2**20:6.2f} MiB   zip {zipped / 2**20:6.2f} MiB")
largest = max(zipped for _, _, zipped in rows)
print(f"  {len(rows)} packages; largest zip {largest / 2**20:.2f} MiB (budget 4 MiB)")
if largest > 4 * 2**20:
    raise SystemExit("a package is over the 4 MiB budget")
PY
