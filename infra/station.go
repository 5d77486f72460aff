package main

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/datafruits/infra/components/backup"
	"github.com/datafruits/infra/components/job"
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

// Ports of the API (Falcon) and of the video server's HLS.
const (
	apiPort       = 3000
	videoHTTPPort = 8080
)

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
	// The apps that migrate their own schema start once the database set-up
	// gave them the right to.
	afterDatabase := pulumi.DependsOn([]pulumi.Resource{f.DatabaseReady})
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
	add := func(name string, a *workload.Args, opts ...pulumi.ResourceOption) error {
		w, err := workload.New(ctx, name, base(a), append([]pulumi.ResourceOption{k8s, after}, opts...)...)
		if err != nil {
			return err
		}
		s.Endpoints = append(s.Endpoints, w.Endpoints...)
		return nil
	}
	host := func(label string) string { return label + "." + cfg.Domain }
	// A part not moved yet (datafruits:moved) runs where it runs today: the moved
	// parts call it at its legacy address (stacks.Load checks there is one).
	apiPublicURL := "https://" + host("api")
	if !cfg.Moved["api"] {
		apiPublicURL = cfg.Legacy["api"]
	}

	if cfg.Moved["site"] {
		// Site: Ember FastBoot at the apex. It renders pages by calling the public API.
		if err := add("site", &workload.Args{
			Image: cfg.Images["site"], Ports: []workload.Port{{Name: "http", Number: 3000}},
			Env:   map[string]string{"NODE_ENV": "production", "API_URL": apiPublicURL},
			Probe: &workload.Probe{HTTPPath: "/", Port: "http"}, Scaling: scaling("site"),
			Resources: workload.Resources{CPU: "100m", Memory: "256Mi"}, ScratchPaths: []string{"/tmp"},
			Route: &workload.Route{Host: cfg.Domain, FormerHosts: cfg.FormerHosts["site"]}, EgressTo: []netpol.Peer{netpol.Internet(443)},
		}); err != nil {
			return nil, err
		}
	}
	if cfg.Moved["admin"] {
		// Admin: the streampusher front end, a static Ember build served by unprivileged nginx
		// (images/admin), whose UID is 101.
		if err := add("admin", &workload.Args{
			Image: cfg.Images["admin"], Ports: []workload.Port{{Name: "http", Number: 8080}},
			Probe: &workload.Probe{HTTPPath: "/", Port: "http"}, Scaling: scaling("admin"),
			Resources: workload.Resources{CPU: "20m", Memory: "64Mi"}, ScratchPaths: []string{"/tmp", "/var/cache/nginx", "/var/run"},
			Route: &workload.Route{Host: cfg.AdminDomain, FormerHosts: cfg.FormerHosts["admin"]}, RunAsUser: 101,
		}); err != nil {
			return nil, err
		}
	}

	// Each station's Liquidsoap calls the API (DJ logins, notifications, the backup
	// playlist); the video server checks VJs' stream keys with it.
	apiPeer := netpol.Peer{Namespace: stationNamespace, PodLabels: map[string]string{"app.kubernetes.io/name": "api"}, Ports: []int{apiPort}}
	videoPeer := netpol.Peer{Namespace: stationNamespace, PodLabels: map[string]string{"app.kubernetes.io/name": "video"}}
	// One liq secret for the API and every station's Liquidsoap: the API checks the
	// `liq-secret` header against LIQ_SECRET (config/secrets.yml, production). While
	// the API is not moved, the radios send the one today's API expects.
	liqSecret := cfg.Secrets.LegacyLiqSecret
	if cfg.Moved["api"] {
		if liqSecret, err = secret("liq-secret", 64); err != nil {
			return nil, err
		}
		// API and its Sidekiq worker share one image, one configuration and the
		// PgBouncer pool, Valkey and the media bucket.
		secretKeyBase, err := secret("api-secret-key-base", 64)
		if err != nil {
			return nil, err
		}
		apiEnv := map[string]string{
			// The image (images/api) runs Unicorn on 0.0.0.0:3000: the API's Gemfile has no Falcon.
			"RAILS_ENV": "production", "RAILS_LOG_TO_STDOUT": "true", "S3_REGION": f.S3.Region,
			"REDIS_TLS": fmt.Sprint(f.Redis.TLS),
		}
		apiSecrets := pulumi.StringMap{
			"DATABASE_URL": f.APIDatabaseURL, "REDIS_URL": f.Redis.URL, "REDIS_HOST": f.Redis.Host,
			"REDIS_PASSWORD": f.Redis.Password, "S3_KEY": f.S3.AppsKeyID, "S3_SECRET": f.S3.AppsSecret,
			"S3_BUCKET": f.S3.Media, "S3_ENDPOINT": f.S3.Endpoint, "SECRET_KEY_BASE": secretKeyBase,
			"CDN_URL": f.S3.MediaURL,
		}
		apiSecrets["LIQ_SECRET"] = liqSecret
		apiKeys := []string{"CDN_URL", "DATABASE_URL", "LIQ_SECRET", "REDIS_HOST", "REDIS_PASSWORD", "REDIS_URL", "S3_BUCKET", "S3_ENDPOINT", "S3_KEY", "S3_SECRET", "SECRET_KEY_BASE"}
		for _, name := range cfg.Secrets.APIEnvNames {
			apiSecrets[name] = cfg.Secrets.APIEnv.MapIndex(pulumi.String(name))
			apiKeys = append(apiKeys, name)
		}
		apiEgress := append(egress("postgres", "valkey", "s3"), netpol.Internet(443))
		apiFrom := []netpol.Peer{{PodLabels: videoPeer.PodLabels, Ports: []int{apiPort}}}
		for _, st := range cfg.Stations {
			apiFrom = append(apiFrom, netpol.Peer{
				Namespace: "radio-" + st.Name, PodLabels: map[string]string{"app.kubernetes.io/name": "radio-" + st.Name + "-liquidsoap"}, Ports: []int{apiPort},
			})
		}
		// Migrations run once per deploy, before the new API and workers start,
		// on a direct connection: PgBouncer's transaction pool cannot hold the
		// session-level advisory lock Rails takes around them. A new image or
		// setting replaces the Job, so it runs again.
		migrateSecrets := pulumi.StringMap{}
		for k, v := range apiSecrets {
			migrateSecrets[k] = v
		}
		migrateSecrets["DATABASE_URL"] = f.DatabaseURLs.MapIndex(pulumi.String("api"))
		migrate, err := job.New(ctx, "api-migrate", &job.Args{
			Namespace: stationNamespace, Image: cfg.Images["api"],
			Command: []string{"bundle", "exec", "rails", "db:migrate"},
			Env:     apiEnv, SecretEnv: migrateSecrets,
			// Rails writes tmp/ and log/ beside the app.
			WritableRootFilesystem: true, Memory: "768Mi", EgressTo: apiEgress,
		}, k8s, after, afterDatabase)
		if err != nil {
			return nil, err
		}
		afterMigrations := pulumi.DependsOn([]pulumi.Resource{migrate.Done})
		apiScratch := []string{"/tmp", "/app/tmp"}
		if err := add("api", &workload.Args{
			Image: cfg.Images["api"], Ports: []workload.Port{{Name: "http", Number: apiPort}},
			Env: apiEnv, SecretEnv: apiSecrets, SecretEnvKeys: apiKeys,
			// The API has no health route: a TCP probe on its port.
			Probe: &workload.Probe{Port: "http", StartupSeconds: 180}, Scaling: scaling("api"),
			Resources: workload.Resources{CPU: "250m", Memory: "768Mi"},
			// What the image writes (images/api/WRITES); its log file is standard output.
			ScratchPaths: apiScratch,
			Route:        &workload.Route{Host: host("api"), FormerHosts: cfg.FormerHosts["api"]}, EgressTo: apiEgress, IngressFrom: apiFrom,
		}, afterMigrations); err != nil {
			return nil, err
		}
		if err := add("worker", &workload.Args{
			Image: cfg.Images["api"], Command: []string{"bundle", "exec", "sidekiq"},
			Env: apiEnv, SecretEnv: apiSecrets, SecretEnvKeys: apiKeys, Scaling: scaling("worker"),
			Resources: workload.Resources{CPU: "250m", Memory: "768Mi"}, ScratchPaths: apiScratch,
			EgressTo: apiEgress,
		}, afterMigrations); err != nil {
			return nil, err
		}
	}

	if cfg.Moved["chat"] {
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
				// Counted in the stack's connection budget (stacks.ConnectionBudget).
				"POOL_SIZE": strconv.Itoa(stacks.ChatPoolSize),
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
			Route: &workload.Route{Host: host("chat"), LongLived: true, FormerHosts: cfg.FormerHosts["chat"]},
			// Erlang distribution uses epmd and a dynamic port: allow all between chat pods.
			IngressFrom: []netpol.Peer{chatSelf},
			EgressTo:    append(egress("postgres", "valkey"), chatSelf),
		}, afterDatabase); err != nil {
			return nil, err
		}
	}

	// Analytics: GoatCounter on its own database; TLS ends at the ingress, so
	// its own ACME must be off (-tls http).
	if err := add("analytics", &workload.Args{
		Image: cfg.Images["analytics"],
		// -dbconn caps its pool (2.6.0 defaults to 16 open) for the connection budget.
		CommandArgs: []string{"serve", "-listen", ":8080", "-tls", "http", "-automigrate", "-db", "$(GOATCOUNTER_DB)",
			"-dbconn", fmt.Sprintf("%d,1", stacks.AnalyticsMaxConnections)},
		Ports: []workload.Port{{Name: "http", Number: 8080}},
		SecretEnv: pulumi.StringMap{
			"GOATCOUNTER_DB": pulumi.Sprintf("postgresql+%s", f.DatabaseURLs.MapIndex(pulumi.String("analytics"))),
		},
		SecretEnvKeys: []string{"GOATCOUNTER_DB"},
		Probe:         &workload.Probe{HTTPPath: "/status", Port: "http"}, Scaling: scaling("analytics"),
		Resources: workload.Resources{CPU: "50m", Memory: "128Mi"}, ScratchPaths: []string{"/tmp"},
		Route: &workload.Route{Host: host("stats"), HealthPath: "/status"}, EgressTo: egress("postgres"),
	}, afterDatabase); err != nil {
		return nil, err
	}

	if cfg.Moved["video"] {
		// Video: nginx-rtmp takes one VJ's RTMP on the TCP entrypoint, serves HLS and pushes
		// the stream to the first station's Liquidsoap; a single instance (publisher and
		// players must meet in one pod). It runs the configuration the program renders.
		first := cfg.Stations[0]
		videoConf, err := radio.RenderVideo(radio.VideoConfig(stacks.RTMPPort, videoHTTPPort,
			radio.LiquidsoapHost("radio-"+first.Name, "radio-"+first.Name), fmt.Sprintf("http://api.%s.svc.cluster.local:%d/dj_login", stationNamespace, apiPort)))
		if err != nil {
			return nil, err
		}
		if err := add("video", &workload.Args{
			Image: cfg.Images["video"],
			// Debian's nginx with the RTMP module (images/video) on the mounted configuration; -e
			// stderr: the error log nginx opens before it reads that configuration.
			Command: []string{"nginx", "-e", "stderr", "-c", "/etc/video/nginx.conf",
				"-g", "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;"},
			ConfigFiles: &workload.ConfigFiles{MountPath: "/etc/video", Files: map[string]string{"nginx.conf": string(videoConf)}},
			Ports:       []workload.Port{{Name: "rtmp", Number: stacks.RTMPPort}, {Name: "http", Number: videoHTTPPort}},
			Probe:       &workload.Probe{Port: "rtmp"}, Replicas: 1, Recreate: true,
			Resources: workload.Resources{CPU: "250m", Memory: "256Mi"},
			// nginx writes its pid, temp files and HLS segments under /var/run/video, and
			// nothing else (images/video/WRITES).
			ScratchPaths: []string{"/var/run/video"},
			Route:        &workload.Route{Host: host("video"), Port: "http", LongLived: true, FormerHosts: cfg.FormerHosts["video"]},
			TCPRoutes:    []workload.TCPRoute{{Entrypoint: rtmpEntrypoint, Host: host("video"), ExternalPort: stacks.RTMPPort, Port: "rtmp"}},
			EgressTo: []netpol.Peer{
				apiPeer,
				{Namespace: "radio-" + first.Name, PodLabels: map[string]string{"app.kubernetes.io/name": "radio-" + first.Name + "-liquidsoap"}, Ports: []int{radio.RTMPInPort}},
			},
		}); err != nil {
			return nil, err
		}
	}

	// The nightly backups: every app database and the media bucket into the
	// backups bucket (and the offsite one, when the stack has one).
	appDatabases := map[string]pulumi.StringInput{}
	for _, app := range databases {
		appDatabases[app] = f.DatabaseURLs.MapIndex(pulumi.String(app))
	}
	backupArgs := &backup.Args{
		Namespace: stationNamespace, Image: cfg.Images["movein"], Schedule: cfg.Backup.Schedule,
		Databases: appDatabases, MediaBucket: f.S3.Media,
		To:        backup.Bucket{Endpoint: f.S3.Endpoint, Name: f.S3.Backups, KeyID: f.S3.BackupsKeyID, Secret: f.S3.BackupsSecret},
		KeepCount: cfg.Backup.KeepCount, KeepDays: cfg.Backup.KeepDays,
		DatabaseEgress: egress("postgres"), ObjectStoreEgress: egress("s3"),
	}
	if o := cfg.Backup.Offsite; o.Bucket != "" {
		backupArgs.Offsite = &backup.Bucket{
			Endpoint: pulumi.String(o.Endpoint), Name: pulumi.String(o.Bucket),
			KeyID: cfg.Secrets.BackupOffsiteKeyID, Secret: cfg.Secrets.BackupOffsiteSecret,
		}
	}
	if _, err := backup.New(ctx, "backup", backupArgs, k8s, after, afterDatabase); err != nil {
		return nil, err
	}

	var discord pulumi.StringInput
	if cfg.Secrets.HasDiscordWebhook {
		discord = cfg.Secrets.DiscordWebhookURL
	}
	for i, st := range cfg.Stations {
		if !cfg.Moved["radio"] {
			break
		}
		relays := cfg.Scaling["relay"]
		var videoFrom *netpol.Peer
		if i == 0 && cfg.Moved["video"] {
			videoFrom = &videoPeer
		}
		api := radio.API{
			URL: fmt.Sprintf("http://api.%s.svc.cluster.local:%d", stationNamespace, apiPort),
			// The API picks the radio by the Host's subdomain: <station>.<domain>.
			Host: st.Name + "." + cfg.Domain, Peer: apiPeer,
		}
		if !cfg.Moved["api"] {
			// Today's API, as today's Liquidsoap calls it (https://<station>.streampusher.com):
			// its host already names the station (stacks.Load allows one station then).
			legacy, err := url.Parse(cfg.Legacy["api"])
			if err != nil {
				return nil, err
			}
			api = radio.API{URL: cfg.Legacy["api"], Host: legacy.Host, Peer: netpol.Internet(443)}
		}
		// The archiver registers archived sets in the API's own tables, on a
		// direct connection (pgx prepares statements, which PgBouncer's
		// transaction pool does not keep). While the API is not moved, its
		// database is not the stack's: sets are archived, not registered.
		var apiDatabase pulumi.StringInput
		if cfg.Moved["api"] {
			apiDatabase = f.DatabaseURLs.MapIndex(pulumi.String("api"))
		}
		r, err := radio.New(ctx, "radio-"+st.Name, &radio.Args{
			Station: st.Name, Namespace: "radio-" + st.Name, Images: cfg.Images,
			StreamHost: host(st.StreamHost), StreamFormerHosts: cfg.FormerHosts["stream-"+st.Name], DJHost: host(st.DJHost),
			DJEntrypoint: djEntrypoint(st.DJPort), DJPort: st.DJPort,
			Relays: workload.Scaling{Min: relays.Min, Max: relays.Max}, StorageClass: cfg.Platform.StorageClass,
			Archive: radio.Archive{
				DatabaseURL: f.DatabaseURLs.MapIndex(pulumi.String("archiver")), APIDatabaseURL: apiDatabase,
				S3Endpoint: f.S3.Endpoint, S3Region: f.S3.Region, Bucket: f.S3.Media,
				AccessKeyID: f.S3.AppsKeyID, SecretAccessKey: f.S3.AppsSecret,
				ForcePathStyle: f.S3.ForcePathStyle, PublicBaseURL: f.S3.MediaURL,
				Egress: egress("postgres", "s3"),
			},
			AllowedOrigins: siteOrigins(cfg), DiscordWebhookURL: discord, Platform: p.Refs,
			LiqSecret: liqSecret, VideoFrom: videoFrom,
			API: api,
		}, k8s, pulumi.DependsOn(append([]pulumi.Resource{f.DatabaseReady}, p.Namespaces...)))
		if err != nil {
			return nil, err
		}
		s.Radios[st.Name] = r
		s.Endpoints = append(s.Endpoints, r.Endpoints...)
	}
	return s, nil
}
