package contract

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/datafruits/infra/components/netpol"
)

// TestModuleCRDsReadsCiliumsDefinition reads the CiliumNetworkPolicy
// definition the contract test installs, from the Cilium module at the
// program's CiliumVersion, and checks that its schema knows every entity the
// program may write (netpol rejects any other before a preview).
func TestModuleCRDsReadsCiliumsDefinition(t *testing.T) {
	crds, err := ModuleCRDs(context.Background(), "github.com/cilium/cilium", netpol.CiliumVersion,
		"pkg/k8s/apis/cilium.io/client/crds/v2", "ciliumnetworkpolicies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name != "ciliumnetworkpolicies.cilium.io" || str(crds[0].Body, "spec", "names", "kind") != "CiliumNetworkPolicy" {
		t.Fatalf("want the ciliumnetworkpolicies.cilium.io definition, got %d objects", len(crds))
	}
	v2, _ := list(crds[0].Body, "spec", "versions")[0].(map[string]any)
	ingress := mapAt(v2, "schema", "openAPIV3Schema", "properties", "spec", "properties", "ingress", "items", "properties")
	enum := list(ingress, "fromEntities", "items", "enum")
	for _, e := range []string{netpol.EntityHost, netpol.EntityRemoteNode, netpol.EntityKubeAPIServer, netpol.EntityWorld} {
		if !slices.Contains(enum, any(e)) {
			t.Errorf("Cilium %s's fromEntities enum %v lacks %q", netpol.CiliumVersion, enum, e)
		}
	}
	if port := str(mapAt(ingress, "toPorts", "items", "properties", "ports", "items", "properties", "port"), "type"); port != "string" {
		t.Errorf("toPorts[].ports[].port is %q in the schema; the program writes strings", fmt.Sprint(port))
	}
}
