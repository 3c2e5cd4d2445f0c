package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/telemetry"
	"github.com/vaxbook/vaxbook/worker"
)

// monitoringFile is one JSON file of deploy/monitoring, rendered as
// apply.sh renders it.
type monitoringFile struct {
	rel  string
	text string // rendered
	doc  map[string]any
}

func loadMonitoring(t *testing.T, dir string) []monitoringFile {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(repoRoot(t), "deploy/monitoring", dir, "*.json"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("deploy/monitoring/%s: no JSON files (%v)", dir, err)
	}
	env := renderEnv(t)
	var out []monitoringFile
	for _, m := range matches {
		rel, _ := filepath.Rel(repoRoot(t), m)
		text := string(render(t, rel, env))
		var doc map[string]any
		if err := json.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatalf("%s: not JSON after rendering: %v", rel, err)
		}
		out = append(out, monitoringFile{rel: rel, text: text, doc: doc})
	}
	return out
}

var (
	workloadMetric = regexp.MustCompile(`workload\.googleapis\.com/([A-Za-z0-9_./-]+?)"`)
	routeLabel     = regexp.MustCompile(`metric\.label\.route="([^"]*)"`)
	roleLabel      = regexp.MustCompile(`metric\.label\.role="([^"]*)"`)
	burnRate       = regexp.MustCompile(`select_slo_burn_rate\("projects/[^/]+/services/([^/]+)/serviceLevelObjectives/([^"]+)", "([0-9]+)s"\)`)
	runbookLink    = regexp.MustCompile(`Runbook: deploy/README\.md#([a-z0-9-]+)`)
)

// TestDeployMonitoring_NamesOnlyWhatTheCodeExports: a metric renamed in
// internal/telemetry, or a route renamed in the api, fails here until
// deploy/monitoring follows; and every metric the code exports has a
// chart, so nothing measured is left off the SRE's page.
func TestDeployMonitoring_NamesOnlyWhatTheCodeExports(t *testing.T) {
	t.Parallel()
	exported := telemetry.Names()
	routes := append(api.RouteNames(), worker.Routes.Names()...)
	var all []monitoringFile
	for _, dir := range []string{"slos", "alerts", "."} {
		all = append(all, loadMonitoring(t, dir)...)
	}
	used := map[string]bool{}
	for _, f := range all {
		for _, m := range workloadMetric.FindAllStringSubmatch(strings.ReplaceAll(f.text, `\"`, `"`), -1) {
			used[m[1]] = true
			if !slices.Contains(exported, m[1]) {
				t.Errorf("%s: names workload.googleapis.com/%s, which the code does not export (internal/telemetry/names.go: %v)", f.rel, m[1], exported)
			}
		}
		for _, m := range routeLabel.FindAllStringSubmatch(strings.ReplaceAll(f.text, `\"`, `"`), -1) {
			if !slices.Contains(routes, m[1]) {
				t.Errorf("%s: selects route %q, which no role counts (api.RouteNames, worker.Routes: %v)", f.rel, m[1], routes)
			}
		}
		for _, m := range roleLabel.FindAllStringSubmatch(strings.ReplaceAll(f.text, `\"`, `"`), -1) {
			if m[1] != "api" && m[1] != "worker" {
				t.Errorf("%s: selects role %q: the http metrics' roles are api and worker", f.rel, m[1])
			}
		}
	}
	dash := loadMonitoring(t, ".")
	for _, name := range exported {
		if !strings.Contains(dash[0].text, "workload.googleapis.com/"+name+`\"`) {
			t.Errorf("deploy/monitoring/dashboard.json: no chart of %s", name)
		}
	}
	if len(used) == 0 {
		t.Fatal("deploy/monitoring names no workload metric: the pattern is wrong")
	}
}

// TestDeployMonitoring_SLOsAlertsAndRunbookAgree: each of /listppv, /submit
// and /status has an availability and a latency SLO, every burn-rate
// condition names one of them on the service apply.sh creates, every alert
// links a runbook section that exists, and the thresholds agree with the
// settings they guard.
func TestDeployMonitoring_SLOsAlertsAndRunbookAgree(t *testing.T) {
	t.Parallel()
	apply := string(readRepoFile(t, "deploy/monitoring/apply.sh"))
	service := regexp.MustCompile(`(?m)^service=(\S+)$`).FindStringSubmatch(apply)
	if service == nil {
		t.Fatal("deploy/monitoring/apply.sh: no service=NAME line")
	}
	slos := map[string]bool{}
	for _, f := range loadMonitoring(t, "slos") {
		id := strings.TrimSuffix(filepath.Base(f.rel), ".json")
		slos[id] = true
		goal, _ := f.doc["goal"].(float64)
		if goal <= 0.9 || goal >= 1 {
			t.Errorf("%s: goal %v, want between 0.9 and 1", f.rel, goal)
		}
		if f.doc["rollingPeriod"] != "2419200s" {
			t.Errorf("%s: rollingPeriod %v, want 28 days (2419200s)", f.rel, f.doc["rollingPeriod"])
		}
	}
	for _, route := range []string{"listppv", "submit", "status"} {
		for _, kind := range []string{"availability", "latency"} {
			if !slos[route+"-"+kind] {
				t.Errorf("deploy/monitoring/slos: no %s-%s.json", route, kind)
			}
		}
	}

	readme := string(readRepoFile(t, "deploy/README.md"))
	boot := loadBootstrap(t)
	burning := map[string]bool{}
	for _, f := range loadMonitoring(t, "alerts") {
		docText := ""
		if d, ok := f.doc["documentation"].(map[string]any); ok {
			docText, _ = d["content"].(string)
		}
		link := runbookLink.FindStringSubmatch(docText)
		switch {
		case link == nil:
			t.Errorf("%s: documentation does not link its runbook section (Runbook: deploy/README.md#alert-...)", f.rel)
		case !strings.Contains(readme, `<a id="`+link[1]+`"></a>`):
			t.Errorf("%s: links deploy/README.md#%s, which the runbook lacks", f.rel, link[1])
		}
		if name, _ := f.doc["displayName"].(string); !strings.HasPrefix(name, "vaxbook: ") {
			t.Errorf("%s: displayName %q, want \"vaxbook: ...\" (apply.sh finds policies by it)", f.rel, name)
		}
		conds, _ := f.doc["conditions"].([]any)
		if len(conds) == 0 || len(conds) > 6 {
			t.Errorf("%s: %d conditions, want 1 to 6 (Cloud Monitoring's limit)", f.rel, len(conds))
		}
		for _, m := range burnRate.FindAllStringSubmatch(strings.ReplaceAll(f.text, `\"`, `"`), -1) {
			burning[m[2]] = true
			if m[1] != service[1] || !slos[m[2]] {
				t.Errorf("%s: burn rate of %s/%s, not an SLO apply.sh creates (service %s, slos/)", f.rel, m[1], m[2], service[1])
			}
		}
	}
	for id := range slos {
		if !burning[id] {
			t.Errorf("SLO %s: no burn-rate alert", id)
		}
	}

	// Thresholds against what they guard.
	conns := alertThreshold(t, "cloudsql-connections")
	if maxConns, _ := strconv.ParseFloat(boot.vars["SQL_MAX_CONNECTIONS"], 64); conns <= 0 || conns >= maxConns {
		t.Errorf("cloudsql-connections: threshold %v, want below bootstrap.sh's SQL_MAX_CONNECTIONS %v", conns, maxConns)
	}
	interval, err := time.ParseDuration(envValue(loadDeployed(t, "deploy/cachefill.yaml", false).container(t), "CACHEFILL_INTERVAL"))
	if age := alertThreshold(t, "listing-age"); err != nil || age < 3*interval.Seconds() || age > 60 {
		t.Errorf("listing-age: threshold %vs, want at least three CACHEFILL_INTERVALs (%v, %v) and under READY_MAX_CACHE_AGE's 60s", age, interval, err)
	}
}

// alertThreshold is the first condition's thresholdValue of alerts/NAME.json.
func alertThreshold(t *testing.T, name string) float64 {
	t.Helper()
	var doc struct {
		Conditions []struct {
			ConditionThreshold struct {
				ThresholdValue float64 `json:"thresholdValue"`
			} `json:"conditionThreshold"`
		} `json:"conditions"`
	}
	if err := json.Unmarshal(readRepoFile(t, "deploy/monitoring/alerts/"+name+".json"), &doc); err != nil || len(doc.Conditions) == 0 {
		t.Fatalf("deploy/monitoring/alerts/%s.json: %v", name, err)
	}
	return doc.Conditions[0].ConditionThreshold.ThresholdValue
}

// TestDeployMonitoring_ServicesExportAndMayWrite: every role that reads
// TELEMETRY_EXPORTER (config.Serving) exports to
// Google Cloud, bootstrap lets its account write metrics and spans, and
// bootstrap applies deploy/monitoring.
func TestDeployMonitoring_ServicesExportAndMayWrite(t *testing.T) {
	t.Parallel()
	boot := loadBootstrap(t)
	for _, r := range deployedRoles {
		if _, reads := envVarNamed(r.config, "TELEMETRY_EXPORTER"); !reads {
			continue // a job, or a role that exports nothing (config.Base, not config.Serving)
		}
		if v := envValue(loadDeployed(t, r.file, false).container(t), "TELEMETRY_EXPORTER"); v != "gcp" {
			t.Errorf("%s: TELEMETRY_EXPORTER %q, want gcp", r.file, v)
		}
		grant := regexp.MustCompile(`for svc in ([a-z ]+); do`).FindStringSubmatch(boot.text)
		if grant == nil || !slices.Contains(strings.Fields(grant[1]), r.role) {
			t.Errorf("deploy/bootstrap.sh: vaxbook-%s is not granted the telemetry roles", r.role)
		}
	}
	for _, want := range []string{"roles/monitoring.metricWriter", "roles/cloudtrace.agent", "monitoring/apply.sh", "monitoring.googleapis.com", "cloudtrace.googleapis.com", "cloudscheduler.googleapis.com"} {
		if !strings.Contains(boot.text, want) {
			t.Errorf("deploy/bootstrap.sh: no %s", want)
		}
	}
}

// TestDeploySteering_MinimumInstancesAndPageReleaseNeedNoRevision: the
// api's minimum is steered at the service level, by hand and by the
// Scheduler jobs, a deploy keeps the live value, the booking page is
// released (and the CDN purged) only when it changed, and pull requests
// get the tests alone.
func TestDeploySteering_MinimumInstancesAndPageReleaseNeedNoRevision(t *testing.T) {
	t.Parallel()
	pre := string(readRepoFile(t, "deploy/prescale.sh"))
	for _, want := range []string{"gc run services update \"$SERVICE\" --region=\"$REGION\" --min=", "updateMask=scaling.minInstanceCount", "minInstanceCount", "--http-method=PATCH", "--oauth-service-account-email=\"$SCALER\"", "roles/run.developer"} {
		if !strings.Contains(pre, want) {
			t.Errorf("deploy/prescale.sh: no %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^[^#]*--min-instances`).MatchString(pre) {
		t.Error("deploy/prescale.sh: --min-instances sets the revision's minimum (a new revision); use --min")
	}
	if !slices.Contains(loadBootstrap(t).serviceAccounts, "scheduler") || !strings.Contains(pre, "SCALER=vaxbook-scheduler@") {
		t.Error("deploy/prescale.sh: the Scheduler jobs must run as vaxbook-scheduler, which bootstrap.sh creates")
	}

	dep := loadDeployBuild(t)
	deploy := strings.Join(dep.step(t, "deploy").Args, "\n")
	if i, j := strings.Index(deploy, `run.googleapis.com/minScale`), strings.Index(deploy, "for service in"); i < 0 || j < i || !strings.Contains(deploy, "export API_MIN_INSTANCES=$${live:-$$API_MIN_INSTANCES}") {
		t.Errorf("%s: the deploy step must read the live service-level minimum into API_MIN_INSTANCES before rendering", dep.file)
	}
	page, hosting := strings.Join(dep.step(t, "page").Args, "\n"), strings.Join(dep.step(t, "hosting").Args, "\n")
	if !strings.Contains(page, "/workspace/page-unchanged") || !strings.Contains(page, "channels/live/releases") {
		t.Errorf("%s: the page step must compare frontend/'s hash with the live release's", dep.file)
	}
	if !strings.Contains(hosting, "if [ -e /workspace/page-unchanged ]; then exit 0; fi") || !strings.Contains(hosting, `--message "$$(cat /workspace/page)"`) {
		t.Errorf("%s: hosting must skip an unchanged page and label its release with the hash", dep.file)
	}

	pr := loadCloudBuildFile(t, "cloudbuild-pr.yaml")
	if !strings.Contains(pr.ServiceAccount, "/vaxbook-build@") || len(pr.Images) != 0 {
		t.Errorf("cloudbuild-pr.yaml: runs as %q with images %v: want vaxbook-build and no image", pr.ServiceAccount, pr.Images)
	}
	if got := strings.Join(pr.step(t, "test").Args, " "); got != ".ci/test" {
		t.Errorf("cloudbuild-pr.yaml: test runs %q, want .ci/test", got)
	}
	if _, err := os.Stat(filepath.Join(repoRoot(t), "cloudbuild-pr.yaml")); err != nil {
		t.Error(err)
	}
}
