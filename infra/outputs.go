package main

import (
	"sort"

	"github.com/datafruits/infra/internal/cost"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// exportOutputs exports what a person needs: where things are, never a
// credential in plain text (generated passwords are secret outputs).
func exportOutputs(ctx *pulumi.Context, cfg *stacks.Config, f *Foundation, p *Platform, s *Station, e *Edge) {
	urls := pulumi.StringMap{}
	for _, ep := range e.Endpoints {
		if ep.Protocol == "https" {
			urls[ep.Workload] = pulumi.String("https://" + ep.Host + ep.HealthPath)
		}
	}
	ctx.Export("clusterName", f.ClusterName)
	ctx.Export("urls", urls)
	ctx.Export("buckets", pulumi.StringMap{"static": f.S3.Static, "media": f.S3.Media, "logs": f.S3.Logs, "backups": f.S3.Backups})
	ctx.Export("s3Endpoint", f.S3.Endpoint)
	ctx.Export("staticUrl", f.S3.StaticURL)
	ctx.Export("mediaUrl", f.S3.MediaURL)
	if f.S3.CDNEndpoints != nil {
		ctx.Export("cdnEndpoints", f.S3.CDNEndpoints)
	}
	if cfg.Foundation == stacks.FoundationDigitalOcean {
		ctx.Export("kubeconfig", f.Kubeconfig)
	}
	if p.Ingress != nil {
		ctx.Export("loadBalancerAddress", p.Ingress.Address)
	}
	if p.Observability != nil {
		ctx.Export("grafanaAdminPassword", p.Observability.GrafanaAdminPassword)
	}
	ctx.Export("statusUrl", e.StatusPage.URL)
	names := make([]string, 0, len(s.Radios))
	for n := range s.Radios {
		names = append(names, n)
	}
	sort.Strings(names)
	stations := pulumi.Map{}
	for _, n := range names {
		r := s.Radios[n]
		stations[n] = pulumi.Map{"listenUrl": r.ListenURL, "djInput": r.DJInput, "icecastSourcePassword": r.SourcePassword}
	}
	ctx.Export("stations", stations)

	// The estimate is informational: a size the price table does not know
	// must not block a deploy, so it is logged instead of failing the run.
	if est, err := cost.For(cfg); err == nil {
		lo, hi := est.MonthlyUSD()
		ctx.Export("monthlyCostUSD", pulumi.Map{"min": pulumi.Float64(lo), "max": pulumi.Float64(hi), "pricesChecked": pulumi.String(cost.PricesChecked)})
	} else {
		_ = ctx.Log.Warn("no cost estimate: "+err.Error(), nil)
	}
}
