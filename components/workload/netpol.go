package workload

import (
	"github.com/datafruits/infra/components/netpol"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// networkPolicy allows exactly the traffic the workload needs on top of its
// namespace's default deny: the ingress controller to routed ports,
// Prometheus to the metrics port, the declared peers in and out.
func (w *Workload) networkPolicy(ctx *pulumi.Context, name string, args *Args, meta *metav1.ObjectMetaArgs, labels pulumi.StringMap) error {
	var ingress networkingv1.NetworkPolicyIngressRuleArray
	routed := []int{}
	if args.Route != nil {
		routed = append(routed, portNumber(args.allPorts(), args.Route.Port))
	}
	for _, r := range args.TCPRoutes {
		routed = append(routed, portNumber(args.allPorts(), r.Port))
	}
	if len(routed) > 0 {
		ingress = append(ingress, netpol.Ingress(netpol.Peer{Namespace: args.Platform.IngressNamespace, Ports: routed}, args.Namespace))
	}
	if args.MetricsPort != "" {
		ingress = append(ingress, netpol.Ingress(netpol.Peer{Namespace: args.Platform.MonitoringNamespace, Ports: []int{portNumber(args.allPorts(), args.MetricsPort)}}, args.Namespace))
	}
	for _, p := range args.IngressFrom {
		ingress = append(ingress, netpol.Ingress(p, args.Namespace))
	}
	var egress networkingv1.NetworkPolicyEgressRuleArray
	for _, p := range args.EgressTo {
		egress = append(egress, netpol.Egress(p, args.Namespace))
	}
	_, err := networkingv1.NewNetworkPolicy(ctx, name, &networkingv1.NetworkPolicyArgs{
		Metadata: meta,
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Ingress:     ingress,
			Egress:      egress,
		},
	}, pulumi.Parent(w))
	return err
}
