package postgres_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/postgres"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func run(t *testing.T, protect bool) (*pulumitest.Mocks, *postgres.Postgres) {
	t.Helper()
	var pg *postgres.Postgres
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		var err error
		pg, err = postgres.New(ctx, "postgres", &postgres.Args{
			Region: "nyc3", VPCID: pulumi.String("vpc-1"), KubernetesClusterID: pulumi.String("k8s-1"),
			Size: "db-s-1vcpu-1gb", Databases: []string{"api", "chat"}, PooledDatabase: "api", Protect: protect,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mocks, pg
}

func TestFirewallAdmitsTheClusterAndNothingElse(t *testing.T) {
	mocks, _ := run(t, false)
	fw := mocks.ByType("digitalocean:index/databaseFirewall:DatabaseFirewall")
	if len(fw) != 1 {
		t.Fatalf("want one firewall, got %d", len(fw))
	}
	rules := pulumitest.Get(fw[0].Inputs, "rules").ArrayValue()
	if len(rules) != 1 {
		t.Fatalf("firewall has %d rules, want exactly 1 (the cluster)", len(rules))
	}
	if typ, value := pulumitest.GetString(fw[0].Inputs, "rules[0].type"), pulumitest.GetString(fw[0].Inputs, "rules[0].value"); typ != "k8s" || value != "k8s-1" {
		t.Errorf("firewall rule = %s %s, want k8s k8s-1", typ, value)
	}
	cluster := mocks.ByType("digitalocean:index/databaseCluster:DatabaseCluster")[0]
	if pulumitest.GetString(cluster.Inputs, "privateNetworkUuid") != "vpc-1" {
		t.Errorf("database cluster must live in the VPC")
	}
}

func TestDatabasePerAppAndPool(t *testing.T) {
	mocks, pg := run(t, false)
	dbs := mocks.ByType("digitalocean:index/databaseDb:DatabaseDb")
	users := mocks.ByType("digitalocean:index/databaseUser:DatabaseUser")
	if len(dbs) != 2 || len(users) != 2 {
		t.Fatalf("want a database and user per app (2), got %d dbs, %d users", len(dbs), len(users))
	}
	pools := mocks.ByType("digitalocean:index/databaseConnectionPool:DatabaseConnectionPool")
	if len(pools) != 1 || pulumitest.GetString(pools[0].Inputs, "dbName") != "api" || pulumitest.GetString(pools[0].Inputs, "mode") != "transaction" {
		t.Fatalf("want one transaction pool for api, got %+v", pools)
	}
	if !pulumi.IsSecret(pg.URLs) || !pulumi.IsSecret(pg.PoolURL) {
		t.Error("database URLs must be secret outputs")
	}
	done := make(chan string, 1)
	pg.PoolURL.ApplyT(func(u string) string { done <- u; return u })
	if u := <-done; !strings.Contains(u, "prepared_statements=false") || !strings.HasPrefix(u, "postgresql://api:") {
		t.Errorf("pool URL %q must be the api user's and turn off prepared statements", "(secret)")
	}
}

func TestProtectOnlyWhenAsked(t *testing.T) {
	for _, protect := range []bool{true, false} {
		mocks, _ := run(t, protect)
		for _, typ := range []string{"digitalocean:index/databaseCluster:DatabaseCluster", "digitalocean:index/databaseDb:DatabaseDb"} {
			for _, r := range mocks.ByType(typ) {
				if r.Protect != protect {
					t.Errorf("%s %s protect = %v, want %v", typ, r.Name, r.Protect, protect)
				}
			}
		}
	}
}

func TestRejectsPoolForUnknownDatabase(t *testing.T) {
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := postgres.New(ctx, "postgres", &postgres.Args{
			Region: "nyc3", VPCID: pulumi.String("v"), KubernetesClusterID: pulumi.String("k"),
			Size: "db-s-1vcpu-1gb", Databases: []string{"chat"}, PooledDatabase: "api",
		})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `PooledDatabase "api"`) {
		t.Errorf("want an error naming PooledDatabase, got %v", err)
	}
}
