#!/usr/bin/env bash
# The demo: installs what it needs, starts the local cloud, seeds a realistic source bucket, runs the real
# CLI through the whole migration (transfer, check, damage, repair, re-check) and prints a verification
# summary. Exits 0 only if everything arrived intact. Extra arguments go to demo/run.ts
# (--scale small for a quick run, --keep to keep the logs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export METADATA_SERVER_DETECTION=none
# The AWS SDK notes that Node 20 support ends in 2027: known, and not this run's news. Its own switch, as
# the CLI sets it (src/common/config/env.ts): Node's --disable-warning misses it (a plain `Warning`).
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
exec node --import tsx demo/run.ts "$@"
