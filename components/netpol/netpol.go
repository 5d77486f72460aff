// Package netpol turns "who may talk to whom" into NetworkPolicy peers, for
// the namespaces' baseline policies and each workload's own policy.
package netpol

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Peer is a party allowed to connect to or from pods.
type Peer struct {
	// Namespace selects pods in this namespace ("" means the policy's own); ignored with CIDR.
	Namespace string
	// AnyNamespace selects pods in every namespace (Namespace is then ignored).
	AnyNamespace bool
	// PodLabels select pods; nil selects them all.
	PodLabels map[string]string
	// CIDR selects addresses outside the cluster instead of pods.
	CIDR string
	// ExceptCIDRs are carved out of CIDR.
	ExceptCIDRs []string
	// Ports restricts the rule to these TCP ports; nil means all.
	Ports []int
	// UDP makes Ports UDP as well as TCP (DNS).
	UDP bool
}

// PrivateRanges are the RFC 1918 ranges, carved out of "the internet".
var PrivateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}

// Internet is every public address on the given ports (HTTPS APIs, Spaces, Discord).
func Internet(ports ...int) Peer {
	return Peer{CIDR: "0.0.0.0/0", ExceptCIDRs: PrivateRanges, Ports: ports}
}

// DNS is the cluster's DNS service.
var DNS = Peer{Namespace: "kube-system", PodLabels: map[string]string{"k8s-app": "kube-dns"}, Ports: []int{53}, UDP: true}

// To returns the NetworkPolicy peers of p, relative to the policy's namespace.
func To(p Peer, ownNamespace string) networkingv1.NetworkPolicyPeerArray {
	if p.CIDR != "" {
		return networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
			IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(p.CIDR), Except: pulumi.ToStringArray(p.ExceptCIDRs)},
		}}
	}
	peer := &networkingv1.NetworkPolicyPeerArgs{}
	if p.AnyNamespace {
		peer.NamespaceSelector = &metav1.LabelSelectorArgs{}
	} else {
		namespace := p.Namespace
		if namespace == "" {
			namespace = ownNamespace
		}
		peer.NamespaceSelector = &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
			"kubernetes.io/metadata.name": pulumi.String(namespace),
		}}
	}
	if len(p.PodLabels) > 0 {
		peer.PodSelector = &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(p.PodLabels)}
	}
	return networkingv1.NetworkPolicyPeerArray{peer}
}

// Ports returns the NetworkPolicy ports of p (nil: all ports).
func Ports(p Peer) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, n := range p.Ports {
		out = append(out, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(n)})
		if p.UDP {
			out = append(out, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(n)})
		}
	}
	return out
}

// Ingress is an ingress rule admitting p.
func Ingress(p Peer, ownNamespace string) *networkingv1.NetworkPolicyIngressRuleArgs {
	return &networkingv1.NetworkPolicyIngressRuleArgs{From: To(p, ownNamespace), Ports: Ports(p)}
}

// Egress is an egress rule allowing p.
func Egress(p Peer, ownNamespace string) *networkingv1.NetworkPolicyEgressRuleArgs {
	return &networkingv1.NetworkPolicyEgressRuleArgs{To: To(p, ownNamespace), Ports: Ports(p)}
}
