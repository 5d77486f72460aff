package main

import (
	"fmt"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/components/ingress"
	"github.com/datafruits/infra/components/metricsserver"
	"github.com/datafruits/infra/components/namespace"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/observability"
	"github.com/datafruits/infra/components/tls"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Namespaces of the platform's layers.
const (
	platformNamespace      = "platform"
	observabilityNamespace = "observability"
)

// rtmpEntrypoint is the ingress's TCP entrypoint for VJs' RTMP video.
const rtmpEntrypoint = "rtmp"

// Platform is what sits between the load balancer and the apps.
type Platform struct {
	// Refs tell workloads where the ingress controller and Prometheus run.
	Refs workload.PlatformRefs
	// Ingress is Traefik (nil when charts are off).
	Ingress *ingress.Ingress
	// TLS is cert-manager and the issuer (nil when charts are off).
	TLS *tls.TLS
	// Observability is monitoring and logs (nil when charts are off).
	Observability *observability.Observability
	// Namespaces are the layer namespaces, for dependencies.
	Namespaces []pulumi.Resource
}

// djEntrypoint names a station's DJ entrypoint after its port: names stay
// short and unique whatever the station is called.
func djEntrypoint(port int) string { return fmt.Sprintf("dj-%d", port) }

// tcpEntrypoints are the ingress's plain TCP ports: RTMP and one per station.
func tcpEntrypoints(cfg *stacks.Config) []ingress.Entrypoint {
	eps := []ingress.Entrypoint{{Name: rtmpEntrypoint, Port: stacks.RTMPPort}}
	for _, s := range cfg.Stations {
		eps = append(eps, ingress.Entrypoint{Name: djEntrypoint(s.DJPort), Port: s.DJPort})
	}
	return eps
}

func platform(ctx *pulumi.Context, cfg *stacks.Config, f *Foundation) (*Platform, error) {
	k8s := pulumi.Providers(providers(f)...)
	p := &Platform{Refs: platformRefs(cfg)}
	charts := chart.Source{Mirror: cfg.Platform.ChartMirror}
	ingressArgs := &ingress.Args{
		Namespace: pulumi.String(platformNamespace), NamespaceName: platformNamespace,
		TCPEntrypoints: tcpEntrypoints(cfg), Replicas: cfg.Platform.IngressReplicas,
		Autoscale: cfg.Platform.IngressAutoscale, LoadBalancer: cfg.Platform.LoadBalancer,
		LoadBalancerName: "datafruits-" + cfg.Stack, Hostname: cfg.Domain, Charts: charts,
	}
	// The load balancer reaches Traefik's entrypoints, and nothing else here is
	// open to the internet. The API server calls cert-manager's webhook and
	// metrics-server on 10250: from private addresses on local clusters, as
	// the kube-apiserver entity on DOKS (platformEntities).
	// Only third-party charts run here, whose pods cannot be checked against
	// "restricted" offline: enforce "baseline" (audit and warn stay
	// "restricted"), so a chart's security context cannot stall an install.
	platformIngress := append([]netpol.Peer{
		{CIDR: "0.0.0.0/0", Ports: ingressArgs.Ports()},
		{Namespace: observabilityNamespace},
	}, apiServerToWebhooks()...)
	platformEntityIngress, platformEntityEgress := platformEntities(cfg, ingressArgs.Ports())
	platformNS, err := namespace.New(ctx, "platform", &namespace.Args{
		Name: platformNamespace, PodSecurity: "baseline", IngressFrom: platformIngress,
		EgressTo: []netpol.Peer{
			{AnyNamespace: true},
			{CIDR: "0.0.0.0/0", Ports: []int{80, 443, 6443, kubeletPort}},
		},
		EntityIngress: platformEntityIngress, EntityEgress: platformEntityEgress,
	}, k8s)
	if err != nil {
		return nil, err
	}
	// node-exporter needs the host's namespaces: this namespace cannot be
	// "restricted". It is audited and warned at "restricted" all the same.
	obsNS, err := namespace.New(ctx, "observability", &namespace.Args{
		Name: observabilityNamespace, PodSecurity: "privileged",
		// The API server calls prometheus-operator's admission webhook (chart
		// value prometheusOperator.tls.internalPort) for every PrometheusRule.
		IngressFrom: append([]netpol.Peer{{Namespace: observabilityNamespace}, {Namespace: platformNamespace}}, apiServerToWebhooks()...),
		EgressTo: []netpol.Peer{
			{AnyNamespace: true},
			{CIDR: "0.0.0.0/0", Ports: []int{443, 6443, nodeExporterPort, kubeletPort}},
		},
		ACMESolversFrom: platformNamespace,
		EntityIngress:   webhookEntities(cfg),
		EntityEgress:    observabilityEntities(cfg),
	}, k8s)
	if err != nil {
		return nil, err
	}
	p.Namespaces = []pulumi.Resource{platformNS, obsNS}
	if !cfg.Platform.HelmCharts {
		return p, nil
	}
	after := pulumi.DependsOn(p.Namespaces)

	if p.Ingress, err = ingress.New(ctx, "ingress", ingressArgs, k8s, after); err != nil {
		return nil, err
	}
	p.Refs.CRDsReady = []pulumi.Resource{p.Ingress.Release}
	if p.TLS, err = tls.New(ctx, "tls", &tls.Args{
		Namespace: pulumi.String(platformNamespace), Email: cfg.Platform.ACMEEmail,
		Issuer: cfg.Platform.ACMEServer, IngressClass: ingress.IngressClass,
		DependsOn: []pulumi.Resource{p.Ingress}, Charts: charts,
	}, k8s, after); err != nil {
		return nil, err
	}
	if cfg.Platform.MetricsServer {
		if _, err := metricsserver.New(ctx, "metrics-server", &metricsserver.Args{Namespace: pulumi.String(platformNamespace), Charts: charts}, k8s, after); err != nil {
			return nil, err
		}
	}
	var discord pulumi.StringInput
	if cfg.Secrets.HasDiscordWebhook {
		discord = cfg.Secrets.DiscordWebhookURL
	}
	if p.Observability, err = observability.New(ctx, "observability", &observability.Args{
		Namespace: pulumi.String(observabilityNamespace), NamespaceName: observabilityNamespace,
		StorageClass: cfg.Platform.StorageClass, MetricsRetention: cfg.Platform.MetricsRetention,
		GrafanaHost: "grafana." + cfg.Domain, IngressClass: ingress.IngressClass, DiscordWebhookURL: discord,
		Charts: charts,
		Logs: observability.ObjectStore{
			Endpoint: f.S3.EndpointHost, Region: f.S3.Region, Bucket: f.S3.Logs,
			AccessKeyID: f.S3.LogsKeyID, SecretAccessKey: f.S3.LogsSecret, Insecure: f.S3.Insecure,
		},
	}, k8s, after); err != nil {
		return nil, err
	}
	// The database's own figures (connections in use, the limit) for the
	// DatabaseConnectionsNearLimit alert: postgres_exporter, as the
	// monitoring database's user (counting pg_stat_activity and reading
	// pg_settings needs no privilege).
	if _, err := workload.New(ctx, "database-exporter", &workload.Args{
		Namespace: observabilityNamespace, Image: cfg.Images["postgresExporter"],
		Ports:     []workload.Port{{Name: "metrics", Number: databaseExporterPort}},
		SecretEnv: pulumi.StringMap{"DATA_SOURCE_NAME": f.DatabaseURLs.MapIndex(pulumi.String("monitoring"))}, SecretEnvKeys: []string{"DATA_SOURCE_NAME"},
		Probe: &workload.Probe{Port: "metrics"}, Resources: workload.Resources{CPU: "20m", Memory: "48Mi"},
		// The image's USER nobody (Dockerfile @ v0.17.1). Recreate: its two
		// connections are in the stack's connection budget once.
		RunAsUser: 65534, Replicas: 1, Recreate: true,
		MetricsPort: "metrics", EgressTo: f.Egress["postgres"], Platform: p.Refs,
	}, k8s, pulumi.DependsOn(append([]pulumi.Resource{f.DatabaseReady}, p.Namespaces...))); err != nil {
		return nil, err
	}
	return p, nil
}

// databaseExporterPort is postgres_exporter's listen port (its default, :9187).
const databaseExporterPort = 9187

// Ports the platform's policies open beyond the entrypoints.
const (
	// webhookPort is cert-manager's webhook (chart value webhook.securePort),
	// metrics-server's containerPort (chart 3.13.0) and prometheus-operator's
	// admission webhook (tls.internalPort, chart 70.0.0): the API server calls them.
	webhookPort = 10250
	// kubeletPort is every node's kubelet: metrics-server and Prometheus read it.
	kubeletPort = 10250
	// nodeExporterPort is node-exporter's, on the host network of every node.
	nodeExporterPort = 9100
)

// apiServerPorts are where the API server listens: 443 through the
// kubernetes Service, 6443 at DOKS's control plane endpoint.
var apiServerPorts = []int{443, 6443}

// runsCilium reports whether the stack's cluster runs Cilium: DOKS always
// does, and only there does the CiliumNetworkPolicy CRD exist.
func runsCilium(cfg *stacks.Config) bool { return cfg.Foundation == stacks.FoundationDigitalOcean }

// platformEntities are the platform namespace's Cilium entity rules. On
// Cilium, ipBlock rules select neither nodes nor the API server (cilium PR
// #28421; DOKS keeps policy-cidr-match-mode unset), so without these the load
// balancer's connections that a node forwards to Traefik on another node, the
// API server's calls to cert-manager's webhook and metrics-server, and
// metrics-server's scrapes of the kubelets would all be dropped.
func platformEntities(cfg *stacks.Config, entrypointPorts []int) (ingress, egress []netpol.EntityPeer) {
	if !runsCilium(cfg) {
		return nil, nil
	}
	ingress = append([]netpol.EntityPeer{{Entities: netpol.Nodes, Ports: entrypointPorts}}, webhookEntities(cfg)...)
	egress = []netpol.EntityPeer{
		{Entities: []string{netpol.EntityKubeAPIServer}, Ports: apiServerPorts},
		{Entities: netpol.Nodes, Ports: []int{kubeletPort}},
	}
	return ingress, egress
}

// apiServerToWebhooks admits the API server to the webhook port where it
// calls from a private address (local clusters: a node's). The internet never
// reaches it. On DOKS the API server is an entity instead (webhookEntities).
func apiServerToWebhooks() []netpol.Peer {
	var peers []netpol.Peer
	for _, private := range netpol.PrivateRanges {
		peers = append(peers, netpol.Peer{CIDR: private, Ports: []int{webhookPort}})
	}
	return peers
}

// webhookEntities admits the API server to the webhook port on Cilium.
// DigitalOcean does not document whether its control plane reaches webhooks
// directly (kube-apiserver) or through a node's tunnel agent: both are
// admitted to that port, and to nothing else.
func webhookEntities(cfg *stacks.Config) []netpol.EntityPeer {
	if !runsCilium(cfg) {
		return nil
	}
	return []netpol.EntityPeer{{Entities: append([]string{netpol.EntityKubeAPIServer}, netpol.Nodes...), Ports: []int{webhookPort}}}
}

// observabilityEntities are the observability namespace's Cilium entity
// rules: Prometheus scrapes the kubelets and node-exporter (host network),
// and it, Alloy, Grafana's sidecars and kube-state-metrics read the API server.
func observabilityEntities(cfg *stacks.Config) []netpol.EntityPeer {
	if !runsCilium(cfg) {
		return nil
	}
	return []netpol.EntityPeer{
		{Entities: []string{netpol.EntityKubeAPIServer}, Ports: apiServerPorts},
		{Entities: netpol.Nodes, Ports: []int{kubeletPort, nodeExporterPort}},
	}
}

// providers is the Kubernetes provider to pass to components, if the
// foundation made one (otherwise the default provider is used).
func providers(f *Foundation) []pulumi.ProviderResource {
	if f.K8s == nil {
		return nil
	}
	return []pulumi.ProviderResource{f.K8s}
}
