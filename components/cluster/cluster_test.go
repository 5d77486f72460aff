package cluster_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/cluster"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func validArgs() *cluster.Args {
	return &cluster.Args{
		Region: "nyc3", VPCID: pulumi.String("vpc-1"), VersionPrefix: "1.35.",
		SystemNodeSize: "s-2vcpu-4gb", SystemNodeCount: 1,
		WorkloadNodeSize: "s-4vcpu-8gb", WorkloadMinNodes: 2, WorkloadMaxNodes: 5,
	}
}

func TestClusterPoolsVersionAndUpgrades(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := cluster.New(ctx, "cluster", validArgs())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := mocks.Calls()
	if len(calls) != 1 || pulumitest.GetString(calls[0].Args, "versionPrefix") != "1.35." {
		t.Fatalf("want one version lookup with prefix 1.35., got %+v", calls)
	}
	doks, ok := mocks.Find("digitalocean:index/kubernetesCluster:KubernetesCluster", "cluster-doks")
	if !ok {
		t.Fatal("no DOKS cluster")
	}
	in := doks.Inputs
	if v := pulumitest.GetString(in, "version"); v != pulumitest.LatestKubernetesVersion || v == "latest" {
		t.Errorf("cluster version = %q, want the prefix lookup's %q", v, pulumitest.LatestKubernetesVersion)
	}
	if pulumitest.GetString(in, "nodePool.autoScale") != "false" || pulumitest.GetNumber(in, "nodePool.nodeCount") != 1 {
		t.Errorf("default pool must be fixed at 1 node, got autoScale=%s nodeCount=%v",
			pulumitest.GetString(in, "nodePool.autoScale"), pulumitest.GetNumber(in, "nodePool.nodeCount"))
	}
	for _, field := range []string{"autoUpgrade", "surgeUpgrade", "destroyAllAssociatedResources"} {
		if pulumitest.GetString(in, field) != "true" {
			t.Errorf("cluster %s = %q, want true", field, pulumitest.GetString(in, field))
		}
	}
	if pulumitest.GetString(in, "maintenancePolicy.day") != "sunday" || pulumitest.GetString(in, "maintenancePolicy.startTime") != "04:00" {
		t.Errorf("maintenance window = %v", pulumitest.Get(in, "maintenancePolicy"))
	}
	pool, ok := mocks.Find("digitalocean:index/kubernetesNodePool:KubernetesNodePool", "cluster-workloads")
	if !ok {
		t.Fatal("no workload pool")
	}
	if pulumitest.GetString(pool.Inputs, "autoScale") != "true" || pulumitest.GetNumber(pool.Inputs, "minNodes") != 2 || pulumitest.GetNumber(pool.Inputs, "maxNodes") != 5 {
		t.Errorf("workload pool must autoscale 2..5, got %v", pool.Inputs)
	}
	provider, ok := mocks.Find("pulumi:providers:kubernetes", "cluster-k8s")
	if !ok {
		t.Fatal("no Kubernetes provider")
	}
	kubeconfig := pulumitest.GetString(provider.Inputs, "kubeconfig")
	if !strings.Contains(kubeconfig, "exec-credential") || !strings.Contains(kubeconfig, "cluster-doks-id") {
		t.Errorf("provider kubeconfig must get credentials from doctl for the cluster's ID:\n%s", kubeconfig)
	}
	if strings.Contains(kubeconfig, pulumitest.FakeClusterToken) || strings.Contains(kubeconfig, "token:") {
		t.Errorf("provider kubeconfig must not hold DigitalOcean's expiring token:\n%s", kubeconfig)
	}
}

func TestClusterRejectsBadArgs(t *testing.T) {
	for name, mutate := range map[string]func(*cluster.Args){
		"latest version": func(a *cluster.Args) { a.VersionPrefix = "latest" },
		"min above max":  func(a *cluster.Args) { a.WorkloadMinNodes, a.WorkloadMaxNodes = 4, 2 },
		"no system node": func(a *cluster.Args) { a.SystemNodeCount = 0 },
		"no region":      func(a *cluster.Args) { a.Region = "" },
	} {
		t.Run(name, func(t *testing.T) {
			args := validArgs()
			mutate(args)
			mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
				_, err := cluster.New(ctx, "cluster", args)
				return err
			})
			if err == nil {
				t.Fatal("accepted")
			}
			if len(mocks.Resources()) != 0 {
				t.Errorf("declared %d resources before failing", len(mocks.Resources()))
			}
		})
	}
}
