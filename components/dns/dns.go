// Package dns declares the stack's zone in DigitalOcean DNS and the records
// that point public hosts at the load balancer.
package dns

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ZoneArgs configures the zone.
type ZoneArgs struct {
	// Domain is the zone's name, e.g. "datafruits.fm" (required). The
	// registrar must delegate it to ns1-3.digitalocean.com.
	Domain string
	// Protect refuses deletion of the zone (optional; set in prod).
	Protect bool
}

// Zone is a DigitalOcean DNS zone with a CAA record.
type Zone struct {
	pulumi.ResourceState

	// Domain is the zone's name.
	Domain pulumi.StringOutput `pulumi:"domain"`
}

// New declares the zone and a CAA record that lets only Let's Encrypt (used
// by cert-manager and by DigitalOcean's managed CDN certificates) issue.
func New(ctx *pulumi.Context, name string, args *ZoneArgs, opts ...pulumi.ResourceOption) (*Zone, error) {
	if args == nil || args.Domain == "" {
		return nil, fmt.Errorf("dns %s: Domain is required", name)
	}
	z := &Zone{}
	if err := ctx.RegisterComponentResource("datafruits:dns:Zone", name, z, opts...); err != nil {
		return nil, err
	}
	domain, err := digitalocean.NewDomain(ctx, name+"-domain", &digitalocean.DomainArgs{
		Name: pulumi.String(args.Domain),
	}, pulumi.Parent(z), pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	if _, err := digitalocean.NewDnsRecord(ctx, name+"-caa", &digitalocean.DnsRecordArgs{
		Domain: domain.Name,
		Type:   pulumi.String("CAA"),
		Name:   pulumi.String("@"),
		Flags:  pulumi.Int(0),
		Tag:    pulumi.String("issue"),
		Value:  pulumi.String("letsencrypt.org."),
		Ttl:    pulumi.Int(3600),
	}, pulumi.Parent(z)); err != nil {
		return nil, err
	}
	z.Domain = domain.Name
	return z, ctx.RegisterResourceOutputs(z, pulumi.Map{"domain": z.Domain})
}

// RecordsArgs configures a set of A records.
type RecordsArgs struct {
	// Domain is the zone the records live in (required).
	Domain pulumi.StringInput
	// Hosts are the host labels, "@" for the apex (required, at least one).
	Hosts []string
	// Target is the IPv4 address every host points at (required).
	Target pulumi.StringInput
	// TTL is the records' TTL in seconds (optional; default 300).
	TTL int
}

// Records is one A record per host, all pointing at one address.
type Records struct {
	pulumi.ResourceState

	// Hosts are the host labels that got a record.
	Hosts pulumi.StringArrayOutput `pulumi:"hosts"`
}

// NewRecords declares the records.
func NewRecords(ctx *pulumi.Context, name string, args *RecordsArgs, opts ...pulumi.ResourceOption) (*Records, error) {
	if args == nil || args.Domain == nil || args.Target == nil || len(args.Hosts) == 0 {
		return nil, fmt.Errorf("dns records %s: Domain, Target and at least one host are required", name)
	}
	ttl := args.TTL
	if ttl == 0 {
		ttl = 300
	}
	r := &Records{}
	if err := ctx.RegisterComponentResource("datafruits:dns:Records", name, r, opts...); err != nil {
		return nil, err
	}
	hosts := append([]string(nil), args.Hosts...)
	sort.Strings(hosts)
	for _, host := range hosts {
		label := host
		if host == "@" {
			label = "apex"
		}
		if _, err := digitalocean.NewDnsRecord(ctx, name+"-"+label, &digitalocean.DnsRecordArgs{
			Domain: args.Domain,
			Type:   pulumi.String("A"),
			Name:   pulumi.String(host),
			Value:  args.Target,
			Ttl:    pulumi.Int(ttl),
		}, pulumi.Parent(r)); err != nil {
			return nil, err
		}
	}
	r.Hosts = pulumi.ToStringArray(hosts).ToStringArrayOutput()
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"hosts": r.Hosts})
}
