package cost

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/stacks"
)

// known is a DigitalOcean stack with every billable option on.
func known() *stacks.Config {
	return &stacks.Config{
		Stack: "known", Foundation: stacks.FoundationDigitalOcean,
		Cluster: stacks.ClusterConfig{
			HA: true, SystemNodeSize: "s-1vcpu-2gb", SystemNodeCount: 2,
			WorkloadNodeSize: "s-2vcpu-4gb", WorkloadMinNodes: 2, WorkloadMaxNodes: 5,
		},
		Database: stacks.DatabaseConfig{Size: "db-s-1vcpu-2gb", NodeCount: 2},
		Valkey:   stacks.ValkeyConfig{Size: "db-s-1vcpu-1gb"},
		Platform: stacks.PlatformConfig{LoadBalancer: true},
	}
}

func TestEstimateOfAKnownConfiguration(t *testing.T) {
	e, err := For(known())
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{
		{"system pool", "2 × s-1vcpu-2gb", 24, 24},
		{"workload pool", "2–5 × s-2vcpu-4gb", 48, 120},
		{"control plane", "HA", 40, 40},
		{"Postgres", "2 × db-s-1vcpu-2gb", 60, 60},
		{"Valkey", "db-s-1vcpu-1gb", 15, 15},
		{"Spaces", "subscription: 250 GiB, 1 TiB transfer", 5, 5},
		{"CDN", "included in Spaces", 0, 0},
		{"load balancer", "1 node", 12, 12},
	}
	if len(e.Lines) != len(want) {
		t.Fatalf("got %d lines %+v, want %d", len(e.Lines), e.Lines, len(want))
	}
	for i, w := range want {
		if e.Lines[i] != w {
			t.Errorf("line %d = %+v, want %+v", i, e.Lines[i], w)
		}
	}
	if min, max := e.MonthlyUSD(); min != 204 || max != 276 {
		t.Errorf("MonthlyUSD = %v–%v, want 204–276", min, max)
	}
}

func TestOptionalLinesFollowTheConfiguration(t *testing.T) {
	cfg := known()
	cfg.Cluster.HA, cfg.Platform.LoadBalancer = false, false
	e, err := For(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range e.Lines {
		if l.Item == "load balancer" {
			t.Errorf("a stack without a load balancer is charged for one: %+v", l)
		}
		if l.Item == "control plane" && (l.Min != 0 || l.Detail != "not HA (free)") {
			t.Errorf("control plane without HA = %+v, want free", l)
		}
	}
	if min, max := e.MonthlyUSD(); min != 152 || max != 224 {
		t.Errorf("MonthlyUSD = %v–%v, want 152–224", min, max)
	}
}

func TestUnknownSlugIsAnError(t *testing.T) {
	for name, mutate := range map[string]func(*stacks.Config){
		"workload node": func(c *stacks.Config) { c.Cluster.WorkloadNodeSize = "c-4vcpu-8gb" },
		"system node":   func(c *stacks.Config) { c.Cluster.SystemNodeSize = "c-4vcpu-8gb" },
		"postgres":      func(c *stacks.Config) { c.Database.Size = "db-s-4vcpu-8gb" },
		"valkey":        func(c *stacks.Config) { c.Valkey.Size = "db-s-4vcpu-8gb" },
	} {
		cfg := known()
		mutate(cfg)
		_, err := For(cfg)
		if err == nil || !(strings.Contains(err.Error(), "c-4vcpu-8gb") || strings.Contains(err.Error(), "db-s-4vcpu-8gb")) {
			t.Errorf("%s: err = %v, want one naming the slug", name, err)
		}
	}
}

func TestInClusterFoundationCostsNothing(t *testing.T) {
	cfg := known()
	cfg.Foundation = stacks.FoundationInCluster
	e, err := For(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if min, max := e.MonthlyUSD(); min != 0 || max != 0 {
		t.Errorf("in-cluster stack costs %v–%v, want 0", min, max)
	}
}

func TestTableShowsStacksSideBySide(t *testing.T) {
	e, _ := For(known())
	table := Table(e, Baseline())
	for _, want := range []string{
		"| monthly (USD) | known | RFC baseline |",
		"| workload pool | 2–5 × s-2vcpu-4gb: $48–120 |  |",
		"| droplets |  | 3 × s-2vcpu-4gb (size assumed): $72 |",
		"| **total** | **$204–276** | **$72** |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
