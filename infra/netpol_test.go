package main

import (
	"slices"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// TestCiliumEntityPoliciesOnDOKSOnly: on DOKS (Cilium) the platform and
// observability namespaces admit the API server to their webhooks and reach
// the nodes and the API server through entity rules, because ipBlock rules
// select none of them there (cilium PR #28421). The local stack runs on any
// cluster, where no CiliumNetworkPolicy CRD may exist: it declares none.
func TestCiliumEntityPoliciesOnDOKSOnly(t *testing.T) {
	for _, stack := range []string{"staging", "prod", "local"} {
		mocks, err := pulumitest.RunStack(stack, run, nil)
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		byNamespace := map[string]pulumitest.Resource{}
		for _, r := range mocks.ByType("kubernetes:cilium.io/v2:CiliumNetworkPolicy") {
			byNamespace[pulumitest.GetString(r.Inputs, "metadata.namespace")] = r
		}
		if stack == "local" {
			if len(byNamespace) != 0 {
				t.Errorf("local declares CiliumNetworkPolicies in %v; its cluster need not run Cilium", byNamespace)
			}
			continue
		}
		for _, ns := range []string{platformNamespace, observabilityNamespace} {
			cnp, ok := byNamespace[ns]
			if !ok {
				t.Errorf("%s: no CiliumNetworkPolicy in %s: the API server and the nodes would be dropped", stack, ns)
				continue
			}
			var apiServerToWebhook, toKubelet bool
			for _, rule := range pulumitest.Array(cnp.Inputs, "spec.ingress") {
				entities := stringsOf(rule.ObjectValue()["fromEntities"])
				if slices.Contains(entities, "kube-apiserver") && slices.Contains(portsOf(rule), "10250") {
					apiServerToWebhook = true
				}
			}
			for _, rule := range pulumitest.Array(cnp.Inputs, "spec.egress") {
				entities := stringsOf(rule.ObjectValue()["toEntities"])
				if slices.Contains(entities, "remote-node") && slices.Contains(portsOf(rule), "10250") {
					toKubelet = true
				}
			}
			if !apiServerToWebhook {
				t.Errorf("%s: %s does not admit kube-apiserver to its webhook port 10250", stack, ns)
			}
			if !toKubelet {
				t.Errorf("%s: %s cannot reach the kubelets (remote-node:10250)", stack, ns)
			}
		}
	}
}

// portsOf lists the ports of a Cilium rule's toPorts.
func portsOf(rule resource.PropertyValue) []string {
	var out []string
	toPorts := rule.ObjectValue()["toPorts"]
	if !toPorts.IsArray() {
		return nil
	}
	for _, tp := range toPorts.ArrayValue() {
		ports := tp.ObjectValue()["ports"]
		if !ports.IsArray() {
			continue
		}
		for _, p := range ports.ArrayValue() {
			if port := p.ObjectValue()["port"]; port.IsString() {
				out = append(out, port.StringValue())
			}
		}
	}
	return out
}
