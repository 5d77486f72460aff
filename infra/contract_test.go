//go:build contract

package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/internal/contract"
	"github.com/datafruits/infra/internal/pulumitest"
)

// TestContract runs the program for every committed stack under mocks and
// applies the Kubernetes objects it declares to a real API server (the
// embedded control plane; scripts/test/contract.sh starts it and sets
// KUBECONFIG), then checks that they make a working cluster. See
// docs/contract.md for what is checked and how.
func TestContract(t *testing.T) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		t.Fatal("KUBECONFIG is not set: run scripts/test/contract.sh (or make controlplane-up and export the KUBECONFIG it prints)")
	}
	client, err := contract.NewClientFromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// The charts are part of what the program deploys: render them with the
	// values the program gives them, and apply them with everything else.
	renderer := contract.ChartRenderer{
		Helm: os.Getenv("CONTRACT_HELM"), Mirror: os.Getenv("CONTRACT_CHART_MIRROR"),
		KubeVersion: cmp.Or(os.Getenv("CONTRACT_KUBE_VERSION"), "v1.35.4"),
	}
	if renderer.Helm == "" {
		t.Fatal("CONTRACT_HELM is not set: run scripts/test/contract.sh, which builds helm and points at the chart mirror")
	}
	stacks, err := pulumitest.CommittedStacks()
	if err != nil {
		t.Fatal(err)
	}
	// DOKS runs Cilium: its CiliumNetworkPolicy definition is part of the
	// cluster, so install it here from the Cilium release the program targets
	// and apply the program's policies against its real schema.
	cilium, err := contract.ModuleCRDs(context.Background(), "github.com/cilium/cilium", netpol.CiliumVersion,
		"pkg/k8s/apis/cilium.io/client/crds/v2", "ciliumnetworkpolicies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := contract.InstallCRDs(context.Background(), client, cilium); err != nil {
		t.Fatal(err)
	}
	t.Logf("installed the CiliumNetworkPolicy definition of github.com/cilium/cilium@%s", netpol.CiliumVersion)

	var summary []string
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			mocks, err := pulumitest.RunStack(stack, run, nil)
			if err != nil {
				t.Fatalf("stack %s: the program fails under mocks: %v", stack, err)
			}
			declared, err := contract.FromResources(stack, mocks.Resources())
			if err != nil {
				t.Fatalf("stack %s: %v", stack, err)
			}
			if len(declared.Objects) == 0 {
				summary = append(summary, fmt.Sprintf("stack %s: declares no Kubernetes objects (%d skipped)", stack, len(declared.Skipped)))
				t.Skipf("stack %s declares no Kubernetes objects", stack)
			}
			ctx := context.Background()
			if err := declared.RenderCharts(ctx, client, renderer); err != nil {
				t.Fatalf("stack %s: %v", stack, err)
			}
			t.Logf("stack %s: %d Helm releases rendered into %d objects", stack, len(declared.Releases), declared.ChartObjects)
			if removed, err := contract.RemoveLeftovers(ctx, client, declared); err != nil {
				t.Fatalf("stack %s: removing the objects an interrupted run left: %v", stack, err)
			} else if removed {
				t.Logf("stack %s: removed the objects an interrupted run left behind", stack)
			}
			report, err := contract.Run(ctx, client, stack, declared, contract.Options{Logf: t.Logf})
			if err != nil {
				t.Fatalf("stack %s: %v", stack, err)
			}
			// Cleanup runs before the next stack starts, also when this one failed.
			t.Cleanup(func() {
				if err := contract.Cleanup(ctx, client, report.Applied); err != nil {
					t.Errorf("stack %s: %v", stack, err)
				}
			})
			t.Log("\n" + report.String())
			ready := "not all Ready"
			if report.ReadySeconds > 0 {
				ready = fmt.Sprintf("all Ready after %.1fs", report.ReadySeconds)
			}
			summary = append(summary, fmt.Sprintf("stack %s: %d objects applied, %d skipped, %s, %d failures",
				stack, len(report.Applied), len(report.Skipped), ready, len(report.Failures)))
			if len(report.Failures) > 0 {
				t.Errorf("stack %s breaks the Kubernetes contract: %d failures, listed above", stack, len(report.Failures))
			}
		})
	}
	t.Log("contract summary:\n  " + strings.Join(summary, "\n  "))
}
