// Package stacks holds the typed stack configuration of the datafruits program.
//
// Load reads every key of the `datafruits:` namespace exactly once, applies
// defaults, validates, and returns a Config the layers use. Components never
// read configuration themselves: they take what Load produced as Args. Stacks
// differ only by the values in Pulumi.<stack>.yaml, never by their name.
package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Namespace is the configuration namespace of every key the program reads.
const Namespace = "datafruits"

// Foundation selects what provides the databases, object storage and network.
type Foundation string

const (
	// FoundationDigitalOcean uses managed DigitalOcean services: DOKS, managed
	// Postgres and Valkey, Spaces with CDN, DigitalOcean DNS and a load balancer.
	FoundationDigitalOcean Foundation = "digitalocean"
	// FoundationInCluster runs PostgreSQL, Valkey and MinIO as StatefulSets in
	// whatever cluster the current kubeconfig points at (the `local` stack).
	FoundationInCluster Foundation = "in-cluster"
)

// Config is the validated configuration of one stack.
type Config struct {
	// Stack is the Pulumi stack name, used only to name things.
	Stack string
	// Foundation selects managed DigitalOcean services or in-cluster equivalents.
	Foundation Foundation
	// Region is the DigitalOcean region of every regional resource.
	Region string
	// VPCRange is the VPC's private range; VPCs of one account must not overlap.
	VPCRange string
	// Domain is the station's public domain; every public host is under it.
	Domain string
	// AdminDomain is where the admin site is served (admin.<domain> by default).
	AdminDomain string
	// Protect marks stateful resources (databases, buckets, the DNS zone) protected from deletion.
	Protect bool

	Cluster  ClusterConfig
	Database DatabaseConfig
	Valkey   ValkeyConfig
	Spaces   SpacesConfig
	Platform PlatformConfig

	// Images maps each workload to its container image reference (never :latest).
	Images map[string]string
	// Scaling maps each scalable workload to its autoscaler bounds.
	Scaling map[string]Scaling
	// Stations are the radio stations; each gets its own radio component.
	Stations []Station

	// Moved says which parts of the station this stack runs (Parts); a part not moved
	// keeps running where it runs today, at its Legacy address.
	Moved map[string]bool
	// Legacy are today's addresses of the parts not moved yet, by part; the moved parts call
	// them instead of their own (the site and Liquidsoap call the API at Legacy["api"]).
	Legacy map[string]string
	// FormerHosts are the public hosts a moved part had before the move, served by the
	// part as it runs here once their DNS points at the load balancer, by part: site,
	// admin, api, chat, video, or stream-<station> for a station's listeners.
	FormerHosts map[string][]string

	// DNSRecords are records of the zone the program does not derive itself (mail, SPF, DKIM,
	// the hosts of parts not moved), imported from today's zone (movein import-zone).
	DNSRecords []DNSRecord

	// Backup tunes the nightly backups.
	Backup BackupConfig
	// Secrets are the values set with `pulumi config set --secret`.
	Secrets Secrets
}

// ClusterConfig sizes the DOKS cluster.
type ClusterConfig struct {
	// VersionPrefix pins the Kubernetes minor version, e.g. "1.35."; resolved with GetKubernetesVersions.
	VersionPrefix string
	// HA turns on the highly available control plane.
	HA bool
	// SystemNodeSize is the droplet slug of the small fixed default pool.
	SystemNodeSize string
	// SystemNodeCount is the size of the default pool; it never autoscales (resizing it replaces the cluster).
	SystemNodeCount int
	// WorkloadNodeSize is the droplet slug of the autoscaling workload pool.
	WorkloadNodeSize string
	// WorkloadMinNodes is the autoscaler's lower bound for the workload pool.
	WorkloadMinNodes int
	// WorkloadMaxNodes is the autoscaler's upper bound for the workload pool.
	WorkloadMaxNodes int
	// MaintenanceDay is the weekly maintenance window's day ("any" or a weekday).
	MaintenanceDay string
	// MaintenanceStartTime is the window's start, "HH:MM" UTC.
	MaintenanceStartTime string
}

// DatabaseConfig sizes the managed PostgreSQL cluster.
type DatabaseConfig struct {
	// Size is the database droplet slug, e.g. "db-s-1vcpu-1gb".
	Size string
	// NodeCount is the number of database nodes (1 to 3; 2+ adds standbys).
	NodeCount int
	// Version is the PostgreSQL major version.
	Version string
	// APIPoolSize is the PgBouncer pool size for the API and its workers.
	APIPoolSize int
}

// ValkeyConfig sizes the managed Valkey (Redis) cluster.
type ValkeyConfig struct {
	// Size is the Valkey droplet slug.
	Size string
	// Version is the Valkey major version.
	Version string
}

// SpacesConfig names and tunes the object storage buckets.
type SpacesConfig struct {
	// BucketPrefix prefixes every bucket name (no dots: a CDN fronts them).
	BucketPrefix string
	// LogRetentionDays is how long objects in the logs bucket live.
	LogRetentionDays int
}

// PlatformConfig tunes the platform layer.
type PlatformConfig struct {
	// HelmCharts installs the chart-based pieces (Traefik, cert-manager, monitoring, Loki, Alloy, metrics-server).
	HelmCharts bool
	// MetricsServer installs metrics-server with the charts (the autoscalers'
	// CPU figures). Off on a cluster that runs no containers (the embedded
	// control plane): its aggregated API would stay unavailable there, and an
	// unavailable API blocks every namespace deletion (stale discovery).
	MetricsServer bool
	// ChartMirror is a Helm repository URL or an absolute directory of packaged charts that replaces
	// the charts' upstream repositories (same pinned versions); empty means upstream.
	ChartMirror string
	// ACMEEmail is the Let's Encrypt account e-mail.
	ACMEEmail string
	// ACMEServer is "production" or "staging" (Let's Encrypt) or "self-signed" (clusters the internet cannot reach).
	ACMEServer string
	// StorageClass is the StorageClass of every PersistentVolumeClaim.
	StorageClass string
	// IngressReplicas is the number of Traefik replicas (the minimum when autoscaled).
	IngressReplicas int
	// IngressAutoscale turns on an autoscaler and PodDisruptionBudget for Traefik.
	IngressAutoscale bool
	// MetricsRetention is Prometheus' retention, e.g. "15d".
	MetricsRetention string
	// LoadBalancer exposes Traefik through a cloud load balancer (false: NodePort, for local clusters).
	LoadBalancer bool
}

// DNSRecord is one record of datafruits:dnsRecords, as movein import-zone prints it.
type DNSRecord struct {
	// Name is relative to the zone, "@" for the apex.
	Name string `json:"name"`
	// Type is A, AAAA, CNAME, MX, TXT, SRV, CAA or NS.
	Type string `json:"type"`
	// Value is the address, host name (ending with a dot) or text.
	Value string `json:"value"`
	// TTL is in seconds (0: 3600).
	TTL int `json:"ttl,omitempty"`
	// Priority (MX, SRV), Weight and Port (SRV), Flags and Tag (CAA).
	Priority *int   `json:"priority,omitempty"`
	Weight   *int   `json:"weight,omitempty"`
	Port     *int   `json:"port,omitempty"`
	Flags    *int   `json:"flags,omitempty"`
	Tag      string `json:"tag,omitempty"`
}

// BackupConfig tunes the nightly backups (components/backup).
type BackupConfig struct {
	// Schedule is when the backups run, five-field cron, UTC.
	Schedule string
	// KeepCount is how many runs of each backup are always kept.
	KeepCount int
	// KeepDays keeps every run younger than this many days as well.
	KeepDays int
	// Offsite is a second bucket at another provider, https://endpoint/bucket; empty for none.
	// Its keys are the secrets backupOffsiteKeyId and backupOffsiteSecret.
	Offsite OffsiteBucket
}

// OffsiteBucket is an S3-compatible bucket outside DigitalOcean.
type OffsiteBucket struct {
	// Endpoint is its S3 endpoint URL and Bucket its name; both empty when none is configured.
	Endpoint, Bucket string
}

// Scaling is an autoscaler's bounds for one workload.
type Scaling struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Station is one radio station.
type Station struct {
	// Name is a DNS label naming the station; its namespace is radio-<name>.
	Name string `json:"name"`
	// StreamHost is the listeners' host label ("stream" for the first station).
	StreamHost string `json:"streamHost,omitempty"`
	// DJHost is the DJs' host label ("dj" for the first station).
	DJHost string `json:"djHost,omitempty"`
	// DJPort is the TCP port DJs stream to (9000 for the first station).
	DJPort int `json:"djPort,omitempty"`
}

// Secrets are values only a person can supply, read as secrets.
type Secrets struct {
	// DiscordWebhookURL receives alerts and announcements; nil when not set.
	DiscordWebhookURL pulumi.StringOutput
	// HasDiscordWebhook is true when discordWebhookUrl is set.
	HasDiscordWebhook bool
	// APIEnv holds third-party API keys for the API, as env var name → value; empty when not set.
	APIEnv pulumi.StringMapOutput
	// APIEnvNames are the env var names in APIEnv (not secret), sorted.
	APIEnvNames []string
	// LegacyLiqSecret is the liq-secret today's API expects from Liquidsoap: the stack's radios
	// send it while the API is not moved (Moved["api"] false).
	LegacyLiqSecret pulumi.StringOutput
	// BackupOffsiteKeyID and BackupOffsiteSecret open the offsite backups bucket; set with Backup.Offsite.
	BackupOffsiteKeyID, BackupOffsiteSecret pulumi.StringOutput
}
