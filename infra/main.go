// Command infra is the datafruits Pulumi program. It declares the station in
// layers, each taking the previous layer's outputs:
//
//	foundation → platform → station → edge
//
// The foundation is DigitalOcean's managed services (or in-cluster stand-ins
// for the local stack), the platform is what sits between the load balancer
// and the apps, the station is the RFC's workloads, and the edge is what is
// derived from the station's public endpoints: DNS, certificates, status page.
package main

import (
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() { pulumi.Run(run) }

// run is the whole program; tests run it under mocks.
func run(ctx *pulumi.Context) error {
	cfg, err := stacks.Load(ctx)
	if err != nil {
		return err
	}
	f, err := foundation(ctx, cfg)
	if err != nil {
		return err
	}
	p, err := platform(ctx, cfg, f)
	if err != nil {
		return err
	}
	s, err := station(ctx, cfg, f, p)
	if err != nil {
		return err
	}
	e, err := edge(ctx, cfg, f, p, s)
	if err != nil {
		return err
	}
	exportOutputs(ctx, cfg, f, p, s, e)
	return nil
}
