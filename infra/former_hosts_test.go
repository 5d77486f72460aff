package main

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

// TestFormerHostsKeepWorking: today's public addresses (streampusher.com for
// the admin site, today's stream host) are routed to the moved parts with a
// certificate of their own, while their DNS, status checks and uptime checks
// stay out of this stack: those hosts point here only from the day their
// owner moves them.
func TestFormerHostsKeepWorking(t *testing.T) {
	mocks := runProd(t, map[string]string{
		"datafruits:formerHosts": `{"admin":["streampusher.com"],"stream-datafruits":["radio.streampusher.com"]}`,
	})
	routed := map[string]string{}
	for _, ing := range mocks.ByType("kubernetes:networking.k8s.io/v1:Ingress") {
		for _, r := range pulumitest.Array(ing.Inputs, "spec.rules") {
			routed[pulumitest.GetString(r.ObjectValue(), "host")] = ing.Name
		}
	}
	if routed["streampusher.com"] != routed["admin.datafruits.fm"] || routed["streampusher.com"] == "" {
		t.Errorf("streampusher.com goes to Ingress %q, the admin site's host to %q", routed["streampusher.com"], routed["admin.datafruits.fm"])
	}
	if routed["radio.streampusher.com"] == "" || routed["radio.streampusher.com"] != routed["stream.datafruits.fm"] {
		t.Errorf("today's stream host goes to Ingress %q, the stream host to %q", routed["radio.streampusher.com"], routed["stream.datafruits.fm"])
	}
	certs := map[string]bool{}
	for _, c := range mocks.ByType("kubernetes:cert-manager.io/v1:Certificate") {
		certs[pulumitest.GetString(c.Inputs, "spec.dnsNames[0]")] = true
	}
	for _, h := range []string{"streampusher.com", "radio.streampusher.com"} {
		if !certs[h] {
			t.Errorf("no certificate for the former host %s", h)
		}
	}
	for _, r := range mocks.ByType("digitalocean:index/dnsRecord:DnsRecord") {
		if n := pulumitest.GetString(r.Inputs, "name"); strings.Contains(n, "streampusher") {
			t.Errorf("a DNS record %s in the stack's zone for a former host", n)
		}
	}
	for _, c := range mocks.ByType("digitalocean:index/uptimeCheck:UptimeCheck") {
		if target := pulumitest.GetString(c.Inputs, "target"); strings.Contains(target, "streampusher") {
			t.Errorf("uptime check of a former host: %s", target)
		}
	}
	for _, s := range mocks.ByType("kubernetes:core/v1:Secret") {
		if v := pulumitest.Get(s.Inputs, "stringData"); v.IsObject() || v.IsSecret() {
			if c := unwrapMap(v)["config.yaml"]; strings.Contains(c, "streampusher") {
				t.Errorf("the status page checks a former host:\n%s", c)
			}
		}
	}
}
