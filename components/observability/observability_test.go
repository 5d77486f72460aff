package observability_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/backup"
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
		"values.alertmanager.config.route.receiver":                                              "null",
		"values.alertmanager.alertmanagerSpec.alertmanagerConfiguration.name":                    observability.DiscordRoutingName,
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
	// prometheus-operator v0.81.0 refuses webhook_url_file (issue 16): the
	// webhook reaches Alertmanager through an AlertmanagerConfig instead.
	if strings.Contains(pulumitest.Plain(kps), "webhook_url_file") {
		t.Error("the chart values must not use webhook_url_file: prometheus-operator v0.81.0 refuses it")
	}
	amc, ok := mocks.Find("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig", "observability-discord-routing")
	if !ok {
		t.Fatal("no AlertmanagerConfig routes alerts to Discord")
	}
	for path, want := range map[string]string{
		"metadata.name":       observability.DiscordRoutingName,
		"spec.route.receiver": "discord",
		"spec.receivers[1].discordConfigs[0].apiURL.name":  "alertmanager-discord",
		"spec.receivers[1].discordConfigs[0].apiURL.key":   "webhook-url",
		"spec.receivers[1].discordConfigs[0].sendResolved": "true",
		"spec.route.routes[0].receiver":                    "null",
	} {
		if got := pulumitest.GetString(amc.Inputs, path); got != want {
			t.Errorf("AlertmanagerConfig %s = %q, want %q", path, got, want)
		}
	}
	// The backups' last success comes from kube-state-metrics (components/backup): it must run,
	// and the recording rule must turn its CronJob series into what BackupTooOld reads.
	if v := pulumitest.Get(kps, "values.kubeStateMetrics.enabled"); v.IsBool() && !v.BoolValue() {
		t.Error("kube-state-metrics is disabled: nothing would export the backups' last success")
	}
	recorded := pulumitest.Array(kps, "values.additionalPrometheusRulesMap.datafruits.groups[1].rules")
	if len(recorded) != 1 || pulumitest.GetString(recorded[0].ObjectValue(), "record") != observability.MetricBackupLastSuccess ||
		!strings.Contains(pulumitest.GetString(recorded[0].ObjectValue(), "expr"), `kube_cronjob_status_last_successful_time{cronjob=~"`+backup.CronJobPrefix) {
		t.Errorf("want one recording rule of %s from the backup CronJobs' kube_cronjob_status_last_successful_time, got %v", observability.MetricBackupLastSuccess, recorded)
	}
	rules := pulumitest.Array(kps, "values.additionalPrometheusRulesMap.datafruits.groups[0].rules")
	if len(rules) != len(observability.Rules([2]int{12, 24})) {
		t.Errorf("the chart gets %d rules, the program has %d", len(rules), len(observability.Rules([2]int{12, 24})))
	}
	for _, r := range rules {
		name, url := pulumitest.GetString(r.ObjectValue(), "alert"), pulumitest.GetString(r.ObjectValue(), "annotations.runbook_url")
		if url != observability.RunbookURL+"#"+strings.ToLower(name) {
			t.Errorf("alert %s: runbook_url %q", name, url)
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
	if _, ok := mocks.Find("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig", "observability-discord-routing"); ok {
		t.Error("no webhook, no Discord routing")
	}
	if got := pulumitest.GetString(kps, "values.alertmanager.alertmanagerSpec.alertmanagerConfiguration.name"); got != "" {
		t.Errorf("no webhook: Alertmanager must use the chart's null configuration, not %q", got)
	}
}
