package main

// Deploy checks for the worker's two locks (issue 11): IAM, which must never
// open the worker to everyone, and the push token, whose audience and
// account must be what bootstrap.sh gives the push subscriptions.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/worker"
)

var (
	publicMember = regexp.MustCompile(`allUsers|allAuthenticatedUsers|--allow-unauthenticated`)
	// The service a gcloud run command acts on: its first argument.
	runServiceCmd = regexp.MustCompile(`run\s+(?:services\s+(?:add-iam-policy-binding|set-iam-policy)|deploy)\s+("?[^\s"]+"?)`)
)

// publicGrants lists the commands in text (a script, or a YAML whose steps
// hold scripts) that make a Cloud Run service public, other than the api
// and the delivery hooks: a binding, policy or deploy flag granting allUsers
// or allAuthenticatedUsers on anything not literally named api or hooks (a loop
// variable could be the worker), or a policy file naming the worker.
func publicGrants(file, text string) []string {
	var out []string
	logical := strings.ReplaceAll(text, "\\\n", " ")
	for _, line := range strings.Split(logical, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || !publicMember.MatchString(line) {
			continue
		}
		m := runServiceCmd.FindStringSubmatch(line)
		switch {
		case m != nil && (strings.Trim(m[1], `"`) == "api" || strings.Trim(m[1], `"`) == "hooks"):
			// The two public services by design: the booking API, and the
			// delivery hooks, which check each provider's signature.
		case m != nil && strings.Trim(m[1], `"`) == "admin":
			// Reachable by browsers; it checks staff's Google sign-in itself.
		case m != nil:
			out = append(out, file+": "+strings.Join(strings.Fields(line), " "))
		case strings.Contains(file, "worker") && !strings.Contains(line, "no allUsers"):
			out = append(out, file+": "+strings.Join(strings.Fields(line), " "))
		}
	}
	return out
}

func TestDeploy_NothingMakesTheWorkerPublic(t *testing.T) {
	t.Parallel()
	files := []string{"cloudbuild.yaml"}
	err := filepath.WalkDir(filepath.Join(repoRoot(t), "deploy"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(repoRoot(t), path)
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		for _, g := range publicGrants(f, string(readRepoFile(t, f))) {
			t.Errorf("%s: grants a service other than the api to everyone; the worker is invoked by the push identity alone", g)
		}
	}
	// The check itself catches what it is for.
	for _, bad := range []string{
		"gcloud run services add-iam-policy-binding worker --region=r \\\n  --member=allUsers --role=roles/run.invoker",
		"gcloud run services add-iam-policy-binding worker --member=allAuthenticatedUsers --role=roles/run.invoker",
		`for s in api worker; do gcloud run services add-iam-policy-binding "$s" --member=allUsers --role=roles/run.invoker; done`,
		"gcloud run deploy worker --image=x --allow-unauthenticated",
		"gcloud run services set-iam-policy worker policy.yaml # members: allUsers",
	} {
		if len(publicGrants("x.sh", bad)) == 0 {
			t.Errorf("publicGrants misses %q", bad)
		}
	}
	if g := publicGrants("deploy/worker-policy.yaml", "bindings:\n- members: [allUsers]\n  role: roles/run.invoker\n"); len(g) == 0 {
		t.Error("publicGrants misses a worker policy file with allUsers")
	}
	if g := publicGrants("x.sh", "gcloud run services add-iam-policy-binding api --member=allUsers --role=roles/run.invoker"); len(g) != 0 {
		t.Errorf("publicGrants flags the public api: %v", g)
	}
}

// Pub/Sub mints each push token for the audience and account the
// subscription names; the worker accepts only that audience (PUSH_AUDIENCE +
// the route's path) and that account. Out of step, every push is refused.
func TestDeploy_WorkerPushAuthMatchesTheSubscriptions(t *testing.T) {
	t.Parallel()
	boot := loadBootstrap(t)
	w := loadDeployed(t, "deploy/worker.yaml", false).container(t)
	if got := envValue(w, "PUSH_AUTH"); got != "on" {
		t.Errorf("deploy/worker.yaml: PUSH_AUTH %q, want on", got)
	}
	m := regexp.MustCompile(`(?m)^WORKER_URL=(\S+)$`).FindStringSubmatch(boot.text)
	if m == nil {
		t.Fatal("deploy/bootstrap.sh: no WORKER_URL=... line")
	}
	// bootstrap's shell variables and render.sh's placeholders for the same
	// values.
	asTemplate := strings.NewReplacer("$PROJECT_NUMBER", "__PROJECT_NUMBER__", "$REGION", "__REGION__", "$PROJECT_ID", "__PROJECT_ID__")
	if got, want := envValue(w, "PUSH_AUDIENCE"), asTemplate.Replace(m[1]); got != want {
		t.Errorf("deploy/worker.yaml: PUSH_AUDIENCE %q, want bootstrap.sh's WORKER_URL %q", got, want)
	}
	if got, want := envValue(w, "PUSH_SERVICE_ACCOUNT"), "vaxbook-push@__PROJECT_ID__.iam.gserviceaccount.com"; got != want {
		t.Errorf("deploy/worker.yaml: PUSH_SERVICE_ACCOUNT %q, want %q (bootstrap.sh's sa push)", got, want)
	}
	for _, flag := range []string{
		`--push-endpoint="$WORKER_URL$path"`,
		`--push-auth-token-audience="$WORKER_URL$path"`,
		`--push-auth-service-account="$(sa push)"`,
	} {
		if !strings.Contains(boot.text, flag) {
			t.Errorf("deploy/bootstrap.sh: push subscriptions lack %s (the worker wants the endpoint URL as audience)", flag)
		}
	}

	// Rendered as the pipeline renders it, the worker's own check passes.
	var cfg worker.Config // the role's own settings; the stores' come from secrets
	env := map[string]string{}
	for _, e := range loadDeployed(t, "deploy/worker.yaml", true).container(t).Env {
		env[e.Name] = e.Value
	}
	if err := config.Load(context.Background(), envFunc(env), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Push.Check(); err != nil {
		t.Errorf("deploy/worker.yaml rendered: %v", err)
	}
	if want := "https://worker-" + cloudBuildBuiltins["PROJECT_NUMBER"] + "." + renderEnv(t)["REGION"] + ".run.app"; cfg.Push.Audience != want {
		t.Errorf("deploy/worker.yaml rendered: PUSH_AUDIENCE %q, want %q", cfg.Push.Audience, want)
	}
}
