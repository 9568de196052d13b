#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs vitest against the local cloud it starts itself.
# Prints a closing line `N passed, N failed` (from vitest's JSON report) and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export METADATA_SERVER_DETECTION=none
report=$(mktemp -t ott-vitest-XXXXXX.json)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
if [ -s "$report" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const failed = r.numFailedTests + (r.numFailedTestSuites || 0) - 0;
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
    if (r.numFailedTestSuites > 0) console.log(`(${r.numFailedTestSuites} suites with failures or errors)`);
    process.exit(failed > 0 || r.numTotalTests === 0 ? 1 : 0);
  ' "$report" || status=1
else
  echo "0 passed, 1 failed"
  echo "vitest wrote no report: it did not run" >&2
  status=1
fi
rm -f "$report"
exit "$status"
