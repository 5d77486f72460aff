package alertcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const rulesTestFile = "testdata/rules.test.yaml"

// renderedRulesFile is the PrometheusRule the chart renders from the
// program's additionalPrometheusRulesMap, as a Prometheus rule file.
func renderedRulesFile(t *testing.T) []byte {
	t.Helper()
	objects := renderChart(t, "kube-prometheus-stack-70.0.0.tgz", "monitoring", "observability", releaseValues(t, "observability-monitoring"))
	// The chart wraps its additional rules in a v1 List.
	var spec any
	for _, o := range objects {
		items, _ := o["items"].([]any)
		if o["kind"] != "List" {
			items = []any{o}
		}
		for _, item := range items {
			r, _ := item.(map[string]any)
			if r["kind"] == "PrometheusRule" && strings.HasSuffix(fmt.Sprint(get(r, "metadata.name")), "-datafruits") {
				spec = r["spec"]
			}
		}
	}
	if spec == nil {
		t.Fatal("the chart renders no PrometheusRule for additionalPrometheusRulesMap.datafruits")
	}
	b, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRulesWithPromtool runs promtool (Prometheus v3.2.1, the chart's) on the
// rules exactly as the chart hands them to Prometheus: `check rules`, then the
// unit tests of testdata/rules.test.yaml. Every declared alert must have a
// test case that fires and one that does not, and a runbook section.
func TestRulesWithPromtool(t *testing.T) {
	promtool := requireEnv(t, "PROMTOOL", "the promtool v3.2.1 binary")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), renderedRulesFile(t), 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.test.yaml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules.test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s failed: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		t.Logf("promtool %s:\n%s", strings.Join(args, " "), strings.TrimSpace(string(out)))
	}

	var suite struct {
		Tests []struct {
			AlertRuleTests []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(tests, &suite); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]int{}, map[string]int{}
	for _, g := range suite.Tests {
		for _, c := range g.AlertRuleTests {
			if len(c.ExpAlerts) > 0 {
				fires[c.Alertname]++
			} else {
				quiet[c.Alertname]++
			}
		}
	}
	runbook, err := os.ReadFile(filepath.Join(requireEnv(t, "ALERTCHECK_REPO", "the repository root"), "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	rules := declaredRules(t)
	declaredNames := map[string]bool{}
	for _, r := range rules {
		if r.Alert == "" {
			continue // a recording rule: the alerts that read it test it
		}
		declaredNames[r.Alert] = true
		if fires[r.Alert] == 0 || quiet[r.Alert] == 0 {
			t.Errorf("alert %s: %d promtool cases that fire and %d that do not; each alert needs both", r.Alert, fires[r.Alert], quiet[r.Alert])
		}
		url := r.Annotations["runbook_url"]
		anchor := url[strings.LastIndex(url, "#")+1:]
		if !regexp.MustCompile(`(?m)^## `+regexp.QuoteMeta(r.Alert)+`$`).Match(runbook) || anchor != strings.ToLower(r.Alert) {
			t.Errorf("alert %s: runbook_url %q has no section \"## %s\" in docs/runbook.md", r.Alert, url, r.Alert)
		}
		t.Logf("%-30s for %-4s %-8s fires in %d case(s), quiet in %d", r.Alert, r.For, r.Labels["severity"], fires[r.Alert], quiet[r.Alert])
	}
	for name := range fires {
		if !declaredNames[name] {
			t.Errorf("testdata tests alert %s, which the program does not declare", name)
		}
	}
}
