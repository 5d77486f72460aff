package namespace_test

import (
	"strings"
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

// TestNamespaceAdmitsACMESolvers: cert-manager's HTTP-01 solver pods run in
// the Certificate's namespace; the ingress controller must reach them on 8089.
func TestNamespaceAdmitsACMESolvers(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := namespace.New(ctx, "station", &namespace.Args{Name: "station", ACMESolversFrom: "platform"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range mocks.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		if pulumitest.GetString(p.Inputs, "metadata.name") != "allow-acme-solvers" {
			continue
		}
		found = true
		if got := pulumitest.Get(p.Inputs, "spec.podSelector.matchLabels").ObjectValue()["acme.cert-manager.io/http01-solver"]; got.StringValue() != "true" {
			t.Errorf("allow-acme-solvers selects %v, want the solver label", got)
		}
		if got := pulumitest.Get(p.Inputs, "spec.ingress[0].from[0].namespaceSelector.matchLabels").ObjectValue()["kubernetes.io/metadata.name"]; got.StringValue() != "platform" {
			t.Errorf("allow-acme-solvers admits namespace %v, want platform", got)
		}
		if port := pulumitest.GetNumber(p.Inputs, "spec.ingress[0].ports[0].port"); port != 8089 {
			t.Errorf("allow-acme-solvers port = %v, want 8089", port)
		}
	}
	if !found {
		t.Error("no allow-acme-solvers policy: every Certificate of the namespace would stay pending")
	}
}

// TestNamespaceDeclaresEntityRules: Cilium entity allows become one
// CiliumNetworkPolicy; an entity Cilium does not know is refused by name.
func TestNamespaceDeclaresEntityRules(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := namespace.New(ctx, "platform", &namespace.Args{Name: "platform",
			EntityIngress: []netpol.EntityPeer{{Entities: []string{netpol.EntityKubeAPIServer}, Ports: []int{10250}}},
			EntityEgress:  []netpol.EntityPeer{{Entities: netpol.Nodes, Ports: []int{10250}}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cnps := mocks.ByType("kubernetes:cilium.io/v2:CiliumNetworkPolicy")
	if len(cnps) != 1 {
		t.Fatalf("want one CiliumNetworkPolicy, got %d", len(cnps))
	}
	in := cnps[0].Inputs
	if got := pulumitest.GetString(in, "spec.ingress[0].fromEntities[0]"); got != "kube-apiserver" {
		t.Errorf("ingress entity = %q, want kube-apiserver", got)
	}
	if got := pulumitest.GetString(in, "spec.ingress[0].toPorts[0].ports[0].port"); got != "10250" {
		t.Errorf("ingress port = %q, want \"10250\" (Cilium ports are strings)", got)
	}
	if got := pulumitest.GetString(in, "spec.egress[0].toEntities[1]"); got != "remote-node" {
		t.Errorf("egress entities = %v, want host and remote-node", pulumitest.Array(in, "spec.egress[0].toEntities"))
	}

	_, err = pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := namespace.New(ctx, "x", &namespace.Args{Name: "x", EntityIngress: []netpol.EntityPeer{{Entities: []string{"nodes"}}}})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `"nodes"`) {
		t.Errorf("an unknown entity must be refused by name, got %v", err)
	}
}
