// Package namespace declares a namespace for one layer with its Pod Security
// level, a default-deny NetworkPolicy, DNS for every pod, the ingress
// controller to cert-manager's HTTP-01 solvers, and the namespace-wide allows
// a layer needs (for charts whose pods we do not label), including Cilium
// entity rules for nodes and the API server.
package namespace

import (
	"fmt"
	"slices"

	"github.com/datafruits/infra/components/netpol"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures a namespace.
type Args struct {
	// Name is the namespace's name (required).
	Name string
	// PodSecurity is the enforced Pod Security Standard: "restricted", "baseline" or "privileged" (optional; default "restricted").
	PodSecurity string
	// IngressFrom are namespace-wide allows into every pod (optional).
	IngressFrom []netpol.Peer
	// EgressTo are namespace-wide allows out of every pod, besides DNS (optional).
	EgressTo []netpol.Peer
	// ACMESolversFrom is the ingress controller's namespace, admitted to cert-manager's
	// HTTP-01 solver pods, which run in each Certificate's namespace (optional; "": none).
	ACMESolversFrom string
	// EntityIngress and EntityEgress are namespace-wide Cilium entity allows (nodes, the
	// API server), declared as the CiliumNetworkPolicy "allow-entities" (optional; only
	// on clusters that run Cilium, whose CRD must exist).
	EntityIngress []netpol.EntityPeer
	EntityEgress  []netpol.EntityPeer
}

// Namespace is a namespace with its baseline policies.
type Namespace struct {
	pulumi.ResourceState

	// Name is the namespace's name, known once it exists.
	Name pulumi.StringOutput `pulumi:"name"`
}

// New declares the namespace and its policies. Pass the Kubernetes provider
// with pulumi.Providers.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Namespace, error) {
	if args == nil || args.Name == "" {
		return nil, fmt.Errorf("namespace %s: Name is required", name)
	}
	level := args.PodSecurity
	if level == "" {
		level = "restricted"
	}
	if !slices.Contains([]string{"restricted", "baseline", "privileged"}, level) {
		return nil, fmt.Errorf("namespace %s: PodSecurity %q must be restricted, baseline or privileged", name, level)
	}
	n := &Namespace{}
	if err := ctx.RegisterComponentResource("datafruits:namespace:Namespace", name, n, opts...); err != nil {
		return nil, err
	}
	ns, err := corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(args.Name),
			Labels: pulumi.StringMap{
				"pod-security.kubernetes.io/enforce": pulumi.String(level),
				"pod-security.kubernetes.io/audit":   pulumi.String("restricted"),
				"pod-security.kubernetes.io/warn":    pulumi.String("restricted"),
				"app.kubernetes.io/part-of":          pulumi.String("datafruits"),
			},
		},
	}, pulumi.Parent(n))
	if err != nil {
		return nil, err
	}
	nsName := ns.Metadata.Name().Elem()
	policy := func(suffix string, spec *networkingv1.NetworkPolicySpecArgs) error {
		_, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+suffix, &networkingv1.NetworkPolicyArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(suffix), Namespace: nsName},
			Spec:     spec,
		}, pulumi.Parent(n))
		return err
	}
	everyPod := &metav1.LabelSelectorArgs{}
	// Nothing in, nothing out, unless a policy below or a workload's own allows it.
	if err := policy("default-deny", &networkingv1.NetworkPolicySpecArgs{
		PodSelector: everyPod,
		PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
	}); err != nil {
		return nil, err
	}
	if err := policy("allow-dns", &networkingv1.NetworkPolicySpecArgs{
		PodSelector: everyPod,
		PolicyTypes: pulumi.ToStringArray([]string{"Egress"}),
		Egress:      networkingv1.NetworkPolicyEgressRuleArray{netpol.Egress(netpol.DNS, args.Name)},
	}); err != nil {
		return nil, err
	}
	if len(args.IngressFrom) > 0 || len(args.EgressTo) > 0 {
		var types []string
		var ingress networkingv1.NetworkPolicyIngressRuleArray
		var egress networkingv1.NetworkPolicyEgressRuleArray
		if len(args.IngressFrom) > 0 {
			types = append(types, "Ingress")
		}
		for _, p := range args.IngressFrom {
			ingress = append(ingress, netpol.Ingress(p, args.Name))
		}
		if len(args.EgressTo) > 0 {
			types = append(types, "Egress")
		}
		for _, p := range args.EgressTo {
			egress = append(egress, netpol.Egress(p, args.Name))
		}
		spec := &networkingv1.NetworkPolicySpecArgs{
			PodSelector: everyPod, PolicyTypes: pulumi.ToStringArray(types), Ingress: ingress, Egress: egress,
		}
		if err := policy("allow-layer", spec); err != nil {
			return nil, err
		}
	}
	if args.ACMESolversFrom != "" {
		// Let's Encrypt reaches a solver through the ingress controller; without
		// this the default deny leaves every Certificate here pending.
		solvers := &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{netpol.ACMESolverLabel: pulumi.String("true")}}
		if err := policy("allow-acme-solvers", &networkingv1.NetworkPolicySpecArgs{
			PodSelector: solvers,
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{
				netpol.Ingress(netpol.Peer{Namespace: args.ACMESolversFrom, Ports: []int{netpol.ACMESolverPort}}, args.Name),
			},
		}); err != nil {
			return nil, err
		}
	}
	if len(args.EntityIngress) > 0 || len(args.EntityEgress) > 0 {
		if _, err := netpol.NewCiliumPolicy(ctx, name+"-allow-entities", &netpol.CiliumPolicyArgs{
			Name: "allow-entities", Namespace: nsName, Ingress: args.EntityIngress, Egress: args.EntityEgress,
		}, pulumi.Parent(n)); err != nil {
			return nil, fmt.Errorf("namespace %s: %w", name, err)
		}
	}
	n.Name = nsName
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{"name": n.Name})
}
