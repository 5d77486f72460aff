package observability

import (
	"fmt"

	"github.com/datafruits/infra/components/workload"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// monitoringValues configures kube-prometheus-stack.
func monitoringValues(args *Args, lokiURL string, hasDiscord bool) pulumi.Map {
	volume := func(size string) pulumi.Map {
		return pulumi.Map{"volumeClaimTemplate": pulumi.Map{"spec": pulumi.Map{
			"storageClassName": pulumi.String(args.StorageClass),
			"accessModes":      pulumi.ToStringArray([]string{"ReadWriteOnce"}),
			"resources":        pulumi.Map{"requests": pulumi.Map{"storage": pulumi.String(size)}},
		}}}
	}
	grafanaTLS := workload.TLSSecretName(args.GrafanaHost)
	return pulumi.Map{
		"fullnameOverride": pulumi.String("monitoring"),
		// DOKS runs a managed control plane: its etcd, scheduler and
		// controller manager cannot be scraped and would alert forever.
		"kubeEtcd":              pulumi.Map{"enabled": pulumi.Bool(false)},
		"kubeScheduler":         pulumi.Map{"enabled": pulumi.Bool(false)},
		"kubeControllerManager": pulumi.Map{"enabled": pulumi.Bool(false)},
		// DOKS' networking (Cilium) may run without kube-proxy; scraping a
		// component that is not there would fire KubeProxyDown forever.
		"kubeProxy": pulumi.Map{"enabled": pulumi.Bool(false)},
		"prometheus": pulumi.Map{"prometheusSpec": pulumi.Map{
			"retention":   pulumi.String(args.MetricsRetention),
			"storageSpec": volume("20Gi"),
			// Pick up every ServiceMonitor and rule, not only the chart's own.
			"serviceMonitorSelectorNilUsesHelmValues": pulumi.Bool(false),
			"podMonitorSelectorNilUsesHelmValues":     pulumi.Bool(false),
			"ruleSelectorNilUsesHelmValues":           pulumi.Bool(false),
			"additionalScrapeConfigs":                 pulumi.Array{annotatedServicesScrape()},
		}},
		"alertmanager": pulumi.Map{
			"alertmanagerSpec": alertmanagerSpec(hasDiscord, volume("2Gi")),
			// Without Discord (or before the AlertmanagerConfig exists) alerts
			// go nowhere. prometheus-operator v0.81.0 reads this strictly into
			// its own types, so it holds nothing but what those types know.
			"config": pulumi.Map{
				"route":     pulumi.Map{"receiver": pulumi.String("null")},
				"receivers": pulumi.Array{pulumi.Map{"name": pulumi.String("null")}},
			},
		},
		"grafana": pulumi.Map{
			"admin":       pulumi.Map{"existingSecret": pulumi.String(grafanaAdminSecret), "userKey": pulumi.String("admin-user"), "passwordKey": pulumi.String("admin-password")},
			"persistence": pulumi.Map{"enabled": pulumi.Bool(true), "storageClassName": pulumi.String(args.StorageClass), "size": pulumi.String("5Gi")},
			"ingress": pulumi.Map{
				"enabled":          pulumi.Bool(true),
				"ingressClassName": pulumi.String(args.IngressClass),
				"annotations": pulumi.StringMap{
					"traefik.ingress.kubernetes.io/router.entrypoints": pulumi.String("websecure"),
					"traefik.ingress.kubernetes.io/router.tls":         pulumi.String("true"),
				},
				"hosts": pulumi.ToStringArray([]string{args.GrafanaHost}),
				"tls":   pulumi.Array{pulumi.Map{"secretName": pulumi.String(grafanaTLS), "hosts": pulumi.ToStringArray([]string{args.GrafanaHost})}},
			},
			"grafana.ini": pulumi.Map{"server": pulumi.Map{"root_url": pulumi.String("https://" + args.GrafanaHost)}},
			"additionalDataSources": pulumi.Array{pulumi.Map{
				"name": pulumi.String("Loki"), "type": pulumi.String("loki"), "uid": pulumi.String("loki"),
				"url": pulumi.String(lokiURL), "access": pulumi.String("proxy"),
			}},
			"sidecar": pulumi.Map{"dashboards": pulumi.Map{"enabled": pulumi.Bool(true), "label": pulumi.String("grafana_dashboard"), "searchNamespace": pulumi.String("ALL")}},
		},
		"additionalPrometheusRulesMap": pulumi.Map{"datafruits": pulumi.Map{"groups": pulumi.Array{AlertRules(args.AlertHoursUTC), RecordingRules()}}},
	}
}

// alertmanagerSpec points Alertmanager at the Discord routing when there is
// a webhook. prometheus-operator v0.81.0 refuses a raw configuration with
// discord_configs.webhook_url_file (its types lack the field; operator #7159):
// the operator would never create Alertmanager. An AlertmanagerConfig named in
// alertmanagerConfiguration becomes the whole configuration instead, and its
// discordConfigs read the webhook from a Secret key.
func alertmanagerSpec(hasDiscord bool, storage pulumi.Map) pulumi.Map {
	spec := pulumi.Map{"storage": storage}
	if hasDiscord {
		spec["alertmanagerConfiguration"] = pulumi.Map{"name": pulumi.String(DiscordRoutingName)}
	}
	return spec
}

// annotatedServicesScrape scrapes every Service annotated prometheus.io/scrape
// on the port named by prometheus.io/port: how the station's workloads
// announce their metrics.
func annotatedServicesScrape() pulumi.Map {
	labels := func(l ...string) pulumi.StringArray { return pulumi.ToStringArray(l) }
	return pulumi.Map{
		"job_name":              pulumi.String("annotated-services"),
		"kubernetes_sd_configs": pulumi.Array{pulumi.Map{"role": pulumi.String("endpoints")}},
		"relabel_configs": pulumi.Array{
			pulumi.Map{"source_labels": labels("__meta_kubernetes_service_annotation_prometheus_io_scrape"), "action": pulumi.String("keep"), "regex": pulumi.String("true")},
			pulumi.Map{
				"source_labels": labels("__address__", "__meta_kubernetes_service_annotation_prometheus_io_port"),
				"action":        pulumi.String("replace"),
				"regex":         pulumi.String(`([^:]+)(?::\d+)?;(\d+)`),
				"replacement":   pulumi.String("$1:$2"),
				"target_label":  pulumi.String("__address__"),
			},
			pulumi.Map{"source_labels": labels("__meta_kubernetes_namespace"), "target_label": pulumi.String("namespace")},
			pulumi.Map{"source_labels": labels("__meta_kubernetes_service_name"), "target_label": pulumi.String("service")},
			pulumi.Map{"source_labels": labels("__meta_kubernetes_pod_name"), "target_label": pulumi.String("pod")},
		},
	}
}

// lokiValues runs Loki as a single binary with chunks in object storage.
func lokiValues(args *Args) pulumi.Map {
	zero := pulumi.Map{"replicas": pulumi.Int(0)}
	return pulumi.Map{
		"deploymentMode": pulumi.String("SingleBinary"),
		"loki": pulumi.Map{
			"auth_enabled": pulumi.Bool(false),
			"commonConfig": pulumi.Map{"replication_factor": pulumi.Int(1)},
			"schemaConfig": pulumi.Map{"configs": pulumi.Array{pulumi.Map{
				"from": pulumi.String("2026-01-01"), "store": pulumi.String("tsdb"), "object_store": pulumi.String("s3"),
				"schema": pulumi.String("v13"), "index": pulumi.Map{"prefix": pulumi.String("loki_index_"), "period": pulumi.String("24h")},
			}}},
			"storage": pulumi.Map{
				"type":        pulumi.String("s3"),
				"bucketNames": pulumi.Map{"chunks": args.Logs.Bucket, "ruler": args.Logs.Bucket, "admin": args.Logs.Bucket},
				"s3": pulumi.Map{
					"endpoint": args.Logs.Endpoint, "region": pulumi.String(args.Logs.Region),
					// Expanded from the loki-s3 Secret at start-up (-config.expand-env).
					"accessKeyId":      pulumi.String("${S3_ACCESS_KEY_ID}"),
					"secretAccessKey":  pulumi.String("${S3_SECRET_ACCESS_KEY}"),
					"s3ForcePathStyle": pulumi.Bool(true),
					"insecure":         pulumi.Bool(args.Logs.Insecure),
				},
			},
		},
		"singleBinary": pulumi.Map{
			"replicas":     pulumi.Int(1),
			"extraArgs":    pulumi.ToStringArray([]string{"-config.expand-env=true"}),
			"extraEnvFrom": pulumi.Array{pulumi.Map{"secretRef": pulumi.Map{"name": pulumi.String(lokiS3Secret)}}},
			"persistence":  pulumi.Map{"storageClass": pulumi.String(args.StorageClass), "size": pulumi.String("10Gi")},
		},
		"read": zero, "write": zero, "backend": zero,
		"gateway":      pulumi.Map{"enabled": pulumi.Bool(false)},
		"chunksCache":  pulumi.Map{"enabled": pulumi.Bool(false)},
		"resultsCache": pulumi.Map{"enabled": pulumi.Bool(false)},
		"lokiCanary":   pulumi.Map{"enabled": pulumi.Bool(false)},
		"test":         pulumi.Map{"enabled": pulumi.Bool(false)},
		"minio":        pulumi.Map{"enabled": pulumi.Bool(false)},
	}
}

// alloyValues ships every pod's logs to Loki through the Kubernetes API, so
// Alloy needs no host paths and runs as one Deployment.
func alloyValues(lokiURL string) pulumi.Map {
	return pulumi.Map{
		"controller": pulumi.Map{"type": pulumi.String("deployment"), "replicas": pulumi.Int(1)},
		"alloy":      pulumi.Map{"configMap": pulumi.Map{"content": pulumi.String(AlloyConfig(lokiURL))}},
	}
}

// AlloyConfig is Alloy's pipeline: discover pods, label them, tail their logs
// through the API server, push to Loki.
func AlloyConfig(lokiURL string) string {
	return fmt.Sprintf(`discovery.kubernetes "pods" {
  role = "pod"
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "app"
  }
}

loki.source.kubernetes "pods" {
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "%s/loki/api/v1/push"
  }
}
`, lokiURL)
}
