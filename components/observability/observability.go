// Package observability declares the developers' view of the station:
// Prometheus, Alertmanager (routing to Discord) and Grafana from
// kube-prometheus-stack, Loki in single-binary mode with its chunks in object
// storage, Grafana Alloy shipping every pod's logs (Promtail is end of life),
// a station dashboard and the alert rules that matter for a radio.
package observability

import (
	"fmt"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/components/workload"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the observability stack.
type Args struct {
	// Namespace is where everything runs (required).
	Namespace pulumi.StringInput
	// NamespaceName is Namespace's name as a plain string (required).
	NamespaceName string
	// StorageClass backs Prometheus, Alertmanager, Grafana and Loki (required).
	StorageClass string
	// MetricsRetention is Prometheus' retention, e.g. "15d" (required).
	MetricsRetention string
	// GrafanaHost is Grafana's public host (required).
	GrafanaHost string
	// IngressClass routes Grafana (required).
	IngressClass string
	// DiscordWebhookURL receives alerts (secret; optional: alerts are dropped without it).
	DiscordWebhookURL pulumi.StringInput
	// Logs is where Loki keeps its chunks (required).
	Logs ObjectStore
	// AlertHoursUTC is when a silent stream is an incident, [start, end) in UTC hours (optional; default 12 to 24).
	AlertHoursUTC [2]int
	// Charts is where kube-prometheus-stack, Loki and Alloy come from (optional; default their upstream repositories).
	Charts chart.Source
}

// ObjectStore is an S3-compatible bucket and its credentials.
type ObjectStore struct {
	// Endpoint is the S3 host, without scheme (required).
	Endpoint pulumi.StringInput
	// Region is the S3 region (required).
	Region string
	// Bucket is the bucket's name (required).
	Bucket pulumi.StringInput
	// AccessKeyID is the key's ID (required).
	AccessKeyID pulumi.StringInput
	// SecretAccessKey is the key's secret (required, secret).
	SecretAccessKey pulumi.StringInput
	// Insecure talks plain HTTP (optional; in-cluster MinIO only).
	Insecure bool
}

// Observability is the monitoring and logging stack.
type Observability struct {
	pulumi.ResourceState

	// GrafanaURL is Grafana's public URL.
	GrafanaURL pulumi.StringOutput `pulumi:"grafanaUrl"`
	// GrafanaAdminPassword is Grafana's generated admin password (secret).
	GrafanaAdminPassword pulumi.StringOutput `pulumi:"grafanaAdminPassword"`

	// Endpoints are Grafana's public way in, for DNS, certificates and the status page.
	Endpoints []workload.Endpoint
}

// Names of the Secrets the charts read, so no secret is ever a Helm value.
const (
	grafanaAdminSecret = "grafana-admin"
	discordSecret      = "alertmanager-discord"
	discordKey         = "webhook-url"
	lokiS3Secret       = "loki-s3"
	// LokiURL is Loki's in-cluster address for Grafana and Alloy (namespace appended).
	lokiService = "loki"
)

// New declares the stack.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Observability, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	o := &Observability{}
	if err := ctx.RegisterComponentResource("datafruits:observability:Observability", name, o, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(o)
	ns := args.Namespace
	secret := func(res, secretName string, data pulumi.StringMapInput) (*corev1.Secret, error) {
		return corev1.NewSecret(ctx, name+"-"+res, &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(secretName), Namespace: ns},
			Type:       pulumi.String("Opaque"),
			StringData: pulumi.ToSecret(data).(pulumi.StringMapOutput),
		}, parent)
	}

	// Grafana's default admin password is public knowledge: generate one.
	password, err := random.NewRandomPassword(ctx, name+"-grafana-admin", &random.RandomPasswordArgs{Length: pulumi.Int(32), Special: pulumi.Bool(false)}, parent)
	if err != nil {
		return nil, err
	}
	grafanaSecret, err := secret("grafana-admin", grafanaAdminSecret, pulumi.StringMap{"admin-user": pulumi.String("admin"), "admin-password": password.Result})
	if err != nil {
		return nil, err
	}
	deps := []pulumi.Resource{grafanaSecret}
	hasDiscord := args.DiscordWebhookURL != nil
	var discordSecretResource *corev1.Secret
	if hasDiscord {
		// The operator reads the webhook from this Secret into the
		// configuration it generates (itself a Secret): it never appears in
		// Helm values or in the AlertmanagerConfig.
		discordSecretResource, err = secret("discord", discordSecret, pulumi.StringMap{discordKey: args.DiscordWebhookURL})
		if err != nil {
			return nil, err
		}
		deps = append(deps, discordSecretResource)
	}
	lokiSecret, err := secret("loki-s3", lokiS3Secret, pulumi.StringMap{
		"S3_ACCESS_KEY_ID": args.Logs.AccessKeyID, "S3_SECRET_ACCESS_KEY": args.Logs.SecretAccessKey,
	})
	if err != nil {
		return nil, err
	}
	dashboard, err := corev1.NewConfigMap(ctx, name+"-dashboard", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String("station-dashboard"), Namespace: ns,
			// The Grafana sidecar loads every ConfigMap with this label.
			Labels: pulumi.StringMap{"grafana_dashboard": pulumi.String("1")},
		},
		Data: pulumi.StringMap{"station.json": pulumi.String(StationDashboard())},
	}, parent)
	if err != nil {
		return nil, err
	}
	deps = append(deps, dashboard)

	lokiURL := fmt.Sprintf("http://%s.%s.svc:3100", lokiService, args.NamespaceName)
	monitoring, err := chart.Release(ctx, name+"-monitoring", chart.KubePrometheusStack, args.Charts, "monitoring", ns,
		monitoringValues(args, lokiURL, hasDiscord), parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, err
	}
	if hasDiscord {
		// The chart installs the AlertmanagerConfig CRD; the Alertmanager it
		// declares names this object, and the operator waits until it exists.
		if _, err := apiextensions.NewCustomResource(ctx, name+"-discord-routing", &apiextensions.CustomResourceArgs{
			ApiVersion:  pulumi.String("monitoring.coreos.com/v1alpha1"),
			Kind:        pulumi.String("AlertmanagerConfig"),
			Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(DiscordRoutingName), Namespace: ns},
			OtherFields: kubernetes.UntypedArgs{"spec": DiscordRouting(discordSecret, discordKey)},
		}, parent, pulumi.DependsOn([]pulumi.Resource{monitoring, discordSecretResource})); err != nil {
			return nil, err
		}
	}
	if _, err := chart.Release(ctx, name+"-loki", chart.Loki, args.Charts, lokiService, ns, lokiValues(args), parent, pulumi.DependsOn([]pulumi.Resource{lokiSecret})); err != nil {
		return nil, err
	}
	if _, err := chart.Release(ctx, name+"-alloy", chart.Alloy, args.Charts, "alloy", ns, alloyValues(lokiURL), parent); err != nil {
		return nil, err
	}

	o.GrafanaURL = pulumi.Sprintf("https://%s", args.GrafanaHost)
	o.GrafanaAdminPassword = pulumi.ToSecret(password.Result).(pulumi.StringOutput)
	o.Endpoints = []workload.Endpoint{{Workload: "grafana", Namespace: args.NamespaceName, Host: args.GrafanaHost, Protocol: "https", Port: 443, HealthPath: "/api/health"}}
	return o, ctx.RegisterResourceOutputs(o, pulumi.Map{"grafanaUrl": o.GrafanaURL, "grafanaAdminPassword": o.GrafanaAdminPassword})
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil || a.Namespace == nil || a.NamespaceName == "":
		return fmt.Errorf("observability %s: Namespace and NamespaceName are required", name)
	case a.StorageClass == "" || a.MetricsRetention == "" || a.GrafanaHost == "" || a.IngressClass == "":
		return fmt.Errorf("observability %s: StorageClass, MetricsRetention, GrafanaHost and IngressClass are required", name)
	case a.Logs.Endpoint == nil || a.Logs.Bucket == nil || a.Logs.AccessKeyID == nil || a.Logs.SecretAccessKey == nil || a.Logs.Region == "":
		return fmt.Errorf("observability %s: Logs needs an endpoint, region, bucket and key", name)
	}
	if a.AlertHoursUTC == [2]int{} {
		a.AlertHoursUTC = [2]int{12, 24}
	}
	if a.AlertHoursUTC[0] < 0 || a.AlertHoursUTC[1] > 24 || a.AlertHoursUTC[0] >= a.AlertHoursUTC[1] {
		return fmt.Errorf("observability %s: AlertHoursUTC %v must satisfy 0 <= start < end <= 24", name, a.AlertHoursUTC)
	}
	return nil
}
