package netpol

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CiliumVersion is the Cilium release whose CiliumNetworkPolicy schema the
// program writes against: the contract test installs that release's CRD
// (from the github.com/cilium/cilium Go module) before applying the policies.
// DigitalOcean's DOKS changelog names the Cilium each Kubernetes minor ships
// with, but it could not be read when this was pinned: v1.19 is the first
// Cilium line whose compatibility table (Documentation/network/kubernetes/
// compatibility.rst) lists Kubernetes 1.35 (v1.18 stops at 1.33). Move this to
// the changelog's version once checked; the fields used here are the same in both.
const CiliumVersion = "v1.19.4"

// Cilium entities the program uses. On Cilium, ipBlock/CIDR rules select
// neither pods nor, unless policy-cidr-match-mode=nodes is set (not on DOKS),
// the nodes or the API server (cilium PR #28421): those need entities.
const (
	// EntityHost is the node the selected pod runs on (its kubelet, hostNetwork pods there).
	EntityHost = "host"
	// EntityRemoteNode is every other node of the cluster.
	EntityRemoteNode = "remote-node"
	// EntityKubeAPIServer is the Kubernetes API server, inside or outside the cluster.
	EntityKubeAPIServer = "kube-apiserver"
	// EntityWorld is every address outside the cluster.
	EntityWorld = "world"
)

// entities are the entities an EntityPeer may name.
var entities = []string{EntityHost, EntityRemoteNode, EntityKubeAPIServer, EntityWorld}

// Nodes are the cluster's nodes, wherever the selected pod runs.
var Nodes = []string{EntityHost, EntityRemoteNode}

// EntityPeer is a party that is not a pod, named by Cilium entities.
type EntityPeer struct {
	// Entities are Cilium entities: host, remote-node, kube-apiserver or world (required).
	Entities []string
	// Ports restricts the rule to these TCP ports; nil means all.
	Ports []int
}

// ACME HTTP-01 solver pods, as cert-manager v1.18.2 makes them in each
// Certificate's namespace (pkg/issuer/acme/http/pod.go: podLabels;
// http.go: acmeSolverListenPort).
const (
	ACMESolverLabel = "acme.cert-manager.io/http01-solver"
	ACMESolverPort  = 8089
)

// CiliumPolicyArgs is one CiliumNetworkPolicy.
type CiliumPolicyArgs struct {
	// Name is the policy's metadata.name (required).
	Name string
	// Namespace is the policy's namespace (required).
	Namespace pulumi.StringInput
	// PodLabels select the pods the policy applies to; nil selects every pod of the namespace.
	PodLabels map[string]string
	// Ingress admits these entities (optional).
	Ingress []EntityPeer
	// Egress allows these entities (optional).
	Egress []EntityPeer
}

// NewCiliumPolicy declares a CiliumNetworkPolicy of entity rules. It adds to
// the namespace's NetworkPolicies: Cilium allows what either kind allows.
func NewCiliumPolicy(ctx *pulumi.Context, name string, args *CiliumPolicyArgs, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	if args == nil || args.Name == "" || args.Namespace == nil {
		return nil, fmt.Errorf("cilium policy %s: Name and Namespace are required", name)
	}
	if len(args.Ingress) == 0 && len(args.Egress) == 0 {
		return nil, fmt.Errorf("cilium policy %s: give at least one Ingress or Egress rule", name)
	}
	rules := func(direction, field string, peers []EntityPeer) (pulumi.Array, error) {
		var out pulumi.Array
		for i, p := range peers {
			if len(p.Entities) == 0 {
				return nil, fmt.Errorf("cilium policy %s: %s[%d].Entities is empty; allowed: %v", name, direction, i, entities)
			}
			for _, e := range p.Entities {
				if !slices.Contains(entities, e) {
					return nil, fmt.Errorf("cilium policy %s: %s[%d] entity %q is not allowed; allowed: %v", name, direction, i, e, entities)
				}
			}
			rule := pulumi.Map{field: pulumi.ToStringArray(p.Entities)}
			if len(p.Ports) > 0 {
				var ports pulumi.Array
				for _, n := range p.Ports {
					ports = append(ports, pulumi.Map{"port": pulumi.String(strconv.Itoa(n)), "protocol": pulumi.String("TCP")})
				}
				rule["toPorts"] = pulumi.Array{pulumi.Map{"ports": ports}}
			}
			out = append(out, rule)
		}
		return out, nil
	}
	ingress, err := rules("Ingress", "fromEntities", args.Ingress)
	if err != nil {
		return nil, err
	}
	egress, err := rules("Egress", "toEntities", args.Egress)
	if err != nil {
		return nil, err
	}
	spec := pulumi.Map{"endpointSelector": pulumi.Map{}}
	if len(args.PodLabels) > 0 {
		spec["endpointSelector"] = pulumi.Map{"matchLabels": pulumi.ToStringMap(args.PodLabels)}
	}
	if len(ingress) > 0 {
		spec["ingress"] = ingress
	}
	if len(egress) > 0 {
		spec["egress"] = egress
	}
	return apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String("cilium.io/v2"),
		Kind:        pulumi.String("CiliumNetworkPolicy"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name), Namespace: args.Namespace},
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, opts...)
}
