// Package valkey declares the managed Valkey (DigitalOcean's Redis successor,
// engine "valkey") that the chat server and the API's Sidekiq workers share,
// firewalled to the Kubernetes cluster like the database.
package valkey

import (
	"fmt"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the Valkey cluster.
type Args struct {
	// Region is the DigitalOcean region slug (required).
	Region string
	// Name is the cluster's name, unique in the account (optional; default the component's name).
	Name string
	// VPCID is the private network the cluster lives in (required).
	VPCID pulumi.StringInput
	// KubernetesClusterID is the only client the firewall admits (required).
	KubernetesClusterID pulumi.StringInput
	// Size is the node slug, e.g. "db-s-1vcpu-1gb" (required).
	Size string
	// Version is the Valkey major version (optional; default "8").
	Version string
	// Protect refuses deletion (optional; set in prod: Sidekiq's queues live here).
	Protect bool
}

// Valkey is a managed Valkey cluster.
type Valkey struct {
	pulumi.ResourceState

	// PrivateHost is the host name inside the VPC.
	PrivateHost pulumi.StringOutput `pulumi:"privateHost"`
	// Port is the TLS port.
	Port pulumi.IntOutput `pulumi:"port"`
	// Password is the default user's password (secret).
	Password pulumi.StringOutput `pulumi:"password"`
	// URL is the private rediss:// URL with credentials (secret).
	URL pulumi.StringOutput `pulumi:"url"`
}

// New declares the cluster and its firewall.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Valkey, error) {
	if args == nil || args.Region == "" || args.VPCID == nil || args.KubernetesClusterID == nil || args.Size == "" {
		return nil, fmt.Errorf("valkey %s: Region, VPCID, KubernetesClusterID and Size are required", name)
	}
	version := args.Version
	if version == "" {
		version = "8"
	}
	clusterName := args.Name
	if clusterName == "" {
		clusterName = name
	}
	v := &Valkey{}
	if err := ctx.RegisterComponentResource("datafruits:valkey:Valkey", name, v, opts...); err != nil {
		return nil, err
	}
	cluster, err := digitalocean.NewDatabaseCluster(ctx, name+"-cluster", &digitalocean.DatabaseClusterArgs{
		Name:               pulumi.String(clusterName),
		Engine:             pulumi.String("valkey"),
		Version:            pulumi.String(version),
		Size:               pulumi.String(args.Size),
		NodeCount:          pulumi.Int(1),
		Region:             pulumi.String(args.Region),
		PrivateNetworkUuid: args.VPCID,
		// Sidekiq loses jobs when keys are evicted; fail writes instead.
		EvictionPolicy: pulumi.String("noeviction"),
		Tags:           pulumi.StringArray{pulumi.String("datafruits")},
	}, pulumi.Parent(v), pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	if _, err := digitalocean.NewDatabaseFirewall(ctx, name+"-firewall", &digitalocean.DatabaseFirewallArgs{
		ClusterId: cluster.ID(),
		Rules: digitalocean.DatabaseFirewallRuleArray{
			&digitalocean.DatabaseFirewallRuleArgs{Type: pulumi.String("k8s"), Value: args.KubernetesClusterID},
		},
	}, pulumi.Parent(v)); err != nil {
		return nil, err
	}
	v.PrivateHost = cluster.PrivateHost
	v.Port = cluster.Port
	v.Password = pulumi.ToSecret(cluster.Password).(pulumi.StringOutput)
	// DigitalOcean's Valkey only speaks TLS.
	v.URL = pulumi.ToSecret(pulumi.Sprintf("rediss://default:%s@%s:%d", cluster.Password, cluster.PrivateHost, cluster.Port)).(pulumi.StringOutput)
	return v, ctx.RegisterResourceOutputs(v, pulumi.Map{
		"privateHost": v.PrivateHost, "port": v.Port, "password": v.Password, "url": v.URL,
	})
}
