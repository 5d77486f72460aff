package alertcheck

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// TestDashboardQueriesParse parses every query of the station dashboard the
// program ships (the ConfigMap Grafana's sidecar loads) with Prometheus'
// PromQL parser (module v0.301.0, see go.mod); a query that does not parse fails naming its panel.
func TestDashboardQueriesParse(t *testing.T) {
	cm := declared(t, "kubernetes:core/v1:ConfigMap", "observability-dashboard")
	text, _ := get(cm, "data").(map[string]any)["station.json"].(string)
	var dashboard struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(text), &dashboard); err != nil {
		t.Fatalf("station.json is not JSON: %v", err)
	}
	if len(dashboard.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	queries := 0
	for _, p := range dashboard.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			queries++
			if _, err := parser.ParseExpr(target.Expr); err != nil {
				t.Errorf("panel %q (query %s) does not parse: %v\n%s", p.Title, target.RefID, err, target.Expr)
			}
		}
	}
	t.Logf("%d panels, %d queries parsed", len(dashboard.Panels), queries)
}
