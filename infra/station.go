package main

import (
	"fmt"

	"github.com/datafruits/infra/components/namespace"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/radio"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// stationNamespace holds the station's web workloads; each radio has its own.
const stationNamespace = "station"

// Station is the RFC's workloads.
type Station struct {
	// Endpoints are every public way into the station.
	Endpoints []workload.Endpoint
	// Radios are the stations' radio components, by station name.
	Radios map[string]*radio.Radio
}

func station(ctx *pulumi.Context, cfg *stacks.Config, f *Foundation, p *Platform) (*Station, error) {
	k8s := pulumi.Providers(providers(f)...)
	ns, err := namespace.New(ctx, "station", &namespace.Args{Name: stationNamespace, ACMESolversFrom: platformNamespace}, k8s)
	if err != nil {
		return nil, err
	}
	after := pulumi.DependsOn(append([]pulumi.Resource{ns}, p.Namespaces...))
	s := &Station{Radios: map[string]*radio.Radio{}}
	scaling := func(name string) *workload.Scaling {
		b := cfg.Scaling[name]
		return &workload.Scaling{Min: b.Min, Max: b.Max}
	}
	secret := func(name string, length int) (pulumi.StringOutput, error) {
		r, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{Length: pulumi.Int(length), Special: pulumi.Bool(false)})
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return r.Result, nil
	}
	egress := func(needs ...string) []netpol.Peer {
		var peers []netpol.Peer
		for _, n := range needs {
			peers = append(peers, f.Egress[n]...)
		}
		return peers
	}
	base := func(a *workload.Args) *workload.Args {
		a.Namespace = stationNamespace
		a.Platform = p.Refs
		return a
	}
	add := func(name string, a *workload.Args) error {
		w, err := workload.New(ctx, name, base(a), k8s, after)
		if err != nil {
			return err
		}
		s.Endpoints = append(s.Endpoints, w.Endpoints...)
		return nil
	}
	host := func(label string) string { return label + "." + cfg.Domain }

	// Site: Ember FastBoot at the apex. It renders pages by calling the public API.
	if err := add("site", &workload.Args{
		Image: cfg.Images["site"], Ports: []workload.Port{{Name: "http", Number: 3000}},
		Env:   map[string]string{"NODE_ENV": "production", "API_URL": "https://" + host("api")},
		Probe: &workload.Probe{HTTPPath: "/", Port: "http"}, Scaling: scaling("site"),
		Resources: workload.Resources{CPU: "100m", Memory: "256Mi"}, ScratchPaths: []string{"/tmp"},
		Route: &workload.Route{Host: cfg.Domain}, EgressTo: []netpol.Peer{netpol.Internet(443)},
	}); err != nil {
		return nil, err
	}
	// Admin: the streampusher front end, a static Ember build.
	if err := add("admin", &workload.Args{
		Image: cfg.Images["admin"], Ports: []workload.Port{{Name: "http", Number: 8080}},
		Probe: &workload.Probe{HTTPPath: "/", Port: "http"}, Scaling: scaling("admin"),
		Resources: workload.Resources{CPU: "20m", Memory: "64Mi"}, ScratchPaths: []string{"/tmp", "/var/cache/nginx", "/var/run"},
		Route: &workload.Route{Host: cfg.AdminDomain},
	}); err != nil {
		return nil, err
	}

	// API and its Sidekiq worker share one image, one configuration and the
	// PgBouncer pool, Valkey and the media bucket.
	secretKeyBase, err := secret("api-secret-key-base", 64)
	if err != nil {
		return nil, err
	}
	apiEnv := map[string]string{
		"RAILS_ENV": "production", "RAILS_LOG_TO_STDOUT": "true",
		// Falcon binds to loopback by default: unreachable from the Service.
		"FALCON_BIND": "http://0.0.0.0:3000", "S3_REGION": f.S3.Region,
		"REDIS_TLS": fmt.Sprint(f.Redis.TLS),
	}
	apiSecrets := pulumi.StringMap{
		"DATABASE_URL": f.APIDatabaseURL, "REDIS_URL": f.Redis.URL, "REDIS_HOST": f.Redis.Host,
		"REDIS_PASSWORD": f.Redis.Password, "S3_KEY": f.S3.AppsKeyID, "S3_SECRET": f.S3.AppsSecret,
		"S3_BUCKET": f.S3.Media, "S3_ENDPOINT": f.S3.Endpoint, "SECRET_KEY_BASE": secretKeyBase,
		"CDN_URL": f.S3.MediaURL,
	}
	apiKeys := []string{"CDN_URL", "DATABASE_URL", "REDIS_HOST", "REDIS_PASSWORD", "REDIS_URL", "S3_BUCKET", "S3_ENDPOINT", "S3_KEY", "S3_SECRET", "SECRET_KEY_BASE"}
	for _, name := range cfg.Secrets.APIEnvNames {
		apiSecrets[name] = cfg.Secrets.APIEnv.MapIndex(pulumi.String(name))
		apiKeys = append(apiKeys, name)
	}
	apiEgress := append(egress("postgres", "valkey", "s3"), netpol.Internet(443))
	if err := add("api", &workload.Args{
		Image: cfg.Images["api"], Ports: []workload.Port{{Name: "http", Number: 3000}},
		Env: apiEnv, SecretEnv: apiSecrets, SecretEnvKeys: apiKeys,
		// The API has no health route: a TCP probe on its port.
		Probe: &workload.Probe{Port: "http", StartupSeconds: 180}, Scaling: scaling("api"),
		Resources: workload.Resources{CPU: "250m", Memory: "768Mi"},
		// Rails writes tmp/ and log/ beside the app.
		WritableRootFilesystem: true,
		Route:                  &workload.Route{Host: host("api")}, EgressTo: apiEgress,
	}); err != nil {
		return nil, err
	}
	if err := add("worker", &workload.Args{
		Image: cfg.Images["api"], Command: []string{"bundle", "exec", "sidekiq"},
		Env: apiEnv, SecretEnv: apiSecrets, SecretEnvKeys: apiKeys, Scaling: scaling("worker"),
		Resources: workload.Resources{CPU: "250m", Memory: "768Mi"}, WritableRootFilesystem: true,
		EgressTo: apiEgress,
	}); err != nil {
		return nil, err
	}

	// Chat: Phoenix clustered with DNSCluster over a headless Service; each
	// node is named after its pod IP. Messages cross replicas through the
	// cluster and Valkey, so the route needs no sticky sessions.
	chatSecretKeyBase, err := secret("chat-secret-key-base", 64)
	if err != nil {
		return nil, err
	}
	cookie, err := secret("chat-release-cookie", 48)
	if err != nil {
		return nil, err
	}
	chatSelf := netpol.Peer{PodLabels: map[string]string{"app.kubernetes.io/name": "chat"}}
	if err := add("chat", &workload.Args{
		Image: cfg.Images["chat"], Ports: []workload.Port{{Name: "http", Number: 4000}, {Name: "epmd", Number: 4369}},
		Env: map[string]string{
			"PHX_SERVER": "true", "PHX_HOST": host("chat"), "PORT": "4000",
			"DNS_CLUSTER_QUERY":    "chat-headless." + stationNamespace + ".svc.cluster.local",
			"RELEASE_DISTRIBUTION": "name", "RELEASE_TMP": "/tmp", "REDIS_TLS": fmt.Sprint(f.Redis.TLS),
		},
		FieldEnv:  map[string]string{"POD_IP": "status.podIP"},
		InlineEnv: map[string]string{"RELEASE_NODE": "hotdog_lounge@$(POD_IP)"},
		SecretEnv: pulumi.StringMap{
			"SECRET_KEY_BASE": chatSecretKeyBase, "RELEASE_COOKIE": cookie,
			"DATABASE_URL": f.DatabaseURLs.MapIndex(pulumi.String("chat")),
			"REDIS_HOST":   f.Redis.Host, "REDIS_PASSWORD": f.Redis.Password, "REDIS_URL": f.Redis.URL,
		},
		SecretEnvKeys: []string{"DATABASE_URL", "REDIS_HOST", "REDIS_PASSWORD", "REDIS_URL", "RELEASE_COOKIE", "SECRET_KEY_BASE"},
		Probe:         &workload.Probe{Port: "http", StartupSeconds: 120}, Scaling: scaling("chat"), Headless: true,
		Resources: workload.Resources{CPU: "100m", Memory: "256Mi"}, ScratchPaths: []string{"/tmp"},
		Route: &workload.Route{Host: host("chat"), LongLived: true},
		// Erlang distribution uses epmd and a dynamic port: allow all between chat pods.
		IngressFrom: []netpol.Peer{chatSelf},
		EgressTo:    append(egress("postgres", "valkey"), chatSelf),
	}); err != nil {
		return nil, err
	}

	// Analytics: GoatCounter on its own database; TLS ends at the ingress, so
	// its own ACME must be off (-tls http).
	if err := add("analytics", &workload.Args{
		Image:       cfg.Images["analytics"],
		CommandArgs: []string{"serve", "-listen", ":8080", "-tls", "http", "-automigrate", "-db", "$(GOATCOUNTER_DB)"},
		Ports:       []workload.Port{{Name: "http", Number: 8080}},
		SecretEnv: pulumi.StringMap{
			"GOATCOUNTER_DB": pulumi.Sprintf("postgresql+%s", f.DatabaseURLs.MapIndex(pulumi.String("analytics"))),
		},
		SecretEnvKeys: []string{"GOATCOUNTER_DB"},
		Probe:         &workload.Probe{HTTPPath: "/status", Port: "http"}, Scaling: scaling("analytics"),
		Resources: workload.Resources{CPU: "50m", Memory: "128Mi"}, ScratchPaths: []string{"/tmp"},
		Route: &workload.Route{Host: host("stats"), HealthPath: "/status"}, EgressTo: egress("postgres"),
	}); err != nil {
		return nil, err
	}

	// Video: nginx-rtmp takes one VJ's RTMP on the TCP entrypoint and serves
	// HLS; a single instance (publisher and players must meet in one pod).
	if err := add("video", &workload.Args{
		Image: cfg.Images["video"],
		Ports: []workload.Port{{Name: "rtmp", Number: stacks.RTMPPort}, {Name: "http", Number: 8080}},
		Probe: &workload.Probe{Port: "rtmp"}, Replicas: 1, Recreate: true,
		Resources: workload.Resources{CPU: "250m", Memory: "256Mi"},
		// nginx writes its pid, caches and HLS segments all over the image.
		WritableRootFilesystem: true,
		Route:                  &workload.Route{Host: host("video"), Port: "http", LongLived: true},
		TCPRoutes:              []workload.TCPRoute{{Entrypoint: rtmpEntrypoint, Host: host("video"), ExternalPort: stacks.RTMPPort, Port: "rtmp"}},
	}); err != nil {
		return nil, err
	}

	var discord pulumi.StringInput
	if cfg.Secrets.HasDiscordWebhook {
		discord = cfg.Secrets.DiscordWebhookURL
	}
	for _, st := range cfg.Stations {
		relays := cfg.Scaling["relay"]
		r, err := radio.New(ctx, "radio-"+st.Name, &radio.Args{
			Station: st.Name, Namespace: "radio-" + st.Name, Images: cfg.Images,
			StreamHost: host(st.StreamHost), DJHost: host(st.DJHost),
			DJEntrypoint: djEntrypoint(st.DJPort), DJPort: st.DJPort,
			Relays: workload.Scaling{Min: relays.Min, Max: relays.Max}, StorageClass: cfg.Platform.StorageClass,
			Archive: radio.Archive{
				DatabaseURL: f.DatabaseURLs.MapIndex(pulumi.String("archiver")),
				S3Endpoint:  f.S3.Endpoint, S3Region: f.S3.Region, Bucket: f.S3.Media,
				AccessKeyID: f.S3.AppsKeyID, SecretAccessKey: f.S3.AppsSecret,
				ForcePathStyle: f.S3.ForcePathStyle, PublicBaseURL: f.S3.MediaURL,
				Egress: egress("postgres", "s3"),
			},
			AllowedOrigins: siteOrigins(cfg), DiscordWebhookURL: discord, Platform: p.Refs,
		}, k8s, pulumi.DependsOn(p.Namespaces))
		if err != nil {
			return nil, err
		}
		s.Radios[st.Name] = r
		s.Endpoints = append(s.Endpoints, r.Endpoints...)
	}
	return s, nil
}
