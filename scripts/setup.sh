#!/usr/bin/env bash
# Installs everything the tool, its tests and the local cloud need on a fresh Debian machine.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
# The dashboard and HTML report tests drive a real browser (playwright-core, which downloads none).
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus) # promtool: test/metrics checks the /metrics exposition format
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v gcloud >/dev/null 2>&1; then
  echo "setup: the Google Cloud CLI (gcloud, with its Pub/Sub and Datastore emulators) is required and missing:" >&2
  echo "       install the Debian packages google-cloud-cli google-cloud-cli-pubsub-emulator google-cloud-cli-datastore-emulator" >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
