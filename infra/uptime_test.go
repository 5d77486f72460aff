package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

// TestUptimeChecksEveryPublicEndpoint: on the digitalocean foundation every
// public host (each has a DNS record) gets one https check and every TCP
// entrypoint (DJ input, RTMP) one check of its host, each alerting Discord
// through its Slack-compatible URL; nothing internal is checked, and the
// in-cluster foundation (no DigitalOcean account) declares none.
func TestUptimeChecksEveryPublicEndpoint(t *testing.T) {
	mocks := runProd(t, nil)
	checks := map[string]pulumitest.Resource{}
	for _, c := range mocks.ByType("digitalocean:index/uptimeCheck:UptimeCheck") {
		name := pulumitest.GetString(c.Inputs, "name")
		if _, dup := checks[name]; dup {
			t.Errorf("two uptime checks named %s", name)
		}
		checks[name] = c
	}
	var httpsHosts []string
	for _, r := range mocks.ByType("digitalocean:index/dnsRecord:DnsRecord") {
		if pulumitest.GetString(r.Inputs, "type") != "A" {
			continue
		}
		host := pulumitest.GetString(r.Inputs, "name") + ".datafruits.fm"
		if host == "@.datafruits.fm" {
			host = "datafruits.fm"
		}
		httpsHosts = append(httpsHosts, host)
	}
	// DNS names every host, including those that only carry a TCP entrypoint
	// (dj.): those get a ping check instead.
	want := map[string]string{
		"dj.datafruits.fm-tcp-9000":    "ping dj.datafruits.fm",
		"video.datafruits.fm-tcp-1935": "ping video.datafruits.fm",
	}
	for _, h := range httpsHosts {
		if h == "dj.datafruits.fm" {
			continue
		}
		want[h] = "https https://" + h
	}
	if len(httpsHosts) < 8 {
		t.Fatalf("only %d DNS records in prod (%v): the test's reference is broken", len(httpsHosts), httpsHosts)
	}
	for name, target := range want {
		c, ok := checks[name]
		if !ok {
			t.Errorf("public endpoint %s has no uptime check", name)
			continue
		}
		got := pulumitest.GetString(c.Inputs, "type") + " " + pulumitest.GetString(c.Inputs, "target")
		if !strings.HasPrefix(got, target) {
			t.Errorf("uptime check %s: %s, want %s…", name, got, target)
		}
	}
	for name, c := range checks {
		if _, ok := want[name]; !ok {
			t.Errorf("uptime check %s (%s) is not a public endpoint", name, pulumitest.GetString(c.Inputs, "target"))
		}
		for _, internal := range []string{".svc", "cluster.local", "localhost", "127.0.0.1"} {
			if strings.Contains(pulumitest.GetString(c.Inputs, "target"), internal) {
				t.Errorf("uptime check %s targets an internal address", name)
			}
		}
	}

	alerts := mocks.ByType("digitalocean:index/uptimeAlert:UptimeAlert")
	down := map[string]bool{}
	for _, a := range alerts {
		if pulumitest.GetString(a.Inputs, "type") == "downGlobal" {
			down[strings.TrimSuffix(pulumitest.GetString(a.Inputs, "name"), " is down")] = true
		}
		if strings.Contains(pulumitest.PlainOutsideSecrets(a.Inputs), "very-secret-token") {
			t.Errorf("uptime alert %s carries the Discord webhook in plain text", a.Name)
		}
		if url := pulumitest.GetString(a.Inputs, "notifications[0].slacks[0].url"); url != testWebhook+"/slack" {
			t.Errorf("uptime alert %s posts to %q, want Discord's Slack-compatible %q", a.Name, url, testWebhook+"/slack")
		}
	}
	var missing []string
	for name := range want {
		if !down[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no down alert for %v", missing)
	}
	t.Logf("%d uptime checks, %d alerts", len(checks), len(alerts))

	local, err := pulumitest.RunStack("local", run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(local.ByType("digitalocean:index/uptimeCheck:UptimeCheck")); n != 0 {
		t.Errorf("the in-cluster local stack declares %d DigitalOcean uptime checks", n)
	}
}
