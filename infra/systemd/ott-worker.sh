#!/usr/bin/env bash
# Starts one ott mode for systemd (ott@MODE.service): finds --gcp-project and --config-key, then execs
# ott so that systemd's SIGTERM reaches the worker itself (no shell left in between).
#
# Where the settings come from, first match wins:
#   1. /etc/ott/MODE.env, then /etc/ott/ott.env: KEY=VALUE lines OTT_GCP_PROJECT, OTT_CONFIG_KEY, OTT_ARGS
#      (read as data, never sourced);
#   2. instance metadata attributes ott-gcp-project, ott-config-key-MODE / ott-config-key,
#      ott-args-MODE / ott-args; the project defaults to the VM's own project.
# Exit 78 (EX_CONFIG, the unit's RestartPreventExitStatus) when no config key can be found: restarting
# would not find one either.
# Test hooks: OTT_ENV_DIR (default /etc/ott), OTT_METADATA_URL (default the GCE metadata server),
# OTT_BIN (default /usr/local/bin/ott), OTT_METADATA_RETRIES (default 5).
set -euo pipefail

readonly EX_CONFIG=78
mode="${1:-}"
env_dir="${OTT_ENV_DIR:-/etc/ott}"
metadata_url="${OTT_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
ott_bin="${OTT_BIN:-/usr/local/bin/ott}"
metadata_retries="${OTT_METADATA_RETRIES:-5}"

# One JSON line, the format ott itself logs in, so the journal and Cloud Logging parse it alike.
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//$'\n'/\\n}"; s="${s//$'\r'/}"; s="${s//$'\t'/ }"
  printf '"%s"' "$s"
}
log() { printf '{"severity":"%s","message":%s}\n' "$1" "$(json_string "ott-worker ${mode}: $2")"; }

case "$mode" in
  cdnTransfer | syncCheck | rsync | publishObjectsList | publishDirList) ;;
  *)
    log ERROR "unknown mode '${mode}': expected cdnTransfer, syncCheck, rsync, publishObjectsList or publishDirList (the unit instance, ott@MODE)"
    exit "$EX_CONFIG"
    ;;
esac

project=""
config_key=""
args=""

# Reads KEY=VALUE lines; later files do not override what an earlier one set.
read_env_file() {
  local file="$1" key value
  [ -r "$file" ] || return 0
  while IFS='=' read -r key value || [ -n "$key" ]; do
    key="${key//[[:space:]]/}"
    value="${value%$'\r'}"
    value="${value#\"}"; value="${value%\"}"
    case "$key" in
      OTT_GCP_PROJECT) [ -n "$project" ] || project="$value" ;;
      OTT_CONFIG_KEY) [ -n "$config_key" ] || config_key="$value" ;;
      OTT_ARGS) [ -n "$args" ] || args="$value" ;;
    esac
  done <"$file"
}

# Prints a metadata value; empty when the attribute does not exist (404). Retries an unreachable server
# a few times, then fails (exit 1): systemd restarts the unit, which is right for a transient outage.
metadata() {
  local out rc=0
  out="$(curl -sS -f --retry "$metadata_retries" --retry-connrefused --retry-delay 2 --max-time 10 \
    -H 'Metadata-Flavor: Google' "${metadata_url}/$1" 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '%s' "$out"
  elif [ "$rc" -ne 22 ]; then # 22: an HTTP error such as 404, i.e. the attribute is not set
    # stderr: stdout is the caller's $(...), and the journal gets both.
    log ERROR "cannot reach the metadata server for $1 (curl exit ${rc}): ${out}" >&2
    exit 1
  fi
}

read_env_file "${env_dir}/${mode}.env"
read_env_file "${env_dir}/ott.env"

if [ -z "$config_key" ]; then
  config_key="$(metadata "instance/attributes/ott-config-key-${mode}")"
  [ -n "$config_key" ] || config_key="$(metadata instance/attributes/ott-config-key)"
  [ -n "$project" ] || project="$(metadata instance/attributes/ott-gcp-project)"
  [ -n "$project" ] || project="$(metadata project/project-id)"
  if [ -z "$args" ]; then
    args="$(metadata "instance/attributes/ott-args-${mode}")"
    [ -n "$args" ] || args="$(metadata instance/attributes/ott-args)"
  fi
fi

if [ -z "$config_key" ]; then
  log ERROR "no config key: set OTT_CONFIG_KEY in ${env_dir}/${mode}.env or the instance metadata attribute ott-config-key-${mode}"
  exit "$EX_CONFIG"
fi
if [ -z "$project" ]; then
  log ERROR "no GCP project: set OTT_GCP_PROJECT in ${env_dir}/${mode}.env or the metadata attribute ott-gcp-project"
  exit "$EX_CONFIG"
fi

# OTT_ARGS is a list of plain flags split on whitespace (no quoting): they are ott options, not shell code.
read -r -a extra <<<"$args"
log INFO "starting: ott ${mode} --gcp-project ${project} --config-key ${config_key} ${args}"
exec "$ott_bin" "$mode" --gcp-project "$project" --config-key "$config_key" "${extra[@]}"
