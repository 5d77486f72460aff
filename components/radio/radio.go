// Package radio declares one radio station in its own namespace: Icecast
// behind a Service named "icecast" (Liquidsoap pushes to that host), listener
// relays that scale out at stream.<domain>, Liquidsoap as a single writer with
// DJ input on the ingress's TCP entrypoint and a volume for recordings, the
// archiver beside it, and the onair watcher.
package radio

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/datafruits/infra/components/namespace"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/workload"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures a station.
type Args struct {
	// Station is the station's name (required; a DNS label).
	Station string
	// Namespace is the station's namespace (required).
	Namespace string
	// Images are the images by role: icecast, liquidsoap, archiver, onair (required).
	Images map[string]string
	// StreamHost is the listeners' public host (required).
	StreamHost string
	// DJHost is the DJs' public host (required).
	DJHost string
	// DJEntrypoint is the ingress's TCP entrypoint for DJ input (required).
	DJEntrypoint string
	// DJPort is the entrypoint's public port (required).
	DJPort int
	// Relays bounds the listener relays' autoscaler (required).
	Relays workload.Scaling
	// StorageClass backs the recordings volume (required).
	StorageClass string
	// RecordingsSize is the recordings volume's size (optional; default "20Gi").
	RecordingsSize string
	// Archive is where recordings go (required).
	Archive Archive
	// AllowedOrigins may read now-playing from a browser (required).
	AllowedOrigins []string
	// DiscordWebhookURL receives announcements (secret; optional).
	DiscordWebhookURL pulumi.StringInput
	// Platform names the ingress and monitoring namespaces (required).
	Platform workload.PlatformRefs
}

// Archive is where the archiver puts recordings.
type Archive struct {
	// DatabaseURL is the archiver's Postgres database (required, secret).
	DatabaseURL pulumi.StringInput
	// S3Endpoint, S3Region, Bucket and the key locate the media bucket (required; secret key).
	S3Endpoint      pulumi.StringInput
	S3Region        string
	Bucket          pulumi.StringInput
	AccessKeyID     pulumi.StringInput
	SecretAccessKey pulumi.StringInput
	// ForcePathStyle is true for Spaces and MinIO (optional).
	ForcePathStyle bool
	// PublicBaseURL is the CDN URL objects are served from (required).
	PublicBaseURL pulumi.StringInput
	// Egress is where the database and the bucket are, for the network policy (required).
	Egress []netpol.Peer
}

// Radio is one station.
type Radio struct {
	pulumi.ResourceState

	// ListenURL is the public listen URL base.
	ListenURL pulumi.StringOutput `pulumi:"listenUrl"`
	// DJInput is where DJs point their encoders, host:port.
	DJInput pulumi.StringOutput `pulumi:"djInput"`
	// SourcePassword is the Icecast source password Liquidsoap uses (secret).
	SourcePassword pulumi.StringOutput `pulumi:"sourcePassword"`
	// AdminPassword is Icecast's admin password (secret).
	AdminPassword pulumi.StringOutput `pulumi:"adminPassword"`

	// Endpoints are the station's public ways in.
	Endpoints []workload.Endpoint
}

// Ports of the station's containers.
const (
	icecastPort  = 8000
	harborPort   = 9000
	rtmpInPort   = 1936
	archiverPort = 8080
	onairPort    = 8081
)

// New declares the station.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Radio, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	r := &Radio{}
	if err := ctx.RegisterComponentResource("datafruits:radio:Radio", name, r, opts...); err != nil {
		return nil, err
	}
	// Each station has its own namespace, so every station's Liquidsoap
	// finds its own Icecast at the host "icecast".
	ns, err := namespace.New(ctx, name+"-namespace", &namespace.Args{
		Name: args.Namespace, ACMESolversFrom: args.Platform.IngressNamespace,
	}, pulumi.Parent(r))
	if err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)
	after := pulumi.DependsOn([]pulumi.Resource{ns})
	password := func(role string) (*random.RandomPassword, error) {
		return random.NewRandomPassword(ctx, name+"-"+role, &random.RandomPasswordArgs{Length: pulumi.Int(32), Special: pulumi.Bool(false)}, parent)
	}
	// Never Icecast's upstream default password: each is generated and secret.
	source, err := password("source-password")
	if err != nil {
		return nil, err
	}
	admin, err := password("admin-password")
	if err != nil {
		return nil, err
	}
	relay, err := password("relay-password")
	if err != nil {
		return nil, err
	}
	icecastSecrets := pulumi.StringMap{
		"ICECAST_SOURCE_PASSWORD": source.Result,
		"ICECAST_ADMIN_PASSWORD":  admin.Result,
		"ICECAST_RELAY_PASSWORD":  relay.Result,
	}
	icecastSecretKeys := []string{"ICECAST_ADMIN_PASSWORD", "ICECAST_RELAY_PASSWORD", "ICECAST_SOURCE_PASSWORD"}
	labels := map[string]string{"datafruits.fm/station": args.Station}
	peer := func(workloadName string, ports ...int) netpol.Peer {
		return netpol.Peer{PodLabels: map[string]string{"app.kubernetes.io/name": workloadName}, Ports: ports}
	}
	icecastProbe := &workload.Probe{HTTPPath: "/status-json.xsl", Port: "http"}

	// The source Icecast: Liquidsoap's only destination. The Service must be
	// named "icecast": that is the host Liquidsoap pushes to.
	if _, err := workload.New(ctx, name+"-icecast", &workload.Args{
		Namespace: args.Namespace, ServiceName: "icecast", Image: args.Images["icecast"],
		Ports:     []workload.Port{{Name: "http", Number: icecastPort}},
		Env:       map[string]string{"ICECAST_HOSTNAME": args.StreamHost, "ICECAST_MAX_SOURCES": "4"},
		SecretEnv: icecastSecrets, SecretEnvKeys: icecastSecretKeys,
		Probe: icecastProbe, Resources: workload.Resources{CPU: "100m", Memory: "128Mi"},
		ScratchPaths: []string{"/tmp", "/var/log/icecast2"},
		IngressFrom:  []netpol.Peer{peer(name+"-liquidsoap", icecastPort), peer(name+"-relay", icecastPort), peer(name+"-onair", icecastPort)},
		Platform:     args.Platform, Labels: labels,
	}, parent, after); err != nil {
		return nil, err
	}

	// Listener relays: a source attaches to one Icecast, so listeners scale
	// out through relays of it, not replicas of it.
	relayWorkload, err := workload.New(ctx, name+"-relay", &workload.Args{
		Namespace: args.Namespace, Image: args.Images["icecast"],
		Ports: []workload.Port{{Name: "http", Number: icecastPort}},
		Env: map[string]string{
			"ICECAST_HOSTNAME": args.StreamHost, "ICECAST_RELAY_MASTER": "icecast",
			"ICECAST_RELAY_MASTER_PORT": strconv.Itoa(icecastPort), "ICECAST_MAX_CLIENTS": "500",
		},
		SecretEnv: icecastSecrets, SecretEnvKeys: icecastSecretKeys,
		Probe: icecastProbe, Resources: workload.Resources{CPU: "100m", Memory: "128Mi"},
		Scaling: &args.Relays, ScratchPaths: []string{"/tmp", "/var/log/icecast2"},
		Route:    &workload.Route{Host: args.StreamHost, LongLived: true, HealthPath: "/status-json.xsl"},
		EgressTo: []netpol.Peer{peer(name+"-icecast", icecastPort)},
		Platform: args.Platform, Labels: labels,
	}, parent, after)
	if err != nil {
		return nil, err
	}

	archiverEnv := map[string]string{
		"ARCHIVER_STATION": args.Station, "ARCHIVER_WATCH_DIR": "/recordings/archive",
		"ARCHIVER_LISTEN_ADDR": fmt.Sprintf(":%d", archiverPort), "S3_REGION": args.Archive.S3Region,
		"S3_FORCE_PATH_STYLE": strconv.FormatBool(args.Archive.ForcePathStyle),
	}
	archiverSecrets := pulumi.StringMap{
		"DATABASE_URL": args.Archive.DatabaseURL, "S3_ENDPOINT": args.Archive.S3Endpoint,
		"S3_BUCKET": args.Archive.Bucket, "S3_KEY": args.Archive.AccessKeyID,
		"S3_SECRET": args.Archive.SecretAccessKey, "PUBLIC_BASE_URL": args.Archive.PublicBaseURL,
	}
	archiverKeys := []string{"DATABASE_URL", "PUBLIC_BASE_URL", "S3_BUCKET", "S3_ENDPOINT", "S3_KEY", "S3_SECRET"}
	if args.DiscordWebhookURL != nil {
		archiverSecrets["DISCORD_WEBHOOK_URL"] = args.DiscordWebhookURL
		archiverKeys = append(archiverKeys, "DISCORD_WEBHOOK_URL")
	}
	// Liquidsoap: exactly one writer of the recordings volume, so one replica
	// and Recreate (a rolling update would start a second pod on the same volume).
	if _, err := workload.New(ctx, name+"-liquidsoap", &workload.Args{
		Namespace: args.Namespace, Image: args.Images["liquidsoap"],
		Ports: []workload.Port{{Name: "harbor", Number: harborPort}, {Name: "rtmp-in", Number: rtmpInPort}},
		Env: map[string]string{
			"ICECAST_HOST": "icecast", "ICECAST_PORT": strconv.Itoa(icecastPort), "STATION": args.Station,
			"HARBOR_PORT": strconv.Itoa(harborPort), "RECORDINGS_DIR": "/recordings/archive", "HLS_DIR": "/recordings/hls",
		},
		SecretEnv: pulumi.StringMap{"ICECAST_SOURCE_PASSWORD": source.Result}, SecretEnvKeys: []string{"ICECAST_SOURCE_PASSWORD"},
		Probe: &workload.Probe{Port: "harbor"}, Resources: workload.Resources{CPU: "250m", Memory: "512Mi"},
		Replicas: 1, Recreate: true, ScratchPaths: []string{"/tmp"},
		Volume:      &workload.Volume{Name: "recordings", MountPath: "/recordings", Size: args.RecordingsSize, StorageClass: args.StorageClass},
		TCPRoutes:   []workload.TCPRoute{{Entrypoint: args.DJEntrypoint, Host: args.DJHost, ExternalPort: args.DJPort, Port: "harbor"}},
		EgressTo:    append([]netpol.Peer{peer(name+"-icecast", icecastPort), netpol.Internet(443)}, args.Archive.Egress...),
		MetricsPort: "archiver-http",
		Sidecars: []workload.Sidecar{{
			Name: "archiver", Image: args.Images["archiver"],
			Ports: []workload.Port{{Name: "archiver-http", Number: archiverPort}},
			Env:   archiverEnv, SecretEnv: archiverSecrets, SecretEnvKeys: archiverKeys,
			Probe:     &workload.Probe{HTTPPath: "/livez", Port: "archiver-http"},
			Resources: workload.Resources{CPU: "50m", Memory: "96Mi"}, MountVolume: "/recordings",
		}},
		Platform: args.Platform, Labels: labels,
	}, parent, after); err != nil {
		return nil, err
	}

	onairSecrets := pulumi.StringMap{}
	var onairKeys []string
	if args.DiscordWebhookURL != nil {
		onairSecrets["DISCORD_WEBHOOK_URL"] = args.DiscordWebhookURL
		onairKeys = append(onairKeys, "DISCORD_WEBHOOK_URL")
	}
	onairArgs := &workload.Args{
		Namespace: args.Namespace, Image: args.Images["onair"],
		Ports: []workload.Port{{Name: "http", Number: onairPort}},
		Env: map[string]string{
			"ONAIR_STATION": args.Station, "ONAIR_ICECAST_URL": fmt.Sprintf("http://icecast:%d", icecastPort),
			"ONAIR_LISTEN_URL": "https://" + args.StreamHost, "ONAIR_ALLOWED_ORIGINS": strings.Join(args.AllowedOrigins, ","),
			"ONAIR_LISTEN_ADDR": fmt.Sprintf(":%d", onairPort),
			// Naming the mount makes its metrics exist (at 0) before a source connects,
			// so the "stream gone" alert has a series to watch.
			"ONAIR_MOUNTS": "/" + args.Station + ".mp3",
		},
		// Not /readyz: it fails while Icecast is down, and onair must keep
		// serving the last known state (marked stale) exactly then.
		Probe:       &workload.Probe{HTTPPath: "/livez", Port: "http"},
		Resources:   workload.Resources{CPU: "50m", Memory: "128Mi"},
		Route:       &workload.Route{Host: args.StreamHost, Path: "/now-playing", LongLived: true},
		MetricsPort: "http",
		EgressTo:    []netpol.Peer{peer(name+"-icecast", icecastPort), netpol.Internet(443)},
		Platform:    args.Platform, Labels: labels, RunAsUser: 65532,
	}
	if len(onairKeys) > 0 {
		onairArgs.SecretEnv, onairArgs.SecretEnvKeys = onairSecrets, onairKeys
	}
	if _, err := workload.New(ctx, name+"-onair", onairArgs, parent, after); err != nil {
		return nil, err
	}

	r.Endpoints = append(r.Endpoints, relayWorkload.Endpoints...)
	r.Endpoints = append(r.Endpoints, workload.Endpoint{Workload: name + "-liquidsoap", Namespace: args.Namespace, Host: args.DJHost, Protocol: "tcp", Port: args.DJPort})
	r.ListenURL = pulumi.Sprintf("https://%s", args.StreamHost)
	r.DJInput = pulumi.Sprintf("%s:%d", args.DJHost, args.DJPort)
	r.SourcePassword = pulumi.ToSecret(source.Result).(pulumi.StringOutput)
	r.AdminPassword = pulumi.ToSecret(admin.Result).(pulumi.StringOutput)
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{
		"listenUrl": r.ListenURL, "djInput": r.DJInput, "sourcePassword": r.SourcePassword, "adminPassword": r.AdminPassword,
	})
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil:
		return fmt.Errorf("radio %s: args are required", name)
	case a.Station == "" || a.Namespace == "" || a.StreamHost == "" || a.DJHost == "" || a.DJEntrypoint == "" || a.DJPort == 0:
		return fmt.Errorf("radio %s: Station, Namespace, StreamHost, DJHost, DJEntrypoint and DJPort are required", name)
	case a.StorageClass == "" || a.Archive.DatabaseURL == nil || a.Archive.Bucket == nil || a.Archive.PublicBaseURL == nil:
		return fmt.Errorf("radio %s: StorageClass and the Archive's database, bucket and public URL are required", name)
	}
	for _, role := range []string{"icecast", "liquidsoap", "archiver", "onair"} {
		if a.Images[role] == "" {
			return fmt.Errorf("radio %s: Images[%q] is required", name, role)
		}
	}
	if a.RecordingsSize == "" {
		a.RecordingsSize = "20Gi"
	}
	return nil
}
