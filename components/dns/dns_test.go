package dns_test

import (
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
