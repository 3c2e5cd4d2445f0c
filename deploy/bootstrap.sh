#!/usr/bin/env bash
# Creates everything vaxbook needs in an empty Google Cloud project, once:
# APIs, the VPC and its private service access, Artifact Registry, Memorystore
# for Redis, Cloud SQL for PostgreSQL 15 (database and user), Secret Manager
# secrets, one service account per role with only what it needs (and one
# database user per service, logging in as that account), the Pub/Sub topics
# and push subscriptions with their dead-letter topics, and Cloud Build's two
# accounts: vaxbook-build tests, builds and pushes (it runs third-party test
# code: apt, npm, Go modules) and may deploy nothing; vaxbook-deploy deploys
# the pushed image by digest and runs no tests.
#
# Idempotent: every step looks first and only creates or converges what is
# missing or different, so running it again is safe (and is how a changed
# setting here reaches the project).
#
#   PROJECT_ID=my-project REGION=asia-southeast1 bash deploy/bootstrap.sh
#
# Optional: SENDGRID_API_KEY, CAPTCHA_SECRET (added as secret versions when
# given; otherwise the secrets are created empty and the end says so);
# ALERT_EMAIL, where deploy/monitoring's alerts are sent.
# Needs gcloud, logged in as a project owner, openssl, curl and jq.
#
# cmd/vaxbook/deploy_test.go reads the settings below (keep them one per
# line, NAME=value) and checks the services in deploy/ against them.
set -euo pipefail

PROJECT_ID=${PROJECT_ID:?set PROJECT_ID to the Google Cloud project id}
REGION=${REGION:-asia-southeast1}

NETWORK=vaxbook
SUBNET=vaxbook-run
# Direct VPC egress takes ~2 addresses per instance (more during rollouts):
# a /20 holds api 100 + worker 10 + cachefill + jobs with room to spare.
SUBNET_RANGE=10.8.0.0/20
PSA_RANGE=vaxbook-psa
AR_REPO=vaxbook
REDIS_INSTANCE=vaxbook-redis
REDIS_SIZE_GB=5
SQL_INSTANCE=vaxbook-db
# 4 vCPU, 16 GB: the booking transaction is CPU-bound at a few thousand/s.
SQL_TIER=db-custom-4-16384
# Declared, not left to the tier's default, because deploy/worker.yaml's
# connection budget is checked against it: worker 10 instances x (8 booking
# + 4 message conns) x 2 (revision overlap) + cachefill 2 x 2 + invite 2 x 2
# + hooks 3 x 4 x 2 + admin 2 x 4 x 2 + closings 2 + migrate 2 + 3 reserved
# = 295 < 340. A 16 GB instance's default would be higher; declaring it
# keeps the arithmetic and the server in step.
SQL_MAX_CONNECTIONS=340
DB_NAME=vaxbook
# The schema owner: only the migrate job (and an operator's seed or state
# set) logs in as it. The services log in as their own IAM users.
DB_USER=vaxbook
# Cloud SQL IAM database authentication: each service's account is its own
# database user (migrations/000005_roles makes the groups they join).
SQL_IAM_AUTH_FLAG=cloudsql.iam_authentication=on

log() { printf 'bootstrap: %s\n' "$*" >&2; }
gc() { gcloud --project="$PROJECT_ID" --quiet "$@"; }

PROJECT_NUMBER=$(gc projects describe "$PROJECT_ID" --format='value(projectNumber)')
PUBSUB_AGENT=service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com
# Cloud Run's deterministic URL: known before the worker's first deploy.
WORKER_URL=https://worker-$PROJECT_NUMBER.$REGION.run.app
sa() { printf 'vaxbook-%s@%s.iam.gserviceaccount.com' "$1" "$PROJECT_ID"; }

# --- APIs ----------------------------------------------------------------
log "enabling APIs"
gc services enable \
  run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com \
  compute.googleapis.com servicenetworking.googleapis.com sqladmin.googleapis.com \
  redis.googleapis.com pubsub.googleapis.com secretmanager.googleapis.com \
  iam.googleapis.com firebase.googleapis.com firebasehosting.googleapis.com \
  cloudscheduler.googleapis.com monitoring.googleapis.com cloudtrace.googleapis.com

# --- network -------------------------------------------------------------
if ! gc compute networks describe "$NETWORK" >/dev/null 2>&1; then
  log "creating VPC $NETWORK"
  gc compute networks create "$NETWORK" --subnet-mode=custom
fi
if ! gc compute networks subnets describe "$SUBNET" --region="$REGION" >/dev/null 2>&1; then
  log "creating subnet $SUBNET $SUBNET_RANGE"
  gc compute networks subnets create "$SUBNET" --network="$NETWORK" --region="$REGION" \
    --range="$SUBNET_RANGE" --enable-private-ip-google-access
fi
# Private service access: Cloud SQL and Memorystore get private IPs in it.
if ! gc compute addresses describe "$PSA_RANGE" --global >/dev/null 2>&1; then
  log "reserving private service access range $PSA_RANGE"
  gc compute addresses create "$PSA_RANGE" --global --purpose=VPC_PEERING \
    --prefix-length=16 --network="$NETWORK"
fi
if ! gc services vpc-peerings list --network="$NETWORK" --format='value(service)' | grep -q servicenetworking; then
  log "connecting private service access"
  gc services vpc-peerings connect --service=servicenetworking.googleapis.com \
    --ranges="$PSA_RANGE" --network="$NETWORK"
fi

# --- Artifact Registry ----------------------------------------------------
if ! gc artifacts repositories describe "$AR_REPO" --location="$REGION" >/dev/null 2>&1; then
  log "creating Artifact Registry repository $AR_REPO"
  gc artifacts repositories create "$AR_REPO" --repository-format=docker --location="$REGION"
fi

# --- Memorystore for Redis -------------------------------------------------
if ! gc redis instances describe "$REDIS_INSTANCE" --region="$REGION" >/dev/null 2>&1; then
  log "creating Memorystore $REDIS_INSTANCE (standard tier, ${REDIS_SIZE_GB} GB; takes minutes)"
  gc redis instances create "$REDIS_INSTANCE" --region="$REGION" --tier=standard \
    --size="$REDIS_SIZE_GB" --redis-version=redis_7_0 \
    --network="projects/$PROJECT_ID/global/networks/$NETWORK" \
    --connect-mode=private-service-access --reserved-ip-range="$PSA_RANGE" --enable-auth
fi

# --- Cloud SQL for PostgreSQL ---------------------------------------------
if ! gc sql instances describe "$SQL_INSTANCE" >/dev/null 2>&1; then
  log "creating Cloud SQL $SQL_INSTANCE (PostgreSQL 15, $SQL_TIER; takes minutes)"
  gc sql instances create "$SQL_INSTANCE" --database-version=POSTGRES_15 --edition=enterprise \
    --region="$REGION" --tier="$SQL_TIER" --availability-type=REGIONAL \
    --network="projects/$PROJECT_ID/global/networks/$NETWORK" --no-assign-ip \
    --ssl-mode=ENCRYPTED_ONLY --storage-auto-increase \
    --backup-start-time=18:00 --enable-point-in-time-recovery \
    --database-flags="max_connections=$SQL_MAX_CONNECTIONS,$SQL_IAM_AUTH_FLAG"
else
  flags=$(gc sql instances describe "$SQL_INSTANCE" --flatten=settings.databaseFlags \
    --format='value(settings.databaseFlags.name,settings.databaseFlags.value)')
  current=$(awk '$1 == "max_connections" { print $2 }' <<<"$flags")
  iam=$(awk '$1 == "cloudsql.iam_authentication" { print $2 }' <<<"$flags")
  if [ "$current" != "$SQL_MAX_CONNECTIONS" ] || [ "$iam" != on ]; then
    # --database-flags replaces the whole list: both are always given.
    log "setting max_connections $current -> $SQL_MAX_CONNECTIONS, IAM authentication ${iam:-off} -> on (restarts the instance)"
    gc sql instances patch "$SQL_INSTANCE" --database-flags="max_connections=$SQL_MAX_CONNECTIONS,$SQL_IAM_AUTH_FLAG"
  fi
fi
if ! gc sql databases describe "$DB_NAME" --instance="$SQL_INSTANCE" >/dev/null 2>&1; then
  gc sql databases create "$DB_NAME" --instance="$SQL_INSTANCE"
fi

# --- secrets ---------------------------------------------------------------
secret_has_version() {
  [ -n "$(gc secrets versions list "$1" --filter='state=ENABLED' --limit=1 --format='value(name)' 2>/dev/null)" ]
}
ensure_secret() { # name [value]
  if ! gc secrets describe "$1" >/dev/null 2>&1; then
    gc secrets create "$1" --replication-policy=automatic
  fi
  if [ -n "${2:-}" ] && ! secret_has_version "$1"; then
    printf '%s' "$2" | gc secrets versions add "$1" --data-file=-
  fi
}

sql_ip=$(gc sql instances describe "$SQL_INSTANCE" --format='value(ipAddresses[0].ipAddress)')
# database-url: the user's password is made here and lives only in the secret.
if ! secret_has_version database-url; then
  log "creating user $DB_USER and secret database-url"
  password=$(openssl rand -hex 24)
  if gc sql users list --instance="$SQL_INSTANCE" --format='value(name)' | grep -qx "$DB_USER"; then
    gc sql users set-password "$DB_USER" --instance="$SQL_INSTANCE" --password="$password"
  else
    gc sql users create "$DB_USER" --instance="$SQL_INSTANCE" --password="$password"
  fi
  ensure_secret database-url "postgres://$DB_USER:$password@$sql_ip:5432/$DB_NAME?sslmode=require"
fi
# The schema owner runs migrations (migrate job) and nothing else.

# Each service's URL names its own IAM database user and carries no
# password (it logs in with its token: DATABASE_IAM_AUTH=on); kept as a
# secret like database-url so the two are handled alike.
iam_db_user() { sa "$1" | sed 's/\.gserviceaccount\.com$//'; }
iam_db_url() { printf 'postgres://%s@%s:5432/%s?sslmode=require' "$(iam_db_user "$1" | sed 's/@/%40/')" "$sql_ip" "$DB_NAME"; }
ensure_secret database-url-worker "$(iam_db_url worker)"
ensure_secret database-url-cachefill "$(iam_db_url cachefill)"
ensure_secret database-url-invite "$(iam_db_url invite)"
ensure_secret database-url-hooks "$(iam_db_url hooks)"
ensure_secret database-url-admin "$(iam_db_url admin)"
ensure_secret database-url-closings "$(iam_db_url closings)"

if ! secret_has_version redis-url; then
  log "creating secret redis-url"
  redis_host=$(gc redis instances describe "$REDIS_INSTANCE" --region="$REGION" --format='value(host)')
  redis_port=$(gc redis instances describe "$REDIS_INSTANCE" --region="$REGION" --format='value(port)')
  redis_auth=$(gc redis instances get-auth-string "$REDIS_INSTANCE" --region="$REGION" --format='value(authString)')
  ensure_secret redis-url "redis://:$redis_auth@$redis_host:$redis_port/0"
fi
# For the e-mail (worker) and captcha (api) features: the runbook says where
# the captcha's two keys come from.
ensure_secret sendgrid-api-key "${SENDGRID_API_KEY:-}"
# SMS (worker) and the delivery hooks: Twilio's account SID and auth token
# (the token also checks Twilio's status callbacks), and the verification
# key of SendGrid's signed Event Webhook (runbook, "SMS and delivery
# feedback").
ensure_secret twilio-account-sid "${TWILIO_ACCOUNT_SID:-}"
ensure_secret twilio-auth-token "${TWILIO_AUTH_TOKEN:-}"
ensure_secret sendgrid-webhook-public-key "${SENDGRID_WEBHOOK_PUBLIC_KEY:-}"
ensure_secret captcha-secret "${CAPTCHA_SECRET:-}"
# The registration queue's HMAC key for invitation tokens: made here, read
# by the api (checks), the worker (consumes) and invite (signs).
if ! secret_has_version invitation-secret; then
  log "creating secret invitation-secret"
  ensure_secret invitation-secret "$(openssl rand -hex 32)"
fi
ensure_secret captcha-site-key "${CAPTCHA_SITE_KEY:-}"
# The HMAC key the api's abuse counters name addresses and contacts by:
# made here, read only by the api.
if ! secret_has_version rate-limit-key; then
  log "creating secret rate-limit-key"
  ensure_secret rate-limit-key "$(openssl rand -hex 32)"
fi
# Signs the contact-proof challenges (CONTACT_PROOF): one value for every
# api instance; a new version voids codes already sent (they last 15 min).
if ! secret_has_version contact-proof-secret; then
  log "creating secret contact-proof-secret"
  ensure_secret contact-proof-secret "$(openssl rand -hex 32)"
fi
# The pepper of the ID hashes stored instead of ID numbers: read by the
# worker, and by an operator running `vaxbook erase --id-number` or `vaxbook
# pii backfill` with their own access. Never rotated in place: a new pepper
# orphans every stored hash (deploy/README.md, "Personal data").
if ! secret_has_version id-pepper; then
  log "creating secret id-pepper"
  ensure_secret id-pepper "$(openssl rand -hex 32)"
fi
# The key of the references given to retried submissions: read by the api.
if ! secret_has_version reference-key; then
  log "creating secret reference-key"
  ensure_secret reference-key "$(openssl rand -hex 32)"
fi

# Signs the manage links of bookings (worker) and checks them (api).
if ! secret_has_version manage-secret; then
  log "creating secret manage-secret"
  ensure_secret manage-secret "$(openssl rand -hex 32)"
fi

# --- service accounts --------------------------------------------------------
for role in api worker cachefill invite hooks admin closings migrate retention reconcile scheduler push build deploy; do
  if ! gc iam service-accounts describe "$(sa "$role")" >/dev/null 2>&1; then
    log "creating service account $(sa "$role")"
    gc iam service-accounts create "vaxbook-$role" --display-name="vaxbook $role"
  fi
done

grant_secret() { # secret role...
  local secret=$1; shift
  for role in "$@"; do
    gc secrets add-iam-policy-binding "$secret" --member="serviceAccount:$(sa "$role")" \
      --role=roles/secretmanager.secretAccessor >/dev/null
  done
}
# reconcile --fix sets counters on every slot, which no service's role may:
# it logs in as the schema owner, like an operator's seed or state set.
grant_secret database-url migrate retention reconcile
grant_secret database-url-worker worker
grant_secret database-url-cachefill cachefill
grant_secret database-url-invite invite
grant_secret database-url-hooks hooks
grant_secret database-url-admin admin
grant_secret database-url-closings closings
grant_secret redis-url api worker cachefill invite admin closings
grant_secret invitation-secret api worker invite
grant_secret sendgrid-api-key worker
grant_secret twilio-account-sid worker
grant_secret twilio-auth-token worker hooks
grant_secret sendgrid-webhook-public-key hooks
grant_secret captcha-secret api
grant_secret captcha-site-key api
grant_secret rate-limit-key api
grant_secret contact-proof-secret api
grant_secret id-pepper worker api admin
grant_secret reference-key api
grant_secret manage-secret api worker admin

# Telemetry (TELEMETRY_EXPORTER=gcp): each service writes its own metrics
# to Cloud Monitoring and spans to Cloud Trace, and nothing more there.
for svc in api worker cachefill invite hooks; do
  for telemetry_role in roles/monitoring.metricWriter roles/cloudtrace.agent; do
    gc projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$(sa "$svc")" \
      --role="$telemetry_role" --condition=None >/dev/null
  done
done
# vaxbook-scheduler is also the identity of the pre-scale Cloud Scheduler
# jobs (deploy/prescale.sh): prescale.sh grants it, on the api service
# alone, the right to change that service's scaling.

# --- database users -------------------------------------------------------------
# One IAM database user per service that uses Postgres, made a member of its
# service's group (the closings job's, of the admin role's: it does what
# staff closing a session do). The groups are made by the first migrate (the first
# deploy's), so on a new project the membership step says so and is done by
# running this script again after it (deploy/README.md, "First deploy").
DB_SERVICES="worker cachefill invite hooks admin closings"
db_group() { if [ "$1" = closings ]; then echo vaxbook_admin; else echo "vaxbook_$1"; fi; }
for role in $DB_SERVICES; do
  # roles/cloudsql.instanceUser: log in with a token. Nothing else on the
  # instance: the connection is to its private IP, no connector.
  gc projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$(sa "$role")" \
    --role=roles/cloudsql.instanceUser --condition=None >/dev/null
  user=$(iam_db_user "$role")
  if ! gc sql users list --instance="$SQL_INSTANCE" --format='value(name)' | grep -qx "$user"; then
    log "creating database user $user"
    gc sql users create "$user" --instance="$SQL_INSTANCE" --type=cloud_iam_service_account
  fi
  if ! gc sql users assign-roles "$user" --instance="$SQL_INSTANCE" --type=cloud_iam_service_account \
    --database-roles="$(db_group "$role")" >/dev/null 2>&1; then
    log "TODO: $user is not yet a member of $(db_group "$role") (no such role before the first migrate): run this script again after the first deploy"
  fi
done

# --- Cloud Build ---------------------------------------------------------------------
# vaxbook-build (cloudbuild.yaml) runs the tests, builds and pushes: it
# writes logs and the image, and has no right to deploy or act as anyone.
gc projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$(sa build)" \
  --role=roles/logging.logWriter --condition=None >/dev/null
gc artifacts repositories add-iam-policy-binding "$AR_REPO" --location="$REGION" \
  --member="serviceAccount:$(sa build)" --role=roles/artifactregistry.writer >/dev/null
# vaxbook-deploy (deploy/cloudbuild-deploy.yaml) deploys services and jobs
# running as the role accounts and publishes the site; it reads the image
# (to resolve its digest) and never builds one.
for role in roles/run.admin roles/logging.logWriter roles/firebasehosting.admin; do
  gc projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$(sa deploy)" \
    --role="$role" --condition=None >/dev/null
done
gc artifacts repositories add-iam-policy-binding "$AR_REPO" --location="$REGION" \
  --member="serviceAccount:$(sa deploy)" --role=roles/artifactregistry.reader >/dev/null
for role in api worker cachefill invite admin closings migrate retention reconcile; do
  gc iam service-accounts add-iam-policy-binding "$(sa "$role")" \
    --member="serviceAccount:$(sa deploy)" --role=roles/iam.serviceAccountUser >/dev/null
done
# Pub/Sub mints the push identity's OIDC tokens (needed in projects made
# before April 2021, harmless after).
gc iam service-accounts add-iam-policy-binding "$(sa push)" \
  --member="serviceAccount:$PUBSUB_AGENT" --role=roles/iam.serviceAccountTokenCreator >/dev/null

# --- Pub/Sub -----------------------------------------------------------------
ensure_topic() {
  if ! gc pubsub topics describe "$1" >/dev/null 2>&1; then
    gc pubsub topics create "$1"
  fi
}
for topic in appointments-topic email-topic sms-topic registrations-topic manage-topic appointments-dead-letter email-dead-letter sms-dead-letter registrations-dead-letter manage-dead-letter; do
  ensure_topic "$topic"
done
grant_publish() { # topic role...
  local topic=$1; shift
  for role in "$@"; do
    gc pubsub topics add-iam-policy-binding "$topic" \
      --member="serviceAccount:$(sa "$role")" --role=roles/pubsub.publisher >/dev/null
  done
}
grant_publish appointments-topic api
grant_publish registrations-topic api
grant_publish manage-topic api
# E-mail is asked for by the booking push (and by /push/sms when a number
# bounced), the invitation loop, the admin role and the closings job
# telling the people of a closing session, and the api's contact-proof
# codes (CONTACT_PROOF); SMS by the same roles but the api (and by
# /push/email when an address bounced).
grant_publish email-topic worker invite admin closings api
grant_publish sms-topic worker invite admin closings

# A dead-letter topic keeps nothing by itself: each gets a pull subscription
# that holds what failed for a week, for an operator to read and replay.
for dl in appointments-dead-letter email-dead-letter sms-dead-letter registrations-dead-letter manage-dead-letter; do
  if ! gc pubsub subscriptions describe "$dl-sub" >/dev/null 2>&1; then
    gc pubsub subscriptions create "$dl-sub" --topic="$dl" \
      --message-retention-duration=7d --expiration-period=never
  fi
  gc pubsub topics add-iam-policy-binding "$dl" \
    --member="serviceAccount:$PUBSUB_AGENT" --role=roles/pubsub.publisher >/dev/null
done

# push_subscription NAME TOPIC PATH DEAD_LETTER ACK_DEADLINE_S MIN_BACKOFF MAX_BACKOFF MAX_ATTEMPTS
# Creates or converges a push subscription to the worker with an OIDC token
# of the push identity (audience: the endpoint's own URL, WORKER_URL + path,
# which the worker checks as PUSH_AUDIENCE + path, deploy/worker.yaml),
# exponential retry and a dead-letter topic, and never expires when idle.
push_subscription() {
  local name=$1 topic=$2 path=$3 dead_letter=$4 ack=$5 min_backoff=$6 max_backoff=$7 attempts=$8
  local flags=(
    --push-endpoint="$WORKER_URL$path"
    --push-auth-service-account="$(sa push)"
    --push-auth-token-audience="$WORKER_URL$path"
    --ack-deadline="$ack"
    --min-retry-delay="$min_backoff" --max-retry-delay="$max_backoff"
    --dead-letter-topic="$dead_letter" --max-delivery-attempts="$attempts"
    --message-retention-duration=7d --expiration-period=never
  )
  if gc pubsub subscriptions describe "$name" >/dev/null 2>&1; then
    gc pubsub subscriptions update "$name" "${flags[@]}"
  else
    gc pubsub subscriptions create "$name" --topic="$topic" "${flags[@]}"
  fi
  # Dead-lettering: Pub/Sub's agent must read the source subscription.
  gc pubsub subscriptions add-iam-policy-binding "$name" \
    --member="serviceAccount:$PUBSUB_AGENT" --role=roles/pubsub.subscriber >/dev/null
}
# A booking takes milliseconds: short deadline, quick first retry. E-mail
# waits on SendGrid: longer deadline, gentler retries.
# Sized for a surge backlog: while the workers are saturated (429/503 from
# Cloud Run at maxScale) or Cloud SQL fails over, every queued booking is
# refused again and again. Pub/Sub's ceiling of 100 attempts, backing off
# 1 s doubling to 120 s, dead-letters a message only after about 3 hours of
# refusals (1+2+...+64 s, then 93 x 120 s), yet retries each one at least
# every 2 minutes once the workers recover. cmd/vaxbook/deploy_test.go
# holds the booking subscriptions to at least 2 hours.
push_subscription appointments-push appointments-topic /push/appointments appointments-dead-letter 30 1s 120s 100
push_subscription email-push email-topic /push/email email-dead-letter 60 10s 600s 10
# SMS waits on Twilio as e-mail does on SendGrid.
push_subscription sms-push sms-topic /push/sms sms-dead-letter 60 10s 600s 10
# Recording a registration is a booking-sized transaction, with a surge of
# its own at a queue state's opening.
push_subscription registrations-push registrations-topic /push/registrations registrations-dead-letter 30 1s 120s 100
# A cancel or change is a booking-sized transaction.
push_subscription manage-push manage-topic /push/manage manage-dead-letter 30 1s 120s 100

# The push identity may invoke the worker and nothing else. The binding
# needs the service, so cloudbuild.yaml also makes it after each deploy.
if gc run services describe worker --region="$REGION" >/dev/null 2>&1; then
  gc run services add-iam-policy-binding worker --region="$REGION" \
    --member="serviceAccount:$(sa push)" --role=roles/run.invoker >/dev/null
fi

# --- scheduled jobs ------------------------------------------------------------------
# Retention runs daily at 03:00 Malaysia time, when nobody books. Cloud
# Scheduler calls the Run Admin API's jobs.run as vaxbook-scheduler, which
# may run that job and nothing else. The job itself is made by the deploy
# pipeline (deploy/retention-job.yaml), so the first run of this script
# before any deploy leaves a TODO.
schedule_job() { # job schedule
  local job=$1 schedule=$2 uri
  uri="https://run.googleapis.com/v2/projects/$PROJECT_ID/locations/$REGION/jobs/$job:run"
  if ! gc run jobs describe "$job" --region="$REGION" >/dev/null 2>&1; then
    log "TODO: job $job is not deployed yet: run this script again after the first deploy to schedule it"
    return
  fi
  gc run jobs add-iam-policy-binding "$job" --region="$REGION" \
    --member="serviceAccount:$(sa scheduler)" --role=roles/run.invoker >/dev/null
  local flags=(--location="$REGION" --schedule="$schedule" --time-zone=Asia/Kuala_Lumpur
    --uri="$uri" --http-method=POST --oauth-service-account-email="$(sa scheduler)")
  if gc scheduler jobs describe "vaxbook-$job" --location="$REGION" >/dev/null 2>&1; then
    gc scheduler jobs update http "vaxbook-$job" "${flags[@]}"
  else
    gc scheduler jobs create http "vaxbook-$job" "${flags[@]}"
  fi
}
schedule_job retention "0 3 * * *"
# reconcile holds the slots' counters against their bookings every hour
# and only reports (deploy/README.md, "Counter drift").
schedule_job reconcile "17 * * * *"
# closings cancels what stayed on closed sessions once their time to move
# is up (docs/contract.md, "Centres' staff"); a deadline is met within ten minutes.
schedule_job closings "*/10 * * * *"

# reconcile's drift lines, counted for the Counter drift alert (runbook).
RECONCILE_FILTER='resource.type="cloud_run_job" AND resource.labels.job_name="reconcile" AND jsonPayload.message="reconcile drift"'
if ! gc logging metrics describe reconcile_drift >/dev/null 2>&1; then
  gc logging metrics create reconcile_drift --log-filter="$RECONCILE_FILTER" \
    --description="slots whose booked counter differs from their confirmed bookings (vaxbook reconcile)"
fi

# --- monitoring -------------------------------------------------------------------
# SLOs, alert policies and the opening-day dashboard (deploy/monitoring;
# ALERT_EMAIL, when set, is the channel the alerts go to).
PROJECT_ID=$PROJECT_ID bash "$(dirname "$0")/monitoring/apply.sh"

# --- what is left to a person ---------------------------------------------------
for secret in sendgrid-api-key captcha-secret captcha-site-key twilio-account-sid twilio-auth-token sendgrid-webhook-public-key; do
  if ! secret_has_version "$secret"; then
    log "TODO: secret $secret has no value yet; add one before deploying a service that reads it:"
    log "  printf %s \"\$VALUE\" | gcloud secrets versions add $secret --data-file=- --project=$PROJECT_ID"
  fi
done
log "done. Next: deploy/README.md, \"First deploy\"."
