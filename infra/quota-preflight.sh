#!/usr/bin/env bash
# Quota preflight: before `terraform apply`, checks that the region has the free Compute Engine quota the
# deployment needs at max_replicas (vCPUs, instances, SSD for boot disks, external addresses), and that
# the APIs Terraform cannot enable for itself are on. Prints one line per metric; exits 1 if any is
# short, naming what to request (IAM & Admin > Quotas, or `gcloud alpha quotas preferences create`).
#
#   quota-preflight.sh --project P --region R --needs needs.json
#
#   --needs   the plan's quota_needs output as JSON ({"CPUS": 704, ...}):
#               terraform plan -out plan && terraform show -json plan | jq '.planned_values.outputs.quota_needs.value' > needs.json
#             (infra/README.md, "Quota preflight"). A metric the region does not list is reported and skipped.
# Test hook: OTT_GCLOUD (default gcloud).
set -euo pipefail

gcloud_bin="${OTT_GCLOUD:-gcloud}"
project=""
region=""
needs_file=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
die() { printf 'quota-preflight: error: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --project) project="${2:?--project needs a value}"; shift 2 ;;
    --region) region="${2:?--region needs a value}"; shift 2 ;;
    --needs) needs_file="${2:?--needs needs a value}"; shift 2 ;;
    -h | --help) usage 0 ;;
    *) printf 'quota-preflight: unknown argument: %s\n' "$1" >&2; usage 2 ;;
  esac
done
if [ -z "$project" ] || [ -z "$region" ] || [ -z "$needs_file" ]; then usage 2; fi
command -v jq >/dev/null 2>&1 || die "jq is required"
[ -r "$needs_file" ] || die "--needs ${needs_file}: cannot read it"
jq -e 'type == "object" and length > 0 and all(.[]; type == "number")' "$needs_file" >/dev/null ||
  die "--needs ${needs_file}: expected an object of metric => number (the quota_needs output), got $(head -c 200 "$needs_file")"

# Serviceusage and Cloud Resource Manager must be on before Terraform can enable the rest.
enabled="$("$gcloud_bin" services list --enabled --project "$project" --format='value(config.name)')" ||
  die "cannot list the enabled APIs of ${project} (logged in? gcloud auth login)"
short=0
for api in serviceusage.googleapis.com cloudresourcemanager.googleapis.com compute.googleapis.com; do
  if ! grep -qx "$api" <<<"$enabled"; then
    printf 'api      %-40s disabled: gcloud services enable %s --project %s\n' "$api" "$api" "$project"
    short=1
  fi
done
if [ "$short" -eq 1 ] && ! grep -qx compute.googleapis.com <<<"$enabled"; then
  printf 'quota-preflight: enable the APIs above first; the quotas cannot be read without compute.googleapis.com\n' >&2
  exit 1
fi

quotas="$("$gcloud_bin" compute regions describe "$region" --project "$project" --format=json)" ||
  die "cannot describe region ${region} in ${project}"

printf '%-8s %-22s %10s %10s %10s\n' kind metric needed free limit
while IFS=$'\t' read -r metric need; do
  line="$(jq -r --arg m "$metric" '.quotas[] | select(.metric == $m) | "\(.limit)\t\(.usage)"' <<<"$quotas")"
  if [ -z "$line" ]; then
    printf '%-8s %-22s %10s %10s %10s  not listed for %s: skipped\n' quota "$metric" "$need" - - "$region"
    continue
  fi
  IFS=$'\t' read -r limit usage <<<"$line"
  free="$(jq -n --argjson l "$limit" --argjson u "$usage" '$l - $u | floor')"
  if jq -e -n --argjson f "$free" --argjson n "$need" '$f >= $n' >/dev/null; then
    printf '%-8s %-22s %10s %10s %10s  ok\n' quota "$metric" "$need" "$free" "$limit"
  else
    printf '%-8s %-22s %10s %10s %10s  SHORT by %s: request %s >= %s in %s\n' quota "$metric" "$need" "$free" "$limit" \
      "$(jq -n --argjson f "$free" --argjson n "$need" '$n - $f')" "$metric" "$(jq -n --argjson u "$usage" --argjson n "$need" '$u + $n | ceil')" "$region"
    short=1
  fi
done < <(jq -r 'to_entries[] | "\(.key)\t\(.value)"' "$needs_file")

if [ "$short" -ne 0 ]; then
  printf 'quota-preflight: not enough quota in %s for max_replicas; raise it, or lower max_replicas, before terraform apply\n' "$region" >&2
  exit 1
fi
printf 'quota-preflight: %s in %s has room for this deployment at max_replicas\n' "$project" "$region"
