// Package postgres declares the managed PostgreSQL cluster: inside the VPC,
// one database and user per app, a PgBouncer pool for the API, and a firewall
// that admits the Kubernetes cluster and nothing else.
package postgres

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the database cluster.
type Args struct {
	// Region is the DigitalOcean region slug (required).
	Region string
	// Name is the database cluster's name, unique in the account (optional; default the component's name).
	Name string
	// VPCID is the private network the cluster lives in (required).
	VPCID pulumi.StringInput
	// KubernetesClusterID is the only client the firewall admits (required).
	KubernetesClusterID pulumi.StringInput
	// Size is the node slug, e.g. "db-s-1vcpu-1gb" (required).
	Size string
	// NodeCount is 1 to 3 nodes (optional; default 1).
	NodeCount int
	// Version is the PostgreSQL major version (optional; default "16").
	Version string
	// Databases are the apps that get their own database and user (required, at least one).
	Databases []string
	// PooledDatabase is the app whose clients go through a PgBouncer pool (optional; none when empty).
	PooledDatabase string
	// PoolSize is the pool's server connections (optional; default 10).
	PoolSize int
	// Protect refuses deletion of the cluster and its databases (optional; set in prod).
	Protect bool
}

// Postgres is a managed PostgreSQL cluster with a database per app.
type Postgres struct {
	pulumi.ResourceState

	// ClusterID is the database cluster's UUID.
	ClusterID pulumi.StringOutput `pulumi:"clusterId"`
	// PrivateHost is the host name inside the VPC.
	PrivateHost pulumi.StringOutput `pulumi:"privateHost"`
	// Port is the PostgreSQL port.
	Port pulumi.IntOutput `pulumi:"port"`
	// URLs maps each app to its private connection URL (secret).
	URLs pulumi.StringMapOutput `pulumi:"urls"`
	// PoolURL is the private URL of the PooledDatabase's PgBouncer pool (secret; empty without a pool).
	PoolURL pulumi.StringOutput `pulumi:"poolUrl"`
	// AdminUser and AdminPassword are the admin user's (doadmin) credentials (password secret);
	// AdminDatabase is its own database. The admin owns every app's database.
	AdminUser     pulumi.StringOutput `pulumi:"adminUser"`
	AdminPassword pulumi.StringOutput `pulumi:"adminPassword"`
	AdminDatabase pulumi.StringOutput `pulumi:"adminDatabase"`
}

// New declares the cluster, the databases, users, pool and firewall.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Postgres, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	p := &Postgres{}
	if err := ctx.RegisterComponentResource("datafruits:postgres:Postgres", name, p, opts...); err != nil {
		return nil, err
	}
	// The station's data: refuse deletion where the stack asks for it, so a
	// bad revert fails the update instead of dropping the database.
	stateful := []pulumi.ResourceOption{pulumi.Parent(p), pulumi.Protect(args.Protect)}

	dbName := args.Name
	if dbName == "" {
		dbName = name
	}
	db, err := digitalocean.NewDatabaseCluster(ctx, name+"-cluster", &digitalocean.DatabaseClusterArgs{
		Name:               pulumi.String(dbName),
		Engine:             pulumi.String("pg"),
		Version:            pulumi.String(args.Version),
		Size:               pulumi.String(args.Size),
		NodeCount:          pulumi.Int(args.NodeCount),
		Region:             pulumi.String(args.Region),
		PrivateNetworkUuid: args.VPCID,
		Tags:               pulumi.StringArray{pulumi.String("datafruits")},
	}, stateful...)
	if err != nil {
		return nil, err
	}

	urls := pulumi.StringMap{}
	// The pool names its user and database by string, so the engine cannot
	// see that they must exist first: record them for an explicit DependsOn.
	created := map[string][]pulumi.Resource{}
	for _, app := range args.Databases {
		database, err := digitalocean.NewDatabaseDb(ctx, name+"-"+app+"-db", &digitalocean.DatabaseDbArgs{
			ClusterId: db.ID(),
			Name:      pulumi.String(app),
		}, stateful...)
		if err != nil {
			return nil, err
		}
		user, err := digitalocean.NewDatabaseUser(ctx, name+"-"+app+"-user", &digitalocean.DatabaseUserArgs{
			ClusterId: db.ID(),
			Name:      pulumi.String(app),
		}, pulumi.Parent(p))
		if err != nil {
			return nil, err
		}
		created[app] = []pulumi.Resource{database, user}
		urls[app] = pulumi.ToSecret(pulumi.Sprintf("postgresql://%s:%s@%s:%d/%s?sslmode=require",
			user.Name, user.Password, db.PrivateHost, db.Port, database.Name)).(pulumi.StringOutput)
	}

	p.PoolURL = pulumi.ToSecret(pulumi.String("")).(pulumi.StringOutput)
	if args.PooledDatabase != "" {
		pool, err := digitalocean.NewDatabaseConnectionPool(ctx, name+"-"+args.PooledDatabase+"-pool", &digitalocean.DatabaseConnectionPoolArgs{
			ClusterId: db.ID(),
			Name:      pulumi.String(args.PooledDatabase + "-pool"),
			DbName:    pulumi.String(args.PooledDatabase),
			User:      pulumi.String(args.PooledDatabase),
			// Transaction pooling serves many Puma/Falcon and Sidekiq threads
			// with few server connections; Rails must then skip prepared statements.
			Mode: pulumi.String("transaction"),
			Size: pulumi.Int(args.PoolSize),
		}, pulumi.Parent(p), pulumi.DependsOn(created[args.PooledDatabase]))
		if err != nil {
			return nil, err
		}
		p.PoolURL = pulumi.ToSecret(pulumi.Sprintf("postgresql://%s:%s@%s:%d/%s?sslmode=require&prepared_statements=false",
			pool.User.Elem(), pool.Password, pool.PrivateHost, pool.Port, pool.Name)).(pulumi.StringOutput)
	}

	// Only the Kubernetes cluster may connect: DigitalOcean's "k8s" rule type
	// follows the cluster's nodes as they come and go.
	if _, err := digitalocean.NewDatabaseFirewall(ctx, name+"-firewall", &digitalocean.DatabaseFirewallArgs{
		ClusterId: db.ID(),
		Rules: digitalocean.DatabaseFirewallRuleArray{
			&digitalocean.DatabaseFirewallRuleArgs{Type: pulumi.String("k8s"), Value: args.KubernetesClusterID},
		},
	}, pulumi.Parent(p)); err != nil {
		return nil, err
	}

	p.ClusterID = db.ID().ToStringOutput()
	p.PrivateHost = db.PrivateHost
	p.Port = db.Port
	p.URLs = pulumi.ToSecret(urls.ToStringMapOutput()).(pulumi.StringMapOutput)
	p.AdminUser = db.User
	p.AdminPassword = pulumi.ToSecret(db.Password).(pulumi.StringOutput)
	p.AdminDatabase = db.Database
	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{
		"clusterId": p.ClusterID, "privateHost": p.PrivateHost, "port": p.Port,
		"urls": p.URLs, "poolUrl": p.PoolURL,
		"adminUser": p.AdminUser, "adminPassword": p.AdminPassword, "adminDatabase": p.AdminDatabase,
	})
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil:
		return fmt.Errorf("postgres %s: args are required", name)
	case a.Region == "" || a.VPCID == nil || a.KubernetesClusterID == nil:
		return fmt.Errorf("postgres %s: Region, VPCID and KubernetesClusterID are required", name)
	case a.Size == "":
		return fmt.Errorf("postgres %s: Size is required", name)
	case len(a.Databases) == 0:
		return fmt.Errorf("postgres %s: Databases must name at least one app", name)
	case a.PooledDatabase != "" && !slices.Contains(a.Databases, a.PooledDatabase):
		return fmt.Errorf("postgres %s: PooledDatabase %q is not one of Databases %v", name, a.PooledDatabase, a.Databases)
	case a.NodeCount < 0 || a.NodeCount > 3:
		return fmt.Errorf("postgres %s: NodeCount %d must be 1 to 3", name, a.NodeCount)
	}
	if a.NodeCount == 0 {
		a.NodeCount = 1
	}
	if a.Version == "" {
		a.Version = "16"
	}
	if a.PoolSize == 0 {
		a.PoolSize = 10
	}
	return nil
}
