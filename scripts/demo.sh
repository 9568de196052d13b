#!/usr/bin/env bash
# The demo: installs what it needs, starts the local cloud, seeds a realistic source bucket, runs the real
# CLI through the whole migration (transfer, check, damage, repair, re-check) and prints a verification
# summary. Exits 0 only if everything arrived intact. Extra arguments go to demo/run.ts
# (--scale small for a quick run, --keep to keep the logs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export METADATA_SERVER_DETECTION=none
# The AWS SDK notes that Node 20 support ends in 2027: known, and not the demo's news.
exec node --disable-warning=NodeVersionSupportWarning --import tsx demo/run.ts "$@"
