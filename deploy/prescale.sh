#!/usr/bin/env bash
# Steers the api's warm instances without a deploy: the service-level
# minimum (run.googleapis.com/minScale on the service, not its revision),
# which Cloud Run applies in seconds and which makes no new revision.
#
#   bash deploy/prescale.sh show
#   bash deploy/prescale.sh set N
#       now: keep N api instances warm (N = 1 is the quiet-day floor)
#   bash deploy/prescale.sh schedule NAME "RAISE_CRON" N "LOWER_CRON" M [TIME_ZONE]
#       two Cloud Scheduler jobs, NAME-raise and NAME-lower, that set the
#       minimum to N at RAISE_CRON and back to M at LOWER_CRON, e.g. for an
#       opening announced for 5 December 08:00 in Malaysia:
#         bash deploy/prescale.sh schedule dec5 "30 7 5 12 *" 80 "0 12 5 12 *" 1
#       (the default time zone is Asia/Kuala_Lumpur). Cron repeats yearly:
#       remove the pair once the opening is over.
#   bash deploy/prescale.sh list
#   bash deploy/prescale.sh remove NAME
#
# PROJECT_ID is required; REGION defaults to bootstrap.sh's. The jobs run
# as vaxbook-scheduler (bootstrap.sh creates it; the first schedule grants
# it roles/run.developer on the api service alone) and call the Cloud Run
# Admin API's services.patch with updateMask=scaling.minInstanceCount.
# A deploy keeps whatever minimum is set (cloudbuild-deploy.yaml reads it
# back). Runbook: deploy/README.md, "Steering without a redeploy".
set -euo pipefail

PROJECT_ID=${PROJECT_ID:?set PROJECT_ID to the Google Cloud project id}
REGION=${REGION:-asia-southeast1}
SERVICE=api
SCALER=vaxbook-scheduler@$PROJECT_ID.iam.gserviceaccount.com

gc() { gcloud --project="$PROJECT_ID" --quiet "$@"; }
log() { printf 'prescale: %s\n' "$*" >&2; }
usage() { sed -n '2,25p' "$0" >&2; exit 2; }
whole() { [[ $1 =~ ^[0-9]+$ ]] || { log "want a whole number of instances, got '$1'"; exit 2; }; }

current() {
  gc run services describe "$SERVICE" --region="$REGION" --format=json |
    jq -r '.metadata.annotations["run.googleapis.com/minScale"] // "0"'
}

# job NAME CRON N TZ: one Scheduler job that sets the minimum to N.
job() {
  local name=$1 cron=$2 n=$3 tz=$4
  local uri="https://run.googleapis.com/v2/projects/$PROJECT_ID/locations/$REGION/services/$SERVICE?updateMask=scaling.minInstanceCount"
  local body="{\"scaling\":{\"minInstanceCount\":$n}}"
  local verb=create headers=--headers
  if gc scheduler jobs describe "$name" --location="$REGION" >/dev/null 2>&1; then
    verb=update headers=--update-headers
  fi
  gc scheduler jobs "$verb" http "$name" --location="$REGION" --schedule="$cron" --time-zone="$tz" \
    --uri="$uri" --http-method=PATCH --message-body="$body" \
    "$headers=Content-Type=application/json" \
    --oauth-service-account-email="$SCALER" --attempt-deadline=60s --max-retry-attempts=5 >/dev/null
  log "$verb job $name: at \"$cron\" ($tz) set $SERVICE's minimum instances to $n"
}

[ "$#" -ge 1 ] || usage
case $1 in
  show)
    echo "$SERVICE minimum instances (service level): $(current)"
    ;;
  set)
    [ "$#" -eq 2 ] || usage
    whole "$2"
    before=$(current)
    # --min is the service-level minimum; --min-instances would be the
    # revision's, and deploy a new revision.
    gc run services update "$SERVICE" --region="$REGION" --min="$2" >/dev/null
    log "$SERVICE minimum instances: $before -> $(current) (no new revision)"
    ;;
  schedule)
    [ "$#" -ge 6 ] || usage
    name=$2 raise=$3 n=$4 lower=$5 m=$6 tz=${7:-Asia/Kuala_Lumpur}
    whole "$n"
    whole "$m"
    gc run services add-iam-policy-binding "$SERVICE" --region="$REGION" \
      --member="serviceAccount:$SCALER" --role=roles/run.developer >/dev/null
    job "$name-raise" "$raise" "$n" "$tz"
    job "$name-lower" "$lower" "$m" "$tz"
    ;;
  list)
    gc scheduler jobs list --location="$REGION" --filter="httpTarget.uri~services/$SERVICE" \
      --format='table(name.basename(), schedule, timeZone, state, httpTarget.body.decode(base64))'
    ;;
  remove)
    [ "$#" -eq 2 ] || usage
    for suffix in raise lower; do
      if gc scheduler jobs describe "$2-$suffix" --location="$REGION" >/dev/null 2>&1; then
        gc scheduler jobs delete "$2-$suffix" --location="$REGION"
        log "removed job $2-$suffix"
      fi
    done
    ;;
  *) usage ;;
esac
