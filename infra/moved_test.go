package main

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

// TestTheSiteAndTheRadioMoveFirst is the roadmap's early step on prod: the
// site, chat and the radio run on the stack and call today's API; the API,
// its workers, its migrations, the admin site and the video server are not
// deployed, and no DNS record sends their hosts here.
func TestTheSiteAndTheRadioMoveFirst(t *testing.T) {
	const legacyAPI = "https://datafruits.streampusher.com"
	const todaysLiqSecret = "todays-liq-secret-value"
	mocks, err := pulumitest.RunStack("prod", run, map[string]string{
		"datafruits:moved":           `{"api":false,"admin":false,"video":false}`,
		"datafruits:legacy":          `{"api":"` + legacyAPI + `"}`,
		"datafruits:legacyLiqSecret": todaysLiqSecret,
	}, "datafruits:legacyLiqSecret")
	if err != nil {
		t.Fatalf("prod stack with the site and the radio moved first: %v", err)
	}
	for _, name := range []string{"api", "worker", "admin", "video"} {
		if _, ok := mocks.Find("kubernetes:apps/v1:Deployment", name); ok {
			t.Errorf("%s is deployed although it is not moved", name)
		}
	}
	if _, ok := mocks.Find("kubernetes:batch/v1:Job", "api-migrate"); ok {
		t.Error("the API's migrations run against the stack's database although the API is not moved")
	}
	for _, name := range []string{"site", "chat", "analytics"} {
		if _, ok := mocks.Find("kubernetes:apps/v1:Deployment", name); !ok {
			t.Errorf("%s is not deployed although it is moved", name)
		}
	}
	site, _ := mocks.Find("kubernetes:apps/v1:Deployment", "site")
	if got := envOf(mocks, container(site, 0))["API_URL"]; got != legacyAPI {
		t.Errorf("the site calls the API at %q, want today's %s", got, legacyAPI)
	}

	// Liquidsoap calls today's API with today's liq secret, never the stack's own.
	script := ""
	for _, cm := range mocks.ByType("kubernetes:core/v1:ConfigMap") {
		if cm.Name == "radio-datafruits-liquidsoap-config" {
			script = pulumitest.Plain(cm.Inputs)
		}
	}
	if !strings.Contains(script, legacyAPI) || strings.Contains(script, "api.station.svc") {
		t.Errorf("Liquidsoap's script does not call today's API %s (or still calls the stack's)", legacyAPI)
	}
	secret, ok := mocks.Find("kubernetes:core/v1:Secret", "radio-datafruits-liquidsoap-secret-env")
	if !ok || !strings.Contains(pulumitest.Plain(secret.Inputs), todaysLiqSecret) || !pulumitest.IsSecret(secret.Inputs, "stringData") {
		t.Error("Liquidsoap does not get today's liq secret from its (secret) Secret")
	}

	records := map[string]bool{}
	for _, r := range mocks.ByType("digitalocean:index/dnsRecord:DnsRecord") {
		records[pulumitest.GetString(r.Inputs, "name")] = true
	}
	for _, host := range []string{"api", "video"} {
		if records[host] {
			t.Errorf("a DNS record sends %s.datafruits.fm to the stack, which does not serve it", host)
		}
	}
	for _, host := range []string{"@", "chat", "stream"} {
		if !records[host] {
			t.Errorf("no DNS record for %s, which the stack serves now", host)
		}
	}
}
