#!/usr/bin/env bash
# Applies deploy/monitoring to the project: the api's SLOs (a custom
# Cloud Monitoring service, vaxbook-api), the alert policies and the
# opening-day dashboard. deploy/bootstrap.sh runs it; run it again after
# editing a file here. Idempotent: each object is found by its id (SLOs)
# or display name (policies, the dashboard) and replaced, or created.
#
#   PROJECT_ID=my-project [ALERT_EMAIL=sre@example.com] bash deploy/monitoring/apply.sh
#
# ALERT_EMAIL, when given, is an e-mail notification channel (created
# once, "vaxbook SRE") every policy notifies; other channels (PagerDuty,
# SMS) can be added to the policies in the console and survive re-runs
# only if added here. The files carry __PROJECT_ID__, filled by
# deploy/render.sh. cmd/vaxbook/deploy_monitoring_test.go checks them
# against the code's metric names and the runbook.
# Needs gcloud (logged in), curl and jq.
set -euo pipefail

PROJECT_ID=${PROJECT_ID:?set PROJECT_ID to the Google Cloud project id}
export PROJECT_ID
here=$(cd "$(dirname "$0")" && pwd)
api=https://monitoring.googleapis.com/v3/projects/$PROJECT_ID
dash=https://monitoring.googleapis.com/v1/projects/$PROJECT_ID/dashboards
service=vaxbook-api

log() { printf 'monitoring: %s\n' "$*" >&2; }
token=$(gcloud auth print-access-token)
# call METHOD URL [BODY]: the response on stdout; fails on an HTTP error.
call() {
  local args=(-sS --fail-with-body -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: application/json" "$2")
  if [ "$#" -ge 3 ]; then args+=(--data-binary "$3"); fi
  curl "${args[@]}"
}
render() { bash "$here/../render.sh" "$1"; }
urlencode() { jq -rn --arg v "$1" '$v|@uri'; }

# --- SLOs ---------------------------------------------------------------
if ! call GET "$api/services/$service" >/dev/null 2>&1; then
  log "creating service $service"
  call POST "$api/services?serviceId=$service" '{"displayName":"vaxbook api","custom":{}}' >/dev/null
fi
for f in "$here"/slos/*.json; do
  id=$(basename "$f" .json)
  body=$(render "$f")
  if call GET "$api/services/$service/serviceLevelObjectives/$id" >/dev/null 2>&1; then
    log "updating SLO $id"
    call PATCH "$api/services/$service/serviceLevelObjectives/$id" "$body" >/dev/null
  else
    log "creating SLO $id"
    call POST "$api/services/$service/serviceLevelObjectives?serviceLevelObjectiveId=$id" "$body" >/dev/null
  fi
done

# --- notification channel ---------------------------------------------------
channels='[]'
if [ -n "${ALERT_EMAIL:-}" ]; then
  filter=$(urlencode 'type="email" AND displayName="vaxbook SRE"')
  channel=$(call GET "$api/notificationChannels?filter=$filter" | jq -r '.notificationChannels[0].name // empty')
  if [ -z "$channel" ]; then
    log "creating notification channel vaxbook SRE ($ALERT_EMAIL)"
    channel=$(call POST "$api/notificationChannels" \
      "$(jq -n --arg e "$ALERT_EMAIL" '{type:"email",displayName:"vaxbook SRE",labels:{email_address:$e}}')" | jq -r .name)
  fi
  channels=$(jq -n --arg c "$channel" '[$c]')
fi

# --- alert policies -----------------------------------------------------------
for f in "$here"/alerts/*.json; do
  body=$(render "$f" | jq --argjson ch "$channels" '.notificationChannels = $ch')
  name=$(jq -r .displayName <<<"$body")
  filter=$(urlencode "display_name=\"$name\"")
  existing=$(call GET "$api/alertPolicies?filter=$filter" | jq -r '.alertPolicies[0].name // empty')
  if [ -n "$existing" ]; then
    log "updating alert policy: $name"
    call PATCH "https://monitoring.googleapis.com/v3/$existing" "$body" >/dev/null
  else
    log "creating alert policy: $name"
    call POST "$api/alertPolicies" "$body" >/dev/null
  fi
done

# --- dashboard -------------------------------------------------------------------
body=$(render "$here/dashboard.json")
name=$(jq -r .displayName <<<"$body")
existing=$(call GET "$dash?pageSize=1000" | jq -r --arg n "$name" '[.dashboards[]? | select(.displayName == $n)][0].name // empty')
if [ -n "$existing" ]; then
  log "updating dashboard: $name"
  # No etag: the file is the truth, and overwrites edits made in the console.
  call PATCH "https://monitoring.googleapis.com/v1/$existing" "$(jq --arg n "$existing" '.name = $n' <<<"$body")" >/dev/null
else
  log "creating dashboard: $name"
  call POST "$dash" "$body" >/dev/null
fi
slo_files=("$here"/slos/*.json)
alert_files=("$here"/alerts/*.json)
log "applied: ${#slo_files[@]} SLOs, ${#alert_files[@]} alert policies, 1 dashboard"
