package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

// TestStacksRegisterEveryResource runs the whole program for the committed
// staging and prod stack files and requires every piece the RFC needs.
func TestStacksRegisterEveryResource(t *testing.T) {
	required := map[string]int{
		"digitalocean:index/vpc:Vpc":                                       1,
		"digitalocean:index/kubernetesCluster:KubernetesCluster":           1,
		"digitalocean:index/kubernetesNodePool:KubernetesNodePool":         1,
		"pulumi:providers:kubernetes":                                      1,
		"digitalocean:index/databaseCluster:DatabaseCluster":               2, // Postgres and Valkey
		"digitalocean:index/databaseDb:DatabaseDb":                         len(databases),
		"digitalocean:index/databaseUser:DatabaseUser":                     len(databases),
		"digitalocean:index/databaseConnectionPool:DatabaseConnectionPool": 1,
		"digitalocean:index/databaseFirewall:DatabaseFirewall":             2,
		"digitalocean:index/spacesBucket:SpacesBucket":                     4,
		"digitalocean:index/spacesKey:SpacesKey":                           3,
		"digitalocean:index/cdn:Cdn":                                       2,
		"digitalocean:index/certificate:Certificate":                       2,
		"digitalocean:index/domain:Domain":                                 1,
		"kubernetes:helm.sh/v3:Release":                                    6,
		"kubernetes:cert-manager.io/v1:ClusterIssuer":                      1,
		"kubernetes:apps/v1:Deployment":                                    1,
		"kubernetes:networking.k8s.io/v1:Ingress":                          1,
	}
	for _, stack := range []string{"staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			mocks, err := pulumitest.RunStack(stack, run, nil)
			if err != nil {
				t.Fatalf("program failed for %s: %v", stack, err)
			}
			counts := mocks.Count()
			for typ, min := range required {
				if counts[typ] < min {
					t.Errorf("%s: %d × %s, want at least %d", stack, counts[typ], typ, min)
				}
			}
			if testing.Verbose() {
				var lines []string
				for typ, n := range counts {
					lines = append(lines, fmt.Sprintf("%4d %s", n, typ))
				}
				sort.Strings(lines)
				t.Logf("%s registers %d resources:\n%s", stack, len(mocks.Resources()), strings.Join(lines, "\n"))
			}
		})
	}
}

// TestLocalStackNeedsNoCloud runs the committed local stack: in-cluster data
// services, no DigitalOcean resource at all, no DNS, no load balancer.
func TestLocalStackNeedsNoCloud(t *testing.T) {
	mocks, err := pulumitest.RunStack("local", run, nil)
	if err != nil {
		t.Fatalf("local stack failed: %v", err)
	}
	for _, r := range mocks.Resources() {
		if strings.HasPrefix(r.Type, "digitalocean:") {
			t.Errorf("local stack declares %s %s: it must need no cloud account", r.Type, r.Name)
		}
	}
	counts := mocks.Count()
	if counts["kubernetes:apps/v1:StatefulSet"] != 3 {
		t.Errorf("local stack has %d StatefulSets, want 3 (PostgreSQL, Valkey, MinIO)", counts["kubernetes:apps/v1:StatefulSet"])
	}
	for _, r := range mocks.ByType("kubernetes:core/v1:Service") {
		if typ := r.Inputs["spec"].ObjectValue()["type"]; typ.IsString() && typ.StringValue() == "LoadBalancer" {
			t.Errorf("local stack declares a LoadBalancer Service %s", r.Name)
		}
	}
}

// TestMetricsServerCanBeLeftOut: on a cluster that runs no containers the
// aggregated metrics API would stay unavailable and block namespace
// deletion, so make up (and the integration suite) leave metrics-server out
// there; every other piece stays.
func TestMetricsServerCanBeLeftOut(t *testing.T) {
	with, err := pulumitest.RunStack("local", run, nil)
	if err != nil {
		t.Fatal(err)
	}
	without, err := pulumitest.RunStack("local", run, map[string]string{"datafruits:metricsServer": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := with.Find("kubernetes:helm.sh/v3:Release", "metrics-server-release"); !ok {
		t.Fatal("the local stack as committed declares no metrics-server release")
	}
	if _, ok := without.Find("kubernetes:helm.sh/v3:Release", "metrics-server-release"); ok {
		t.Error("datafruits:metricsServer false still declares metrics-server")
	}
	if got, want := len(without.ByType("kubernetes:helm.sh/v3:Release")), len(with.ByType("kubernetes:helm.sh/v3:Release"))-1; got != want {
		t.Errorf("%d releases without metrics-server, want %d (only it left out)", got, want)
	}
}
