#!/usr/bin/env bash
# Renders a deploy/ template: every __NAME__ token is replaced by the value of
# the environment variable NAME. A token whose variable is unset or empty
# stops the render naming it, so nothing half-substituted reaches Cloud Run.
# Used by cloudbuild.yaml, by the runbook's manual deploys and by the tests.
#
#   PROJECT_ID=p REGION=asia-southeast1 IMAGE=... API_MIN_INSTANCES=3 \
#     bash deploy/render.sh deploy/api.yaml > /tmp/api.yaml
set -euo pipefail

[ "$#" -eq 1 ] || { echo "usage: render.sh TEMPLATE > OUT" >&2; exit 2; }
template=$1
[ -f "$template" ] || { echo "render.sh: no such file: $template" >&2; exit 2; }

script=()
while IFS= read -r token; do
  name=${token#__}
  name=${name%__}
  value=${!name:-}
  if [ -z "$value" ]; then
    echo "render.sh: $template needs $name (placeholder $token) but it is unset or empty" >&2
    exit 1
  fi
  # Escape what sed's replacement treats specially: \ & and the delimiter |.
  value=${value//\\/\\\\}
  value=${value//&/\\&}
  value=${value//|/\\|}
  script+=(-e "s|${token}|${value}|g")
done < <(grep -o '__[A-Z][A-Z0-9_]*__' "$template" | sort -u)

if [ "${#script[@]}" -eq 0 ]; then
  cat "$template"
else
  sed "${script[@]}" "$template"
fi
