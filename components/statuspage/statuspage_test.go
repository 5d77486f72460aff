package statuspage_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/datafruits/infra/components/statuspage"
	"github.com/datafruits/infra/components/workload"
	"gopkg.in/yaml.v3"
)

func TestConfigChecksEveryEndpointOnce(t *testing.T) {
	endpoints := []workload.Endpoint{
		{Workload: "site", Host: "datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/"},
		{Workload: "relay", Host: "stream.datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/status-json.xsl"},
		{Workload: "relay", Host: "stream.datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/status-json.xsl"},
		{Workload: "liquidsoap", Host: "dj.datafruits.fm", Protocol: "tcp", Port: 9000},
	}
	config, checks, err := statuspage.Config(endpoints, statuspage.ConfigOptions{Discord: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 3 {
		t.Errorf("want 3 checks (duplicates merged), got %v", checks)
	}
	for _, want := range []string{"url: https://datafruits.fm/", "url: https://stream.datafruits.fm/status-json.xsl", "url: tcp://dj.datafruits.fm:9000",
		"[CONNECTED] == true", "type: postgres", "${GATUS_DATABASE_URL}", "${DISCORD_WEBHOOK_URL}", "type: discord"} {
		if !strings.Contains(config, want) {
			t.Errorf("config lacks %q:\n%s", want, config)
		}
	}
	quiet, _, _ := statuspage.Config(endpoints, statuspage.ConfigOptions{})
	if strings.Contains(quiet, "discord") {
		t.Error("without a webhook the config must not mention Discord")
	}
	if _, _, err := statuspage.Config([]workload.Endpoint{{Host: "x", Protocol: "udp"}}, statuspage.ConfigOptions{}); err == nil {
		t.Error("unknown protocol accepted")
	}
}

// TestUntrustedCertificatesAreNotVerifiedButChecked: Gatus verifies
// certificates by default; with Let's Encrypt staging or self-signed
// certificates every HTTPS check would fail. Those checks skip verification
// (client.insecure, Gatus v5.17.0) and still want an answer below 400; TCP
// checks have no certificate to skip.
func TestUntrustedCertificatesAreNotVerifiedButChecked(t *testing.T) {
	endpoints := []workload.Endpoint{
		{Workload: "site", Host: "swag.lgbt", Protocol: "https", Port: 443, HealthPath: "/"},
		{Workload: "liquidsoap", Host: "dj.swag.lgbt", Protocol: "tcp", Port: 9000},
	}
	type check struct {
		URL    string `yaml:"url"`
		Client *struct {
			Insecure bool `yaml:"insecure"`
		} `yaml:"client"`
		Conditions []string `yaml:"conditions"`
	}
	for _, untrusted := range []bool{false, true} {
		config, _, err := statuspage.Config(endpoints, statuspage.ConfigOptions{Discord: true, UntrustedCertificates: untrusted})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Endpoints []check `yaml:"endpoints"`
		}
		if err := yaml.Unmarshal([]byte(config), &doc); err != nil {
			t.Fatalf("config does not parse: %v\n%s", err, config)
		}
		for _, c := range doc.Endpoints {
			insecure := c.Client != nil && c.Client.Insecure
			want := untrusted && strings.HasPrefix(c.URL, "https://")
			if insecure != want {
				t.Errorf("untrusted=%v: %s has client.insecure=%v, want %v", untrusted, c.URL, insecure, want)
			}
			if strings.HasPrefix(c.URL, "https://") && !slices.Contains(c.Conditions, "[STATUS] < 400") {
				t.Errorf("untrusted=%v: %s no longer checks that the host answers: %v", untrusted, c.URL, c.Conditions)
			}
		}
	}
}
