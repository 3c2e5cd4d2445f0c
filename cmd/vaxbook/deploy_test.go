package main

// Offline checks of the deployment (Dockerfile, cloudbuild.yaml, deploy/)
// against the code: nothing here can be deployed from a test, so everything
// that can be compared without Google Cloud is compared here. They live in
// package main to reflect on the real configuration structs.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	vaxapi "github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/config"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/testenv"
	"github.com/vaxbook/vaxbook/worker"
)

// deployedRoles are the roles Cloud Run runs, as main.go's commands table
// declares them.
var deployedRoles = func() []deployedRole {
	var out []deployedRole
	for _, c := range commands {
		if c.deploy != nil {
			out = append(out, deployedRole{c.name, *c.deploy})
		}
	}
	return out
}()

type deployedRole struct {
	role string
	deployment
}

// leftUnset lists the variables a role reads that its deploy file leaves
// unset on purpose. Every other variable must be set explicitly, so a new
// setting gets a deployment decision instead of a silent default.
var leftUnset = map[string]map[string]string{
	"api": {
		"PUBSUB_EMULATOR_HOST": "emulator only: never in production",
		"CAPTCHA_VERIFY_URL":   "the provider's own siteverify URL is the default",
		"SUBMIT_RATE_PER_IP":   "deprecated alias of RATE_LIMIT_SUBMIT, which is set",
		"SUBMIT_BURST_PER_IP":  "deprecated alias of RATE_LIMIT_SUBMIT's burst",
	},
	"worker": {
		"PUBSUB_EMULATOR_HOST": "emulator only: never in production",
		"SENDGRID_BASE_URL":    "SendGrid's own API host is the default",
		"TWILIO_BASE_URL":      "Twilio's own API host is the default",
	},
	"hooks":     {"DATABASE_MAX_CONNS": "the role fixes its pool at hooksMaxConns"},
	"cachefill": {"DATABASE_MAX_CONNS": "the role fixes its pool at cacheFillMaxConns"},
	"admin": {
		"DATABASE_MAX_CONNS":   "the role fixes its pool at adminMaxConns",
		"PUBSUB_EMULATOR_HOST": "emulator only: never in production",
	},
	"invite": {
		"DATABASE_MAX_CONNS":   "the role fixes its pool at inviteMaxConns",
		"PUBSUB_EMULATOR_HOST": "emulator only: never in production",
	},
	"closings": {
		"DATABASE_MAX_CONNS":   "the role fixes its pool at closingsMaxConns",
		"PUBSUB_EMULATOR_HOST": "emulator only: never in production",
	},
}

// cloudRunReserved are set by Cloud Run itself and may not be set in a service
// or job (PORT comes from containerPort).
var cloudRunReserved = []string{"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION",
	"CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_ATTEMPT", "CLOUD_RUN_TASK_COUNT"}

// Connection budget terms that no file states as a number.
const (
	revisionOverlap       = 2 // old and new revision can both be at maxScale during a rollout
	migrateConns          = 2 // golang-migrate holds one connection; one spare
	superuserReservedConn = 3 // PostgreSQL's superuser_reserved_connections default
)

// --- the files, parsed strictly: an unknown field is a typo -----------------

type knMeta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type knEnv struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

// secret names the Secret Manager secret e reads, or "" for a plain value.
func (e knEnv) secret() string {
	if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		return ""
	}
	return e.ValueFrom.SecretKeyRef.Name
}

type knProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port int    `yaml:"port"`
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type knContainer struct {
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env       []knEnv `yaml:"env"`
	Resources struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	StartupProbe  *knProbe `yaml:"startupProbe"`
	LivenessProbe *knProbe `yaml:"livenessProbe"`
}

type knPodSpec struct {
	ServiceAccountName   string        `yaml:"serviceAccountName"`
	ContainerConcurrency int           `yaml:"containerConcurrency"`
	TimeoutSeconds       int           `yaml:"timeoutSeconds"`
	MaxRetries           *int          `yaml:"maxRetries"`
	Containers           []knContainer `yaml:"containers"`
}

// knObject is what every manifest starts with.
type knObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   knMeta `yaml:"metadata"`
}

// knService is a Knative Service as `gcloud run services replace` reads it.
type knService struct {
	knObject `yaml:",inline"`
	Spec     struct {
		Template struct {
			Metadata knMeta    `yaml:"metadata"`
			Spec     knPodSpec `yaml:"spec"`
		} `yaml:"template"`
		Traffic []struct {
			LatestRevision bool `yaml:"latestRevision"`
			Percent        int  `yaml:"percent"`
		} `yaml:"traffic"`
	} `yaml:"spec"`
}

// runJob is a Cloud Run job as `gcloud run jobs replace` reads it.
type runJob struct {
	knObject `yaml:",inline"`
	Spec     struct {
		Template struct {
			Metadata knMeta `yaml:"metadata"`
			Spec     struct {
				Parallelism int `yaml:"parallelism"`
				TaskCount   int `yaml:"taskCount"`
				Template    struct {
					Spec knPodSpec `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// deployed is what the checks need from a service or a job.
type deployed struct {
	file        string
	name        string
	location    string
	annotations map[string]string // revision / execution template
	// serviceAnnotations are the service's own (a service only).
	serviceAnnotations map[string]string
	ingress            string
	pod                knPodSpec
	job                bool // a Cloud Run job: runs once, serves nothing
}

func (d deployed) container(t *testing.T) knContainer {
	t.Helper()
	if len(d.pod.Containers) != 1 {
		t.Fatalf("%s: want exactly one container, got %d", d.file, len(d.pod.Containers))
	}
	return d.pod.Containers[0]
}

func (d deployed) intAnnotation(t *testing.T, key string) int {
	t.Helper()
	n, err := strconv.Atoi(d.annotations[key])
	if err != nil {
		t.Fatalf("%s: annotation %s: want a whole number, got %q", d.file, key, d.annotations[key])
	}
	return n
}

func decodeStrict(t *testing.T, file string, b []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// repoRoot is where go test runs this package from, two levels down.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root %s: %v", root, err)
	}
	return root
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renderEnv is the environment the deploy pipeline's steps give
// deploy/render.sh: its options.env with the substitutions' defaults and
// sample built-ins, and IMAGE as its resolve step writes it (the tag's
// repository @ the digest).
func renderEnv(t *testing.T) map[string]string {
	t.Helper()
	cb := loadDeployBuild(t)
	env := map[string]string{}
	for _, kv := range cb.Options.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("%s: options.env %q: want NAME=value", cb.file, kv)
		}
		env[k] = cb.substitute(v)
	}
	repo, _, _ := strings.Cut(env["IMAGE_TAG"], ":"+cloudBuildBuiltins["COMMIT_SHA"])
	env["IMAGE"] = repo + sampleDigest
	return env
}

// sampleDigest stands in for the pushed image's digest.
const sampleDigest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// render runs deploy/render.sh on file with env, as the pipeline does.
func render(t *testing.T, file string, env map[string]string) []byte {
	t.Helper()
	cmd := exec.Command("bash", "deploy/render.sh", file)
	cmd.Dir = repoRoot(t)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render %s: %v: %s", file, err, stderr.String())
	}
	return out
}

// loadDeployed parses a deploy file, raw (placeholders in place) or rendered.
func loadDeployed(t *testing.T, file string, rendered bool) deployed {
	t.Helper()
	b := readRepoFile(t, file)
	if rendered {
		b = render(t, file, renderEnv(t))
	}
	var head struct {
		Kind string `yaml:"kind"`
	}
	if err := yaml.Unmarshal(b, &head); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	switch head.Kind {
	case "Service":
		var s knService
		decodeStrict(t, file, b, &s)
		if s.APIVersion != "serving.knative.dev/v1" {
			t.Errorf("%s: apiVersion %q, want serving.knative.dev/v1", file, s.APIVersion)
		}
		if len(s.Spec.Traffic) != 1 || !s.Spec.Traffic[0].LatestRevision || s.Spec.Traffic[0].Percent != 100 {
			t.Errorf("%s: traffic: want 100%% to the latest revision (rollback moves it by hand)", file)
		}
		return deployed{file: file, name: s.Metadata.Name, location: s.Metadata.Labels["cloud.googleapis.com/location"],
			annotations: s.Spec.Template.Metadata.Annotations, ingress: s.Metadata.Annotations["run.googleapis.com/ingress"],
			serviceAnnotations: s.Metadata.Annotations,
			pod:                s.Spec.Template.Spec}
	case "Job":
		var j runJob
		decodeStrict(t, file, b, &j)
		if j.APIVersion != "run.googleapis.com/v1" {
			t.Errorf("%s: apiVersion %q, want run.googleapis.com/v1", file, j.APIVersion)
		}
		if j.Spec.Template.Spec.Parallelism != 1 || j.Spec.Template.Spec.TaskCount != 1 {
			t.Errorf("%s: want one task, one at a time (migrations must not race)", file)
		}
		return deployed{file: file, name: j.Metadata.Name, location: j.Metadata.Labels["cloud.googleapis.com/location"],
			annotations: j.Spec.Template.Metadata.Annotations, pod: j.Spec.Template.Spec.Template.Spec, job: true}
	}
	t.Fatalf("%s: kind %q, want Service or Job", file, head.Kind)
	return deployed{}
}

// --- configuration, read from the code ----------------------------------------

type envVar struct {
	name       string
	def        string
	hasDefault bool
	required   bool
	secret     bool // json:"-"
}

// envVarsOf lists the variables a configuration struct reads, the way
// go-envconfig walks it (nested structs without a tag are entered).
func envVarsOf(t reflect.Type) []envVar {
	var out []envVar
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("env")
		if tag == "" {
			if f.Type.Kind() == reflect.Struct {
				out = append(out, envVarsOf(f.Type)...)
			}
			continue
		}
		parts := strings.Split(tag, ",")
		v := envVar{name: strings.TrimSpace(parts[0]), secret: f.Tag.Get("json") == "-"}
		for _, opt := range parts[1:] {
			opt = strings.TrimSpace(opt)
			switch {
			case opt == "required":
				v.required = true
			case strings.HasPrefix(opt, "default="):
				v.def, v.hasDefault = strings.TrimPrefix(opt, "default="), true
			}
		}
		out = append(out, v)
	}
	return out
}

func envVarNamed(t reflect.Type, name string) (envVar, bool) {
	for _, v := range envVarsOf(t) {
		if v.name == name {
			return v, true
		}
	}
	return envVar{}, false
}

// --- the tests ----------------------------------------------------------------

func TestDeploy_EveryVariableARoleReadsIsSetAndEverySetOneIsRead(t *testing.T) {
	t.Parallel()
	for _, r := range deployedRoles {
		d := loadDeployed(t, r.file, false)
		c := d.container(t)
		set := map[string]knEnv{}
		for _, e := range c.Env {
			if _, dup := set[e.Name]; dup {
				t.Errorf("%s: env %s is set twice", r.file, e.Name)
			}
			set[e.Name] = e
		}
		reads := map[string]envVar{}
		for _, v := range envVarsOf(r.config) {
			reads[v.name] = v
		}
		for _, name := range sortedKeys(reads) {
			v := reads[name]
			e, ok := set[name]
			switch {
			case name == "PORT":
				// Cloud Run sets it; the container port must be its default.
			case !ok && leftUnset[r.role][name] != "":
				// Deliberately unset; the reason is in leftUnset.
			case !ok:
				t.Errorf("%s: env %s read by role %s is not set (set it, from a Secret Manager secret if it is one, or add it to leftUnset in deploy_test.go with the reason)", r.file, name, r.role)
			case v.secret && e.secret() == "":
				t.Errorf("%s: env %s read by role %s is a secret: take it from valueFrom.secretKeyRef, not a plain value", r.file, name, r.role)
			case !v.secret && e.ValueFrom != nil:
				t.Errorf("%s: env %s read by role %s is not a secret: give it a plain value", r.file, name, r.role)
			}
		}
		for _, name := range sortedKeys(set) {
			if slices.Contains(cloudRunReserved, name) {
				t.Errorf("%s: env %s is reserved: Cloud Run sets it", r.file, name)
				continue
			}
			if _, ok := reads[name]; !ok {
				t.Errorf("%s: env %s is set but role %s does not read it (a typo, or a setting of another role)", r.file, name, r.role)
			}
			if reason := leftUnset[r.role][name]; reason != "" {
				t.Errorf("%s: env %s is set, but deploy_test.go's leftUnset says it must not be: %s", r.file, name, reason)
			}
			if e := set[name]; e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Key != "latest" {
				t.Errorf("%s: env %s: secret version %q, want latest (rotation = add a version, redeploy)", r.file, name, e.ValueFrom.SecretKeyRef.Key)
			}
		}
		for name := range leftUnset[r.role] {
			if _, ok := reads[name]; !ok {
				t.Errorf("deploy_test.go: leftUnset[%s] names %s, which the role no longer reads", r.role, name)
			}
		}
	}
}

func TestDeploy_RenderedValuesPassTheRolesOwnConfigurationChecks(t *testing.T) {
	t.Parallel()
	for _, r := range deployedRoles {
		d := loadDeployed(t, r.file, true)
		c := d.container(t)
		if !slices.Equal(c.Args, r.args) {
			t.Errorf("%s: args %q, want %q", r.file, c.Args, r.args)
		}
		env := map[string]string{}
		for _, e := range c.Env {
			if e.secret() != "" {
				env[e.Name] = localSecret(t, e.secret(), "postgres://u@127.0.0.1:1/x", "redis://127.0.0.1:1/0")
				continue
			}
			env[e.Name] = e.Value
		}
		// Load exactly as the role does: a malformed value fails here.
		cfg := reflect.New(r.config).Interface()
		if err := config.Load(context.Background(), envFunc(env), cfg); err != nil {
			t.Errorf("%s: role %s rejects its deployed environment: %v", r.file, r.role, err)
		}
		if err := run(context.Background(), append([]string{"vaxbook"}, r.args...), envFunc(nil), &bytes.Buffer{}); err == nil || strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%s: vaxbook %v: got %v, want the command to exist (and stop on its missing configuration)", r.file, r.args, err)
		}
	}
}

// localSecret stands in for a Secret Manager secret when a role is run here.
func localSecret(t *testing.T, name, databaseURL, redisURL string) string {
	t.Helper()
	switch name {
	case "database-url", "database-url-worker", "database-url-cachefill", "database-url-invite", "database-url-hooks", "database-url-admin", "database-url-closings":
		return databaseURL
	case "redis-url":
		return redisURL
	case "sendgrid-api-key", "captcha-secret", "captcha-site-key":
		return "test-" + name
	case "twilio-account-sid":
		return "AC0123456789abcdef0123456789abcdef"
	case "twilio-auth-token":
		return "0123456789abcdef0123456789abcdef"
	case "sendgrid-webhook-public-key":
		// A P-256 public key, base64 DER, as SendGrid's settings show one.
		return "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2SdvkpmykG9yiqabjytPDvmYCUPBC5JszSlrrS6G/DvRTd5ZSGAFMDHtRS1HeQPQpYAfy+aMQtBTm4xWRalfSg=="
	case "invitation-secret":
		return "test-invitation-secret-of-at-least-32-bytes"
	case "rate-limit-key":
		return "test-rate-limit-key-0123456789"
	case "contact-proof-secret":
		return "test-contact-proof-secret-of-at-least-32-bytes"
	case "id-pepper", "reference-key", "manage-secret":
		return "test-" + name + "-of-at-least-32-bytes"
	}
	t.Fatalf("secret %s: deploy_test.go's localSecret has no local stand-in for it; add one", name)
	return ""
}

func TestDeploy_ServicesMatchTheCodesPortsProbesAndNames(t *testing.T) {
	t.Parallel()
	port, ok := envVarNamed(reflect.TypeFor[config.Base](), "PORT")
	if !ok || !port.hasDefault {
		t.Fatal("config.Base has no PORT default")
	}
	boot := loadBootstrap(t)
	for _, r := range deployedRoles {
		d := loadDeployed(t, r.file, false)
		c := d.container(t)
		if d.name != r.role {
			t.Errorf("%s: metadata.name %q, want %q", r.file, d.name, r.role)
		}
		if d.location != "__REGION__" {
			t.Errorf("%s: location label %q, want __REGION__", r.file, d.location)
		}
		if c.Image != "__IMAGE__" {
			t.Errorf("%s: image %q, want __IMAGE__ (the pipeline's commit-tagged image)", r.file, c.Image)
		}
		if want := "vaxbook-" + r.role + "@__PROJECT_ID__.iam.gserviceaccount.com"; d.pod.ServiceAccountName != want {
			t.Errorf("%s: serviceAccountName %q, want its own %q", r.file, d.pod.ServiceAccountName, want)
		}
		if !slices.Contains(boot.serviceAccounts, r.role) {
			t.Errorf("deploy/bootstrap.sh: creates no service account for role %s", r.role)
		}
		checkVPC(t, d, boot)
		for _, e := range c.Env {
			secret := e.secret()
			if secret == "" {
				continue
			}
			if !slices.Contains(boot.secrets, secret) {
				t.Errorf("%s: env %s reads secret %s, which deploy/bootstrap.sh does not create", r.file, e.Name, secret)
			}
			if !slices.Contains(boot.secretGrants[secret], r.role) {
				t.Errorf("%s: env %s reads secret %s, but deploy/bootstrap.sh does not grant it to vaxbook-%s", r.file, e.Name, secret, r.role)
			}
		}
		if r.role == "migrate" && (d.pod.MaxRetries == nil || *d.pod.MaxRetries != 0) {
			t.Errorf("%s: maxRetries: want 0, a failed migration is looked at", r.file)
		}
		if d.job {
			continue
		}
		if len(c.Ports) != 1 || strconv.Itoa(c.Ports[0].ContainerPort) != port.def {
			t.Errorf("%s: want one container port %s (the binary's PORT default), got %+v", r.file, port.def, c.Ports)
		}
		// The api starts on a filled cache whatever its age: a stalled
		// cache writer is an alert, never a gate on scaling out.
		startup := "/readyz"
		if r.role == "api" {
			startup = "/startupz"
		}
		checkProbe(t, r.file, "startupProbe", c.StartupProbe, startup, port.def)
		checkProbe(t, r.file, "livenessProbe", c.LivenessProbe, "/healthz", port.def)
		if d.annotations["run.googleapis.com/startup-cpu-boost"] != "true" {
			t.Errorf("%s: want startup CPU boost", r.file)
		}
		if d.pod.ContainerConcurrency < 1 || d.pod.ContainerConcurrency > 1000 {
			t.Errorf("%s: containerConcurrency %d outside Cloud Run's 1-1000", r.file, d.pod.ContainerConcurrency)
		}
	}

	api := loadDeployed(t, "deploy/api.yaml", false)
	if api.ingress != "all" {
		t.Errorf("deploy/api.yaml: ingress %q, want all (public)", api.ingress)
	}
	// The surge knob is the service's own minimum (changing it makes no
	// revision); a revision-level one beside it would be a second knob.
	if api.serviceAnnotations["run.googleapis.com/minScale"] != "__API_MIN_INSTANCES__" {
		t.Errorf("deploy/api.yaml: service-level run.googleapis.com/minScale %q, want __API_MIN_INSTANCES__, the surge knob", api.serviceAnnotations["run.googleapis.com/minScale"])
	}
	if v, ok := api.annotations["autoscaling.knative.dev/minScale"]; ok {
		t.Errorf("deploy/api.yaml: revision-level minScale %q: leave the minimum to the service level (prescale.sh changes it without a revision)", v)
	}
	rendered := loadDeployed(t, "deploy/api.yaml", true)
	lo, err := strconv.Atoi(rendered.serviceAnnotations["run.googleapis.com/minScale"])
	if hi := rendered.intAnnotation(t, "autoscaling.knative.dev/maxScale"); err != nil || lo < 1 || lo > hi {
		t.Errorf("deploy/api.yaml: rendered service minScale %d (%v), maxScale %d: want 1 <= min <= max", lo, err, hi)
	}
	// The process sheds at the concurrency Cloud Run was told it carries.
	inFlight, _ := envVarNamed(reflect.TypeFor[vaxapi.Config](), "API_MAX_IN_FLIGHT")
	cc := strconv.Itoa(api.pod.ContainerConcurrency)
	if v := envValue(api.container(t), "API_MAX_IN_FLIGHT"); v != cc || inFlight.def != cc || strconv.Itoa(vaxapi.DefaultMaxInFlight) != cc {
		t.Errorf("deploy/api.yaml: API_MAX_IN_FLIGHT %q, code default %q, api.DefaultMaxInFlight %d: want each equal to containerConcurrency %s",
			v, inFlight.def, vaxapi.DefaultMaxInFlight, cc)
	}
	topic, _ := envVarNamed(reflect.TypeFor[pubsub.Config](), "APPOINTMENTS_TOPIC")
	if v := envValue(api.container(t), "APPOINTMENTS_TOPIC"); v != "appointments-topic" || topic.def != v {
		t.Errorf("deploy/api.yaml: APPOINTMENTS_TOPIC %q, code default %q, want both appointments-topic", v, topic.def)
	}

	// The loops: one instance working between requests; a second during a
	// rollout stands by under its lease.
	for _, file := range []string{"deploy/cachefill.yaml", "deploy/invite.yaml"} {
		loop := loadDeployed(t, file, false)
		if loop.intAnnotation(t, "autoscaling.knative.dev/minScale") != 1 || loop.intAnnotation(t, "autoscaling.knative.dev/maxScale") != 1 {
			t.Errorf("%s: want exactly one instance (minScale = maxScale = 1)", file)
		}
		if loop.annotations["run.googleapis.com/cpu-throttling"] != "false" {
			t.Errorf(`%s: want CPU always allocated (run.googleapis.com/cpu-throttling: "false")`, file)
		}
	}

	w := loadDeployed(t, "deploy/worker.yaml", false)
	if w.ingress != "all" {
		t.Errorf("deploy/worker.yaml: ingress %q, want all with IAM-only invocation (Pub/Sub push)", w.ingress)
	}
	// Invokers: the api is public; the worker's only invoker is Pub/Sub's
	// push identity; nobody invokes cachefill.
	cb := loadDeployBuild(t)
	script := strings.Join(cb.step(t, "deploy").Args, "\n")
	invokers := map[string][]string{}
	for _, seg := range strings.Split(script, "gcloud run services add-iam-policy-binding ")[1:] {
		service := strings.Fields(seg)[0]
		m := regexp.MustCompile(`--member="?([^"\s]+)"?`).FindStringSubmatch(seg)
		if m == nil || !strings.Contains(seg, "--role=roles/run.invoker") {
			t.Errorf("cloudbuild.yaml: binding on %s: want --member=... --role=roles/run.invoker", service)
			continue
		}
		invokers[service] = append(invokers[service], m[1])
	}
	wantInvokers := map[string][]string{"api": {"allUsers"}, "hooks": {"allUsers"}, "admin": {"allUsers"}, "worker": {"serviceAccount:vaxbook-push@$PROJECT_ID.iam.gserviceaccount.com"}}
	if !reflect.DeepEqual(invokers, wantInvokers) {
		t.Errorf("cloudbuild.yaml: run.invoker bindings %v, want %v", invokers, wantInvokers)
	}
}

func checkProbe(t *testing.T, file, name string, p *knProbe, path, port string) {
	t.Helper()
	switch {
	case p == nil || p.HTTPGet == nil:
		t.Errorf("%s: no HTTP %s", file, name)
	case p.HTTPGet.Path != path || strconv.Itoa(p.HTTPGet.Port) != port:
		t.Errorf("%s: %s on %s port %d, want %s port %s", file, name, p.HTTPGet.Path, p.HTTPGet.Port, path, port)
	case p.TimeoutSeconds > p.PeriodSeconds || p.PeriodSeconds < 1 || p.FailureThreshold < 1:
		t.Errorf("%s: %s: period %d s, timeout %d s, threshold %d: want timeout <= period and both set", file, name, p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold)
	case p.InitialDelaySeconds+p.PeriodSeconds*p.FailureThreshold > 240:
		t.Errorf("%s: %s gives up after more than Cloud Run's 240 s", file, name)
	}
}

func checkVPC(t *testing.T, d deployed, boot bootstrap) {
	t.Helper()
	var nics []struct {
		Network    string `json:"network"`
		Subnetwork string `json:"subnetwork"`
	}
	if err := json.Unmarshal([]byte(d.annotations["run.googleapis.com/network-interfaces"]), &nics); err != nil || len(nics) != 1 {
		t.Errorf("%s: run.googleapis.com/network-interfaces: want one Direct VPC interface, got %q", d.file, d.annotations["run.googleapis.com/network-interfaces"])
		return
	}
	if nics[0].Network != boot.vars["NETWORK"] || nics[0].Subnetwork != boot.vars["SUBNET"] {
		t.Errorf("%s: Direct VPC egress to %s/%s, bootstrap.sh creates %s/%s", d.file, nics[0].Network, nics[0].Subnetwork, boot.vars["NETWORK"], boot.vars["SUBNET"])
	}
	if d.annotations["run.googleapis.com/vpc-access-egress"] != "private-ranges-only" {
		t.Errorf("%s: vpc-access-egress %q, want private-ranges-only (Google APIs stay on Google's path)", d.file, d.annotations["run.googleapis.com/vpc-access-egress"])
	}
}

func envValue(c knContainer, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestDeploy_WorkerConnectionsStayUnderCloudSQLsLimit(t *testing.T) {
	t.Parallel()
	boot := loadBootstrap(t)
	limit, err := strconv.Atoi(boot.vars["SQL_MAX_CONNECTIONS"])
	if err != nil {
		t.Fatalf("deploy/bootstrap.sh: SQL_MAX_CONNECTIONS: %v", err)
	}
	if !regexp.MustCompile(`--database-flags="max_connections=\$SQL_MAX_CONNECTIONS[,"]`).MatchString(boot.text) {
		t.Error("deploy/bootstrap.sh: the Cloud SQL instance does not declare max_connections=$SQL_MAX_CONNECTIONS")
	}
	if !strings.Contains(boot.text, "--database-version=POSTGRES_15") {
		t.Error("deploy/bootstrap.sh: want PostgreSQL 15, the version the tests run")
	}

	w := loadDeployed(t, "deploy/worker.yaml", false)
	conns := 0
	if v := envValue(w.container(t), "DATABASE_MAX_CONNS"); v != "" {
		conns, err = strconv.Atoi(v)
	} else {
		d, _ := envVarNamed(reflect.TypeFor[postgres.Config](), "DATABASE_MAX_CONNS")
		conns, err = strconv.Atoi(d.def)
	}
	if err != nil || conns < 1 {
		t.Fatalf("deploy/worker.yaml: DATABASE_MAX_CONNS: %v", err)
	}
	if w.pod.ContainerConcurrency != conns {
		t.Errorf("deploy/worker.yaml: containerConcurrency %d, DATABASE_MAX_CONNS %d: want them equal (one transaction per push, none waiting for a connection)", w.pod.ContainerConcurrency, conns)
	}
	workerMax := w.intAnnotation(t, "autoscaling.knative.dev/maxScale")
	cf := loadDeployed(t, "deploy/cachefill.yaml", false)
	cfMax := cf.intAnnotation(t, "autoscaling.knative.dev/maxScale")
	inv := loadDeployed(t, "deploy/invite.yaml", false)
	invMax := inv.intAnnotation(t, "autoscaling.knative.dev/maxScale")
	hk := loadDeployed(t, "deploy/hooks.yaml", false)
	hkMax := hk.intAnnotation(t, "autoscaling.knative.dev/maxScale")
	if hk.pod.ContainerConcurrency > hooksMaxConns {
		t.Errorf("deploy/hooks.yaml: containerConcurrency %d over its pool of %d", hk.pod.ContainerConcurrency, hooksMaxConns)
	}

	adm := loadDeployed(t, "deploy/admin.yaml", false)
	admMax := adm.intAnnotation(t, "autoscaling.knative.dev/maxScale")
	total := revisionOverlap*workerMax*(conns+emailMaxConns) + revisionOverlap*cfMax*cacheFillMaxConns +
		revisionOverlap*invMax*inviteMaxConns + revisionOverlap*hkMax*hooksMaxConns +
		revisionOverlap*admMax*adminMaxConns + closingsMaxConns + migrateConns + superuserReservedConn
	t.Logf("connections: worker %d x %d x (%d + messages %d) + cachefill %d x %d x %d + invite %d x %d x %d + hooks %d x %d x %d + admin %d x %d x %d + closings %d + migrate %d + reserved %d = %d of %d",
		revisionOverlap, workerMax, conns, emailMaxConns, revisionOverlap, cfMax, cacheFillMaxConns,
		revisionOverlap, invMax, inviteMaxConns, revisionOverlap, hkMax, hooksMaxConns,
		revisionOverlap, admMax, adminMaxConns, closingsMaxConns, migrateConns, superuserReservedConn, total, limit)
	if total >= limit {
		t.Errorf("worker maxScale %d x (DATABASE_MAX_CONNS %d + e-mail pool %d) (x%d during a rollout) + cachefill + migrate + reserved = %d connections, not under Cloud SQL's max_connections %d in deploy/bootstrap.sh",
			workerMax, conns, emailMaxConns, revisionOverlap, total, limit)
	}
	// The arithmetic is written down for people too; keep it true.
	for file, text := range map[string]string{"deploy/worker.yaml": string(readRepoFile(t, "deploy/worker.yaml")), "deploy/bootstrap.sh": boot.text} {
		m := regexp.MustCompile(`= (\d+) < (\d+)`).FindStringSubmatch(text)
		if m == nil || m[1] != strconv.Itoa(total) || m[2] != strconv.Itoa(limit) {
			t.Errorf("%s: its comment's connection total %q does not say = %d < %d", file, m, total, limit)
		}
	}
}

func TestDeploy_PubSubTopicsAndPushSubscriptionsMatchTheWorker(t *testing.T) {
	t.Parallel()
	boot := loadBootstrap(t)
	for _, topic := range []string{"appointments-topic", "email-topic", "sms-topic", "registrations-topic",
		"appointments-dead-letter", "email-dead-letter", "sms-dead-letter", "registrations-dead-letter"} {
		if !slices.Contains(boot.topics, topic) {
			t.Errorf("deploy/bootstrap.sh: does not create topic %s", topic)
		}
	}
	want := map[string][3]string{
		"appointments-push": {"appointments-topic", worker.PushPath, "appointments-dead-letter"},
		"email-push":        {"email-topic", worker.EmailPushPath, "email-dead-letter"},
		"sms-push":          {"sms-topic", worker.SMSPushPath, "sms-dead-letter"},
		// The registration queue's route (docs/queue.md); the worker's
		// constant for it comes with its handler.
		"registrations-push": {"registrations-topic", "/push/registrations", "registrations-dead-letter"},
		"manage-push":        {"manage-topic", "/push/manage", "manage-dead-letter"},
	}
	w := loadDeployed(t, "deploy/worker.yaml", false)
	for name, sub := range boot.pushSubs {
		exp, ok := want[name]
		if !ok {
			t.Errorf("deploy/bootstrap.sh: push subscription %s is not one of the team's names", name)
			continue
		}
		if sub.topic != exp[0] || sub.path != exp[1] || sub.deadLetter != exp[2] {
			t.Errorf("deploy/bootstrap.sh: %s: topic %s path %s dead letter %s, want %s %s %s", name, sub.topic, sub.path, sub.deadLetter, exp[0], exp[1], exp[2])
		}
		if sub.ack < 10 || sub.ack > 600 || sub.ack > w.pod.TimeoutSeconds {
			t.Errorf("deploy/bootstrap.sh: %s: ack deadline %d s: want 10-600 and within the worker's request timeout %d s", name, sub.ack, w.pod.TimeoutSeconds)
		}
		if sub.attempts < 5 || sub.attempts > 100 {
			t.Errorf("deploy/bootstrap.sh: %s: max delivery attempts %d, Pub/Sub allows 5-100", name, sub.attempts)
		}
		lo, hi := seconds(t, sub.minBackoff), seconds(t, sub.maxBackoff)
		if lo > hi || hi > 600 {
			t.Errorf("deploy/bootstrap.sh: %s: backoff %s-%s: want min <= max <= 600s", name, sub.minBackoff, sub.maxBackoff)
		}
		// A surge backlog is refused (429/503) for as long as the workers
		// are saturated: a booking must not be dead-lettered for waiting.
		// Messages wait on their provider instead, and are sent in ten.
		if name != "email-push" && name != "sms-push" {
			window := time.Duration(0)
			for i, d := 0, lo; i < sub.attempts-1; i++ {
				window += time.Duration(d) * time.Second
				d = min(2*d, hi)
			}
			if window < 2*time.Hour {
				t.Errorf("deploy/bootstrap.sh: %s: %d attempts backing off %s-%s dead-letter after %v of refusals, want at least 2h for a surge backlog", name, sub.attempts, sub.minBackoff, sub.maxBackoff, window)
			}
		}
	}
	for name := range want {
		if _, ok := boot.pushSubs[name]; !ok {
			t.Errorf("deploy/bootstrap.sh: does not create push subscription %s", name)
		}
	}
	for _, s := range []string{"--push-auth-service-account", "--push-auth-token-audience", "--expiration-period=never", "roles/pubsub.subscriber", "gcp-sa-pubsub"} {
		if !strings.Contains(boot.text, s) {
			t.Errorf("deploy/bootstrap.sh: push subscriptions lack %s", s)
		}
	}
}

func seconds(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSuffix(s, "s"))
	if err != nil || !strings.HasSuffix(s, "s") {
		t.Fatalf("deploy/bootstrap.sh: duration %q: want whole seconds like 10s", s)
	}
	return n
}

// TestDeploy_RolesStartWithTheirDeployedEnvironment runs each service's role
// with the environment its file gives it (secrets replaced by local servers)
// and asks its probes and push route: the paths Cloud Run and Pub/Sub will
// call must be served.
func TestDeploy_RolesStartWithTheirDeployedEnvironment(t *testing.T) {
	t.Parallel()
	dbURL, redisURL := testenv.DatabaseURL(t), testenv.RedisURL(t)
	srv, _ := testenv.NewPubSub(t, renderEnv(t)["PROJECT_ID"])
	for _, r := range deployedRoles {
		d := loadDeployed(t, r.file, true)
		c := d.container(t)
		env := map[string]string{}
		for _, e := range c.Env {
			if e.secret() != "" {
				env[e.Name] = localSecret(t, e.secret(), dbURL, redisURL)
			} else {
				env[e.Name] = e.Value
			}
		}
		if env["DATABASE_IAM_AUTH"] == "on" {
			// The local server trusts its users; the IAM login itself is
			// internal/postgres's TestIAMLogin_*.
			env["DATABASE_IAM_AUTH"] = "off"
		}
		if d.job {
			if r.role == "closings" {
				env["PUBSUB_EMULATOR_HOST"] = srv.Addr
			}
			if err := run(context.Background(), append([]string{"vaxbook"}, c.Args...), envFunc(env), &bytes.Buffer{}); err != nil {
				t.Errorf("%s: vaxbook %v: %v", r.file, c.Args, err)
			}
			continue
		}
		env["PORT"] = freePort(t)
		if env["TELEMETRY_EXPORTER"] == "gcp" {
			// No Google credentials here; the exporters' setup is
			// internal/telemetry's, the instruments' TestTelemetry_*.
			env["TELEMETRY_EXPORTER"] = "prometheus"
		}
		if r.role == "api" || r.role == "worker" || r.role == "invite" || r.role == "admin" {
			env["PUBSUB_EMULATOR_HOST"] = srv.Addr
		}
		base := startRole(t, env, c.LivenessProbe.HTTPGet.Path, c.Args...)
		probe := func(method, path string, wantJSON bool) {
			req, _ := http.NewRequest(method, base+path, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("%s: %s %s: %v", r.file, method, path, err)
				return
			}
			resp.Body.Close()
			ct := resp.Header.Get("Content-Type")
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed || (wantJSON && !strings.HasPrefix(ct, "application/json")) {
				t.Errorf("%s: role %s answers %s %s with %d %s: not its route", r.file, r.role, method, path, resp.StatusCode, ct)
			}
		}
		probe(http.MethodGet, c.StartupProbe.HTTPGet.Path, true)
		if r.role == "worker" {
			probe(http.MethodPost, worker.PushPath, false)
			probe(http.MethodPost, worker.EmailPushPath, false)
		}
	}
}

// --- bootstrap.sh ------------------------------------------------------------------

type pushSub struct {
	topic, path, deadLetter string
	ack                     int
	minBackoff, maxBackoff  string
	attempts                int
}

type bootstrap struct {
	text            string
	vars            map[string]string   // NAME=value lines at the top level
	secrets         []string            // ensure_secret NAME
	secretGrants    map[string][]string // grant_secret NAME role...
	publishGrants   map[string][]string // grant_publish TOPIC role...
	serviceAccounts []string            // for role in ...; do (service accounts)
	topics          []string
	pushSubs        map[string]pushSub
}

func loadBootstrap(t *testing.T) bootstrap {
	t.Helper()
	text := string(readRepoFile(t, "deploy/bootstrap.sh"))
	b := bootstrap{text: text, vars: map[string]string{}, secretGrants: map[string][]string{}, publishGrants: map[string][]string{}, pushSubs: map[string]pushSub{}}
	assign := regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=([^$\s]+)$`)
	sub := regexp.MustCompile(`^push_subscription (\S+) (\S+) (\S+) (\S+) (\d+) (\S+) (\S+) (\d+)$`)
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case assign.MatchString(line):
			m := assign.FindStringSubmatch(line)
			b.vars[m[1]] = m[2]
		case len(fields) >= 2 && fields[0] == "ensure_secret" && !strings.HasPrefix(fields[1], `"`):
			b.secrets = append(b.secrets, fields[1])
		case len(fields) >= 3 && fields[0] == "grant_secret" && !strings.HasPrefix(fields[1], `"`):
			b.secretGrants[fields[1]] = fields[2:]
		case len(fields) >= 3 && fields[0] == "grant_publish" && !strings.HasPrefix(fields[1], `"`):
			b.publishGrants[fields[1]] = append(b.publishGrants[fields[1]], fields[2:]...)
		case strings.HasPrefix(line, "for role in ") && strings.Contains(line, "push"):
			b.serviceAccounts = strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "for role in "), "; do"))
		case strings.HasPrefix(line, "for topic in "):
			b.topics = strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "for topic in "), "; do"))
		case sub.MatchString(line):
			m := sub.FindStringSubmatch(line)
			ack, _ := strconv.Atoi(m[5])
			attempts, _ := strconv.Atoi(m[8])
			b.pushSubs[m[1]] = pushSub{topic: m[2], path: m[3], deadLetter: m[4], ack: ack, minBackoff: m[6], maxBackoff: m[7], attempts: attempts}
		}
	}
	for _, name := range []string{"NETWORK", "SUBNET", "SQL_MAX_CONNECTIONS", "AR_REPO"} {
		if b.vars[name] == "" {
			t.Fatalf("deploy/bootstrap.sh: no %s=value line", name)
		}
	}
	return b
}

func TestDeploy_BootstrapCreatesTheSecretsAndAccountsTheTeamNamed(t *testing.T) {
	t.Parallel()
	boot := loadBootstrap(t)
	for _, s := range []string{"database-url", "redis-url", "sendgrid-api-key", "captcha-secret", "captcha-site-key", "rate-limit-key", "contact-proof-secret"} {
		if !slices.Contains(boot.secrets, s) {
			t.Errorf("deploy/bootstrap.sh: does not create secret %s", s)
		}
	}
	for _, role := range []string{"api", "worker", "cachefill", "invite", "migrate", "push", "deploy"} {
		if !slices.Contains(boot.serviceAccounts, role) {
			t.Errorf("deploy/bootstrap.sh: does not create service account vaxbook-%s", role)
		}
	}
	// Least privilege: a secret is granted only to the roles whose service
	// reads it, except those granted ahead for features whose variables
	// other work adds to the service files (e-mail, captcha, and the
	// invitation secret the api and worker check tokens with).
	reads := map[string][]string{}
	for _, r := range deployedRoles {
		for _, e := range loadDeployed(t, r.file, false).container(t).Env {
			if e.secret() != "" {
				reads[e.secret()] = append(reads[e.secret()], r.role)
			}
		}
	}
	grantedAhead := map[string][]string{"sendgrid-api-key": {"worker"}, "captcha-secret": {"api"}, "invitation-secret": {"api", "worker"}}
	for secret, roles := range boot.secretGrants {
		for _, role := range roles {
			if !slices.Contains(reads[secret], role) && !slices.Contains(grantedAhead[secret], role) {
				t.Errorf("deploy/bootstrap.sh: grants secret %s to vaxbook-%s, whose service does not read it", secret, role)
			}
		}
	}
	for _, p := range [][2]string{{"appointments-topic", "api"}, {"email-topic", "worker"}, {"email-topic", "invite"}, {"registrations-topic", "api"}, {"email-topic", "api"}} {
		topic, role := p[0], p[1]
		if !slices.Contains(boot.publishGrants[topic], role) {
			t.Errorf("deploy/bootstrap.sh: vaxbook-%s may not publish to %s", role, topic)
		}
	}

	cb := loadCloudBuild(t)
	if boot.vars["AR_REPO"] != cb.Substitutions["_REPO"] {
		t.Errorf("Artifact Registry repository: bootstrap.sh %q, cloudbuild.yaml _REPO %q", boot.vars["AR_REPO"], cb.Substitutions["_REPO"])
	}
	if m := regexp.MustCompile(`REGION=\$\{REGION:-([a-z0-9-]+)\}`).FindStringSubmatch(boot.text); m == nil || m[1] != cb.Substitutions["_REGION"] {
		t.Errorf("default region: bootstrap.sh %q, cloudbuild.yaml _REGION %q", m, cb.Substitutions["_REGION"])
	}
}

// --- cloudbuild.yaml -----------------------------------------------------------------

type cloudBuild struct {
	Substitutions  map[string]string `yaml:"substitutions"`
	Timeout        string            `yaml:"timeout"`
	ServiceAccount string            `yaml:"serviceAccount"`
	Options        struct {
		Logging     string   `yaml:"logging"`
		MachineType string   `yaml:"machineType"`
		Env         []string `yaml:"env"`
	} `yaml:"options"`
	Steps  []cbStep `yaml:"steps"`
	Images []string `yaml:"images"`
	raw    string
	file   string
}

type cbStep struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Entrypoint string   `yaml:"entrypoint"`
	Dir        string   `yaml:"dir"`
	Env        []string `yaml:"env"`
	Args       []string `yaml:"args"`
	WaitFor    []string `yaml:"waitFor"`
}

// cloudBuildBuiltins are the substitutions Cloud Build fills itself.
var cloudBuildBuiltins = map[string]string{
	"PROJECT_ID": "test-project", "PROJECT_NUMBER": "123", "LOCATION": "global", "BUILD_ID": "b",
	"COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567", "SHORT_SHA": "0123456", "REVISION_ID": "r",
	"BRANCH_NAME": "main", "TAG_NAME": "", "REF_NAME": "main", "REPO_NAME": "vaxbook", "REPO_FULL_NAME": "vaxbook/vaxbook",
	"TRIGGER_NAME": "t", "TRIGGER_BUILD_CONFIG_PATH": "cloudbuild.yaml", "SERVICE_ACCOUNT_EMAIL": "d@x", "SERVICE_ACCOUNT": "d",
}

var substRef = regexp.MustCompile(`\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// loadCloudBuild is the test-and-build pipeline (vaxbook-build).
func loadCloudBuild(t *testing.T) cloudBuild { return loadCloudBuildFile(t, "cloudbuild.yaml") }

// loadDeployBuild is the deploy pipeline (vaxbook-deploy).
func loadDeployBuild(t *testing.T) cloudBuild {
	return loadCloudBuildFile(t, "deploy/cloudbuild-deploy.yaml")
}

func loadCloudBuildFile(t *testing.T, file string) cloudBuild {
	t.Helper()
	b := readRepoFile(t, file)
	var cb cloudBuild
	decodeStrict(t, file, b, &cb)
	cb.raw, cb.file = string(b), file
	return cb
}

// substitute fills $NAME / ${NAME} as Cloud Build does ($$ is a literal $).
func (cb cloudBuild) substitute(s string) string {
	parts := strings.Split(s, "$$")
	for i, p := range parts {
		parts[i] = substRef.ReplaceAllStringFunc(p, func(ref string) string {
			name := strings.Trim(ref, "${}")
			if v, ok := cb.Substitutions[name]; ok {
				return v
			}
			return cloudBuildBuiltins[name]
		})
	}
	return strings.Join(parts, "$")
}

func (cb cloudBuild) step(t *testing.T, id string) cbStep {
	t.Helper()
	for _, s := range cb.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("%s: no step %q", cb.file, id)
	return cbStep{}
}

func TestDeploy_CloudBuildUsesWhatItDeclaresAndDeclaresWhatItUses(t *testing.T) {
	t.Parallel()
	for _, cb := range []cloudBuild{loadCloudBuild(t), loadDeployBuild(t), loadCloudBuildFile(t, "cloudbuild-pr.yaml")} {
		checkSubstitutions(t, cb)
		var ids []string
		for _, s := range cb.Steps {
			ids = append(ids, s.ID)
			for _, w := range s.WaitFor {
				if w != "-" && !slices.Contains(ids[:len(ids)-1], w) {
					t.Errorf("%s: step %s waits for %s, not an earlier step", cb.file, s.ID, w)
				}
			}
			if s.Dir != "" {
				if fi, err := os.Stat(filepath.Join(repoRoot(t), s.Dir)); err != nil || !fi.IsDir() {
					t.Errorf("%s: step %s runs in %s, which is not a directory", cb.file, s.ID, s.Dir)
				}
			}
		}
		want := map[string][]string{"cloudbuild.yaml": {"test", "build", "push"}, "deploy/cloudbuild-deploy.yaml": {"resolve", "migrate", "deploy", "page", "hosting"}, "cloudbuild-pr.yaml": {"test"}}[cb.file]
		if !slices.Equal(ids, want) {
			t.Errorf("%s: steps %v, want %v", cb.file, ids, want)
		}
	}
	cb, dep := loadCloudBuild(t), loadDeployBuild(t)

	// .ci/test's go test alone may take up to 30 minutes (its -timeout).
	if d, err := time.ParseDuration(cb.Timeout); err != nil || d < 45*time.Minute {
		t.Errorf("cloudbuild.yaml: timeout %q: want at least 45m for the tests and the build (the default is 10 minutes)", cb.Timeout)
	}

	// The hosting step publishes frontend/, whose rewrites must reach the
	// api service this pipeline deploys, in the region it deploys it to.
	if dir := dep.step(t, "hosting").Dir; dir != "frontend" {
		t.Errorf("%s: hosting runs in %q, want frontend (where firebase.json is)", dep.file, dir)
	}
	var fb struct {
		Hosting struct {
			Rewrites []struct {
				Source string `json:"source"`
				Run    *struct {
					ServiceID string `json:"serviceId"`
					Region    string `json:"region"`
				} `json:"run"`
			} `json:"rewrites"`
		} `json:"hosting"`
	}
	if err := json.Unmarshal(readRepoFile(t, "frontend/firebase.json"), &fb); err != nil {
		t.Fatalf("frontend/firebase.json: %v", err)
	}
	for _, rw := range fb.Hosting.Rewrites {
		if rw.Run != nil && (rw.Run.ServiceID != "api" || rw.Run.Region != dep.Substitutions["_REGION"]) {
			t.Errorf("frontend/firebase.json: %s rewrites to %s in %s, want api in %s (%s's _REGION)",
				rw.Source, rw.Run.ServiceID, rw.Run.Region, dep.Substitutions["_REGION"], dep.file)
		}
	}

	// One image: built with the commit tag, pushed, listed, and found by
	// the deploy pipeline under that tag.
	build := cb.step(t, "build")
	i := slices.Index(build.Args, "-t")
	if i < 0 {
		t.Fatal("cloudbuild.yaml: build tags nothing")
	}
	image := cb.substitute(build.Args[i+1])
	if !strings.HasSuffix(image, ":"+cloudBuildBuiltins["COMMIT_SHA"]) || !strings.HasPrefix(image, cb.Substitutions["_REGION"]+"-docker.pkg.dev/") {
		t.Errorf("cloudbuild.yaml: build tags %s: want REGION-docker.pkg.dev/...:$COMMIT_SHA", image)
	}
	if !slices.Contains(build.Args, "VERSION=$COMMIT_SHA") {
		t.Error("cloudbuild.yaml: build must stamp VERSION=$COMMIT_SHA (the Dockerfile's ARG)")
	}
	if push := cb.step(t, "push"); len(push.Args) != 2 || cb.substitute(push.Args[1]) != image {
		t.Errorf("cloudbuild.yaml: push does not push %s", image)
	}
	if len(cb.Images) != 1 || cb.substitute(cb.Images[0]) != image {
		t.Errorf("cloudbuild.yaml: images %v, want [%s]", cb.Images, image)
	}
	for _, name := range []string{"_REGION", "_REPO"} {
		if cb.Substitutions[name] != dep.Substitutions[name] {
			t.Errorf("%s: default %s %q, cloudbuild.yaml's %q: want the same", dep.file, name, dep.Substitutions[name], cb.Substitutions[name])
		}
	}
	if tag := dep.substitute(renderEnvRaw(t, dep, "IMAGE_TAG")); tag != image {
		t.Errorf("%s: IMAGE_TAG %s, cloudbuild.yaml pushes %s", dep.file, tag, image)
	}

	// The tests run on the toolchain the image is built with.
	if test := cb.step(t, "test"); test.Name != dockerBuildImage(t) {
		t.Errorf("cloudbuild.yaml: tests run on %s, the Dockerfile builds on %s", test.Name, dockerBuildImage(t))
	}

	// Every template the pipeline renders exists and gets all its
	// placeholders from options.env and the resolved image.
	env := renderEnv(t)
	migrate := strings.Join(dep.step(t, "migrate").Args, "\n")
	if !strings.Contains(migrate, "deploy/render.sh deploy/migrate-job.yaml") || !strings.Contains(migrate, "gcloud run jobs execute migrate ") {
		t.Errorf("%s: migrate step must render deploy/migrate-job.yaml and execute job migrate", dep.file)
	}
	deploy := strings.Join(dep.step(t, "deploy").Args, "\n")
	m := regexp.MustCompile(`for service in ([a-z ]+); do`).FindStringSubmatch(deploy)
	if m == nil || strings.Join(strings.Fields(m[1]), " ") != "cachefill invite hooks worker api admin" {
		t.Errorf("%s: deploy step must loop over cachefill invite hooks worker api admin (cachefill first: the api's startup probe needs a filled cache), got %q", dep.file, m)
	}
	for _, r := range deployedRoles {
		render(t, r.file, env) // fails naming a placeholder options.env lacks
	}
}

// checkSubstitutions: a pipeline declares every substitution it uses and
// uses every one it declares, and escapes the shell's own $ as $$.
func checkSubstitutions(t *testing.T, cb cloudBuild) {
	t.Helper()
	body := cb.raw[strings.Index(cb.raw, "\nsubstitutions:"):] // comments may name anything
	used := map[string]bool{}
	for _, part := range strings.Split(body, "$$") {
		for _, m := range substRef.FindAllStringSubmatch(part, -1) {
			name := m[2] + m[3]
			used[name] = true
			if _, builtin := cloudBuildBuiltins[name]; builtin {
				continue
			}
			if _, ok := cb.Substitutions[name]; !ok {
				if strings.HasPrefix(name, "_") {
					t.Errorf("%s: $%s is used but not declared under substitutions", cb.file, name)
				} else {
					t.Errorf("%s: $%s is neither a Cloud Build substitution nor escaped as $$%s for the shell", cb.file, name, name)
				}
			}
		}
	}
	for name := range cb.Substitutions {
		if !strings.HasPrefix(name, "_") {
			t.Errorf("%s: substitution %s must start with _", cb.file, name)
		}
		if !used[name] {
			t.Errorf("%s: substitution %s is declared but never used", cb.file, name)
		}
	}
}

// renderEnvRaw is one options.env value before substitution.
func renderEnvRaw(t *testing.T, cb cloudBuild, name string) string {
	t.Helper()
	for _, kv := range cb.Options.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	t.Fatalf("%s: options.env has no %s", cb.file, name)
	return ""
}

func TestDeploy_RenderRefusesAMissingValue(t *testing.T) {
	t.Parallel()
	env := renderEnv(t)
	delete(env, "API_MIN_INSTANCES")
	cmd := exec.Command("bash", "deploy/render.sh", "deploy/api.yaml")
	cmd.Dir = repoRoot(t)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "API_MIN_INSTANCES") {
		t.Errorf("render without API_MIN_INSTANCES: got %v %q, want a failure naming it", err, out)
	}
	env["API_MIN_INSTANCES"] = `a|b&c\d`
	if got := string(render(t, "deploy/api.yaml", env)); !strings.Contains(got, `minScale: "a|b&c\d"`) {
		t.Error("render.sh: a value with | & \\ is not copied verbatim")
	}
}

// --- Dockerfile ----------------------------------------------------------------------

type dockerfile struct {
	from         []string // FROM lines, in order
	goBuild      []string // the words of the RUN ... go build line
	args         map[string]string
	user, copyTo string
	copyFrom     string
	entrypoint   string
	env          map[string]string
}

func loadDockerfile(t *testing.T) dockerfile {
	t.Helper()
	text := strings.ReplaceAll(string(readRepoFile(t, "Dockerfile")), "\\\n", " ")
	d := dockerfile{args: map[string]string{}, env: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			d.from = append(d.from, rest)
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			d.args[k] = v
		case "ENV":
			k, v, _ := strings.Cut(rest, "=")
			d.env[k] = v
		case "USER":
			d.user = rest
		case "ENTRYPOINT":
			d.entrypoint = rest
		case "RUN":
			if strings.Contains(rest, "go build") {
				if d.goBuild != nil {
					t.Fatal("Dockerfile: more than one go build")
				}
				d.goBuild = shellWords(t, rest)
			}
		case "COPY":
			if f := strings.Fields(rest); len(f) == 3 && strings.HasPrefix(f[0], "--from=") {
				d.copyFrom, d.copyTo = f[1], f[2]
			}
		}
	}
	if d.goBuild == nil {
		t.Fatal("Dockerfile: no RUN ... go build line")
	}
	return d
}

func dockerBuildImage(t *testing.T) string {
	t.Helper()
	d := loadDockerfile(t)
	img, _, _ := strings.Cut(d.from[0], " ")
	return img
}

// shellWords splits a command line as sh would for the simple quoting a
// Dockerfile RUN uses: '…', "…" and backslash escapes; no expansion.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '\'':
			cur.WriteRune(c)
		case quote == '"' && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case quote != 0:
			cur.WriteRune(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '&' || c == ';' || c == '|':
			t.Fatalf("Dockerfile: the go build RUN line must be one command, found %q", string(c))
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("Dockerfile: unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestDeploy_DockerfileBuildsAStaticStampedBinaryUnder30MB builds the binary
// with exactly the Dockerfile's go build words and checks what ends up in
// the image.
func TestDeploy_DockerfileBuildsAStaticStampedBinaryUnder30MB(t *testing.T) {
	t.Parallel()
	d := loadDockerfile(t)
	if len(d.from) != 2 {
		t.Fatalf("Dockerfile: want two stages (build, final), got %v", d.from)
	}
	final := d.from[1]
	if !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("Dockerfile: final stage %s: want distroless static or scratch", final)
	}
	if d.user == "" || strings.HasPrefix(d.user, "root") || strings.HasPrefix(d.user, "0") {
		t.Errorf("Dockerfile: USER %q: want a non-root user", d.user)
	}
	if port, _ := envVarNamed(reflect.TypeFor[config.Base](), "PORT"); d.env["PORT"] != port.def {
		t.Errorf("Dockerfile: ENV PORT %q, the binary's default %q", d.env["PORT"], port.def)
	}
	checkGoVersion(t, dockerBuildImage(t))

	// Split the RUN words into NAME=value assignments and the go command.
	words := d.goBuild
	env := map[string]string{}
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		k, v, _ := strings.Cut(words[0], "=")
		env[k], words = v, words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("Dockerfile: RUN %v: want [NAME=value...] go build ...", d.goBuild)
	}
	if env["CGO_ENABLED"] != "0" {
		t.Error("Dockerfile: go build without CGO_ENABLED=0 links libc")
	}
	if !slices.Contains(words, "-trimpath") {
		t.Error("Dockerfile: go build without -trimpath")
	}
	outIdx := slices.Index(words, "-o")
	if outIdx < 0 || outIdx+1 >= len(words) {
		t.Fatal("Dockerfile: go build has no -o")
	}
	if d.copyFrom != words[outIdx+1] || d.entrypoint != `["`+d.copyTo+`"]` {
		t.Errorf("Dockerfile: builds %s, copies %s to %s, runs %s: want the built binary copied and run", words[outIdx+1], d.copyFrom, d.copyTo, d.entrypoint)
	}
	if !strings.Contains(strings.Join(words, " "), "-X main.version=${VERSION}") {
		t.Error("Dockerfile: go build does not stamp -X main.version=${VERSION}")
	}
	if _, ok := d.args["VERSION"]; !ok {
		t.Error("Dockerfile: no ARG VERSION")
	}

	stamp := "deploytest-" + strconv.Itoa(os.Getpid())
	bin := filepath.Join(t.TempDir(), "vaxbook")
	words = slices.Clone(words)
	words[outIdx+1] = bin
	for i, w := range words {
		words[i] = os.Expand(w, func(name string) string {
			if name != "VERSION" {
				t.Fatalf("Dockerfile: go build expands $%s, which the test does not know", name)
			}
			return stamp
		})
	}
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Dir = repoRoot(t)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(words, " "), err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a PT_INTERP: it needs a dynamic loader distroless static lacks")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v (%v): want none", libs, err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "vaxbook "+stamp {
		t.Errorf("%s version: got %q (%v), want %q", bin, out, err, "vaxbook "+stamp)
	}
	// The image is distroless/static-debian12 (about 2 MB: CA certificates,
	// tzdata, /etc/passwd; under 1 MB compressed) plus one layer holding this
	// file. Registries store, report and Cloud Run pulls layers gzipped, so
	// that is the size the 30 MB target is held to; the unpacked size is
	// logged beside it.
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	const baseMB, limitMB = 2.0, 30.0
	mb := func(n int) float64 { return float64(n) / (1 << 20) }
	t.Logf("binary %.1f MB unpacked, %.1f MB gzipped; image ~%.1f MB pushed (limit %.0f), ~%.1f MB unpacked",
		mb(len(raw)), mb(gz.Len()), mb(gz.Len())+baseMB, limitMB, mb(len(raw))+baseMB)
	if mb(gz.Len())+baseMB >= limitMB {
		t.Errorf("binary %.1f MB gzipped: the pushed image would be over %.0f MB", mb(gz.Len()), limitMB)
	}
}

// checkGoVersion: the build image's Go is at least go.mod's.
func checkGoVersion(t *testing.T, image string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindStringSubmatch(string(readRepoFile(t, "go.mod")))
	tag := regexp.MustCompile(`^golang:(\d+)\.(\d+)`).FindStringSubmatch(image)
	if m == nil || tag == nil {
		t.Fatalf("Dockerfile build image %s / go.mod: cannot compare Go versions", image)
	}
	num := func(major, minor string) int {
		a, _ := strconv.Atoi(major)
		b, _ := strconv.Atoi(minor)
		return a*1000 + b
	}
	if num(tag[1], tag[2]) < num(m[1], m[2]) {
		t.Errorf("Dockerfile builds on %s, go.mod needs go %s.%s", image, m[1], m[2])
	}
}

func TestDeploy_DockerignoreKeepsEverythingTheBuildNeeds(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	var patterns []string
	for _, l := range strings.Split(string(readRepoFile(t, ".dockerignore")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	list := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}", "./cmd/vaxbook")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		rel, err := filepath.Rel(root, f[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a module from the cache
		}
		needed = append(needed, rel)
		for _, e := range f[1:] {
			needed = append(needed, filepath.Join(rel, e))
		}
	}
	if !slices.Contains(needed, filepath.Join("migrations", "000001_schema.up.sql")) {
		t.Fatalf("go list found no embedded migrations in %v", needed)
	}
	for _, p := range needed {
		parts := strings.Split(filepath.ToSlash(p), "/")
		for i := range parts {
			prefix := strings.Join(parts[:i+1], "/")
			for _, pat := range patterns {
				if ok, _ := filepath.Match(pat, prefix); ok {
					t.Errorf(".dockerignore: %q leaves %s out of the build context", pat, p)
				}
			}
		}
	}
}

func TestDeploy_ScriptsPassBashAndShellcheck(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	scripts := []string{".ci/test", ".ci/run"}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".sh") {
			rel, _ := filepath.Rel(root, path)
			scripts = append(scripts, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(scripts)
	if !slices.Contains(scripts, "deploy/bootstrap.sh") {
		t.Fatalf("found scripts %v, not deploy/bootstrap.sh", scripts)
	}
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck is not installed (Debian package shellcheck; bash .ci/test installs it): the scripts cannot be checked")
	}
	for _, s := range scripts {
		for _, cmd := range []*exec.Cmd{exec.Command("bash", "-n", s), exec.Command(shellcheck, "--shell=bash", s)} {
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestDeploy_APIAbuseControlsAreOn: the deployed api limits clients through
// the shared store, asks for the captcha with its hostnames checked, and
// reads the client's address one hop left of Google's, as Firebase
// Hosting's rewrites (frontend/firebase.json) deliver it.
func TestDeploy_APIAbuseControlsAreOn(t *testing.T) {
	t.Parallel()
	d := loadDeployed(t, "deploy/api.yaml", true)
	env := map[string]string{}
	for _, e := range d.container(t).Env {
		if e.secret() != "" {
			env[e.Name] = localSecret(t, e.secret(), "postgres://u@127.0.0.1:1/x", "redis://127.0.0.1:1/0")
			continue
		}
		env[e.Name] = e.Value
	}
	var cfg apiConfig
	if err := config.Load(context.Background(), envFunc(env), &cfg); err != nil {
		t.Fatal(err)
	}
	a := cfg.API
	if a.Abuse.RateLimit != "on" {
		t.Errorf("deploy/api.yaml: RATE_LIMIT %q, want on", a.Abuse.RateLimit)
	}
	for name, v := range map[string]string{"RATE_LIMIT_SUBMIT": a.Abuse.Submit, "RATE_LIMIT_STATUS": a.Abuse.Status,
		"RATE_LIMIT_REGISTER": a.Abuse.Register, "RATE_LIMIT_REGISTRATION": a.Abuse.Registration} {
		if v == "" || v == "off" || v == "0" {
			t.Errorf("deploy/api.yaml: %s %q, want a limit", name, v)
		}
	}
	if a.Abuse.EmailCap < 1 || a.Abuse.PhoneCap < 1 {
		t.Errorf("deploy/api.yaml: contact caps %d/%d, want both on", a.Abuse.EmailCap, a.Abuse.PhoneCap)
	}
	if a.Abuse.ClientIPHeader != "X-Forwarded-For" || a.Abuse.TrustedProxyHops != 1 {
		t.Errorf("deploy/api.yaml: client address from %s hop %d, want X-Forwarded-For one hop left of Google's (Firebase Hosting's CDN)", a.Abuse.ClientIPHeader, a.Abuse.TrustedProxyHops)
	}
	if a.Proof.Mode != "on" || a.Proof.Secret == "" || a.Proof.EmailTopic != "email-topic" {
		t.Errorf("deploy/api.yaml: CONTACT_PROOF %q (secret set %t, EMAIL_TOPIC %q): want it on, signed with contact-proof-secret, codes on email-topic", a.Proof.Mode, a.Proof.Secret != "", a.Proof.EmailTopic)
	}
	if a.Abuse.Proof == "" || a.Abuse.Proof == "off" || a.Abuse.ProofCap < 1 {
		t.Errorf("deploy/api.yaml: RATE_LIMIT_PROOF %q, CONTACT_CAP_PROOF %d: want both on", a.Abuse.Proof, a.Abuse.ProofCap)
	}
	if a.Captcha.Provider == "" || a.Captcha.SiteKey == "" || a.Captcha.Secret == "" {
		t.Errorf("deploy/api.yaml: captcha %q: want it on with both keys", a.Captcha.Provider)
	}
	project := renderEnv(t)["PROJECT_ID"]
	if !slices.Contains(a.Captcha.Hostnames, project+".web.app") || !slices.Contains(a.Captcha.Hostnames, project+".firebaseapp.com") {
		t.Errorf("deploy/api.yaml: CAPTCHA_HOSTNAMES %q, want Firebase Hosting's two default domains", a.Captcha.Hostnames)
	}
	if _, err := a.Options(project); err != nil {
		t.Error(err)
	}
	// The page renders Turnstile with the action the api checks
	// (TestBrowser_CaptchaTokenTravelsWithTheBooking runs the two together).
	if a.Captcha.Action == "" || a.Captcha.Action != pageCaptchaAction(t) {
		t.Errorf("deploy/api.yaml: CAPTCHA_ACTION %q, frontend/app.js renders the widget with %q: want the same, set", a.Captcha.Action, pageCaptchaAction(t))
	}
}

// pageCaptchaAction is the action frontend/app.js renders Turnstile with.
func pageCaptchaAction(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^const CAPTCHA_ACTION = '([A-Za-z0-9_-]{1,32})';`).FindSubmatch(readRepoFile(t, "frontend/app.js"))
	if m == nil {
		t.Fatal("frontend/app.js: no const CAPTCHA_ACTION = '...' (Turnstile: up to 32 letters, digits, - and _)")
	}
	return string(m[1])
}

// deployedCaptchaAction is deploy/api.yaml's CAPTCHA_ACTION.
func deployedCaptchaAction(t *testing.T) string {
	t.Helper()
	return envValue(loadDeployed(t, "deploy/api.yaml", false).container(t), "CAPTCHA_ACTION")
}

// TestDeploy_TestsRunWithoutDeployRightsAndDeploysGoByDigest: the pipeline
// that runs third-party test code (cloudbuild.yaml, as vaxbook-build) can
// deploy nothing, and the one that deploys (deploy/cloudbuild-deploy.yaml,
// as vaxbook-deploy) runs no tests and gives every service and the job the
// pushed image by digest, never a tag that could be moved.
func TestDeploy_TestsRunWithoutDeployRightsAndDeploysGoByDigest(t *testing.T) {
	t.Parallel()
	cb, dep := loadCloudBuild(t), loadDeployBuild(t)
	if !strings.Contains(cb.ServiceAccount, "/vaxbook-build@") {
		t.Errorf("cloudbuild.yaml: runs as %q, want vaxbook-build", cb.ServiceAccount)
	}
	if !strings.Contains(dep.ServiceAccount, "/vaxbook-deploy@") {
		t.Errorf("%s: runs as %q, want vaxbook-deploy", dep.file, dep.ServiceAccount)
	}
	body := cb.raw[strings.Index(cb.raw, "\nsubstitutions:"):]
	for _, deploys := range []string{"gcloud", "render.sh", "firebase", "kubectl"} {
		if strings.Contains(body, deploys) {
			t.Errorf("cloudbuild.yaml: uses %s: the test-and-build pipeline deploys nothing", deploys)
		}
	}
	for _, s := range dep.Steps {
		if s.ID == "test" || strings.Contains(strings.Join(s.Args, " "), ".ci/test") {
			t.Errorf("%s: step %s runs the tests: the deploy account runs no test code", dep.file, s.ID)
		}
	}

	// The build account: logs and the image repository, nothing else.
	boot := loadBootstrap(t)
	logical := strings.ReplaceAll(boot.text, "\\\n", " ")
	forLoop := regexp.MustCompile(`(?s)for role in ([^;\n]*); do(.*?)\ndone`)
	for _, m := range forLoop.FindAllStringSubmatch(logical, -1) {
		if strings.Contains(m[2], "$(sa build)") {
			logical += "\n" + m[2] + " " + m[1]
		}
	}
	allowed := []string{"roles/logging.logWriter", "roles/artifactregistry.writer"}
	for _, line := range strings.Split(logical, "\n") {
		if !strings.Contains(line, "$(sa build)") || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, role := range regexp.MustCompile(`roles/[A-Za-z.]+`).FindAllString(line, -1) {
			if !slices.Contains(allowed, role) {
				t.Errorf("deploy/bootstrap.sh: grants %s to vaxbook-build, which runs third-party test code: only %v", role, allowed)
			}
		}
	}
	if !slices.Contains(boot.serviceAccounts, "build") {
		t.Error("deploy/bootstrap.sh: creates no vaxbook-build account")
	}

	// By digest: resolved once, handed to every render.
	resolve := strings.Join(dep.step(t, "resolve").Args, "\n")
	if !strings.Contains(resolve, "gcloud artifacts docker images describe \"$$IMAGE_TAG\"") || !strings.Contains(resolve, "@$$digest\" | tee /workspace/image") {
		t.Errorf("%s: resolve must look the commit's tag up and write REPO@DIGEST to /workspace/image", dep.file)
	}
	for _, s := range dep.Steps {
		script := strings.Join(s.Args, "\n")
		if strings.Contains(script, ":latest") {
			t.Errorf("%s: step %s names :latest", dep.file, s.ID)
		}
		if regexp.MustCompile(`gcloud run (deploy|jobs deploy|services update|jobs update)`).MatchString(script) {
			t.Errorf("%s: step %s deploys by flags: deploy rendered files, whose image is the digest", dep.file, s.ID)
		}
		for _, line := range strings.Split(script, "\n") {
			if strings.Contains(line, "render.sh") && !strings.Contains(line, "IMAGE=$$(cat /workspace/image) bash deploy/render.sh") {
				t.Errorf("%s: step %s renders without the resolved image: %s", dep.file, s.ID, strings.TrimSpace(line))
			}
		}
	}
	for _, r := range deployedRoles {
		if d := loadDeployed(t, r.file, true); !strings.HasSuffix(d.container(t).Image, sampleDigest) {
			t.Errorf("%s: rendered image %q, want the resolved REPO@sha256:...", r.file, d.container(t).Image)
		}
	}
}

func TestDeploy_ScheduledJobsAreReleasedAndScheduled(t *testing.T) {
	t.Parallel()
	boot := loadBootstrap(t)
	release := string(readRepoFile(t, "deploy/cloudbuild-deploy.yaml"))
	for _, r := range deployedRoles {
		d := loadDeployed(t, r.file, false)
		if !d.job || r.role == "migrate" {
			continue // migrate runs in the pipeline itself, before the services
		}
		if !strings.Contains(release, "deploy/render.sh "+r.file) || !strings.Contains(release, "gcloud run jobs replace /workspace/"+filepath.Base(r.file)) {
			t.Errorf("deploy/cloudbuild-deploy.yaml: does not render and replace %s with each release", r.file)
		}
		if !regexp.MustCompile(`(?m)^schedule_job ` + regexp.QuoteMeta(d.name) + ` "[^"]+"$`).MatchString(boot.text) {
			t.Errorf("deploy/bootstrap.sh: job %s is never scheduled (schedule_job %s \"CRON\")", d.name, d.name)
		}
	}
}

func TestDeploy_EveryDeadLetterTopicKeepsWhatItGets(t *testing.T) {
	t.Parallel()
	boot := loadBootstrap(t)
	m := regexp.MustCompile(`(?m)^for dl in ([a-z -]+); do$`).FindStringSubmatch(boot.text)
	if m == nil {
		t.Fatal("deploy/bootstrap.sh: no `for dl in ...; do` loop giving dead-letter topics their subscriptions")
	}
	kept := strings.Fields(m[1])
	for name, sub := range boot.pushSubs {
		if !slices.Contains(kept, sub.deadLetter) {
			t.Errorf("deploy/bootstrap.sh: %s dead-letters to %s, which has no subscription to keep them (add it to the `for dl in` loop)", name, sub.deadLetter)
		}
	}
}
