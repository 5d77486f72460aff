package main

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// TestExportMonitoring runs the prod stack under mocks with a Discord webhook
// set and writes every resource's inputs (secrets unwrapped: the values are
// test values) to $ALERTS_EXPORT as JSON. scripts/test/alerts.sh runs it, then
// tools/alertcheck feeds what the program declared to prometheus-operator's
// code, promtool, a real Alertmanager and Prometheus' parsers. Without
// ALERTS_EXPORT it checks that the export holds what those tests need.
func TestExportMonitoring(t *testing.T) {
	webhook := cmp.Or(os.Getenv("ALERTS_DISCORD_URL"), "https://discord.com/api/webhooks/1/export-test-token")
	mocks, err := pulumitest.RunStack("prod", run, map[string]string{"datafruits:discordWebhookUrl": webhook}, "datafruits:discordWebhookUrl")
	if err != nil {
		t.Fatal(err)
	}
	type exported struct {
		Type   string         `json:"type"`
		Name   string         `json:"name"`
		Inputs map[string]any `json:"inputs"`
	}
	plain := func(m resource.PropertyMap) map[string]any {
		var repl func(v resource.PropertyValue) (any, bool)
		repl = func(v resource.PropertyValue) (any, bool) {
			if v.IsSecret() {
				return v.SecretValue().Element.MapRepl(nil, repl), true
			}
			return nil, false
		}
		return m.MapRepl(nil, repl)
	}
	var out []exported
	found := map[string]bool{}
	for _, r := range mocks.Resources() {
		out = append(out, exported{Type: r.Type, Name: r.Name, Inputs: plain(r.Inputs)})
		found[r.Type+" "+r.Name] = true
	}
	for _, want := range []string{
		"kubernetes:helm.sh/v3:Release observability-monitoring",
		"kubernetes:helm.sh/v3:Release tls-cert-manager",
		"kubernetes:helm.sh/v3:Release ingress-traefik",
		"kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig observability-discord-routing",
		"kubernetes:core/v1:Secret observability-discord",
		"kubernetes:core/v1:ConfigMap observability-dashboard",
	} {
		if !found[want] {
			t.Errorf("the prod stack with a Discord webhook declares no %s", want)
		}
	}
	if path := writeExport(t, "ALERTS_EXPORT", out); path != "" {
		t.Logf("wrote %d resources to %s", len(out), path)
	}
}

// writeExport writes v as JSON to the file the environment variable env
// names, for a suite's checker to read, and returns that path ("" when env
// is unset: the test then only checks what it declares).
func writeExport(t *testing.T, env string, v any) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		return ""
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
