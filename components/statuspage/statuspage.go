// Package statuspage declares Gatus, the station's public status page: one
// check per public endpoint (HTTP hosts and the TCP entrypoints), history in
// Postgres, alerts to the same Discord channel as Alertmanager.
package statuspage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/workload"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// Args configures the status page.
type Args struct {
	// Namespace is where Gatus runs (required).
	Namespace string
	// Image is the Gatus image (required, pinned).
	Image string
	// Host is the status page's public host (required).
	Host string
	// Endpoints are what Gatus checks (required).
	Endpoints []workload.Endpoint
	// DatabaseURL is Gatus' Postgres database (required, secret).
	DatabaseURL pulumi.StringInput
	// DiscordWebhookURL receives alerts (secret; optional).
	DiscordWebhookURL pulumi.StringInput
	// Platform names the ingress and monitoring namespaces (required).
	Platform workload.PlatformRefs
	// DatabaseEgress is where the database is, for the network policy (required).
	DatabaseEgress []netpol.Peer
	// UntrustedCertificates says the hosts' certificates chain to no public root
	// (Let's Encrypt staging, self-signed): HTTPS checks then skip chain and name
	// verification and still require each host to answer (optional; default
	// false: certificates are verified).
	UntrustedCertificates bool
}

// StatusPage is Gatus.
type StatusPage struct {
	pulumi.ResourceState

	// URL is the status page's public URL.
	URL pulumi.StringOutput `pulumi:"url"`
	// Checks are the names of the generated checks.
	Checks []string

	// Endpoints is the status page's own public way in.
	Endpoints []workload.Endpoint
}

// New declares Gatus with a configuration generated from the endpoints.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*StatusPage, error) {
	if args == nil || args.Namespace == "" || args.Image == "" || args.Host == "" || args.DatabaseURL == nil || len(args.Endpoints) == 0 {
		return nil, fmt.Errorf("statuspage %s: Namespace, Image, Host, DatabaseURL and Endpoints are required", name)
	}
	s := &StatusPage{}
	if err := ctx.RegisterComponentResource("datafruits:statuspage:StatusPage", name, s, opts...); err != nil {
		return nil, err
	}
	config, checks, err := Config(args.Endpoints, ConfigOptions{Discord: args.DiscordWebhookURL != nil, UntrustedCertificates: args.UntrustedCertificates})
	if err != nil {
		return nil, err
	}
	s.Checks = checks
	secretEnv := pulumi.StringMap{"GATUS_DATABASE_URL": args.DatabaseURL}
	keys := []string{"GATUS_DATABASE_URL"}
	if args.DiscordWebhookURL != nil {
		secretEnv["DISCORD_WEBHOOK_URL"] = args.DiscordWebhookURL
		keys = append(keys, "DISCORD_WEBHOOK_URL")
	}
	// Gatus checks the endpoints from outside, through the load balancer.
	egress := append([]netpol.Peer{netpol.Internet(publicPortsOf(args.Endpoints)...)}, args.DatabaseEgress...)
	w, err := workload.New(ctx, name, &workload.Args{
		Namespace: args.Namespace,
		Image:     args.Image,
		Ports:     []workload.Port{{Name: "http", Number: 8080}},
		Env:       map[string]string{"GATUS_CONFIG_PATH": "/config/config.yaml"},
		SecretEnv: secretEnv, SecretEnvKeys: keys,
		// The configuration holds no secret: Gatus expands ${...} from the environment.
		SecretFiles: &workload.SecretFiles{MountPath: "/config", Files: pulumi.StringMap{"config.yaml": pulumi.String(config)}, Names: []string{"config.yaml"}},
		Probe:       &workload.Probe{HTTPPath: "/health", Port: "http"},
		Resources:   workload.Resources{CPU: "20m", Memory: "64Mi"},
		Route:       &workload.Route{Host: args.Host, HealthPath: "/health"},
		Platform:    args.Platform,
		EgressTo:    egress,
		RunAsUser:   65532,
		// Gatus keeps its alert state in the process: two pods side by side
		// during a rolling update would each alert Discord.
		Recreate: true,
	}, pulumi.Parent(s))
	if err != nil {
		return nil, err
	}
	s.Endpoints = w.Endpoints
	s.URL = pulumi.Sprintf("https://%s", args.Host)
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"url": s.URL})
}

func publicPortsOf(endpoints []workload.Endpoint) []int {
	seen := map[int]bool{}
	var ports []int
	for _, e := range endpoints {
		if !seen[e.Port] {
			seen[e.Port] = true
			ports = append(ports, e.Port)
		}
	}
	sort.Ints(ports)
	return ports
}

// ConfigOptions are the settings of Config besides the endpoints.
type ConfigOptions struct {
	// Discord sends alerts to the webhook in ${DISCORD_WEBHOOK_URL}.
	Discord bool
	// UntrustedCertificates skips certificate verification in HTTPS checks.
	UntrustedCertificates bool
}

// Config renders Gatus' configuration: one check per public endpoint, sorted
// by host, and the names of the checks.
func Config(endpoints []workload.Endpoint, opts ConfigOptions) (string, []string, error) {
	type alert struct {
		Type string `yaml:"type"`
	}
	// client is Gatus' per-endpoint client (client/config.go at v5.17.0):
	// insecure skips verifying the chain and host name; fields left out keep
	// Gatus' defaults (ValidateAndSetDefaults: 10 s timeout).
	type client struct {
		Insecure bool `yaml:"insecure"`
	}
	type check struct {
		Name       string   `yaml:"name"`
		Group      string   `yaml:"group"`
		URL        string   `yaml:"url"`
		Interval   string   `yaml:"interval"`
		Client     *client  `yaml:"client,omitempty"`
		Conditions []string `yaml:"conditions"`
		Alerts     []alert  `yaml:"alerts,omitempty"`
	}
	seen := map[string]bool{}
	var checks []check
	var names []string
	for _, e := range endpoints {
		c := check{Interval: "60s", Group: e.Workload}
		switch e.Protocol {
		case "https":
			c.Name = e.Host + e.HealthPath
			c.URL = "https://" + e.Host + e.HealthPath
			c.Conditions = []string{"[STATUS] < 400", "[RESPONSE_TIME] < 3000", "[CERTIFICATE_EXPIRATION] > 240h"}
			if opts.UntrustedCertificates {
				// An untrusted chain would fail every check, all day. The host
				// must still answer with a status below 400 and a certificate
				// that cert-manager keeps renewed.
				c.Client = &client{Insecure: true}
			}
		case "tcp":
			c.Name = fmt.Sprintf("%s:%d", e.Host, e.Port)
			c.URL = fmt.Sprintf("tcp://%s:%d", e.Host, e.Port)
			c.Conditions = []string{"[CONNECTED] == true"}
		default:
			return "", nil, fmt.Errorf("statuspage: endpoint %s has unknown protocol %q", e.Host, e.Protocol)
		}
		if seen[c.URL] {
			continue
		}
		seen[c.URL] = true
		if opts.Discord {
			c.Alerts = []alert{{Type: "discord"}}
		}
		checks = append(checks, c)
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].URL < checks[j].URL })
	for _, c := range checks {
		names = append(names, c.Name)
	}
	doc := map[string]any{
		"storage":   map[string]string{"type": "postgres", "path": "${GATUS_DATABASE_URL}"},
		"endpoints": checks,
		"web":       map[string]int{"port": 8080},
	}
	if opts.Discord {
		doc["alerting"] = map[string]any{"discord": map[string]any{
			"webhook-url":   "${DISCORD_WEBHOOK_URL}",
			"default-alert": map[string]any{"send-on-resolved": true, "failure-threshold": 3, "success-threshold": 2},
		}}
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", nil, err
	}
	return b.String(), names, nil
}
