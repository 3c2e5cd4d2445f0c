#!/usr/bin/env bash
# Optional: an external Application Load Balancer with a Cloud Armor policy
# in front of the api service (deploy/README.md, "Cloud Armor"). Nothing runs
# this by default; run it by hand after reading it, then follow the runbook
# (ingress, the page's API domain, TRUSTED_PROXY_HOPS). Idempotent.
#
#   PROJECT_ID=p REGION=asia-southeast1 DOMAIN=api.example.my bash deploy/cloudarmor/apply.sh
set -euo pipefail
: "${PROJECT_ID:?}" "${REGION:?}" "${DOMAIN:?}"
POLICY=${POLICY:-vaxbook-api-armor}
gc() { gcloud --project="$PROJECT_ID" --quiet "$@"; }
exists() { "$@" >/dev/null 2>&1; }

exists gc compute network-endpoint-groups describe api-neg --region="$REGION" ||
  gc compute network-endpoint-groups create api-neg --region="$REGION" \
    --network-endpoint-type=serverless --cloud-run-service=api
exists gc compute security-policies describe "$POLICY" ||
  gc compute security-policies create "$POLICY" --description="vaxbook api: rate-based and bot rules"
gc compute security-policies update "$POLICY" --enable-layer7-ddos-defense

# rule PRIORITY ARGS...: create or replace one rule.
rule() {
  local prio=$1; shift
  if exists gc compute security-policies rules describe "$prio" --security-policy="$POLICY"; then
    gc compute security-policies rules update "$prio" --security-policy="$POLICY" "$@"
  else
    gc compute security-policies rules create "$prio" --security-policy="$POLICY" "$@"
  fi
}
# Bookings: 60 a minute per client address at the edge, then a 10-minute
# ban for 300 a minute. The in-app limits stay the finer control.
rule 1000 --expression="request.path.startsWith('/submit') || request.path.startsWith('/register')" \
  --action=rate-based-ban --rate-limit-threshold-count=300 --rate-limit-threshold-interval-sec=60 \
  --ban-duration-sec=600 --conform-action=allow --exceed-action=deny-429 --enforce-on-key=IP
# Everything else, /listppv included: a flood from one address is cut at
# the edge before Cloud Run scales for it.
rule 2000 --src-ip-ranges='*' --action=throttle --rate-limit-threshold-count=1200 \
  --rate-limit-threshold-interval-sec=60 --conform-action=allow --exceed-action=deny-429 --enforce-on-key=IP
# Preconfigured WAF rules that fit a JSON API.
rule 3000 --expression="evaluatePreconfiguredWaf('scannerdetection-v33-stable') || evaluatePreconfiguredWaf('protocolattack-v33-stable')" \
  --action=deny-403

exists gc compute backend-services describe api-backend --global ||
  gc compute backend-services create api-backend --global --load-balancing-scheme=EXTERNAL_MANAGED
if [ -z "$(gc compute backend-services describe api-backend --global --format='value(backends[].group)')" ]; then
  gc compute backend-services add-backend api-backend --global --network-endpoint-group=api-neg \
    --network-endpoint-group-region="$REGION"
fi
gc compute backend-services update api-backend --global --security-policy="$POLICY"
exists gc compute url-maps describe api-lb --global ||
  gc compute url-maps create api-lb --default-service=api-backend --global
exists gc compute ssl-certificates describe api-cert --global ||
  gc compute ssl-certificates create api-cert --domains="$DOMAIN" --global
exists gc compute target-https-proxies describe api-proxy --global ||
  gc compute target-https-proxies create api-proxy --url-map=api-lb --ssl-certificates=api-cert --global
exists gc compute forwarding-rules describe api-https --global ||
  gc compute forwarding-rules create api-https --global --load-balancing-scheme=EXTERNAL_MANAGED \
    --target-https-proxy=api-proxy --ports=443
echo "Point $DOMAIN at: $(gc compute forwarding-rules describe api-https --global --format='value(IPAddress)')"
echo "Then (runbook): api ingress internal-and-cloud-load-balancing, TRUSTED_PROXY_HOPS, the page's API domain."
