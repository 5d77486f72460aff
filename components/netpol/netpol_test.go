package netpol_test

import (
	"testing"

	"github.com/datafruits/infra/components/netpol"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
)

func TestPeers(t *testing.T) {
	internet := netpol.To(netpol.Internet(443), "station")
	ip := internet[0].(*networkingv1.NetworkPolicyPeerArgs).IpBlock.(*networkingv1.IPBlockArgs)
	if ip == nil {
		t.Fatal("Internet must be an ipBlock")
	}
	if ports := netpol.Ports(netpol.DNS); len(ports) != 2 {
		t.Errorf("DNS needs UDP and TCP on 53, got %d ports", len(ports))
	}
	if ports := netpol.Ports(netpol.Peer{}); len(ports) != 0 {
		t.Errorf("no ports means all ports, got %d", len(ports))
	}
	own := netpol.To(netpol.Peer{PodLabels: map[string]string{"app.kubernetes.io/name": "chat"}}, "station")[0].(*networkingv1.NetworkPolicyPeerArgs)
	if own.NamespaceSelector == nil || own.PodSelector == nil {
		t.Error("a pod peer selects its namespace and its pods")
	}
}
