package stacks

import (
	"fmt"
	"sort"
	"strings"
)

// PostgresConnections are the connections each DigitalOcean managed
// PostgreSQL size provides (all nodes of a cluster are the same size; standby
// nodes add none to the primary). Source: DigitalOcean's "How to Manage
// Connection Pools for PostgreSQL Database Clusters"
// (docs.digitalocean.com/products/databases/postgresql/how-to/manage-connection-pools/),
// read 2026-11-30: "Clusters provide 25 connections per 1 GB of RAM. 3
// connections per cluster are reserved for maintenance, and all remaining
// connections can be allocated to connection pools" (its example: the
// 1 GB size has 22 to give). A PgBouncer pool's size is taken from the same
// budget as direct connections.
var PostgresConnections = map[string]int{
	"db-s-1vcpu-1gb":   25,
	"db-s-1vcpu-2gb":   50,
	"db-s-2vcpu-4gb":   100,
	"db-s-4vcpu-8gb":   200,
	"db-s-6vcpu-16gb":  400,
	"db-s-8vcpu-32gb":  800,
	"db-s-16vcpu-64gb": 1600,
}

// PostgresReservedConnections are the connections DigitalOcean keeps for maintenance.
const PostgresReservedConnections = 3

// Connections each client holds at most. The station's workloads set these
// (station.go); the budget below counts them, so the two cannot drift apart.
const (
	// MigrationConnections: Rails 7.0 migrates on one connection and holds the
	// migration advisory lock on a second one of its own
	// (ActiveRecord::Migrator#with_advisory_lock_connection).
	MigrationConnections = 2
	// DatabaseSetupConnections: the set-up Job's psql, one database at a time.
	DatabaseSetupConnections = 1
	// ChatPoolSize is the chat's Ecto pool per replica (hotdog_lounge's
	// config/runtime.exs reads POOL_SIZE, default 10).
	ChatPoolSize = 2
	// AnalyticsMaxConnections is GoatCounter's -dbconn max_open per replica
	// (2.6.0's serve defaults to 16,4).
	AnalyticsMaxConnections = 2
	// StatusPageConnections is Gatus' estimate: it opens Postgres with lib/pq
	// and sets no pool limit (storage/store/sql/sql.go, v5.17.0), but its
	// monitoring lock runs one check at a time and database/sql keeps two
	// idle connections.
	StatusPageConnections = 2
	// ExporterConnections is postgres_exporter v0.17.1's: its built-in
	// metrics and its collectors each open one connection and scrape side by
	// side (cmd/postgres_exporter/server.go, collector/instance.go:
	// SetMaxOpenConns(1)).
	ExporterConnections = 2
	// ArchiverConnections is each station archiver's pgxpool MaxConns for
	// its own table (apps/archiver/internal/catalog, 3) plus its one direct
	// connection to the API's database, where it registers sets
	// (apps/archiver/cmd/archiver: apidb.Open).
	ArchiverConnections = 3 + 1
	// BackupConnections: the nightly backup dumps one database at a time, with
	// pg_dump's connection and the one holding the snapshot pg_dump shares
	// (apps/movein/internal/backup).
	BackupConnections = 2
)

// rolloutPods is a Deployment's pod count at most: its autoscaler's maximum
// plus the rolling update's surge (Kubernetes' default maxSurge 25%, rounded up).
func rolloutPods(max int) int { return max + (max+3)/4 }

// ConnectionUse is one client's share of the database's connections.
type ConnectionUse struct {
	// Client names the client; Keys the stack keys its figure comes from.
	Client, Keys string
	// Connections is what it may hold at worst.
	Connections int
	// Figure says how Connections is reached.
	Figure string
}

// ConnectionBudget is every client of the managed PostgreSQL at its worst:
// each autoscaled workload at its maximum and mid-rollout, the API's
// PgBouncer pool full, a migration and a set-up running.
func ConnectionBudget(cfg *Config) []ConnectionUse {
	scaled := func(client, key string, perPod int, what string) ConnectionUse {
		max := cfg.Scaling[key].Max
		pods := rolloutPods(max)
		return ConnectionUse{
			Client: client, Keys: "scaling." + key + ".max", Connections: pods * perPod,
			Figure: fmt.Sprintf("%d pods (max %d + rollout surge %d) × %d %s", pods, max, pods-max, perPod, what),
		}
	}
	uses := []ConnectionUse{
		{Client: "api and workers (PgBouncer pool)", Keys: "apiPoolSize", Connections: cfg.Database.APIPoolSize,
			Figure: fmt.Sprintf("pool size %d", cfg.Database.APIPoolSize)},
		{Client: "api migrations (direct)", Connections: MigrationConnections,
			Figure: fmt.Sprintf("%d (migration + advisory lock)", MigrationConnections)},
		{Client: "database set-up Job", Connections: DatabaseSetupConnections, Figure: "1 (psql)"},
		scaled("chat", "chat", ChatPoolSize, "(POOL_SIZE)"),
		scaled("analytics", "analytics", AnalyticsMaxConnections, "(-dbconn)"),
		{Client: "status page", Connections: StatusPageConnections,
			Figure: fmt.Sprintf("1 pod (Recreate) × %d (Gatus)", StatusPageConnections)},
		{Client: "database exporter", Connections: ExporterConnections,
			Figure: fmt.Sprintf("1 pod (Recreate) × %d (postgres_exporter)", ExporterConnections)},
		{Client: "archivers", Keys: "stations", Connections: len(cfg.Stations) * ArchiverConnections,
			Figure: fmt.Sprintf("%d stations × %d", len(cfg.Stations), ArchiverConnections)},
		{Client: "nightly backup", Connections: BackupConnections, Figure: "2 (pg_dump + its shared snapshot)"},
	}
	return uses
}

// checkConnectionBudget refuses a stack whose clients can ask the managed
// PostgreSQL for more connections than its size provides.
func (r *reader) checkConnectionBudget(cfg *Config) {
	if !databaseSlugRe.MatchString(cfg.Database.Size) {
		return // already reported as no slug at all
	}
	total, ok := PostgresConnections[cfg.Database.Size]
	if !ok {
		sizes := make([]string, 0, len(PostgresConnections))
		for s := range PostgresConnections {
			sizes = append(sizes, s)
		}
		sort.Slice(sizes, func(i, j int) bool { return PostgresConnections[sizes[i]] < PostgresConnections[sizes[j]] })
		r.fail("databaseSize", cfg.Database.Size, "a size whose connection limit is known (stacks.PostgresConnections): "+strings.Join(sizes, ", "))
		return
	}
	usable := total - PostgresReservedConnections
	need := 0
	var parts, keys []string
	for _, u := range ConnectionBudget(cfg) {
		need += u.Connections
		parts = append(parts, fmt.Sprintf("%s %d = %s", u.Client, u.Connections, u.Figure))
		if u.Keys != "" {
			keys = append(keys, u.Keys)
		}
	}
	if need <= usable {
		return
	}
	r.fail("databaseSize", cfg.Database.Size, fmt.Sprintf(
		"a size with at least %d usable connections, or smaller %s: %s has %d usable (%d − %d reserved) but the station can open %d: %s",
		need, strings.Join(keys, ", "), cfg.Database.Size, usable, total, PostgresReservedConnections, need, strings.Join(parts, "; ")))
}
