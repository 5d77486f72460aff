package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/datafruits/infra/internal/contract"
	"github.com/datafruits/infra/internal/pulumitest"
)

// policyRecord is what the connectivity check (tools/netpolcheck) reads for
// one stack: the policies the program declares and the pods they select.
type policyRecord struct {
	Stack string `json:"stack"`
	// Foundation is the stack's datafruits:foundation; "digitalocean" means DOKS, which runs Cilium.
	Foundation string `json:"foundation"`
	// VPCRange is the VPC's address range (DigitalOcean only): managed databases and nodes live there.
	VPCRange string `json:"vpcRange,omitempty"`
	// NetworkPolicies and CiliumNetworkPolicies are the objects as they would be applied.
	NetworkPolicies       []map[string]any `json:"networkPolicies"`
	CiliumNetworkPolicies []map[string]any `json:"ciliumNetworkPolicies"`
	// Workloads are the program's Deployments, StatefulSets, DaemonSets and CronJobs, with their pods' labels.
	Workloads []recordedWorkload `json:"workloads"`
}

type recordedWorkload struct {
	Kind      string            `json:"kind"`
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	PodLabels map[string]string `json:"podLabels"`
}

// TestRecordNetworkPolicies runs the program for every committed stack under
// mocks and writes $NETPOL_RECORD_DIR/<stack>.json, the input of the
// connectivity check (scripts/test/netpol.sh runs both). Pod templates are
// reduced to their labels: no container, env or Secret is written.
func TestRecordNetworkPolicies(t *testing.T) {
	dir := os.Getenv("NETPOL_RECORD_DIR")
	if dir == "" {
		t.Skip("NETPOL_RECORD_DIR is not set: scripts/test/netpol.sh sets it and runs the connectivity check on what this writes")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stacks, err := pulumitest.CommittedStacks()
	if err != nil {
		t.Fatal(err)
	}
	for _, stack := range stacks {
		cfg, _, err := pulumitest.StackConfig(stack)
		if err != nil {
			t.Fatal(err)
		}
		mocks, err := pulumitest.RunStack(stack, run, nil)
		if err != nil {
			t.Fatalf("stack %s: the program fails under mocks: %v", stack, err)
		}
		declared, err := contract.FromResources(stack, mocks.Resources())
		if err != nil {
			t.Fatalf("stack %s: %v", stack, err)
		}
		rec := policyRecord{Stack: stack, Foundation: cfg["datafruits:foundation"]}
		if rec.Foundation == "" {
			rec.Foundation = "digitalocean"
		}
		for _, vpc := range mocks.ByType("digitalocean:index/vpc:Vpc") {
			rec.VPCRange = pulumitest.GetString(vpc.Inputs, "ipRange")
		}
		for _, o := range declared.Objects {
			switch o.Kind {
			case "NetworkPolicy":
				rec.NetworkPolicies = append(rec.NetworkPolicies, o.Body)
			case "CiliumNetworkPolicy":
				rec.CiliumNetworkPolicies = append(rec.CiliumNetworkPolicies, o.Body)
			case "Deployment", "StatefulSet", "DaemonSet", "CronJob":
				labels := map[string]string{}
				spec, _ := o.Body["spec"].(map[string]any)
				if o.Kind == "CronJob" {
					// A CronJob's pods come from its Job template.
					jobTemplate, _ := spec["jobTemplate"].(map[string]any)
					spec, _ = jobTemplate["spec"].(map[string]any)
				}
				if tmpl, ok := spec["template"].(map[string]any); ok {
					if meta, ok := tmpl["metadata"].(map[string]any); ok {
						if l, ok := meta["labels"].(map[string]any); ok {
							for k, v := range l {
								labels[k], _ = v.(string)
							}
						}
					}
				}
				rec.Workloads = append(rec.Workloads, recordedWorkload{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, PodLabels: labels})
			}
		}
		if len(rec.NetworkPolicies) == 0 || len(rec.Workloads) == 0 {
			t.Fatalf("stack %s: recorded %d NetworkPolicies and %d workloads; the check needs both", stack, len(rec.NetworkPolicies), len(rec.Workloads))
		}
		sort.Slice(rec.Workloads, func(i, j int) bool {
			return rec.Workloads[i].Namespace+"/"+rec.Workloads[i].Name < rec.Workloads[j].Namespace+"/"+rec.Workloads[j].Name
		})
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, stack+".json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("stack %s: %d NetworkPolicies, %d CiliumNetworkPolicies, %d workloads → %s",
			stack, len(rec.NetworkPolicies), len(rec.CiliumNetworkPolicies), len(rec.Workloads), path)
	}
}
