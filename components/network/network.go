// Package network declares the station's private network: one DigitalOcean
// VPC that the cluster and the managed databases share, so database traffic
// never leaves it.
package network

import (
	"fmt"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the network.
type Args struct {
	// Region is the DigitalOcean region slug (required).
	Region string
	// IPRange is the VPC's private range in CIDR notation (optional; default 10.110.0.0/20).
	// It must not overlap another VPC of the same DigitalOcean account.
	IPRange string
	// Name is the VPC's name, unique in the account (optional; default the component's name).
	Name string
}

// Network is a VPC.
type Network struct {
	pulumi.ResourceState

	// VPCID is the VPC's UUID, for the cluster and the databases.
	VPCID pulumi.StringOutput `pulumi:"vpcId"`
	// IPRange is the VPC's private range, for network policies that allow database egress.
	IPRange pulumi.StringOutput `pulumi:"ipRange"`
}

// DefaultIPRange is the VPC range used when Args.IPRange is empty.
const DefaultIPRange = "10.110.0.0/20"

// New declares the VPC.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil || args.Region == "" {
		return nil, fmt.Errorf("network %s: Region is required", name)
	}
	ipRange := args.IPRange
	if ipRange == "" {
		ipRange = DefaultIPRange
	}
	vpcName := args.Name
	if vpcName == "" {
		vpcName = name
	}
	n := &Network{}
	if err := ctx.RegisterComponentResource("datafruits:network:Network", name, n, opts...); err != nil {
		return nil, err
	}
	vpc, err := digitalocean.NewVpc(ctx, name+"-vpc", &digitalocean.VpcArgs{
		Name:        pulumi.String(vpcName),
		Region:      pulumi.String(args.Region),
		IpRange:     pulumi.String(ipRange),
		Description: pulumi.String("datafruits: cluster and managed databases"),
	}, pulumi.Parent(n))
	if err != nil {
		return nil, err
	}
	n.VPCID = vpc.ID().ToStringOutput()
	n.IPRange = vpc.IpRange
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{"vpcId": n.VPCID, "ipRange": n.IPRange})
}
