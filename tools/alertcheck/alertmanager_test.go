package alertcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/template"
)

// TestAlertReachesDiscord starts a real Alertmanager (v0.28.1, the chart's)
// on the configuration prometheus-operator v0.81.0 generates from what the
// program declares, hands it a StreamOffAir alert the way Prometheus does
// (annotations expanded with Prometheus' own template code), and checks the
// Discord stand-in receives a message naming the alert, the station and the
// runbook, then a resolved message; Watchdog must never reach Discord.
func TestAlertReachesDiscord(t *testing.T) {
	binary := requireEnv(t, "ALERTMANAGER", "the Alertmanager v0.28.1 binary")
	// The stand-in listens where the program's webhook Secret points
	// (scripts/test/alerts.sh exported the program with this URL).
	webhook, err := url.Parse(string(mustDeclaredSecretValue(t)))
	if err != nil || webhook.Scheme != "https" || !strings.HasPrefix(webhook.Host, "127.0.0.1:") {
		t.Fatalf("the exported webhook %q is not the local Discord stand-in (set ALERTS_DISCORD_URL when exporting)", webhook)
	}
	dir := t.TempDir()
	discord, err := startDiscordStandIn(webhook.Host, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer discord.server.Close()

	generated, err := generate(t, loadOperatorInputs(t), map[string]*monitoringv1alpha1.AlertmanagerConfig{})
	if err != nil {
		t.Fatalf("prometheus-operator v0.81.0 refuses the Discord routing: %v", err)
	}
	// Only the grouping timers change, so the test takes seconds instead of
	// group_interval (5 min) before the resolved message: everything else is
	// byte for byte what the operator generated.
	config := string(generated)
	for old, repl := range map[string]string{"group_wait: 30s": "group_wait: 1s", "group_interval: 5m": "group_interval: 1s"} {
		if strings.Count(config, old) != 1 {
			t.Fatalf("the generated configuration has no single %q to shorten:\n%s", old, config)
		}
		config = strings.Replace(config, old, repl, 1)
	}
	configPath := filepath.Join(dir, "alertmanager.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "alertmanager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--config.file="+configPath, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=debug")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Go reads extra roots from SSL_CERT_FILE: Alertmanager trusts the stand-in
	// without a line of its configuration changing.
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+discord.caFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("alertmanager log:\n%s", b)
		}
	}()
	base := "http://" + addr
	waitReady(t, base+"/-/ready", 30*time.Second)

	rule := declaredRule(t, "StreamOffAir")
	labels := map[string]string{"alertname": "StreamOffAir", "station": "datafruits", "mount": "/datafruits.mp3", "severity": rule.Labels["severity"]}
	annotations := map[string]string{}
	for k, v := range rule.Annotations {
		annotations[k] = expandLikePrometheus(t, "StreamOffAir", v, labels, 0)
	}
	started := time.Now()
	watchdog := map[string]string{"alertname": "Watchdog", "severity": "none"}
	postAlerts(t, base, []apiAlert{
		{Labels: labels, Annotations: annotations, StartsAt: started},
		{Labels: watchdog, StartsAt: started},
	})

	firing, ok := discord.wait(60 * time.Second)
	if !ok {
		t.Fatalf("no Discord message within 60 s; stand-in rejected: %v", discord.rejections())
	}
	t.Logf("firing message after %s: %+v", time.Since(started).Round(time.Millisecond), firing)
	checkMessage(t, "firing", firing, "[FIRING] StreamOffAir · datafruits", 0x992D22, annotations)

	resolvedAt := time.Now()
	postAlerts(t, base, []apiAlert{{Labels: labels, Annotations: annotations, StartsAt: started, EndsAt: resolvedAt}})
	resolved, ok := discord.wait(60 * time.Second)
	if !ok {
		t.Fatalf("no resolved message within 60 s; stand-in rejected: %v", discord.rejections())
	}
	t.Logf("resolved message after %s: %+v", time.Since(resolvedAt).Round(time.Millisecond), resolved)
	checkMessage(t, "resolved", resolved, "[RESOLVED] StreamOffAir · datafruits", 0x2ECC71, annotations)
	if !strings.HasPrefix(resolved.Embeds[0].Description, "Resolved: ") {
		t.Errorf("the resolved message must say so: %q", resolved.Embeds[0].Description)
	}

	// Watchdog fires always; it must stay out of the channel.
	if extra, ok := discord.wait(3 * time.Second); ok {
		t.Errorf("unexpected Discord message (Watchdog must go to the null receiver): %+v", extra)
	}
	if r := discord.rejections(); len(r) > 0 {
		t.Errorf("the Discord stand-in rejected requests: %v", r)
	}
}

func checkMessage(t *testing.T, what string, m discordMessage, title string, color int, annotations map[string]string) {
	t.Helper()
	if len(m.Embeds) != 1 {
		t.Fatalf("%s: want one embed, got %+v", what, m)
	}
	e := m.Embeds[0]
	if e.Title != title {
		t.Errorf("%s: title %q, want %q", what, e.Title, title)
	}
	if e.Color != color {
		t.Errorf("%s: colour %#x, want %#x", what, e.Color, color)
	}
	for _, want := range []string{annotations["summary"], "Runbook: " + annotations["runbook_url"], "datafruits"} {
		if !strings.Contains(e.Description, want) {
			t.Errorf("%s: message lacks %q:\n%s", what, want, e.Description)
		}
	}
	if !strings.HasSuffix(annotations["runbook_url"], "docs/runbook.md#streamoffair") {
		t.Errorf("%s: runbook link %q does not point at the StreamOffAir section", what, annotations["runbook_url"])
	}
}

// expandLikePrometheus expands an annotation the way Prometheus v3.2.1's
// alerting rule does (rules/alerting.go: the same definitions prefix and
// template expander).
func expandLikePrometheus(t *testing.T, alert, text string, labels map[string]string, value float64) string {
	t.Helper()
	defs := "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	data := template.AlertTemplateData(labels, nil, "", promql.Sample{F: value})
	tmpl := template.NewTemplateExpander(context.Background(), defs+text, "__alert_"+alert, data, model.Now(), nil, nil, nil)
	out, err := tmpl.Expand()
	if err != nil {
		t.Fatalf("annotation of %s does not expand: %v", alert, err)
	}
	return out
}

type apiAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt,omitzero"`
}

// postAlerts sends alerts to Alertmanager's v2 API, as Prometheus' notifier does.
func postAlerts(t *testing.T, base string, alerts []apiAlert) {
	t.Helper()
	b, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Alertmanager refused the alerts: %s", resp.Status)
	}
}

func waitReady(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %s", url, timeout)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// promRule is one alerting rule as the program gives it to the chart.
type promRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// declaredRules are the program's alert rules, from the monitoring release's values.
func declaredRules(t *testing.T) []promRule {
	t.Helper()
	values := releaseValues(t, "observability-monitoring")
	groups := get(values, "additionalPrometheusRulesMap.datafruits.groups")
	b, _ := json.Marshal(groups)
	var gs []struct {
		Name  string     `json:"name"`
		Rules []promRule `json:"rules"`
	}
	if err := json.Unmarshal(b, &gs); err != nil || len(gs) == 0 {
		t.Fatalf("no rule groups in additionalPrometheusRulesMap.datafruits (%v)", err)
	}
	var rules []promRule
	for _, g := range gs {
		rules = append(rules, g.Rules...)
	}
	return rules
}

func declaredRule(t *testing.T, name string) promRule {
	t.Helper()
	for _, r := range declaredRules(t) {
		if r.Alert == name {
			return r
		}
	}
	t.Fatalf("the program declares no alert %s", name)
	return promRule{}
}
