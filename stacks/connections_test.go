package stacks_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/datafruits/infra/stacks"
)

// TestConnectionBudgetRefusesTooSmallADatabase: the default pools and
// scaling on the smallest managed PostgreSQL could open more connections
// than it has; Load refuses, naming the keys, the figures and what fits.
func TestConnectionBudgetRefusesTooSmallADatabase(t *testing.T) {
	set := validConfig()
	set["datafruits:databaseSize"] = "db-s-1vcpu-1gb"
	_, err := load(t, set)
	if err == nil {
		t.Fatal("db-s-1vcpu-1gb (22 usable connections) with the default pools and scaling (45 at worst) was accepted")
	}
	for _, want := range []string{
		`datafruits:databaseSize: got "db-s-1vcpu-1gb"`, "22 usable (25 − 3 reserved)", "can open 45", "nightly backup 2",
		"apiPoolSize", "scaling.chat.max", "scaling.analytics.max", "stations",
		"chat 16 = 8 pods (max 6 + rollout surge 2) × 2", "api and workers (PgBouncer pool) 10",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestConnectionBudgetCountsEveryStation: each station's archiver holds its own pool.
func TestConnectionBudgetCountsEveryStation(t *testing.T) {
	set := validConfig()
	set["datafruits:stations"] = `[{"name":"datafruits"},{"name":"two"},{"name":"three"}]`
	_, err := load(t, set)
	if err == nil || !strings.Contains(err.Error(), "archivers 12 = 3 stations × 4") {
		t.Errorf("three stations on db-s-1vcpu-2gb (53 at worst, 47 usable) must be refused naming the archivers, got %v", err)
	}
}

func TestConnectionBudgetAcceptsWhatFits(t *testing.T) {
	set := validConfig()
	set["datafruits:databaseSize"] = "db-s-1vcpu-1gb"
	set["datafruits:apiPoolSize"] = "1"
	set["datafruits:scaling"] = `{"chat":{"min":1,"max":1},"analytics":{"min":1,"max":1}}`
	cfg, err := load(t, set)
	if err != nil {
		t.Fatalf("22 connections at worst on a size with 22 usable was refused: %v", err)
	}
	total := 0
	for _, u := range stacks.ConnectionBudget(cfg) {
		total += u.Connections
	}
	if total != 22 {
		t.Errorf("budget = %d, want 22", total)
	}
}

func TestUnknownDatabaseSizeIsRefused(t *testing.T) {
	set := validConfig()
	set["datafruits:databaseSize"] = "db-s-3vcpu-9gb"
	_, err := load(t, set)
	if err == nil || !strings.Contains(err.Error(), `datafruits:databaseSize: got "db-s-3vcpu-9gb"`) || !strings.Contains(err.Error(), "db-s-1vcpu-1gb, db-s-1vcpu-2gb") {
		t.Errorf("a size without a known connection limit must be refused listing the known ones, got %v", err)
	}
}

// TestCommittedStacksFitTheirDatabase loads staging and prod as committed and
// logs each one's budget.
func TestCommittedStacksFitTheirDatabase(t *testing.T) {
	for _, stack := range []string{"staging", "prod"} {
		set, secrets, err := pulumitest.StackConfig(stack)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := load(t, set, secrets...)
		if err != nil {
			t.Errorf("%s: %v", stack, err)
			continue
		}
		total, lines := 0, []string{}
		for _, u := range stacks.ConnectionBudget(cfg) {
			total += u.Connections
			lines = append(lines, u.Client+": "+u.Figure)
		}
		usable := stacks.PostgresConnections[cfg.Database.Size] - stacks.PostgresReservedConnections
		t.Logf("%s: %d of %d usable connections on %s at worst\n  %s", stack, total, usable, cfg.Database.Size, strings.Join(lines, "\n  "))
	}
}
