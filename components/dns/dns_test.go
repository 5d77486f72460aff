package dns_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/dns"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestZoneAndRecords(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		z, err := dns.New(ctx, "dns", &dns.ZoneArgs{Domain: "datafruits.fm", Protect: true})
		if err != nil {
			return err
		}
		_, err = dns.NewRecords(ctx, "records", &dns.RecordsArgs{Domain: z.Domain, Hosts: []string{"@", "api", "stream"}, Target: pulumi.String("203.0.113.10")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	domain := mocks.ByType("digitalocean:index/domain:Domain")
	if len(domain) != 1 || !domain[0].Protect {
		t.Error("the zone must be protected when asked")
	}
	var a, caa int
	for _, r := range mocks.ByType("digitalocean:index/dnsRecord:DnsRecord") {
		switch pulumitest.GetString(r.Inputs, "type") {
		case "A":
			a++
			if pulumitest.GetString(r.Inputs, "value") != "203.0.113.10" {
				t.Errorf("record %s points at %s", r.Name, pulumitest.GetString(r.Inputs, "value"))
			}
		case "CAA":
			caa++
		}
	}
	if a != 3 || caa != 1 {
		t.Errorf("want 3 A records and 1 CAA, got %d and %d", a, caa)
	}
}

func intp(n int) *int { return &n }

func TestImportedRecordsKeepMailAndText(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := dns.NewImported(ctx, "imported", &dns.ImportedArgs{
			Domain: pulumi.String("datafruits.fm"), Served: []string{"@", "stream"},
			Records: []dns.Record{
				{Name: "@", Type: "MX", Value: "mx1.forwardemail.net.", TTL: 3600, Priority: intp(10)},
				{Name: "@", Type: "MX", Value: "mx2.forwardemail.net.", TTL: 3600, Priority: intp(20)},
				{Name: "@", Type: "TXT", Value: "v=spf1 include:spf.forwardemail.net -all", TTL: 3600},
				{Name: "_xmpp-server._tcp", Type: "SRV", Value: "xmpp.datafruits.fm.", TTL: 3600, Priority: intp(5), Weight: intp(0), Port: intp(5269)},
				{Name: "api", Type: "CNAME", Value: "api-datafruits.herokudns.com.", TTL: 300},
			},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range mocks.ByType("digitalocean:index/dnsRecord:DnsRecord") {
		in := r.Inputs
		got[pulumitest.GetString(in, "name")+" "+pulumitest.GetString(in, "type")+" "+pulumitest.GetString(in, "value")] =
			pulumitest.GetString(in, "priority") + "/" + pulumitest.GetString(in, "weight") + "/" + pulumitest.GetString(in, "port") + "/" + pulumitest.GetString(in, "ttl")
	}
	for key, want := range map[string]string{
		"@ MX mx1.forwardemail.net.":                     "10///3600",
		"@ MX mx2.forwardemail.net.":                     "20///3600",
		"@ TXT v=spf1 include:spf.forwardemail.net -all": "///3600",
		"_xmpp-server._tcp SRV xmpp.datafruits.fm.":      "5/0/5269/3600",
		"api CNAME api-datafruits.herokudns.com.":        "///300",
	} {
		if got[key] != want {
			t.Errorf("record %s: priority/weight/port/ttl %q, want %q", key, got[key], want)
		}
	}
	if len(got) != 5 {
		t.Errorf("%d records declared, want 5: %v", len(got), got)
	}
}

func TestImportedRecordsNeverFightTheStacksOwn(t *testing.T) {
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := dns.NewImported(ctx, "imported", &dns.ImportedArgs{
			Domain: pulumi.String("datafruits.fm"), Served: []string{"@", "api"},
			Records: []dns.Record{
				{Name: "@", Type: "A", Value: "203.0.113.10", TTL: 300},
				{Name: "api", Type: "CNAME", Value: "api-datafruits.herokudns.com.", TTL: 300},
				{Name: "@", Type: "CAA", Value: "letsencrypt.org", TTL: 3600, Flags: intp(0), Tag: "issue"},
				{Name: "@", Type: "MX", Value: "mx1.forwardemail.net.", TTL: 3600, Priority: intp(10)},
			},
		})
		return err
	})
	for _, want := range []string{"@ A 203.0.113.10: the stack serves this name itself", "api CNAME", "@ CAA 0 issue letsencrypt.org: the zone declares this record itself"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error with %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "MX") {
		t.Errorf("the MX record is refused too: %v", err)
	}
}
