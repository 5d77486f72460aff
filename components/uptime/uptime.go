// Package uptime watches the station from outside the cluster with
// DigitalOcean Uptime: one check per public endpoint, alerting Discord, so an
// outage of the whole cluster or of its load balancer (which takes Prometheus,
// Alertmanager and the status page down with it) still reaches someone.
package uptime

import (
	"fmt"
	"sort"
	"strings"

	"github.com/datafruits/infra/components/workload"
	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the checks.
type Args struct {
	// Endpoints are the public endpoints to check (required; internal ones are never given here).
	Endpoints []workload.Endpoint
	// DiscordWebhookURL receives the alerts (secret; optional: without it the checks exist but alert no one).
	DiscordWebhookURL pulumi.StringInput
	// Regions check from (optional; default us_east and eu_west).
	Regions []string
	// Period is how long an endpoint must be down before the alert (optional; default "2m").
	Period string
}

// Uptime is the set of checks.
type Uptime struct {
	pulumi.ResourceState

	// Checks are the check names, one per public endpoint, sorted.
	Checks []string
}

// Check is one endpoint's check as DigitalOcean takes it.
type Check struct {
	// Name is the check's display name and resource name suffix.
	Name string
	// Type is "https" for HTTP hosts and "ping" for TCP entrypoints.
	Type string
	// Target is the URL (https) or host (ping) checked.
	Target string
}

// Checks turns public endpoints into checks, one per distinct endpoint,
// sorted by name. DigitalOcean Uptime checks http, https and ping (ICMP) only
// (its API and doctl reference): a TCP entrypoint (DJ input, RTMP) is checked
// by pinging its host, which answers through the same load balancer; whether
// the port itself accepts connections is the status page's tcp:// check.
func Checks(endpoints []workload.Endpoint) ([]Check, error) {
	seen := map[string]bool{}
	var checks []Check
	for _, e := range endpoints {
		if e.Host == "" {
			return nil, fmt.Errorf("endpoint of %s has no host", e.Workload)
		}
		var c Check
		switch e.Protocol {
		case "https":
			c = Check{Name: e.Host, Type: "https", Target: "https://" + e.Host + e.HealthPath}
		case "tcp":
			c = Check{Name: fmt.Sprintf("%s-tcp-%d", e.Host, e.Port), Type: "ping", Target: e.Host}
		default:
			return nil, fmt.Errorf("endpoint %s of %s: protocol %q; allowed: https, tcp", e.Host, e.Workload, e.Protocol)
		}
		if !seen[c.Name] {
			seen[c.Name] = true
			checks = append(checks, c)
		}
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
	return checks, nil
}

// New declares one Uptime check per public endpoint, each with a "down from
// every region" alert, and for HTTPS hosts a certificate-expiry alert, sent to
// Discord's Slack-compatible webhook (<webhook>/slack: Discord's webhook
// documentation, "Execute Slack-Compatible Webhook").
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Uptime, error) {
	if args == nil || len(args.Endpoints) == 0 {
		return nil, fmt.Errorf("uptime %s: Endpoints are required", name)
	}
	checks, err := Checks(args.Endpoints)
	if err != nil {
		return nil, fmt.Errorf("uptime %s: %w", name, err)
	}
	regions := args.Regions
	if len(regions) == 0 {
		regions = []string{"us_east", "eu_west"}
	}
	period := args.Period
	if period == "" {
		period = "2m"
	}
	u := &Uptime{}
	if err := ctx.RegisterComponentResource("datafruits:uptime:Uptime", name, u, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(u)
	var notify digitalocean.UptimeAlertNotificationArray
	if args.DiscordWebhookURL != nil {
		// Discord ignores the channel; DigitalOcean requires one.
		slackURL := pulumi.ToSecret(pulumi.Sprintf("%s/slack", args.DiscordWebhookURL)).(pulumi.StringOutput)
		notify = digitalocean.UptimeAlertNotificationArray{digitalocean.UptimeAlertNotificationArgs{
			Slacks: digitalocean.UptimeAlertNotificationSlackArray{digitalocean.UptimeAlertNotificationSlackArgs{
				Channel: pulumi.String("alerts"), Url: slackURL,
			}},
		}}
	}
	for _, c := range checks {
		resName := name + "-" + strings.ReplaceAll(c.Name, ".", "-")
		check, err := digitalocean.NewUptimeCheck(ctx, resName, &digitalocean.UptimeCheckArgs{
			Name: pulumi.String(c.Name), Type: pulumi.String(c.Type), Target: pulumi.String(c.Target),
			Regions: pulumi.ToStringArray(regions), Enabled: pulumi.Bool(true),
		}, parent)
		if err != nil {
			return nil, err
		}
		u.Checks = append(u.Checks, c.Name)
		if notify == nil {
			continue
		}
		if _, err := digitalocean.NewUptimeAlert(ctx, resName+"-down", &digitalocean.UptimeAlertArgs{
			CheckId: check.ID(), Name: pulumi.String(c.Name + " is down"), Type: pulumi.String("downGlobal"),
			Period: pulumi.String(period), Notifications: notify,
		}, parent); err != nil {
			return nil, err
		}
		if c.Type == "https" {
			if _, err := digitalocean.NewUptimeAlert(ctx, resName+"-certificate", &digitalocean.UptimeAlertArgs{
				CheckId: check.ID(), Name: pulumi.String(c.Name + " certificate expires in under 14 days"), Type: pulumi.String("sslExpiry"),
				Comparison: pulumi.String("lessThan"), Threshold: pulumi.Int(14), Period: pulumi.String("1h"), Notifications: notify,
			}, parent); err != nil {
				return nil, err
			}
		}
	}
	return u, ctx.RegisterResourceOutputs(u, pulumi.Map{})
}
