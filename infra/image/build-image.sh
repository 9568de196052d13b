#!/usr/bin/env bash
# Turns a stock Debian 12 / Ubuntu 22.04+ VM into an ott worker: Node 24 LTS, the Google Cloud CLI (for the
# `gcloud` rsync engine), the built tool with production dependencies only in /opt/ott, the wrapper
# /usr/local/bin/ott, the launcher and the systemd units (ott@cdnTransfer, ott@syncCheck, ott@rsync).
# Non-interactive and idempotent: run it as root on a build VM before `gcloud compute images create`,
# or from a startup script on a stock image (see infra/README.md, "Build the worker image").
#
#   build-image.sh [--source DIR|FILE.tar.gz|gs://.../FILE.tar.gz] [--prefix /opt/ott]
#                  [--bin-dir /usr/local/bin] [--unit-dir /etc/systemd/system]
#                  [--build-dir DIR] [--app-only] [--with-ops-agent] [--ops-agent-version V]
#                  [--git-sha SHA]
#
#   --source     the ott source tree (default: the checkout holding this script), or a tarball of it
#                (e.g. `git archive --format=tar.gz HEAD`)
#   --app-only   skip the system part (apt packages, the ott user, systemctl): only build and install the
#                tool, wrapper, launcher and unit files. Needs Node >= 20.6 on PATH. Used by the tests
#                with a throwaway --prefix/--bin-dir/--unit-dir, and on machines already prepared.
#   --git-sha    the commit being installed (default: read from the source: a `git archive` tarball
#                carries it, a checkout has it); written to PREFIX/BUILD_INFO.json with every pinned
#                version, and meant for the image label ott-git-sha (infra/README.md).
#
# Reproducible: the versions below are pinned (apt fails if it cannot give exactly that version), the npm
# tree comes from package-lock.json (npm ci), and BUILD_INFO.json records what was installed. The Ops
# Agent is pinned to its major version unless --ops-agent-version names an exact one.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
infra_dir="$(cd "${script_dir}/.." && pwd)"
source_arg="$(cd "${infra_dir}/.." && pwd)"
prefix=/opt/ott
bin_dir=/usr/local/bin
unit_dir=/etc/systemd/system
build_dir=""
app_only=0
with_ops_agent=0
git_sha=""
# Node 24 LTS, the version CI runs the suite on (.ci/run); NodeSource's Debian package of it.
readonly node_pinned=24.21.0
readonly node_deb_version="${node_pinned}-1nodesource1"
# The Google Cloud CLI (the gcloud rsync engine) as tested with this release.
readonly gcloud_cli_version=528.0.0-0
ops_agent_version="2.*.*"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --source) source_arg="${2:?--source needs a value}"; shift 2 ;;
    --prefix) prefix="${2:?--prefix needs a value}"; shift 2 ;;
    --bin-dir) bin_dir="${2:?--bin-dir needs a value}"; shift 2 ;;
    --unit-dir) unit_dir="${2:?--unit-dir needs a value}"; shift 2 ;;
    --build-dir) build_dir="${2:?--build-dir needs a value}"; shift 2 ;;
    --app-only) app_only=1; shift ;;
    --with-ops-agent) with_ops_agent=1; shift ;;
    --ops-agent-version) ops_agent_version="${2:?--ops-agent-version needs a value}"; shift 2 ;;
    --git-sha) git_sha="${2:?--git-sha needs a value}"; shift 2 ;;
    -h | --help) usage 0 ;;
    *) say "unknown argument: $1"; usage 2 ;;
  esac
done
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path, got '${prefix}'" ;; esac

# ---------------------------------------------------------------------------------------------------
# System part: packages and the service user. Needs root and apt.
# ---------------------------------------------------------------------------------------------------
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }

node_installed() { if command -v node >/dev/null 2>&1; then node -p 'process.versions.node'; else echo none; fi; }

install_system() {
  [ "$(id -u)" -eq 0 ] || die "the system part needs root (or pass --app-only)"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian and Ubuntu"
  say "installing base packages"
  apt-get update -qq
  apt_install ca-certificates curl gnupg rsync tar
  install -d -m 0755 /usr/share/keyrings

  if [ "$(node_installed)" != "$node_pinned" ]; then
    say "installing Node ${node_pinned} (NodeSource ${node_deb_version})"
    curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /usr/share/keyrings/nodesource.gpg
    echo "deb [signed-by=/usr/share/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${node_pinned%%.*}.x nodistro main" >/etc/apt/sources.list.d/nodesource.list
    apt-get update -qq
    apt_install --allow-downgrades "nodejs=${node_deb_version}"
    apt-mark hold nodejs >/dev/null
  fi
  [ "$(node_installed)" = "$node_pinned" ] || die "Node is $(node_installed) after the install, expected ${node_pinned}"

  if [ "$(dpkg-query -W -f='${Version}' google-cloud-cli 2>/dev/null || true)" != "$gcloud_cli_version" ]; then
    say "installing the Google Cloud CLI ${gcloud_cli_version}"
    curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor --yes -o /usr/share/keyrings/cloud.google.gpg
    echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" >/etc/apt/sources.list.d/google-cloud-sdk.list
    apt-get update -qq
    apt_install --allow-downgrades "google-cloud-cli=${gcloud_cli_version}"
    apt-mark hold google-cloud-cli >/dev/null
  fi

  if [ "$with_ops_agent" -eq 1 ]; then
    if ! systemctl list-unit-files google-cloud-ops-agent.service >/dev/null 2>&1; then
      say "installing the Google Cloud Ops Agent ${ops_agent_version}"
      curl -fsSL -o /tmp/add-google-cloud-ops-agent-repo.sh https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh
      bash /tmp/add-google-cloud-ops-agent-repo.sh --also-install --version="${ops_agent_version}"
    fi
    install -D -m 0644 "${script_dir}/ops-agent.yaml" /etc/google-cloud-ops-agent/config.yaml
  fi

  if ! id ott >/dev/null 2>&1; then
    say "creating the system user ott"
    useradd --system --home-dir /var/lib/ott --shell /usr/sbin/nologin ott
  fi
  install -d -m 0755 /etc/ott
}

# ---------------------------------------------------------------------------------------------------
# App part: build with dev dependencies in a scratch dir, install production dependencies only.
# ---------------------------------------------------------------------------------------------------
npm_flags=(--no-audit --no-fund --prefer-offline --loglevel=error)

fetch_source() {
  local dest="$1"
  case "$source_arg" in
    gs://*)
      command -v gcloud >/dev/null 2>&1 || die "--source ${source_arg} needs gcloud"
      gcloud storage cp "$source_arg" "${build_dir}/source.tar.gz" >&2
      tar -xzf "${build_dir}/source.tar.gz" -C "$dest"
      ;;
    *.tar.gz | *.tgz)
      [ -f "$source_arg" ] || die "--source ${source_arg}: no such file"
      tar -xzf "$source_arg" -C "$dest"
      ;;
    *)
      [ -f "${source_arg}/package.json" ] || die "--source ${source_arg}: not an ott source tree (no package.json)"
      # Everything but local build output and installed packages: the build must not depend on them.
      tar -C "$source_arg" --exclude=./node_modules --exclude=./dist --exclude=./.git -cf - . | tar -C "$dest" -xf -
      ;;
  esac
  [ -f "${dest}/package-lock.json" ] || die "the source has no package-lock.json: npm ci needs it"
}

# The commit of the source: --git-sha, else the id `git archive` stores in the tarball, else the checkout's HEAD.
source_git_sha() {
  if [ -n "$git_sha" ]; then printf '%s' "$git_sha"; return; fi
  command -v git >/dev/null 2>&1 || return 0
  case "$source_arg" in
    gs://*) [ ! -f "${build_dir}/source.tar.gz" ] || gzip -dc "${build_dir}/source.tar.gz" | git get-tar-commit-id 2>/dev/null || true ;;
    *.tar.gz | *.tgz) gzip -dc "$source_arg" | git get-tar-commit-id 2>/dev/null || true ;;
    *) git -C "$source_arg" rev-parse HEAD 2>/dev/null || true ;;
  esac
}

# What this install is made of: the commit and every pinned version, for the image labels and audits.
write_build_info() {
  local out="$1" sha="$2" gcloud_version ops_version
  gcloud_version="$(dpkg-query -W -f='${Version}' google-cloud-cli 2>/dev/null || echo none)"
  ops_version="$(dpkg-query -W -f='${Version}' google-cloud-ops-agent 2>/dev/null || echo none)"
  node -e '
    const [out, sha, gcloud, ops] = process.argv.slice(1);
    const info = { git_sha: sha || null, node: process.versions.node, npm_lockfile: "package-lock.json", google_cloud_cli: gcloud, ops_agent: ops };
    require("fs").writeFileSync(out, JSON.stringify(info, null, 2) + "\n");
  ' "$out" "$sha" "$gcloud_version" "$ops_version"
}

install_app() {
  local node_version
  node_version="$(node -p 'process.versions.node' 2>/dev/null)" || die "node not found on PATH (Node >= 20.6 needed)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=6)?0:1)' ||
    die "Node ${node_version} is too old: ott needs >= 20.6"

  local src="${build_dir}/src" stage="${prefix}.staging"
  mkdir -p "$src"
  fetch_source "$src"

  say "building in ${src} (npm ci, npm run build) with Node ${node_version}"
  (cd "$src" && npm ci "${npm_flags[@]}" >&2 && npm run build --silent >&2)
  [ -f "${src}/dist/main.js" ] || die "the build produced no dist/main.js"

  say "installing production dependencies into ${stage}"
  rm -rf "$stage"
  mkdir -p "${stage}/libexec"
  cp -R "${src}/package.json" "${src}/package-lock.json" "${src}/bin" "${src}/dist" "${src}/sql" "$stage/"
  # The units, launcher and runbook ship with this script (infra/), whatever the --source.
  mkdir -p "${stage}/infra"
  cp -R "${infra_dir}/systemd" "${infra_dir}/image" "${stage}/infra/"
  [ ! -f "${infra_dir}/README.md" ] || cp "${infra_dir}/README.md" "${stage}/infra/"
  install -m 0755 "${infra_dir}/systemd/ott-worker.sh" "${stage}/libexec/ott-worker"
  # --ignore-scripts: the only install script is the package's own postinstall (patch-package, a dev
  # dependency that --omit=dev leaves out). The check below proves no production package needs a patch.
  (cd "$stage" && npm ci --omit=dev --ignore-scripts "${npm_flags[@]}" >&2)
  local patch pkg
  for patch in "${src}"/patches/*.patch; do
    [ -e "$patch" ] || continue
    pkg="$(basename "$patch")"; pkg="${pkg%+*}"; pkg="${pkg//+//}"
    [ ! -e "${stage}/node_modules/${pkg}" ] || die "production dependency ${pkg} has a patch (${patch##*/}): apply it here"
  done
  [ ! -e "${stage}/node_modules/typescript" ] || die "dev dependencies leaked into ${stage}/node_modules"
  node "${stage}/bin/ott.mjs" --help >/dev/null || die "the staged copy does not run: node ${stage}/bin/ott.mjs --help"
  local sha
  sha="$(source_git_sha)"
  [ -n "$sha" ] || [ "$app_only" -eq 1 ] || die "cannot tell which commit this is: pass --git-sha (git rev-parse HEAD)"
  write_build_info "${stage}/BUILD_INFO.json" "$sha"

  # Swap in the new copy. A running worker loads SDK modules lazily, so it must not see its files
  # vanish: stop the units first (each finishes its in-flight objects), start them again after.
  local running=()
  if [ "$app_only" -eq 0 ] && [ -d /run/systemd/system ]; then
    mapfile -t running < <(systemctl list-units --plain --no-legend --state=active 'ott@*.service' | awk '{print $1}')
    [ ${#running[@]} -eq 0 ] || { say "stopping ${running[*]} for the swap"; systemctl stop "${running[@]}"; }
  fi
  rm -rf "${prefix}.previous"
  [ ! -e "$prefix" ] || mv "$prefix" "${prefix}.previous"
  mv "$stage" "$prefix"
  rm -rf "${prefix}.previous"

  say "installing ${bin_dir}/ott and the units in ${unit_dir}"
  mkdir -p "$bin_dir" "$unit_dir"
  local node_bin
  node_bin="$(command -v node)"
  cat >"${bin_dir}/ott.tmp" <<WRAPPER
#!/bin/sh
# ott, installed by infra/image/build-image.sh: the built copy in ${prefix} (dist/, production packages).
exec ${node_bin} ${prefix}/bin/ott.mjs "\$@"
WRAPPER
  chmod 0755 "${bin_dir}/ott.tmp"
  mv "${bin_dir}/ott.tmp" "${bin_dir}/ott"
  sed -e "s#/opt/ott/#${prefix}/#g" -e "s#/usr/local/bin/ott#${bin_dir}/ott#g" \
    "${prefix}/infra/systemd/ott@.service" >"${unit_dir}/ott@.service"
  chmod 0644 "${unit_dir}/ott@.service"
  if [ "$bin_dir/ott" != /usr/local/bin/ott ]; then
    # The launcher's default binary follows --bin-dir.
    sed -i "s#OTT_BIN:-/usr/local/bin/ott#OTT_BIN:-${bin_dir}/ott#" "${prefix}/libexec/ott-worker"
  fi

  "${bin_dir}/ott" --help >/dev/null || die "${bin_dir}/ott --help failed"
  if [ "$app_only" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    [ ${#running[@]} -eq 0 ] || systemctl start "${running[@]}"
  fi
  say "installed ott $(node -p "require('${prefix}/package.json').version") (${sha:-no git sha}) in ${prefix}"
}

cleanup_build_dir=0
if [ -z "$build_dir" ]; then
  build_dir="$(mktemp -d)"
  cleanup_build_dir=1
fi
cleanup() { [ "$cleanup_build_dir" -eq 0 ] || rm -rf "$build_dir"; }
trap cleanup EXIT

[ "$app_only" -eq 1 ] || install_system
install_app
