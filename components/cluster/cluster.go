// Package cluster declares the DOKS cluster: a small fixed default pool, a
// separate autoscaling pool for the station's workloads, and a Kubernetes
// provider whose credentials do not expire.
package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the cluster.
type Args struct {
	// Region is the DigitalOcean region slug (required).
	Region string
	// Name is the cluster's name, unique in the account (optional; default the component's name).
	Name string
	// VPCID is the VPC the nodes join (required).
	VPCID pulumi.StringInput
	// VersionPrefix pins the Kubernetes minor version, e.g. "1.35." (required; never "latest").
	VersionPrefix string
	// HA turns on the highly available control plane (optional; default false).
	HA bool
	// SystemNodeSize is the droplet slug of the fixed default pool (required).
	SystemNodeSize string
	// SystemNodeCount is the default pool's fixed size (required, at least 1).
	SystemNodeCount int
	// WorkloadNodeSize is the droplet slug of the autoscaling workload pool (required).
	WorkloadNodeSize string
	// WorkloadMinNodes is the workload pool's lower bound (required, at least 1).
	WorkloadMinNodes int
	// WorkloadMaxNodes is the workload pool's upper bound (required, at least WorkloadMinNodes).
	WorkloadMaxNodes int
	// MaintenanceDay is the weekly maintenance window's day (optional; default "sunday").
	MaintenanceDay string
	// MaintenanceStartTime is the window's start, "HH:MM" UTC (optional; default "04:00").
	MaintenanceStartTime string
}

// WorkloadPoolLabel labels the nodes of the autoscaling workload pool.
const WorkloadPoolLabel = "datafruits.fm/pool"

// Cluster is a DOKS cluster and a Kubernetes provider for it.
type Cluster struct {
	pulumi.ResourceState

	// ClusterID is the DOKS cluster's UUID, for database firewalls.
	ClusterID pulumi.StringOutput `pulumi:"clusterId"`
	// Name is the cluster's name.
	Name pulumi.StringOutput `pulumi:"name"`
	// Endpoint is the API server's URL.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// Version is the Kubernetes version the prefix resolved to.
	Version pulumi.StringOutput `pulumi:"version"`
	// Kubeconfig authenticates through doctl; it holds no token (see kubeconfigFor).
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`

	// Provider deploys into the cluster; pass it with pulumi.Provider to Kubernetes resources.
	Provider *kubernetes.Provider
}

// New declares the cluster, its workload pool and the provider.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("datafruits:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}

	// Pin by prefix and take the newest patch DigitalOcean offers: "latest"
	// would jump minor versions on any run (pulumi-digitalocean #74, #437).
	versions, err := digitalocean.GetKubernetesVersions(ctx, &digitalocean.GetKubernetesVersionsArgs{
		VersionPrefix: pulumi.StringRef(args.VersionPrefix),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: looking up Kubernetes versions %q: %w", name, args.VersionPrefix, err)
	}
	if versions.LatestVersion == "" {
		return nil, fmt.Errorf("cluster %s: DigitalOcean offers no Kubernetes version with prefix %q", name, args.VersionPrefix)
	}

	clusterName := args.Name
	if clusterName == "" {
		clusterName = name
	}
	doks, err := digitalocean.NewKubernetesCluster(ctx, name+"-doks", &digitalocean.KubernetesClusterArgs{
		Name:    pulumi.String(clusterName),
		Region:  pulumi.String(args.Region),
		Version: pulumi.String(versions.LatestVersion),
		VpcUuid: args.VPCID,
		Ha:      pulumi.Bool(args.HA),
		// Never resize this pool: changing it replaces the whole cluster
		// (pulumi-digitalocean #317). Workloads go to the pool below.
		NodePool: &digitalocean.KubernetesClusterNodePoolArgs{
			Name:      pulumi.String(clusterName + "-system"),
			Size:      pulumi.String(args.SystemNodeSize),
			NodeCount: pulumi.Int(args.SystemNodeCount),
			AutoScale: pulumi.Bool(false),
			Labels:    pulumi.StringMap{WorkloadPoolLabel: pulumi.String("system")},
		},
		AutoUpgrade:  pulumi.Bool(true),
		SurgeUpgrade: pulumi.Bool(true),
		MaintenancePolicy: &digitalocean.KubernetesClusterMaintenancePolicyArgs{
			Day:       pulumi.String(args.MaintenanceDay),
			StartTime: pulumi.String(args.MaintenanceStartTime),
		},
		// Load balancers and volumes the cluster created would otherwise
		// outlive it and keep costing money.
		DestroyAllAssociatedResources: pulumi.Bool(true),
		Tags:                          pulumi.StringArray{pulumi.String("datafruits")},
	}, pulumi.Parent(c),
		// Auto-upgrades move the patch version under us; the prefix lookup
		// follows it, so ignore the drift instead of fighting it.
		pulumi.IgnoreChanges([]string{"version"}))
	if err != nil {
		return nil, err
	}

	if _, err := digitalocean.NewKubernetesNodePool(ctx, name+"-workloads", &digitalocean.KubernetesNodePoolArgs{
		ClusterId: doks.ID(),
		Name:      pulumi.String(clusterName + "-workloads"),
		Size:      pulumi.String(args.WorkloadNodeSize),
		AutoScale: pulumi.Bool(true),
		MinNodes:  pulumi.Int(args.WorkloadMinNodes),
		MaxNodes:  pulumi.Int(args.WorkloadMaxNodes),
		Labels:    pulumi.StringMap{WorkloadPoolLabel: pulumi.String("workloads")},
		Tags:      pulumi.StringArray{pulumi.String("datafruits")},
	}, pulumi.Parent(c),
		// The autoscaler owns the current node count.
		pulumi.IgnoreChanges([]string{"nodeCount"})); err != nil {
		return nil, err
	}

	c.ClusterID = doks.ID().ToStringOutput()
	c.Name = doks.Name
	c.Endpoint = doks.Endpoint
	c.Version = doks.Version
	ca := doks.KubeConfigs.Index(pulumi.Int(0)).ClusterCaCertificate().Elem()
	c.Kubeconfig = pulumi.All(doks.Name, doks.Endpoint, ca, doks.ID()).ApplyT(func(v []any) string {
		return kubeconfigFor(v[0].(string), v[1].(string), v[2].(string), string(v[3].(pulumi.ID)))
	}).(pulumi.StringOutput)

	c.Provider, err = kubernetes.NewProvider(ctx, name+"-k8s", &kubernetes.ProviderArgs{
		Kubeconfig: c.Kubeconfig,
		// Server-side apply is what the contract test checks objects with.
		EnableServerSideApply: pulumi.Bool(true),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterId": c.ClusterID, "name": c.Name, "endpoint": c.Endpoint,
		"version": c.Version, "kubeconfig": c.Kubeconfig,
	})
}

// kubeconfigFor builds a kubeconfig from the cluster's endpoint, CA and ID that
// gets its token from `doctl kubernetes cluster kubeconfig exec-credential` on
// every use. DigitalOcean's own kubeconfigs carry a token that expires after 7
// days (pulumi-digitalocean #77, #312, #445), so a provider built from the
// cluster's stored RawConfig breaks a week later. This one holds no token: it
// never expires, never changes between runs (so previews show no provider
// replacement, pulumi-kubernetes #2294), and keeps credentials out of state.
// Whoever runs Pulumi needs doctl and DIGITALOCEAN_ACCESS_TOKEN.
func kubeconfigFor(name, endpoint, caBase64, clusterID string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s-doctl
current-context: %[1]s
users:
- name: %[1]s-doctl
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: doctl
      args: [kubernetes, cluster, kubeconfig, exec-credential, --version=v1beta1, %[4]s]
      interactiveMode: Never
`, name, endpoint, caBase64, clusterID)
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil:
		return fmt.Errorf("cluster %s: args are required", name)
	case a.Region == "" || a.VPCID == nil:
		return fmt.Errorf("cluster %s: Region and VPCID are required", name)
	case a.VersionPrefix == "" || a.VersionPrefix == "latest":
		return fmt.Errorf("cluster %s: VersionPrefix %q must be a minor version prefix such as \"1.35.\"", name, a.VersionPrefix)
	case a.SystemNodeSize == "" || a.WorkloadNodeSize == "":
		return fmt.Errorf("cluster %s: SystemNodeSize and WorkloadNodeSize are required", name)
	case a.SystemNodeCount < 1:
		return fmt.Errorf("cluster %s: SystemNodeCount %d must be at least 1", name, a.SystemNodeCount)
	case a.WorkloadMinNodes < 1 || a.WorkloadMaxNodes < a.WorkloadMinNodes:
		return fmt.Errorf("cluster %s: workload pool bounds %d..%d must satisfy 1 <= min <= max", name, a.WorkloadMinNodes, a.WorkloadMaxNodes)
	}
	if a.MaintenanceDay == "" {
		a.MaintenanceDay = "sunday"
	}
	if a.MaintenanceStartTime == "" {
		a.MaintenanceStartTime = "04:00"
	}
	return nil
}
