// Package dns declares the stack's zone in DigitalOcean DNS and the records
// that point public hosts at the load balancer.
package dns

import (
	"fmt"
	"sort"
	"strings"

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

// Record is a record imported from the zone as it is today (movein import-zone).
type Record struct {
	// Name is relative to the zone, "@" for the apex; Type is A, AAAA, CNAME, MX, TXT, SRV, CAA or NS.
	Name, Type string
	// Value is the address, host name (ending with a dot) or text.
	Value string
	// TTL is in seconds.
	TTL int
	// Priority (MX, SRV), Weight and Port (SRV) and Flags (CAA); nil when the type has none.
	Priority, Weight, Port, Flags *int
	// Tag is a CAA record's tag.
	Tag string
}

// ImportedArgs configures the imported records.
type ImportedArgs struct {
	// Domain is the zone (required).
	Domain pulumi.StringInput
	// Records are the records to declare (required, at least one).
	Records []Record
	// Served are the host labels the stack serves itself ("@" for the apex) (optional): an
	// imported A, AAAA or CNAME record there would contradict the stack's own record.
	Served []string
}

// Imported are records the program does not derive itself: mail, SPF, DKIM,
// and the hosts of the parts not moved yet.
type Imported struct {
	pulumi.ResourceState
}

// ownCAA is the CAA record New declares at the apex.
const ownCAA = "0 issue letsencrypt.org"

// NewImported declares the imported records, refusing one that contradicts
// the records the program declares itself.
func NewImported(ctx *pulumi.Context, name string, args *ImportedArgs, opts ...pulumi.ResourceOption) (*Imported, error) {
	if args == nil || args.Domain == nil || len(args.Records) == 0 {
		return nil, fmt.Errorf("dns imported %s: Domain and at least one record are required", name)
	}
	served := map[string]bool{}
	for _, h := range args.Served {
		served[h] = true
	}
	var problems []string
	for _, r := range args.Records {
		switch {
		case served[r.Name] && (r.Type == "A" || r.Type == "AAAA" || r.Type == "CNAME"):
			problems = append(problems, fmt.Sprintf("%s %s %s: the stack serves this name itself (its A record points at the load balancer); drop the imported record once the part is moved", r.Name, r.Type, r.Value))
		case r.Type == "CAA" && r.Name == "@" && r.Flags != nil && fmt.Sprintf("%d %s %s", *r.Flags, r.Tag, strings.TrimSuffix(r.Value, ".")) == ownCAA:
			problems = append(problems, fmt.Sprintf("@ CAA %s: the zone declares this record itself", ownCAA))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("dns imported %s: %s", name, strings.Join(problems, "; "))
	}
	imp := &Imported{}
	if err := ctx.RegisterComponentResource("datafruits:dns:Imported", name, imp, opts...); err != nil {
		return nil, err
	}
	seen := map[string]int{}
	optInt := func(p *int) pulumi.IntPtrInput {
		if p == nil {
			return nil
		}
		return pulumi.IntPtr(*p)
	}
	for _, r := range args.Records {
		label := strings.NewReplacer("@", "apex", ".", "-", "_", "").Replace(r.Name) + "-" + strings.ToLower(r.Type)
		seen[label]++
		if seen[label] > 1 {
			label = fmt.Sprintf("%s-%d", label, seen[label])
		}
		rec := &digitalocean.DnsRecordArgs{
			Domain: args.Domain, Type: pulumi.String(r.Type), Name: pulumi.String(r.Name), Value: pulumi.String(r.Value),
			Ttl: pulumi.Int(r.TTL), Priority: optInt(r.Priority), Weight: optInt(r.Weight), Port: optInt(r.Port), Flags: optInt(r.Flags),
		}
		if r.Tag != "" {
			rec.Tag = pulumi.String(r.Tag)
		}
		if _, err := digitalocean.NewDnsRecord(ctx, name+"-"+label, rec, pulumi.Parent(imp)); err != nil {
			return nil, err
		}
	}
	return imp, ctx.RegisterResourceOutputs(imp, pulumi.Map{})
}
