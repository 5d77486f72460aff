// Package cost estimates what a stack costs per month on DigitalOcean, one
// line per billable resource, from the stack's configuration and one price
// table.
package cost

import (
	"fmt"
	"strings"

	"github.com/datafruits/infra/stacks"
)

// PricesChecked is when Prices was last compared with its source.
const PricesChecked = "2026-11-22"

// PriceTable is DigitalOcean's list prices in USD per month.
type PriceTable struct {
	// Droplets prices a Kubernetes node by droplet slug.
	Droplets map[string]float64
	// Postgres prices one managed PostgreSQL node by database slug.
	Postgres map[string]float64
	// Valkey prices a managed Valkey cluster by database slug.
	Valkey map[string]float64
	// HAControlPlane is the highly available Kubernetes control plane.
	HAControlPlane float64
	// Spaces is the Spaces subscription: 250 GiB stored and 1 TiB outbound
	// transfer, the CDN included. Overage is not estimated.
	Spaces float64
	// LoadBalancerNode is one load balancer node (size unit).
	LoadBalancerNode float64
}

// Prices are the rough monthly prices of ../shared/CONTEXT.md ("Rough monthly
// prices"), to be checked against DigitalOcean's pricing pages
// (digitalocean.com/pricing/droplets, /kubernetes, /managed-databases,
// /spaces-object-storage, /load-balancer) and PricesChecked updated. A slug
// missing here is an error, never a silent $0: add its price.
var Prices = PriceTable{
	Droplets:         map[string]float64{"s-1vcpu-2gb": 12, "s-2vcpu-4gb": 24},
	Postgres:         map[string]float64{"db-s-1vcpu-1gb": 15, "db-s-1vcpu-2gb": 30},
	Valkey:           map[string]float64{"db-s-1vcpu-1gb": 15},
	HAControlPlane:   40,
	Spaces:           5,
	LoadBalancerNode: 12,
}

// loadBalancerNodes is the load balancer's size unit, which
// components/ingress sets (do-loadbalancer-size-unit "1"); it is not stack
// configuration.
const loadBalancerNodes = 1

// Line is one billable resource.
type Line struct {
	// Item names the resource, e.g. "workload pool".
	Item string
	// Detail says what is counted, e.g. "2–4 × s-2vcpu-4gb".
	Detail string
	// Min and Max are the monthly USD at the autoscalers' bounds (equal when fixed).
	Min, Max float64
}

// Estimate is a stack's monthly cost.
type Estimate struct {
	// Stack names the stack (or the baseline).
	Stack string
	// Lines are the billable resources, in a fixed order.
	Lines []Line
	// Notes say what is assumed or left out.
	Notes []string
}

// MonthlyUSD is the estimate's total with every autoscaler at its minimum and at its maximum.
func (e Estimate) MonthlyUSD() (min, max float64) {
	for _, l := range e.Lines {
		min += l.Min
		max += l.Max
	}
	return min, max
}

// For estimates a stack from its configuration with Prices.
func For(cfg *stacks.Config) (Estimate, error) { return Prices.For(cfg) }

// For estimates a stack from its configuration with these prices. The
// in-cluster foundation runs on a cluster someone already has: no cloud line.
func (p PriceTable) For(cfg *stacks.Config) (Estimate, error) {
	e := Estimate{Stack: cfg.Stack}
	if cfg.Foundation == stacks.FoundationInCluster {
		e.Lines = []Line{{Item: "cloud resources", Detail: "none: in-cluster foundation"}}
		return e, nil
	}
	price := func(table map[string]float64, what, slug string) (float64, error) {
		v, ok := table[slug]
		if !ok {
			return 0, fmt.Errorf("cost: no price for %s %q (prices checked %s): add it to cost.Prices", what, slug, PricesChecked)
		}
		return v, nil
	}
	c := cfg.Cluster
	system, err := price(p.Droplets, "droplet", c.SystemNodeSize)
	if err != nil {
		return Estimate{}, err
	}
	worker, err := price(p.Droplets, "droplet", c.WorkloadNodeSize)
	if err != nil {
		return Estimate{}, err
	}
	pg, err := price(p.Postgres, "Postgres size", cfg.Database.Size)
	if err != nil {
		return Estimate{}, err
	}
	vk, err := price(p.Valkey, "Valkey size", cfg.Valkey.Size)
	if err != nil {
		return Estimate{}, err
	}
	fixed := func(item, detail string, usd float64) Line {
		return Line{Item: item, Detail: detail, Min: usd, Max: usd}
	}
	e.Lines = append(e.Lines,
		fixed("system pool", fmt.Sprintf("%d × %s", c.SystemNodeCount, c.SystemNodeSize), float64(c.SystemNodeCount)*system),
		Line{Item: "workload pool", Detail: fmt.Sprintf("%d–%d × %s", c.WorkloadMinNodes, c.WorkloadMaxNodes, c.WorkloadNodeSize),
			Min: float64(c.WorkloadMinNodes) * worker, Max: float64(c.WorkloadMaxNodes) * worker},
	)
	if c.HA {
		e.Lines = append(e.Lines, fixed("control plane", "HA", p.HAControlPlane))
	} else {
		e.Lines = append(e.Lines, fixed("control plane", "not HA (free)", 0))
	}
	e.Lines = append(e.Lines,
		fixed("Postgres", fmt.Sprintf("%d × %s", cfg.Database.NodeCount, cfg.Database.Size), float64(cfg.Database.NodeCount)*pg),
		fixed("Valkey", cfg.Valkey.Size, vk),
		fixed("Spaces", "subscription: 250 GiB, 1 TiB transfer", p.Spaces),
		fixed("CDN", "included in Spaces", 0),
	)
	if cfg.Platform.LoadBalancer {
		e.Lines = append(e.Lines, fixed("load balancer", fmt.Sprintf("%d node", loadBalancerNodes), loadBalancerNodes*p.LoadBalancerNode))
	}
	e.Notes = append(e.Notes, notes...)
	return e, nil
}

// notes are what every DigitalOcean estimate leaves out.
var notes = []string{
	"Block storage volumes (recordings, Prometheus, Loki, Grafana, Alertmanager) are sized in the components, not in stack configuration, and are not counted.",
	"Spaces storage beyond 250 GiB and transfer beyond 1 TiB are not counted.",
}

// Baseline is the RFC's starting point: "running 3 droplets on digital
// ocean". The RFC does not give their size; s-2vcpu-4gb is an assumption.
func Baseline() Estimate {
	return Estimate{
		Stack: "RFC baseline",
		Lines: []Line{{Item: "droplets", Detail: "3 × s-2vcpu-4gb (size assumed)", Min: 3 * Prices.Droplets["s-2vcpu-4gb"], Max: 3 * Prices.Droplets["s-2vcpu-4gb"]}},
	}
}

// Table renders estimates side by side as a Markdown table: a row per
// billable resource, a column per estimate, the totals last.
func Table(estimates ...Estimate) string {
	var items []string
	seen := map[string]bool{}
	for _, e := range estimates {
		for _, l := range e.Lines {
			if !seen[l.Item] {
				seen[l.Item] = true
				items = append(items, l.Item)
			}
		}
	}
	var b strings.Builder
	row := func(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	header := []string{"monthly (USD)"}
	rule := []string{"---"}
	for _, e := range estimates {
		header = append(header, e.Stack)
		rule = append(rule, "---")
	}
	row(header...)
	row(rule...)
	for _, item := range items {
		cells := []string{item}
		for _, e := range estimates {
			cell := ""
			for _, l := range e.Lines {
				if l.Item == item {
					cell = fmt.Sprintf("%s: %s", l.Detail, USD(l.Min, l.Max))
				}
			}
			cells = append(cells, cell)
		}
		row(cells...)
	}
	totals := []string{"**total**"}
	for _, e := range estimates {
		totals = append(totals, "**"+USD(e.MonthlyUSD())+"**")
	}
	row(totals...)
	return b.String()
}

// USD formats a monthly range: "$134–182", or "$72" when both ends agree.
func USD(min, max float64) string {
	if min == max {
		return fmt.Sprintf("$%.0f", min)
	}
	return fmt.Sprintf("$%.0f–%.0f", min, max)
}
