package main

import (
	"strings"

	"github.com/datafruits/infra/components/dns"
	"github.com/datafruits/infra/components/statuspage"
	"github.com/datafruits/infra/components/tls"
	"github.com/datafruits/infra/components/uptime"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Edge is what is derived from the public endpoints: the status page that
// checks them, the certificates that secure them and the DNS records that
// point them at the load balancer. Nothing here lists a host by hand.
type Edge struct {
	// Endpoints are all public endpoints, the status page's own included.
	Endpoints []workload.Endpoint
	// StatusPage is Gatus.
	StatusPage *statuspage.StatusPage
	// Uptime is DigitalOcean's outside checks (nil off DigitalOcean).
	Uptime *uptime.Uptime
}

func edge(ctx *pulumi.Context, cfg *stacks.Config, f *Foundation, p *Platform, s *Station) (*Edge, error) {
	k8s := pulumi.Providers(providers(f)...)
	endpoints := append([]workload.Endpoint(nil), s.Endpoints...)
	if p.Observability != nil {
		endpoints = append(endpoints, p.Observability.Endpoints...)
	}
	var discord pulumi.StringInput
	if cfg.Secrets.HasDiscordWebhook {
		discord = cfg.Secrets.DiscordWebhookURL
	}
	status, err := statuspage.New(ctx, "statuspage", &statuspage.Args{
		Namespace: observabilityNamespace, Image: cfg.Images["statuspage"], Host: "status." + cfg.Domain,
		Endpoints: checked(endpoints), DatabaseURL: f.DatabaseURLs.MapIndex(pulumi.String("statuspage")),
		DiscordWebhookURL: discord, Platform: p.Refs, DatabaseEgress: f.Egress["postgres"],
		// Without cert-manager Traefik serves its own self-signed certificate.
		UntrustedCertificates: p.TLS == nil || !p.TLS.PubliclyTrusted,
	}, k8s, pulumi.DependsOn(append([]pulumi.Resource{f.DatabaseReady}, p.Namespaces...)))
	if err != nil {
		return nil, err
	}
	endpoints = append(endpoints, status.Endpoints...)
	e := &Edge{Endpoints: endpoints, StatusPage: status}

	// Checked from outside: a cluster or load balancer outage silences
	// everything inside it, the status page included.
	if cfg.Foundation == stacks.FoundationDigitalOcean {
		if e.Uptime, err = uptime.New(ctx, "uptime", &uptime.Args{Endpoints: checked(endpoints), DiscordWebhookURL: discord}); err != nil {
			return nil, err
		}
	}

	if p.TLS != nil {
		if _, err := tls.NewCertificates(ctx, "certificates", &tls.CertificatesArgs{
			Endpoints: endpoints, IssuerName: p.TLS.IssuerName, Ready: p.TLS.Ready,
		}, k8s); err != nil {
			return nil, err
		}
	}
	if f.Zone != nil && p.Ingress != nil && cfg.Platform.LoadBalancer {
		if _, err := dns.NewRecords(ctx, "records", &dns.RecordsArgs{
			Domain: f.Zone.Domain, Hosts: hostLabels(endpoints, cfg.Domain), Target: p.Ingress.Address,
		}); err != nil {
			return nil, err
		}
	}
	// Records the program does not derive (mail, SPF, DKIM, the hosts of parts not
	// moved), imported from today's zone with movein import-zone.
	if f.Zone != nil && len(cfg.DNSRecords) > 0 {
		records := make([]dns.Record, 0, len(cfg.DNSRecords))
		for _, r := range cfg.DNSRecords {
			records = append(records, dns.Record{Name: r.Name, Type: r.Type, Value: r.Value, TTL: r.TTL,
				Priority: r.Priority, Weight: r.Weight, Port: r.Port, Flags: r.Flags, Tag: r.Tag})
		}
		if _, err := dns.NewImported(ctx, "imported-records", &dns.ImportedArgs{
			Domain: f.Zone.Domain, Records: records, Served: hostLabels(endpoints, cfg.Domain),
		}); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// hostLabels turns the endpoints' hosts into record names in the zone: "@"
// for the apex. Hosts outside the zone (an admin site on its own domain) get
// no record here; their DNS lives wherever that domain does.
func hostLabels(endpoints []workload.Endpoint, domain string) []string {
	seen := map[string]bool{}
	var labels []string
	for _, e := range endpoints {
		var label string
		switch {
		case e.Host == domain:
			label = "@"
		case strings.HasSuffix(e.Host, "."+domain):
			label = strings.TrimSuffix(e.Host, "."+domain)
		default:
			continue
		}
		if !seen[label] {
			seen[label] = true
			labels = append(labels, label)
		}
	}
	return labels
}

// checked leaves out the hosts kept from before the move (workload.Endpoint
// Former): their DNS points elsewhere until their owner moves it, so checking
// them would report today's service, or an outage that is not ours.
func checked(endpoints []workload.Endpoint) []workload.Endpoint {
	var out []workload.Endpoint
	for _, e := range endpoints {
		if !e.Former {
			out = append(out, e)
		}
	}
	return out
}
