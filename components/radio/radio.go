// Package radio declares one radio station in its own namespace: Icecast
// behind a Service named "icecast" (Liquidsoap pushes to that host), listener
// relays that scale out at stream.<domain>, Liquidsoap as a single writer with
// DJ input on the ingress's TCP entrypoint and a volume for recordings, the
// archiver beside it, and the onair watcher.
package radio

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/datafruits/infra/components/namespace"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/workload"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
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
	// StreamFormerHosts are the hosts listeners reached the stream at before the move,
	// served by the relays the same (optional; see workload.Route.FormerHosts).
	StreamFormerHosts []string
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
	// LiqSecret is the shared secret Liquidsoap sends the API as `liq-secret` (required, secret).
	LiqSecret pulumi.StringInput
	// API is how Liquidsoap reaches the API in the cluster (required).
	API API
	// VideoFrom is the video server, allowed to push RTMP to Liquidsoap (optional; none when empty).
	VideoFrom *netpol.Peer
	// Platform names the ingress and monitoring namespaces (required).
	Platform workload.PlatformRefs
}

// API is the API as Liquidsoap calls it.
type API struct {
	// URL is its in-cluster base URL, e.g. http://api.station.svc.cluster.local:3000 (required).
	URL string
	// Host is the Host header that selects this station's radio: the API picks the radio by
	// the Host's subdomain (required, e.g. datafruits.datafruits.fm).
	Host string
	// Peer selects the API's pods and port, for the network policy (required).
	Peer netpol.Peer
}

// Archive is where the archiver puts recordings.
type Archive struct {
	// DatabaseURL is the archiver's Postgres database (required, secret).
	DatabaseURL pulumi.StringInput
	// APIDatabaseURL is the API's database, direct (not through PgBouncer),
	// where archived sets are registered in its recordings and tracks tables
	// (optional, secret; without it the API never lists them).
	APIDatabaseURL pulumi.StringInput
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
	rtmpInPort   = RTMPInPort
	metricsPort  = 9100
	archiverPort = 8080
	// reconnectWindowSeconds: a DJ back within it continues the same
	// recording file (Liquidsoap appends to it).
	reconnectWindowSeconds = 60
	// archiverQuietSeconds is how long a recording must stay unchanged before
	// the archiver takes it: twice the reconnect window, so a set is never
	// archived while its DJ may still come back and append to it.
	archiverQuietSeconds = 2 * reconnectWindowSeconds
	onairPort            = 8081
)

// RTMPInPort is where Liquidsoap takes the video server's RTMP push.
const RTMPInPort = 1936

// Paths inside the station's containers.
const (
	icecastConfigDir  = "/etc/icecast"
	icecastSecretsDir = "/run/secrets/icecast"
	icecastRunDir     = "/var/run/icecast"
	liquidsoapDir     = "/etc/liquidsoap"
	recordingsDir     = "/recordings/archive"
	// RTMPApp and RTMPStream are where the video server pushes the VJ's stream on Liquidsoap.
	RTMPApp, RTMPStream = "live", "vj"
)

// RelayCPU is a relay's CPU request, the budget the autoscaler's target is a share of, and
// RelayMaxListeners what one relay accepts: `make bench` measures how many listeners a
// relay serves within RelayCPU (docs/radio.md); the cap leaves headroom above the
// autoscaler's 70% target so a scale-out happens before listeners are refused.
const (
	RelayCPU          = "100m"
	RelayMaxListeners = 500
)

// RelayUpdateSeconds is how often a relay asks the source server for its mounts.
const RelayUpdateSeconds = 10

// IcecastConfig is the source server's configuration for a station.
func IcecastConfig(station, hostname string) Icecast {
	return Icecast{
		Station: station, Hostname: hostname, AdminEmail: "radio@" + hostname,
		BindAddress: "0.0.0.0", Port: icecastPort,
		// Sources: two mounts plus room for a reconnect overlapping the old connection.
		MaxClients: 100, MaxSources: 4, SourceTimeoutSeconds: 10, BurstSize: 131070,
		ShareDir: "/usr/share/icecast2", LogDir: icecastRunDir,
	}
}

// RelayConfig is a listener relay's configuration: every mount of the source server.
func RelayConfig(station, hostname string, maxListeners int) Icecast {
	c := IcecastConfig(station, hostname)
	c.MaxClients, c.MaxSources = maxListeners, 4
	c.Master = &IcecastMaster{Host: "icecast", Port: icecastPort, UpdateIntervalSeconds: RelayUpdateSeconds}
	return c
}

// LiquidsoapConfig is the station's Liquidsoap configuration.
func LiquidsoapConfig(station string, api API) Liquidsoap {
	return Liquidsoap{
		Station: station, BindAddress: "0.0.0.0",
		HarborPort: harborPort, HarborBufferSeconds: 5, HarborMaxSeconds: 20,
		IcecastHost: "icecast", IcecastPort: icecastPort,
		APIURL: api.URL, APIHost: api.Host, APITimeoutMillis: 5000,
		RecordingsDir: recordingsDir, ReconnectWindowSeconds: reconnectWindowSeconds,
		RTMPPort: rtmpInPort, RTMPApp: RTMPApp, RTMPStream: RTMPStream, MetricsPort: metricsPort,
		// 20 s below -40 dB: longer than a quiet fade, short enough for the alert to matter.
		DeadAirSeconds: 20, DeadAirThresholdDB: -40,
		MP3Bitrate: 128, VorbisQuality: "0.4",
	}
}

// VideoConfig is the video server's configuration; it pushes to the Liquidsoap at
// liquidsoapHost and checks publishers' stream keys at publishAuthURL.
func VideoConfig(rtmpPort, httpPort int, liquidsoapHost, publishAuthURL string) Video {
	return Video{
		BindAddress: "0.0.0.0", RTMPPort: rtmpPort, HTTPPort: httpPort, App: "live",
		PublishAuthURL: publishAuthURL, RunDir: "/var/run/video",
		HLSFragmentSeconds: 2, HLSPlaylistSeconds: 12,
		LiquidsoapHost: liquidsoapHost, LiquidsoapRTMPPort: rtmpInPort, LiquidsoapApp: RTMPApp, LiquidsoapStream: RTMPStream,
	}
}

// LiquidsoapHost is the in-cluster host of a station's Liquidsoap (its harbor and RTMP input).
func LiquidsoapHost(name, namespace string) string {
	return name + "-liquidsoap." + namespace + ".svc.cluster.local"
}

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
	// Icecast reads its passwords from files the start script fills in (never a ConfigMap).
	icecastFiles := &workload.SecretFiles{
		MountPath: icecastSecretsDir,
		Files:     pulumi.StringMap{"source-password": source.Result, "relay-password": relay.Result, "admin-password": admin.Result},
		Names:     []string{"admin-password", "relay-password", "source-password"},
	}
	labels := map[string]string{"datafruits.fm/station": args.Station}
	peer := func(workloadName string, ports ...int) netpol.Peer {
		return netpol.Peer{PodLabels: map[string]string{"app.kubernetes.io/name": workloadName}, Ports: ports}
	}
	icecastProbe := &workload.Probe{HTTPPath: "/status-json.xsl", Port: "http"}
	icecastEnv := map[string]string{
		"ICECAST_TEMPLATE": icecastConfigDir + "/icecast.xml", "ICECAST_SECRETS_DIR": icecastSecretsDir, "ICECAST_RUN_DIR": icecastRunDir,
	}
	icecastCommand := []string{"/bin/sh", icecastConfigDir + "/icecast-start.sh"}
	sourceXML, err := RenderIcecast(IcecastConfig(args.Station, args.StreamHost))
	if err != nil {
		return nil, err
	}
	relayXML, err := RenderIcecast(RelayConfig(args.Station, args.StreamHost, RelayMaxListeners))
	if err != nil {
		return nil, err
	}

	// The source Icecast: Liquidsoap's only destination. The Service must be
	// named "icecast": that is the host Liquidsoap and the relays use.
	if _, err := workload.New(ctx, name+"-icecast", &workload.Args{
		Namespace: args.Namespace, ServiceName: "icecast", Image: args.Images["icecast"],
		Command: icecastCommand, Env: icecastEnv, SecretFiles: icecastFiles,
		ConfigFiles: &workload.ConfigFiles{MountPath: icecastConfigDir, Files: map[string]string{"icecast.xml": string(sourceXML), "icecast-start.sh": IcecastStartScript}},
		Ports:       []workload.Port{{Name: "http", Number: icecastPort}},
		Probe:       icecastProbe, Resources: workload.Resources{CPU: "100m", Memory: "128Mi"},
		ScratchPaths: []string{"/tmp", icecastRunDir},
		IngressFrom:  []netpol.Peer{peer(name+"-liquidsoap", icecastPort), peer(name+"-relay", icecastPort), peer(name+"-onair", icecastPort)},
		Platform:     args.Platform, Labels: labels,
	}, parent, after); err != nil {
		return nil, err
	}

	// Listener relays: a source attaches to one Icecast, so listeners scale
	// out through relays of it, not replicas of it.
	relayWorkload, err := workload.New(ctx, name+"-relay", &workload.Args{
		Namespace: args.Namespace, Image: args.Images["icecast"],
		Command: icecastCommand, Env: icecastEnv, SecretFiles: icecastFiles,
		ConfigFiles: &workload.ConfigFiles{MountPath: icecastConfigDir, Files: map[string]string{"icecast.xml": string(relayXML), "icecast-start.sh": IcecastStartScript}},
		Ports:       []workload.Port{{Name: "http", Number: icecastPort}},
		Probe:       icecastProbe, Resources: workload.Resources{CPU: RelayCPU, Memory: "128Mi"},
		Scaling: &args.Relays, ScratchPaths: []string{"/tmp", icecastRunDir}, Headless: true,
		Route:       &workload.Route{Host: args.StreamHost, LongLived: true, HealthPath: "/status-json.xsl", FormerHosts: args.StreamFormerHosts},
		IngressFrom: []netpol.Peer{peer(name+"-onair", icecastPort)},
		EgressTo:    []netpol.Peer{peer(name+"-icecast", icecastPort)},
		Platform:    args.Platform, Labels: labels,
	}, parent, after)
	if err != nil {
		return nil, err
	}

	archiverEnv := map[string]string{
		"ARCHIVER_STATION": args.Station, "ARCHIVER_WATCH_DIR": recordingsDir,
		"ARCHIVER_QUIET_PERIOD": fmt.Sprintf("%ds", archiverQuietSeconds),
		"ARCHIVER_LISTEN_ADDR":  fmt.Sprintf(":%d", archiverPort), "S3_REGION": args.Archive.S3Region,
		"S3_FORCE_PATH_STYLE": strconv.FormatBool(args.Archive.ForcePathStyle),
	}
	archiverSecrets := pulumi.StringMap{
		"DATABASE_URL": args.Archive.DatabaseURL, "S3_ENDPOINT": args.Archive.S3Endpoint,
		"S3_BUCKET": args.Archive.Bucket, "S3_KEY": args.Archive.AccessKeyID,
		"S3_SECRET": args.Archive.SecretAccessKey, "PUBLIC_BASE_URL": args.Archive.PublicBaseURL,
	}
	archiverKeys := []string{"DATABASE_URL", "PUBLIC_BASE_URL", "S3_BUCKET", "S3_ENDPOINT", "S3_KEY", "S3_SECRET"}
	if args.Archive.APIDatabaseURL != nil {
		archiverSecrets["API_DATABASE_URL"] = args.Archive.APIDatabaseURL
		archiverKeys = append(archiverKeys, "API_DATABASE_URL")
	}
	if args.DiscordWebhookURL != nil {
		archiverSecrets["DISCORD_WEBHOOK_URL"] = args.DiscordWebhookURL
		archiverKeys = append(archiverKeys, "DISCORD_WEBHOOK_URL")
	}
	script, err := RenderLiquidsoap(LiquidsoapConfig(args.Station, args.API))
	if err != nil {
		return nil, err
	}
	liquidsoapIngress := []netpol.Peer{
		// Prometheus scrapes the dead-air gauge (the liquidsoap-metrics Service below).
		{Namespace: args.Platform.MonitoringNamespace, Ports: []int{metricsPort}},
	}
	if args.VideoFrom != nil {
		video := *args.VideoFrom
		video.Ports = []int{rtmpInPort}
		liquidsoapIngress = append(liquidsoapIngress, video)
	}
	// Liquidsoap: exactly one writer of the recordings volume, so one replica
	// and Recreate (a rolling update would start a second pod on the same volume).
	// It runs the script the program rendered, not the one baked into the station's
	// image: the image is pinned to the Liquidsoap minor the script is tested on.
	if _, err := workload.New(ctx, name+"-liquidsoap", &workload.Args{
		Namespace: args.Namespace, Image: args.Images["liquidsoap"],
		Command:     []string{"liquidsoap", liquidsoapDir + "/radio.liq"},
		ConfigFiles: &workload.ConfigFiles{MountPath: liquidsoapDir, Files: map[string]string{"radio.liq": string(script)}},
		Ports: []workload.Port{
			{Name: "harbor", Number: harborPort}, {Name: "rtmp-in", Number: rtmpInPort}, {Name: "liq-metrics", Number: metricsPort},
		},
		SecretEnv:     pulumi.StringMap{"ICECAST_SOURCE_PASSWORD": source.Result, "LIQ_SECRET": args.LiqSecret},
		SecretEnvKeys: []string{"ICECAST_SOURCE_PASSWORD", "LIQ_SECRET"},
		Probe:         &workload.Probe{Port: "harbor"}, Resources: workload.Resources{CPU: "250m", Memory: "512Mi"},
		Replicas: 1, Recreate: true, ScratchPaths: []string{"/tmp"},
		Volume:      &workload.Volume{Name: "recordings", MountPath: "/recordings", Size: args.RecordingsSize, StorageClass: args.StorageClass},
		TCPRoutes:   []workload.TCPRoute{{Entrypoint: args.DJEntrypoint, Host: args.DJHost, ExternalPort: args.DJPort, Port: "harbor"}},
		IngressFrom: liquidsoapIngress,
		// Liquidsoap: Icecast and the API (DJ logins, notifications, the backup playlist,
		// whose tracks are on the media CDN); the archiver: the database and the bucket.
		EgressTo:    append([]netpol.Peer{peer(name+"-icecast", icecastPort), args.API.Peer, netpol.Internet(443)}, args.Archive.Egress...),
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
	// The workload's Service is annotated for the archiver's metrics, and
	// Prometheus' annotated-services job takes one port per Service: a second
	// Service carries Liquidsoap's own (the dead-air gauge).
	if _, err := corev1.NewService(ctx, name+"-liquidsoap-metrics", &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String("liquidsoap-metrics"), Namespace: pulumi.String(args.Namespace),
			Annotations: pulumi.StringMap{
				"prometheus.io/scrape": pulumi.String("true"),
				"prometheus.io/port":   pulumi.String(strconv.Itoa(metricsPort)),
			},
		},
		Spec: &corev1.ServiceSpecArgs{
			Selector: workload.SelectorLabels(name + "-liquidsoap"),
			Ports:    corev1.ServicePortArray{&corev1.ServicePortArgs{Name: pulumi.String("liq-metrics"), Port: pulumi.Int(metricsPort), TargetPort: pulumi.String("liq-metrics")}},
		},
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
			// Naming the mounts makes their metrics exist (at 0) before a source connects,
			// so the "stream gone" alert has a series to watch; the first is announced.
			"ONAIR_MOUNTS": "/" + args.Station + ".mp3,/" + args.Station + ".ogg",
			// Liquidsoap keeps the mounts up; a DJ going live is its "LIVE -- <dj>" title.
			"ONAIR_LIVE_PREFIX": "LIVE -- ",
			// Every relay's listeners, found through the relays' headless Service.
			"ONAIR_RELAYS": fmt.Sprintf("dns+http://%s-relay-headless.%s.svc.cluster.local:%d", name, args.Namespace, icecastPort),
		},
		// Not /readyz: it fails while Icecast is down, and onair must keep
		// serving the last known state (marked stale) exactly then.
		Probe:       &workload.Probe{HTTPPath: "/livez", Port: "http"},
		Resources:   workload.Resources{CPU: "50m", Memory: "128Mi"},
		Route:       &workload.Route{Host: args.StreamHost, Path: "/now-playing", LongLived: true, FormerHosts: args.StreamFormerHosts},
		MetricsPort: "http",
		EgressTo:    []netpol.Peer{peer(name+"-icecast", icecastPort), peer(name+"-relay", icecastPort), netpol.Internet(443)},
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

// stationNameRe: a station names a namespace (radio-<name>), Services and mounts.
var stationNameRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)

// liquidsoapTagRe finds the version in an image tag: 2.1.3, v2.1.3, v2.1.x-latest.
var liquidsoapTagRe = regexp.MustCompile(`^v?(\d+)\.(\d+)(\.|$|-)`)

// CheckLiquidsoapImage refuses a Liquidsoap image whose tag is not the minor version the
// rendered script is tested on (TestedLiquidsoapMinor). A digest may follow the tag (the
// images workflow pins name:tag@sha256:...); a digest alone says no version.
func CheckLiquidsoapImage(image string) error {
	name, _, _ := strings.Cut(image, "@")
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		tag = name[i+1:]
	}
	m := liquidsoapTagRe.FindStringSubmatch(tag)
	if m == nil || m[1]+"."+m[2] != TestedLiquidsoapMinor {
		return fmt.Errorf("Images[\"liquidsoap\"] = %q: the rendered script is tested on Liquidsoap %s; allowed: an image tagged %s.x (e.g. ghcr.io/datafruits/datafruits-liquidsoap:%s, images/liquidsoap)",
			image, LiquidsoapVersion, TestedLiquidsoapMinor, LiquidsoapVersion)
	}
	return nil
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil:
		return fmt.Errorf("radio %s: args are required", name)
	case a.Station == "" || a.Namespace == "" || a.StreamHost == "" || a.DJHost == "" || a.DJEntrypoint == "" || a.DJPort == 0:
		return fmt.Errorf("radio %s: Station, Namespace, StreamHost, DJHost, DJEntrypoint and DJPort are required", name)
	case a.StorageClass == "" || a.Archive.DatabaseURL == nil || a.Archive.Bucket == nil || a.Archive.PublicBaseURL == nil:
		return fmt.Errorf("radio %s: StorageClass and the Archive's database, bucket and public URL are required", name)
	case a.LiqSecret == nil || a.API.URL == "" || a.API.Host == "":
		return fmt.Errorf("radio %s: LiqSecret, API.URL and API.Host are required", name)
	case !stationNameRe.MatchString(a.Station):
		return fmt.Errorf("radio %s: Station %q must be a mount and DNS label: lowercase letters, digits and '-', at most 40 characters, starting with a letter", name, a.Station)
	}
	for _, role := range []string{"icecast", "liquidsoap", "archiver", "onair"} {
		if a.Images[role] == "" {
			return fmt.Errorf("radio %s: Images[%q] is required", name, role)
		}
	}
	if err := CheckLiquidsoapImage(a.Images["liquidsoap"]); err != nil {
		return fmt.Errorf("radio %s: %w", name, err)
	}
	if a.RecordingsSize == "" {
		a.RecordingsSize = "20Gi"
	}
	return nil
}
