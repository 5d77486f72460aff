package network_test

import (
	"testing"

	"github.com/datafruits/infra/components/network"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestVPC(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := network.New(ctx, "network", &network.Args{Region: "nyc3"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	vpc := mocks.ByType("digitalocean:index/vpc:Vpc")
	if len(vpc) != 1 || pulumitest.GetString(vpc[0].Inputs, "region") != "nyc3" || pulumitest.GetString(vpc[0].Inputs, "ipRange") != network.DefaultIPRange {
		t.Errorf("want one VPC in nyc3 on %s, got %v", network.DefaultIPRange, vpc)
	}
	if _, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := network.New(ctx, "network", &network.Args{})
		return err
	}); err == nil {
		t.Error("a VPC without a region was accepted")
	}
}
