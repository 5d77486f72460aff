package alertcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/blang/semver/v4"
	"github.com/prometheus-operator/prometheus-operator/pkg/alertmanager"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus-operator/prometheus-operator/pkg/assets"
	amconfig "github.com/prometheus/alertmanager/config"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The operator turns an AlertmanagerConfig into Alertmanager's configuration
// with unexported code (pkg/alertmanager/amcfg.go at v0.81.0, called from
// Operator.provisionAlertmanagerConfiguration, which needs a live API server).
// These declarations bind to those very functions, so the configuration the
// real Alertmanager loads below is the one the pinned operator would write,
// not a re-implementation of it. A signature change fails the build.

//go:linkname newConfigBuilder github.com/prometheus-operator/prometheus-operator/pkg/alertmanager.newConfigBuilder
func newConfigBuilder(logger *slog.Logger, amVersion semver.Version, store *assets.StoreBuilder, matcherStrategy monitoringv1.AlertmanagerConfigMatcherStrategy) unsafe.Pointer

//go:linkname initializeFromAlertmanagerConfig github.com/prometheus-operator/prometheus-operator/pkg/alertmanager.(*configBuilder).initializeFromAlertmanagerConfig
func initializeFromAlertmanagerConfig(cb unsafe.Pointer, ctx context.Context, global *monitoringv1.AlertmanagerGlobalConfig, amConfig *monitoringv1alpha1.AlertmanagerConfig) error

//go:linkname initializeFromRawConfiguration github.com/prometheus-operator/prometheus-operator/pkg/alertmanager.(*configBuilder).initializeFromRawConfiguration
func initializeFromRawConfiguration(cb unsafe.Pointer, b []byte) error

//go:linkname addAlertmanagerConfigs github.com/prometheus-operator/prometheus-operator/pkg/alertmanager.(*configBuilder).addAlertmanagerConfigs
func addAlertmanagerConfigs(cb unsafe.Pointer, ctx context.Context, amConfigs map[string]*monitoringv1alpha1.AlertmanagerConfig) error

//go:linkname marshalJSON github.com/prometheus-operator/prometheus-operator/pkg/alertmanager.(*configBuilder).marshalJSON
func marshalJSON(cb unsafe.Pointer) ([]byte, error)

// Keeps the package (and so the functions above) in the test binary.
var _ = alertmanager.ListOptions

// alertmanagerVersion is the image tag kube-prometheus-stack 70.0.0 gives
// Alertmanager (values.yaml alertmanager.alertmanagerSpec.image.tag); the
// operator reads it from the Alertmanager object's spec.version.
const alertmanagerVersion = "0.28.1"

// operatorInputs is what the operator reads for the monitoring release: the
// Alertmanager object and the config Secret the chart renders from the
// program's values, the program's AlertmanagerConfig and Discord Secret.
type operatorInputs struct {
	alertmanager *monitoringv1.Alertmanager
	rawConfig    []byte
	amConfig     *monitoringv1alpha1.AlertmanagerConfig
	store        *assets.StoreBuilder
}

func loadOperatorInputs(t *testing.T) operatorInputs {
	t.Helper()
	values := releaseValues(t, "observability-monitoring")
	objects := renderChart(t, "kube-prometheus-stack-70.0.0.tgz", "monitoring", "observability", values)

	var in operatorInputs
	// Decoded strictly into the operator's own types: a field the pinned
	// operator does not know fails here.
	in.alertmanager = &monitoringv1.Alertmanager{}
	strictDecode(t, "the chart's Alertmanager", findObject(t, objects, "Alertmanager", "monitoring-alertmanager"), in.alertmanager)
	secret := &corev1.Secret{}
	strictDecode(t, "the chart's Alertmanager config Secret", findObject(t, objects, "Secret", "alertmanager-monitoring-alertmanager"), secret)
	in.rawConfig = secret.Data["alertmanager.yaml"]

	cr := declared(t, "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig", "observability-discord-routing")
	in.amConfig = &monitoringv1alpha1.AlertmanagerConfig{}
	strictDecode(t, "the program's AlertmanagerConfig", cr, in.amConfig)
	in.amConfig.Namespace = "observability"

	// The Discord Secret as the program declares it, in a fake API server
	// the operator's asset store reads from.
	sec := declared(t, "kubernetes:core/v1:Secret", "observability-discord")
	var ks corev1.Secret
	strictDecode(t, "the program's Discord Secret", sec, &ks)
	ks.Namespace = "observability"
	ks.Data = map[string][]byte{}
	for k, v := range ks.StringData {
		ks.Data[k] = []byte(v)
	}
	client := fake.NewSimpleClientset(&ks)
	in.store = assets.NewStoreBuilder(client.CoreV1(), client.CoreV1())
	return in
}

// strictDecode turns a rendered or declared object into a typed one,
// refusing unknown fields.
func strictDecode(t *testing.T, what string, from any, into any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s does not fit prometheus-operator v0.81.0's types: %v", what, err)
	}
}

// generate runs the operator's configuration generator the way
// provisionAlertmanagerConfiguration does at v0.81.0 and returns the
// Alertmanager configuration it would write to the generated Secret.
func generate(t *testing.T, in operatorInputs, selected map[string]*monitoringv1alpha1.AlertmanagerConfig) ([]byte, error) {
	t.Helper()
	am := in.alertmanager
	version := semver.MustParse(alertmanagerVersion)
	if am.Spec.Version != "" {
		version = semver.MustParse(strings.TrimPrefix(am.Spec.Version, "v"))
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cb := newConfigBuilder(logger, version, in.store, am.Spec.AlertmanagerConfigMatcherStrategy)
	ctx := context.Background()
	if am.Spec.AlertmanagerConfiguration != nil {
		if am.Spec.AlertmanagerConfiguration.Name != in.amConfig.Name {
			t.Fatalf("the Alertmanager names AlertmanagerConfig %q as its configuration; the program declares %q",
				am.Spec.AlertmanagerConfiguration.Name, in.amConfig.Name)
		}
		if err := initializeFromAlertmanagerConfig(cb, ctx, am.Spec.AlertmanagerConfiguration.Global, in.amConfig); err != nil {
			return nil, err
		}
	} else if err := initializeFromRawConfiguration(cb, in.rawConfig); err != nil {
		return nil, err
	}
	if err := addAlertmanagerConfigs(cb, ctx, selected); err != nil {
		return nil, err
	}
	return marshalJSON(cb)
}

// TestOperatorAcceptsTheAlertmanagerConfiguration feeds the chart's rendering
// of the program's values and the program's AlertmanagerConfig to
// prometheus-operator v0.81.0's generator, checks the result loads in
// Alertmanager v0.28.1's own parser, routes to Discord with the webhook from
// the Secret, and writes it for TestAlertReachesDiscord.
func TestOperatorAcceptsTheAlertmanagerConfiguration(t *testing.T) {
	in := loadOperatorInputs(t)
	if in.alertmanager.Spec.AlertmanagerConfigSelector == nil {
		t.Log("the chart sets no AlertmanagerConfig selector: the operator would copy the config Secret as is")
	}
	// The chart's own config Secret must pass the operator's strict reading
	// whatever is routed: the operator parses it whenever no
	// alertmanagerConfiguration is named (no webhook set).
	rawOnly := in
	rawOnly.alertmanager = in.alertmanager.DeepCopy()
	rawOnly.alertmanager.Spec.AlertmanagerConfiguration = nil
	if _, err := generate(t, rawOnly, nil); err != nil {
		t.Errorf("the operator refuses the chart's alertmanager.yaml (rendered from alertmanager.config):\n%s\n%v", in.rawConfig, err)
	}

	// The AlertmanagerConfig selector is {} in the chart: the global
	// AlertmanagerConfig is skipped by name and nothing else is selected.
	generated, err := generate(t, in, map[string]*monitoringv1alpha1.AlertmanagerConfig{})
	if err != nil {
		t.Fatalf("prometheus-operator v0.81.0 refuses the Discord routing: %v", err)
	}
	cfg, err := amconfig.Load(string(generated))
	if err != nil {
		t.Fatalf("Alertmanager v0.28.1's parser refuses what the operator generated: %v\n%s", err, generated)
	}
	discord := ""
	for _, r := range cfg.Receivers {
		for _, d := range r.DiscordConfigs {
			if d.WebhookURL == nil {
				t.Errorf("receiver %s: Discord config without a webhook URL", r.Name)
				continue
			}
			discord = d.WebhookURL.String()
			if !d.SendResolved() {
				t.Errorf("receiver %s: resolved alerts must be sent too", r.Name)
			}
		}
	}
	want := string(mustDeclaredSecretValue(t))
	if discord != want {
		t.Errorf("the generated Discord receiver posts to %q; the program's Secret holds %q", discord, want)
	}
	if cfg.Route.Receiver == "" || !strings.Contains(cfg.Route.Receiver, "discord") {
		t.Errorf("the root route goes to %q, not Discord", cfg.Route.Receiver)
	}
	t.Logf("operator v0.81.0 generated %d bytes of Alertmanager configuration; root receiver %s, %d receivers",
		len(generated), cfg.Route.Receiver, len(cfg.Receivers))
	if out := os.Getenv("ALERTCHECK_OUT"); out != "" {
		if err := os.WriteFile(filepath.Join(out, "alertmanager.yaml"), generated, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOperatorRefusesWebhookURLFile is the defect of issue 16, kept as a
// check that the code bound above is the strict reader: the configuration
// the program used to generate (discord_configs.webhook_url_file) is refused.
func TestOperatorRefusesWebhookURLFile(t *testing.T) {
	in := loadOperatorInputs(t)
	in.alertmanager = in.alertmanager.DeepCopy()
	in.alertmanager.Spec.AlertmanagerConfiguration = nil
	in.rawConfig = []byte(`route:
  receiver: discord
receivers:
- name: discord
  discord_configs:
  - webhook_url_file: /etc/alertmanager/secrets/alertmanager-discord/webhook-url
    send_resolved: true
`)
	_, err := generate(t, in, nil)
	if err == nil || !strings.Contains(err.Error(), "webhook_url_file") {
		t.Fatalf("want the operator to refuse webhook_url_file, got %v", err)
	}
	t.Logf("operator v0.81.0: %v", err)
}

func mustDeclaredSecretValue(t *testing.T) []byte {
	t.Helper()
	sec := declared(t, "kubernetes:core/v1:Secret", "observability-discord")
	v, _ := get(sec, "stringData.webhook-url").(string)
	if v == "" {
		t.Fatal("the Discord Secret has no webhook-url")
	}
	return []byte(v)
}
