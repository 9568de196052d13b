#!/usr/bin/env bash
# The chaos run of issue 14 (bench/chaos/run.ts): installs what it needs, starts a private local cloud,
# migrates 10,000+ objects through the real CLI while faults, kills, a MariaDB outage and S3 changes
# strike, then judges with a verifier that shares no code with src/. Extra arguments go to run.ts
# (--objects N for a quick run, --rounds N, --keep, --no-record).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export METADATA_SERVER_DETECTION=none
exec node --disable-warning=NodeVersionSupportWarning --import tsx bench/chaos/run.ts "$@"
