package statuspage_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/statuspage"
	"github.com/datafruits/infra/components/workload"
)

func TestConfigChecksEveryEndpointOnce(t *testing.T) {
	endpoints := []workload.Endpoint{
		{Workload: "site", Host: "datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/"},
		{Workload: "relay", Host: "stream.datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/status-json.xsl"},
		{Workload: "relay", Host: "stream.datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/status-json.xsl"},
		{Workload: "liquidsoap", Host: "dj.datafruits.fm", Protocol: "tcp", Port: 9000},
	}
	config, checks, err := statuspage.Config(endpoints, true)
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
	quiet, _, _ := statuspage.Config(endpoints, false)
	if strings.Contains(quiet, "discord") {
		t.Error("without a webhook the config must not mention Discord")
	}
	if _, _, err := statuspage.Config([]workload.Endpoint{{Host: "x", Protocol: "udp"}}, false); err == nil {
		t.Error("unknown protocol accepted")
	}
}
