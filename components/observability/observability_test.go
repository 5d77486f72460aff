package observability_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/components/observability"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const webhook = "https://discord.com/api/webhooks/1/secret-token"

func build(t *testing.T, withDiscord bool) (*pulumitest.Mocks, *observability.Observability) {
	t.Helper()
	var o *observability.Observability
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		a := &observability.Args{
			Namespace: pulumi.String("observability"), NamespaceName: "observability",
			StorageClass: "do-block-storage", MetricsRetention: "15d", GrafanaHost: "grafana.datafruits.fm", IngressClass: "traefik",
			Logs: observability.ObjectStore{
				Endpoint: pulumi.String("nyc3.digitaloceanspaces.com"), Region: "nyc3", Bucket: pulumi.String("datafruits-prod-logs"),
				AccessKeyID: pulumi.String("AK"), SecretAccessKey: pulumi.ToSecret(pulumi.String("logs-secret")).(pulumi.StringOutput),
			},
		}
		if withDiscord {
			a.DiscordWebhookURL = pulumi.ToSecret(pulumi.String(webhook)).(pulumi.StringOutput)
		}
		var err error
		o, err = observability.New(ctx, "observability", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mocks, o
}

func release(t *testing.T, mocks *pulumitest.Mocks, name string, c chart.Chart) pulumitest.Resource {
	t.Helper()
	r, ok := mocks.Find("kubernetes:helm.sh/v3:Release", name)
	if !ok {
		t.Fatalf("no release %s", name)
	}
	if pulumitest.GetString(r.Inputs, "chart") != c.Name || pulumitest.GetString(r.Inputs, "version") != c.Version || pulumitest.GetString(r.Inputs, "repositoryOpts.repo") != c.Repo {
		t.Errorf("release %s must pin %+v", name, c)
	}
	return r
}

func TestMonitoringValues(t *testing.T) {
	mocks, o := build(t, true)
	kps := release(t, mocks, "observability-monitoring", chart.KubePrometheusStack).Inputs
	for path, want := range map[string]string{
		"values.kubeEtcd.enabled":                    "false",
		"values.kubeScheduler.enabled":               "false",
		"values.prometheus.prometheusSpec.retention": "15d",
		"values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName": "do-block-storage",
		"values.grafana.admin.existingSecret":                                                    "grafana-admin",
		"values.alertmanager.config.route.receiver":                                              "discord",
		"values.alertmanager.config.receivers[1].discord_configs[0].webhook_url_file":            "/etc/alertmanager/secrets/alertmanager-discord/webhook-url",
		"values.alertmanager.alertmanagerSpec.secrets[0]":                                        "alertmanager-discord",
		"values.grafana.ingress.hosts[0]":                                                        "grafana.datafruits.fm",
	} {
		if got := pulumitest.GetString(kps, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	for _, r := range mocks.Resources() {
		if strings.Contains(pulumitest.PlainOutsideSecrets(r.Inputs), "secret-token") {
			t.Errorf("%s %s carries the Discord webhook in plain text", r.Type, r.Name)
		}
	}
	if !pulumi.IsSecret(o.GrafanaAdminPassword) {
		t.Error("Grafana's admin password must be a secret output")
	}
	rules := pulumitest.Plain(kps)
	for _, alert := range []string{"StreamSourceGone", "WorkloadCrashLooping", "CertificateExpiresSoon", "NodeMemoryPressure"} {
		if !strings.Contains(rules, alert) {
			t.Errorf("alert rule %s missing", alert)
		}
	}
}

func TestLokiAndAlloy(t *testing.T) {
	mocks, _ := build(t, false)
	loki := release(t, mocks, "observability-loki", chart.Loki).Inputs
	for path, want := range map[string]string{
		"values.deploymentMode":                        "SingleBinary",
		"values.loki.schemaConfig.configs[0].schema":   "v13",
		"values.loki.schemaConfig.configs[0].store":    "tsdb",
		"values.loki.storage.bucketNames.chunks":       "datafruits-prod-logs",
		"values.loki.storage.s3.secretAccessKey":       "${S3_SECRET_ACCESS_KEY}",
		"values.singleBinary.extraArgs[0]":             "-config.expand-env=true",
		"values.read.replicas":                         "0",
		"values.singleBinary.persistence.storageClass": "do-block-storage",
	} {
		if got := pulumitest.GetString(loki, path); got != want {
			t.Errorf("loki %s = %q, want %q", path, got, want)
		}
	}
	if strings.Contains(pulumitest.Plain(loki), "logs-secret") {
		t.Error("Loki's S3 secret must come from a Secret, not from Helm values")
	}
	alloy := release(t, mocks, "observability-alloy", chart.Alloy).Inputs
	if cfg := pulumitest.GetString(alloy, "values.alloy.configMap.content"); !strings.Contains(cfg, "http://loki.observability.svc:3100/loki/api/v1/push") {
		t.Errorf("Alloy must ship to Loki:\n%s", cfg)
	}
	kps := release(t, mocks, "observability-monitoring", chart.KubePrometheusStack).Inputs
	if got := pulumitest.GetString(kps, "values.alertmanager.config.route.receiver"); got != "null" {
		t.Errorf("without a webhook alerts go to the null receiver, got %q", got)
	}
	if _, ok := mocks.Find("kubernetes:core/v1:Secret", "observability-discord"); ok {
		t.Error("no webhook, no Discord Secret")
	}
}
