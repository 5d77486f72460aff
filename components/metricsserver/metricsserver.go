// Package metricsserver installs metrics-server from its chart, so the
// HorizontalPodAutoscalers of the ingress and the station have CPU figures.
package metricsserver

import (
	"fmt"

	"github.com/datafruits/infra/components/chart"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures metrics-server.
type Args struct {
	// Namespace is where it runs (required).
	Namespace pulumi.StringInput
	// Charts is where the chart comes from (optional; default its upstream repository).
	Charts chart.Source
}

// MetricsServer is the metrics-server release.
type MetricsServer struct {
	pulumi.ResourceState
}

// New declares the release.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*MetricsServer, error) {
	if args == nil || args.Namespace == nil {
		return nil, fmt.Errorf("metrics-server %s: Namespace is required", name)
	}
	m := &MetricsServer{}
	if err := ctx.RegisterComponentResource("datafruits:metricsserver:MetricsServer", name, m, opts...); err != nil {
		return nil, err
	}
	if _, err := chart.Release(ctx, name+"-release", chart.MetricsServer, args.Charts, "metrics-server", args.Namespace, pulumi.Map{
		"replicas": pulumi.Int(1),
		// DOKS kubelets serve certificates metrics-server cannot verify by name.
		"args": pulumi.ToStringArray([]string{"--kubelet-preferred-address-types=InternalIP", "--kubelet-insecure-tls"}),
	}, pulumi.Parent(m)); err != nil {
		return nil, err
	}
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{})
}
