package main

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"gopkg.in/yaml.v3"
)

// gatusCheck is the part of a Gatus endpoint these tests read.
type gatusCheck struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Client *struct {
		Insecure bool `yaml:"insecure"`
	} `yaml:"client"`
	Conditions []string `yaml:"conditions"`
}

// gatusChecks parses the Gatus configuration the program renders into the
// status page's Secret.
func gatusChecks(t *testing.T, mocks *pulumitest.Mocks) []gatusCheck {
	t.Helper()
	for _, s := range mocks.ByType("kubernetes:core/v1:Secret") {
		config, ok := unwrapMap(pulumitest.Get(s.Inputs, "stringData"))["config.yaml"]
		if !ok {
			continue
		}
		var doc struct {
			Endpoints []gatusCheck `yaml:"endpoints"`
		}
		if err := yaml.Unmarshal([]byte(config), &doc); err != nil {
			t.Fatalf("Secret %s: Gatus configuration does not parse: %v", s.Name, err)
		}
		return doc.Endpoints
	}
	t.Fatal("no Gatus configuration found")
	return nil
}

// TestStatusPageTrustMatchesTheIssuer: staging's Let's Encrypt staging
// certificates and local's self-signed ones chain to no trusted root, so a
// verifying check fails (and alerts Discord) every minute. Those stacks check
// that each host answers without verifying the chain; prod verifies it.
func TestStatusPageTrustMatchesTheIssuer(t *testing.T) {
	for _, tc := range []struct {
		stack     string
		overrides map[string]string
		insecure  bool
	}{
		{"prod", nil, false},
		{"staging", nil, true},
		{"local", nil, true},
		{"prod", map[string]string{"datafruits:acmeServer": "staging"}, true},
		// No cert-manager: Traefik answers with its own self-signed certificate.
		{"prod", map[string]string{"datafruits:helmCharts": "false"}, true},
	} {
		mocks, err := pulumitest.RunStack(tc.stack, run, tc.overrides)
		if err != nil {
			t.Fatalf("stack %s %v: %v", tc.stack, tc.overrides, err)
		}
		https := 0
		for _, c := range gatusChecks(t, mocks) {
			if !strings.HasPrefix(c.URL, "https://") {
				continue
			}
			https++
			if got := c.Client != nil && c.Client.Insecure; got != tc.insecure {
				t.Errorf("stack %s %v: check %s has client.insecure=%v, want %v", tc.stack, tc.overrides, c.Name, got, tc.insecure)
			}
			answers := false
			for _, cond := range c.Conditions {
				answers = answers || cond == "[STATUS] < 400"
			}
			if !answers {
				t.Errorf("stack %s %v: check %s no longer requires the host to answer: %v", tc.stack, tc.overrides, c.Name, c.Conditions)
			}
		}
		if https == 0 {
			t.Errorf("stack %s %v: no HTTPS checks", tc.stack, tc.overrides)
		}
	}
}
