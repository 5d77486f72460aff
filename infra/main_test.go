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
