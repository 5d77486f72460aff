package uptime_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/uptime"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var endpoints = []workload.Endpoint{
	{Workload: "radio-datafruits-relay", Host: "stream.datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/status-json.xsl"},
	{Workload: "radio-datafruits-onair", Host: "stream.datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/now-playing"},
	{Workload: "radio-datafruits-liquidsoap", Host: "dj.datafruits.fm", Protocol: "tcp", Port: 9000},
	{Workload: "video", Host: "video.datafruits.fm", Protocol: "tcp", Port: 1935},
	{Workload: "video", Host: "video.datafruits.fm", Protocol: "https", Port: 443, HealthPath: "/"},
}

func TestOneCheckPerEndpointAlertingDiscord(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := uptime.New(ctx, "uptime", &uptime.Args{
			Endpoints:         endpoints,
			DiscordWebhookURL: pulumi.ToSecret(pulumi.String("https://discord.com/api/webhooks/1/tok")).(pulumi.StringOutput),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"stream.datafruits.fm":         "https https://stream.datafruits.fm/status-json.xsl",
		"dj.datafruits.fm-tcp-9000":    "ping dj.datafruits.fm",
		"video.datafruits.fm-tcp-1935": "ping video.datafruits.fm",
		"video.datafruits.fm":          "https https://video.datafruits.fm/",
	}
	checks := mocks.ByType("digitalocean:index/uptimeCheck:UptimeCheck")
	if len(checks) != len(want) {
		t.Errorf("want %d checks (one per public endpoint), got %d", len(want), len(checks))
	}
	for _, c := range checks {
		name := pulumitest.GetString(c.Inputs, "name")
		if got := pulumitest.GetString(c.Inputs, "type") + " " + pulumitest.GetString(c.Inputs, "target"); got != want[name] {
			t.Errorf("check %s: %q, want %q", name, got, want[name])
		}
	}
	alerts := mocks.ByType("digitalocean:index/uptimeAlert:UptimeAlert")
	// A down alert per check, a certificate alert per https check.
	if len(alerts) != 4+2 {
		t.Errorf("want 6 alerts, got %d", len(alerts))
	}
	for _, a := range alerts {
		if got := pulumitest.GetString(a.Inputs, "notifications[0].slacks[0].url"); got != "https://discord.com/api/webhooks/1/tok/slack" {
			t.Errorf("alert %s posts to %q, not Discord's Slack-compatible URL", a.Name, got)
		}
		if strings.Contains(pulumitest.PlainOutsideSecrets(a.Inputs), "tok/slack") {
			t.Errorf("alert %s: the webhook must stay secret", a.Name)
		}
	}
}

func TestRejectsAnUnknownProtocol(t *testing.T) {
	_, err := uptime.Checks([]workload.Endpoint{{Workload: "x", Host: "x.datafruits.fm", Protocol: "udp", Port: 53}})
	if err == nil || !strings.Contains(err.Error(), `protocol "udp"`) || !strings.Contains(err.Error(), "allowed: https, tcp") {
		t.Errorf("want an error naming the protocol and what is allowed, got %v", err)
	}
}
