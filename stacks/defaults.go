package stacks

import (
	"regexp"
	"slices"
)

// Regions are the DigitalOcean regions that offer Kubernetes, managed
// databases and Spaces together.
var Regions = []string{"ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"}

// Weekdays are the values DOKS accepts for a maintenance window's day.
var Weekdays = []string{"any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// Workloads are the station's workloads that take an image from config.
var Workloads = []string{
	"site", "admin", "api", "chat", "analytics", "video",
	"icecast", "liquidsoap", "archiver", "onair", "statuspage",
	"postgres", "valkey", "minio", "minioClient", "postgresExporter",
	// movein is the nightly backup CronJobs' image (apps/movein).
	"movein",
}

// StationImages are the station's own images: this repository builds each one
// (images/<name>/ or apps/<name>/, .github/workflows/images.yml) as
// <registry>/<owner>/datafruits-<name>, and its Dockerfile is held against the
// pods that run it (tools/imagecheck).
var StationImages = []string{"site", "admin", "api", "chat", "video", "icecast", "liquidsoap", "archiver", "onair", "movein"}

// DefaultImages are the pinned third-party images; the station's own images
// (site, admin, api, chat, video, icecast, liquidsoap, archiver, onair, movein) have no
// default and must be set in each stack file.
var DefaultImages = map[string]string{
	"analytics":  "arp242/goatcounter:2.6.0",
	"statuspage": "twinproduction/gatus:v5.17.0",
	// The database's connections for the DatabaseConnectionsNearLimit alert.
	"postgresExporter": "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
	"postgres":         "postgres:16.6-bookworm",
	"valkey":           "valkey/valkey:8.0.2-bookworm",
	"minio":            "minio/minio:RELEASE.2025-04-22T22-12-26Z",
	"minioClient":      "minio/mc:RELEASE.2025-04-16T18-13-26Z",
}

// DefaultScaling are the autoscaler bounds of the workloads that scale out.
// Liquidsoap, video ingest and onair are single instances by design and are
// not listed.
var DefaultScaling = map[string]Scaling{
	"site":      {Min: 1, Max: 3},
	"admin":     {Min: 1, Max: 2},
	"api":       {Min: 1, Max: 4},
	"worker":    {Min: 1, Max: 4},
	"chat":      {Min: 1, Max: 6},
	"analytics": {Min: 1, Max: 2},
	"relay":     {Min: 1, Max: 4},
}

// Parts are the pieces of the station the RFC's roadmap moves one at a time
// (datafruits:moved). The analytics, the status page and the platform are new,
// not moved: they are always on.
var Parts = []string{"site", "admin", "api", "chat", "radio", "video"}

// IngressPorts are the ports Traefik's own entrypoints listen on in its pod (web, websecure,
// its ping/dashboard and metrics entrypoints of the chart): a DJ entrypoint must not take one.
var IngressPorts = []int{8000, 8080, 8443, 9100}

// RTMPPort is the TCP port VJs stream video to.
const RTMPPort = 1935

// ReservedHosts are host labels the station's workloads and platform use.
var ReservedHosts = []string{"www", "api", "chat", "admin", "stats", "video", "status", "grafana", "static", "media"}

// SecretKeys are the keys that must be set with `pulumi config set --secret`.
var SecretKeys = []string{"discordWebhookUrl", "apiEnv", "backupOffsiteKeyId", "backupOffsiteSecret", "legacyLiqSecret"}

// KnownKeys lists every key of the datafruits namespace the program reads.
func KnownKeys() []string {
	keys := []string{
		"foundation", "region", "vpcIpRange", "domain", "adminDomain", "protect",
		"kubernetesVersion", "clusterHA", "systemNodeSize", "systemNodeCount",
		"workloadNodeSize", "workloadMinNodes", "workloadMaxNodes", "maintenanceDay", "maintenanceStartTime",
		"databaseSize", "databaseNodeCount", "postgresVersion", "apiPoolSize",
		"valkeySize", "valkeyVersion", "bucketPrefix", "logRetentionDays",
		"helmCharts", "metricsServer", "chartMirror", "acmeEmail", "acmeServer", "storageClass", "ingressReplicas", "ingressAutoscale",
		"metricsRetention", "loadBalancer", "images", "scaling", "stations",
		"backupSchedule", "backupKeepCount", "backupKeepDays", "backupOffsite",
		"moved", "legacy", "dnsRecords", "formerHosts",
	}
	keys = append(keys, SecretKeys...)
	slices.Sort(keys)
	return keys
}

var (
	versionPrefixRe = regexp.MustCompile(`^1\.[0-9]{2}\.$`)
	dropletSlugRe   = regexp.MustCompile(`^(s|c|c2|g|gd|m|m3|so|so1_5)-[0-9]+vcpu-[0-9]+gb(-intel|-amd)?$`)
	databaseSlugRe  = regexp.MustCompile(`^(db|gd|m|so1_5)-s?-?[0-9]+vcpu-[0-9]+gb$`)
	clockRe         = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	bucketPrefixRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`)
	emailRe         = regexp.MustCompile(`^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+$`)
	dnsLabelRe      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	domainRe        = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	retentionRe     = regexp.MustCompile(`^[0-9]+(h|d|w|y)$`)
	// builtHereRe is an image the images workflow pushes: ghcr.io/<owner>/datafruits-<name>.
	builtHereRe = regexp.MustCompile(`^ghcr\.io/[a-z0-9][a-z0-9-]*/datafruits-([a-z]+):[A-Za-z0-9._-]{1,128}(@sha256:[a-f0-9]{64})?$`)
	imageRe     = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*(:[A-Za-z0-9._-]{1,128}(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$`)
	envNameRe   = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	// recordNameRe is a record name relative to the zone: "@" or labels of letters, digits,
	// dashes and underscores (_dmarc, google._domainkey, _xmpp-server._tcp).
	recordNameRe = regexp.MustCompile(`^(@|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*)$`)
	// hostnameRe is a fully qualified host name with its final dot, as record targets need.
	hostnameRe = regexp.MustCompile(`^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+$`)
	// cronRe is a five-field cron schedule of numbers, *, ranges, lists and steps (no names, no @daily).
	cronRe = regexp.MustCompile(`^[0-9*/,-]+( [0-9*/,-]+){4}$`)
	// vpcRangeRe is an RFC 1918 range from /16 to /24, as DigitalOcean VPCs take.
	vpcRangeRe = regexp.MustCompile(`^(10\.[0-9]{1,3}|172\.(1[6-9]|2[0-9]|3[01])|192\.168)\.[0-9]{1,3}\.0/(1[6-9]|2[0-4])$`)
)
