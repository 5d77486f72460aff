package main

import (
	"fmt"

	"github.com/datafruits/infra/components/cluster"
	"github.com/datafruits/infra/components/dbsetup"
	"github.com/datafruits/infra/components/dns"
	"github.com/datafruits/infra/components/incluster"
	"github.com/datafruits/infra/components/namespace"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/network"
	"github.com/datafruits/infra/components/postgres"
	"github.com/datafruits/infra/components/spaces"
	"github.com/datafruits/infra/components/valkey"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// databases are the apps that get their own database and user.
var databases = []string{"api", "chat", "analytics", "statuspage", "archiver", "monitoring"}

// Foundation is what the platform and the station build on, whichever
// foundation provides it.
type Foundation struct {
	// K8s deploys into the cluster (nil: Pulumi's default provider, the current kubeconfig context).
	K8s pulumi.ProviderResource
	// ClusterName names the cluster ("" when the program did not create it).
	ClusterName pulumi.StringOutput
	// Kubeconfig reaches the cluster without a stored token (DigitalOcean only).
	Kubeconfig pulumi.StringOutput
	// DatabaseURLs maps each app to its database URL (secret).
	DatabaseURLs pulumi.StringMapOutput
	// APIDatabaseURL is the API's pooled database URL (secret). DatabaseURLs["api"] is its direct
	// one, for migrations: Rails' migration advisory lock fails through a transaction pool.
	APIDatabaseURL pulumi.StringOutput
	// Redis is the shared Valkey.
	Redis Redis
	// S3 is the object storage.
	S3 ObjectStorage
	// Zone is the DNS zone (nil without DigitalOcean DNS).
	Zone *dns.Zone
	// Egress are the network peers of "postgres", "valkey" and "s3", for the clients' policies.
	Egress map[string][]netpol.Peer
	// DatabaseReady is the database set-up Job: every app that uses its database depends on it.
	DatabaseReady pulumi.Resource
}

// Redis is how to reach Valkey.
type Redis struct {
	Host     pulumi.StringOutput
	Port     pulumi.IntOutput
	Password pulumi.StringOutput
	URL      pulumi.StringOutput
	TLS      bool
}

// ObjectStorage is how to reach the buckets.
type ObjectStorage struct {
	// Endpoint is the S3 endpoint URL; EndpointHost is it without scheme.
	Endpoint, EndpointHost pulumi.StringOutput
	Region                 string
	ForcePathStyle         bool
	Insecure               bool
	// Static, Media, Logs and Backups are bucket names.
	Static, Media, Logs, Backups pulumi.StringOutput
	// AppsKeyID/AppsSecret may write static and media; LogsKeyID/LogsSecret the logs bucket;
	// BackupsKeyID/BackupsSecret may write the backups bucket and read media.
	AppsKeyID, AppsSecret, LogsKeyID, LogsSecret, BackupsKeyID, BackupsSecret pulumi.StringOutput
	// StaticURL and MediaURL are the public base URLs.
	StaticURL, MediaURL pulumi.StringOutput
	// CDNEndpoints are DigitalOcean's CDN host names, by bucket role (DigitalOcean only).
	CDNEndpoints pulumi.StringMap
}

func foundation(ctx *pulumi.Context, cfg *stacks.Config) (*Foundation, error) {
	switch cfg.Foundation {
	case stacks.FoundationDigitalOcean:
		return digitalOceanFoundation(ctx, cfg)
	case stacks.FoundationInCluster:
		return inClusterFoundation(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown foundation %q", cfg.Foundation)
}

func digitalOceanFoundation(ctx *pulumi.Context, cfg *stacks.Config) (*Foundation, error) {
	// DigitalOcean names VPCs, clusters and database clusters uniquely per
	// account, and VPC ranges may not overlap: staging and prod can share one.
	physical := "datafruits-" + cfg.Stack
	net, err := network.New(ctx, "network", &network.Args{Region: cfg.Region, IPRange: cfg.VPCRange, Name: physical})
	if err != nil {
		return nil, err
	}
	c, err := cluster.New(ctx, "cluster", &cluster.Args{
		Region: cfg.Region, Name: physical, VPCID: net.VPCID, VersionPrefix: cfg.Cluster.VersionPrefix, HA: cfg.Cluster.HA,
		SystemNodeSize: cfg.Cluster.SystemNodeSize, SystemNodeCount: cfg.Cluster.SystemNodeCount,
		WorkloadNodeSize: cfg.Cluster.WorkloadNodeSize, WorkloadMinNodes: cfg.Cluster.WorkloadMinNodes,
		WorkloadMaxNodes: cfg.Cluster.WorkloadMaxNodes, MaintenanceDay: cfg.Cluster.MaintenanceDay,
		MaintenanceStartTime: cfg.Cluster.MaintenanceStartTime,
	})
	if err != nil {
		return nil, err
	}
	zone, err := dns.New(ctx, "dns", &dns.ZoneArgs{Domain: cfg.Domain, Protect: cfg.Protect})
	if err != nil {
		return nil, err
	}
	pg, err := postgres.New(ctx, "postgres", &postgres.Args{
		Region: cfg.Region, Name: physical + "-postgres", VPCID: net.VPCID, KubernetesClusterID: c.ClusterID,
		Size: cfg.Database.Size, NodeCount: cfg.Database.NodeCount, Version: cfg.Database.Version,
		Databases: databases, PooledDatabase: "api", PoolSize: cfg.Database.APIPoolSize, Protect: cfg.Protect,
	})
	if err != nil {
		return nil, err
	}
	vk, err := valkey.New(ctx, "valkey", &valkey.Args{
		Region: cfg.Region, Name: physical + "-valkey", VPCID: net.VPCID, KubernetesClusterID: c.ClusterID,
		Size: cfg.Valkey.Size, Version: cfg.Valkey.Version, Protect: cfg.Protect,
	})
	if err != nil {
		return nil, err
	}
	sp, err := spaces.New(ctx, "spaces", &spaces.Args{
		Region: cfg.Region, BucketPrefix: cfg.Spaces.BucketPrefix, Domain: cfg.Domain, Zone: zone,
		CORSOrigins: siteOrigins(cfg), LogRetentionDays: cfg.Spaces.LogRetentionDays, Protect: cfg.Protect,
	})
	if err != nil {
		return nil, err
	}
	vpc := cfg.VPCRange
	postgresEgress := []netpol.Peer{{CIDR: vpc, Ports: []int{25060, 25061}}}
	// The admin's credentials stay out of the apps' namespaces: the set-up
	// Job runs in a namespace of its own.
	k8s := pulumi.Providers(c.Provider)
	ns, err := namespace.New(ctx, "data", &namespace.Args{Name: dataNamespace}, k8s)
	if err != nil {
		return nil, err
	}
	setup, err := dbsetup.New(ctx, "dbsetup", &dbsetup.Args{
		Namespace: dataNamespace, Image: cfg.Images["postgres"], Apps: databases,
		Admin: dbsetup.Admin{
			Host: pg.PrivateHost, Port: pg.Port, User: pg.AdminUser, Password: pg.AdminPassword,
			Database: pg.AdminDatabase, SSLMode: "require",
		},
		EgressTo: postgresEgress,
	}, k8s, pulumi.DependsOn([]pulumi.Resource{ns, pg}))
	if err != nil {
		return nil, err
	}
	return &Foundation{
		K8s:            c.Provider,
		ClusterName:    c.Name,
		Kubeconfig:     c.Kubeconfig,
		DatabaseURLs:   pg.URLs,
		APIDatabaseURL: pg.PoolURL,
		Redis:          Redis{Host: vk.PrivateHost, Port: vk.Port, Password: vk.Password, URL: vk.URL, TLS: true},
		S3: ObjectStorage{
			Endpoint: sp.Endpoint, EndpointHost: pulumi.Sprintf("%s.digitaloceanspaces.com", cfg.Region),
			Region: cfg.Region, ForcePathStyle: true,
			Static: sp.StaticBucket, Media: sp.MediaBucket, Logs: sp.LogsBucket, Backups: sp.BackupsBucket,
			AppsKeyID: sp.AppsKey.AccessKeyID, AppsSecret: sp.AppsKey.SecretAccessKey,
			LogsKeyID: sp.LogsKey.AccessKeyID, LogsSecret: sp.LogsKey.SecretAccessKey,
			BackupsKeyID: sp.BackupsKey.AccessKeyID, BackupsSecret: sp.BackupsKey.SecretAccessKey,
			StaticURL: sp.StaticURL, MediaURL: sp.MediaURL,
			CDNEndpoints: pulumi.StringMap{"static": sp.StaticCDNEndpoint, "media": sp.MediaCDNEndpoint},
		},
		Zone: zone,
		// Managed databases live in the VPC; Spaces is a public HTTPS API.
		Egress: map[string][]netpol.Peer{
			"postgres": postgresEgress,
			"valkey":   {{CIDR: vpc, Ports: []int{25061}}},
			"s3":       {netpol.Internet(443)},
		},
		DatabaseReady: setup.Done,
	}, nil
}

// dataNamespace holds the in-cluster stand-ins of the managed services.
const dataNamespace = "data"

func inClusterFoundation(ctx *pulumi.Context, cfg *stacks.Config) (*Foundation, error) {
	ns, err := namespace.New(ctx, "data", &namespace.Args{Name: dataNamespace})
	if err != nil {
		return nil, err
	}
	prefix := cfg.Spaces.BucketPrefix
	bucket := func(role string) string { return prefix + "-" + role }
	data, err := incluster.New(ctx, "data", &incluster.Args{
		Namespace: dataNamespace, Images: cfg.Images, StorageClass: cfg.Platform.StorageClass,
		Databases:     databases,
		Buckets:       []string{bucket("static"), bucket("media"), bucket("logs"), bucket("backups")},
		PublicBuckets: []string{bucket("static"), bucket("media")},
		Platform:      platformRefs(cfg),
	}, pulumi.DependsOn([]pulumi.Resource{ns}))
	if err != nil {
		return nil, err
	}
	passwords := map[string]pulumi.StringInput{}
	for app, p := range data.AppPasswords {
		passwords[app] = p
	}
	setup, err := dbsetup.New(ctx, "dbsetup", &dbsetup.Args{
		Namespace: dataNamespace, Image: cfg.Images["postgres"], Apps: databases,
		Admin: dbsetup.Admin{
			Host: pulumi.String(data.PostgresHost), Port: pulumi.Int(incluster.PostgresPort),
			User: pulumi.String(data.PostgresAdminUser), Password: data.PostgresAdminPassword,
			Database: pulumi.String("postgres"), SSLMode: "disable",
		},
		CreateMissing: true, Passwords: passwords,
		EgressTo: []netpol.Peer{data.Peers["postgres"]},
	}, pulumi.DependsOn([]pulumi.Resource{ns}))
	if err != nil {
		return nil, err
	}
	str := func(s string) pulumi.StringOutput { return pulumi.String(s).ToStringOutput() }
	// Without a CDN, a person reaches MinIO through a port-forward (see `make up`).
	publicBase := func(role string) pulumi.StringOutput { return str("http://localhost:9000/" + bucket(role)) }
	return &Foundation{
		ClusterName:    str(""),
		Kubeconfig:     str(""),
		DatabaseURLs:   data.URLs,
		APIDatabaseURL: data.URLs.MapIndex(pulumi.String("api")),
		Redis:          Redis{Host: data.RedisHost, Port: data.RedisPort, Password: data.RedisPassword, URL: data.RedisURL},
		S3: ObjectStorage{
			Endpoint: data.S3Endpoint, EndpointHost: pulumi.Sprintf("minio.%s.svc:%d", dataNamespace, incluster.MinioPort),
			Region: "us-east-1", ForcePathStyle: true, Insecure: true,
			Static: str(bucket("static")), Media: str(bucket("media")), Logs: str(bucket("logs")), Backups: str(bucket("backups")),
			AppsKeyID: data.S3AccessKeyID, AppsSecret: data.S3SecretAccessKey,
			LogsKeyID: data.S3AccessKeyID, LogsSecret: data.S3SecretAccessKey,
			BackupsKeyID: data.S3AccessKeyID, BackupsSecret: data.S3SecretAccessKey,
			StaticURL: publicBase("static"), MediaURL: publicBase("media"),
		},
		Egress: map[string][]netpol.Peer{
			"postgres": {data.Peers["postgres"]},
			"valkey":   {data.Peers["valkey"]},
			"s3":       {data.Peers["s3"]},
		},
		DatabaseReady: setup.Done,
	}, nil
}

// siteOrigins are the station's own web origins: CORS allows only these.
func siteOrigins(cfg *stacks.Config) []string {
	scheme := "https://"
	if cfg.Foundation == stacks.FoundationInCluster {
		scheme = "http://"
	}
	origins := []string{scheme + cfg.Domain, scheme + cfg.AdminDomain}
	return origins
}

// platformRefs names where the platform's parts run; the workloads' network
// policies admit the ingress controller and Prometheus from there.
func platformRefs(cfg *stacks.Config) workload.PlatformRefs {
	return workload.PlatformRefs{
		IngressNamespace:    platformNamespace,
		MonitoringNamespace: observabilityNamespace,
		IngressClass:        "traefik",
		TraefikCRDs:         cfg.Platform.HelmCharts,
		IngressAddress:      cfg.Platform.HelmCharts && cfg.Platform.LoadBalancer,
	}
}
