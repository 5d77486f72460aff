package namespace_test

import (
	"testing"

	"github.com/datafruits/infra/components/namespace"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestNamespaceDeniesByDefault(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := namespace.New(ctx, "station", &namespace.Args{Name: "station", EgressTo: []netpol.Peer{netpol.Internet(443)}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := mocks.Find("kubernetes:core/v1:Namespace", "station")
	if v := pulumitest.Get(ns.Inputs, "metadata.labels").ObjectValue()["pod-security.kubernetes.io/enforce"]; v.StringValue() != "restricted" {
		t.Errorf("Pod Security enforce = %v, want restricted", v)
	}
	policies := map[string]pulumitest.Resource{}
	for _, p := range mocks.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		policies[pulumitest.GetString(p.Inputs, "metadata.name")] = p
	}
	deny, ok := policies["default-deny"]
	if !ok || len(pulumitest.Array(deny.Inputs, "spec.policyTypes")) != 2 || len(pulumitest.Array(deny.Inputs, "spec.ingress")) != 0 {
		t.Error("want a default-deny policy for ingress and egress with no rules")
	}
	if dns, ok := policies["allow-dns"]; !ok || pulumitest.GetNumber(dns.Inputs, "spec.egress[0].ports[1].port") != 53 {
		t.Error("pods must reach DNS")
	}
	if layer, ok := policies["allow-layer"]; !ok || pulumitest.GetString(layer.Inputs, "spec.egress[0].to[0].ipBlock.cidr") != "0.0.0.0/0" {
		t.Error("the layer's allows must be a policy of their own")
	}
}

func TestRejectsUnknownLevel(t *testing.T) {
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := namespace.New(ctx, "x", &namespace.Args{Name: "x", PodSecurity: "strict"})
		return err
	})
	if err == nil {
		t.Error("accepted an unknown Pod Security level")
	}
}
