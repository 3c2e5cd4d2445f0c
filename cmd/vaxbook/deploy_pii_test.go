package main

import "testing"

// The keys that protect personal data come from Secret Manager in the
// deployment: unset, the API would key references with the public dev key,
// and the worker would refuse to start (ID_PEPPER) while PUSH_AUTH is on.
func TestDeploy_PersonalDataKeysComeFromSecrets(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]map[string]string{
		"deploy/api.yaml":    {"REFERENCE_KEY": "reference-key"},
		"deploy/worker.yaml": {"ID_PEPPER": "id-pepper"},
	} {
		c := loadDeployed(t, file, false).container(t)
		for name, secret := range want {
			found := false
			for _, e := range c.Env {
				if e.Name == name {
					found = true
					if e.secret() != secret || e.Value != "" {
						t.Errorf("%s: %s from secret %q (value %q), want secret %s", file, name, e.secret(), e.Value, secret)
					}
				}
			}
			if !found {
				t.Errorf("%s: %s not set, want it from secret %s", file, name, secret)
			}
		}
	}
}
