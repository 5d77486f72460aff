package stacks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// validConfig is a complete digitalocean stack configuration.
func validConfig() map[string]string {
	return map[string]string{
		"datafruits:region":    "nyc3",
		"datafruits:domain":    "swag.lgbt",
		"datafruits:acmeEmail": "admin@swag.lgbt",
		"datafruits:images": `{"site":"ghcr.io/datafruits/datafruits-site:1.0.0","admin":"ghcr.io/datafruits/datafruits-admin:1.0.0",
			"api":"ghcr.io/datafruits/datafruits-api:1.0.0","chat":"ghcr.io/datafruits/datafruits-chat:1.0.0","video":"ghcr.io/datafruits/datafruits-video:1.0.0",
			"icecast":"ghcr.io/datafruits/datafruits-icecast:2.4.4","liquidsoap":"ghcr.io/datafruits/datafruits-liquidsoap:2.1.3",
			"archiver":"ghcr.io/datafruits/datafruits-archiver:0.1.0","onair":"mcfiredrill/onair:0.1.0@sha256:` + strings.Repeat("ab", 32) + `",
			"movein":"ghcr.io/datafruits/datafruits-movein:0.1.0"}`,
	}
}

func load(t *testing.T, cfg map[string]string, secretKeys ...string) (*stacks.Config, error) {
	t.Helper()
	var got *stacks.Config
	var loadErr error
	err := pulumitest.NewMocks().Run("test", cfg, secretKeys, func(ctx *pulumi.Context) error {
		got, loadErr = stacks.Load(ctx)
		return nil
	})
	if err != nil {
		t.Fatalf("running Load under mocks: %v", err)
	}
	return got, loadErr
}

func TestLoadAppliesDefaults(t *testing.T) {
	cfg, err := load(t, validConfig())
	if err != nil {
		t.Fatalf("valid configuration rejected: %v", err)
	}
	if cfg.Cluster.VersionPrefix != "1.35." || cfg.Cluster.SystemNodeCount != 1 || cfg.Cluster.WorkloadMaxNodes != 3 {
		t.Errorf("cluster defaults = %+v", cfg.Cluster)
	}
	if cfg.AdminDomain != "admin.swag.lgbt" {
		t.Errorf("AdminDomain = %q, want admin.swag.lgbt", cfg.AdminDomain)
	}
	if len(cfg.Stations) != 1 || cfg.Stations[0].StreamHost != "stream" || cfg.Stations[0].DJPort != 9000 {
		t.Errorf("default station = %+v", cfg.Stations)
	}
	if cfg.Images["analytics"] == "" || cfg.Images["statuspage"] == "" {
		t.Errorf("third-party image defaults missing: %v", cfg.Images)
	}
	if cfg.Secrets.HasDiscordWebhook {
		t.Errorf("no webhook configured, yet HasDiscordWebhook is true")
	}
}

// TestLoadRejectsBadConfiguration: each bad value gives one error that names
// the key, the value given and what is allowed.
func TestLoadRejectsBadConfiguration(t *testing.T) {
	cases := []struct {
		name    string
		set     map[string]string
		secret  []string
		key     string
		given   string
		allowed string
	}{
		{"unknown region", map[string]string{"datafruits:region": "mars1"}, nil, "datafruits:region", "mars1", "nyc3"},
		{"missing region", map[string]string{"datafruits:region": ""}, nil, "datafruits:region", `""`, "required"},
		{"missing domain", map[string]string{"datafruits:domain": ""}, nil, "datafruits:domain", `""`, "required"},
		{"malformed domain", map[string]string{"datafruits:domain": "swag..lgbt"}, nil, "datafruits:domain", "swag..lgbt", "domain name"},
		{"domain with scheme", map[string]string{"datafruits:domain": "https://datafruits.fm"}, nil, "datafruits:domain", "https://datafruits.fm", "domain name"},
		{"node size not a slug", map[string]string{"datafruits:workloadNodeSize": "large"}, nil, "datafruits:workloadNodeSize", "large", "droplet slug"},
		{"system node size not a slug", map[string]string{"datafruits:systemNodeSize": "s-2cpu"}, nil, "datafruits:systemNodeSize", "s-2cpu", "droplet slug"},
		{"min above max", map[string]string{"datafruits:workloadMinNodes": "5", "datafruits:workloadMaxNodes": "3"}, nil, "datafruits:workloadMinNodes", "5", "at most workloadMaxNodes (3)"},
		{"node count below 1", map[string]string{"datafruits:systemNodeCount": "0"}, nil, "datafruits:systemNodeCount", "0", "from 1 to 10"},
		{"node count not a number", map[string]string{"datafruits:workloadMaxNodes": "many"}, nil, "datafruits:workloadMaxNodes", "many", "whole number"},
		{"version latest", map[string]string{"datafruits:kubernetesVersion": "latest"}, nil, "datafruits:kubernetesVersion", "latest", "never \"latest\""},
		{"database slug", map[string]string{"datafruits:databaseSize": "db-huge"}, nil, "datafruits:databaseSize", "db-huge", "database slug"},
		{"maintenance day", map[string]string{"datafruits:maintenanceDay": "someday"}, nil, "datafruits:maintenanceDay", "someday", "sunday"},
		{"maintenance time", map[string]string{"datafruits:maintenanceStartTime": "25:00"}, nil, "datafruits:maintenanceStartTime", "25:00", "HH:MM"},
		{"bucket prefix with dots", map[string]string{"datafruits:bucketPrefix": "datafruits.fm"}, nil, "datafruits:bucketPrefix", "datafruits.fm", "no dots"},
		{"image latest", map[string]string{"datafruits:images": `{"site":"ghcr.io/datafruits/datafruits:latest"}`}, nil, "datafruits:images.site", "ghcr.io/datafruits/datafruits:latest", "never :latest"},
		{"image without tag", map[string]string{"datafruits:images": `{"api":"streampusher/streampusher"}`}, nil, "datafruits:images.api", "streampusher/streampusher", "pinned tag"},
		{"station image neither built here nor by digest", map[string]string{"datafruits:images": `{"liquidsoap":"mcfiredrill/liquidsoap:2.2.5"}`}, nil, "datafruits:images.liquidsoap", "mcfiredrill/liquidsoap:2.2.5", "pinned by digest"},
		{"station image built here for another workload", map[string]string{"datafruits:images": `{"chat":"ghcr.io/datafruits/datafruits-site:1.0.0"}`}, nil, "datafruits:images.chat", "ghcr.io/datafruits/datafruits-site:1.0.0", "datafruits-chat"},
		{"image latest with digest", map[string]string{"datafruits:images": `{"site":"ghcr.io/datafruits/datafruits-site:latest@sha256:` + strings.Repeat("ab", 32) + `"}`}, nil, "datafruits:images.site", "ghcr.io/datafruits/datafruits-site:latest@sha256:" + strings.Repeat("ab", 32), "never :latest"},
		{"missing station image", map[string]string{"datafruits:images": "{}"}, nil, "datafruits:images.site", `""`, "required"},
		{"scaling min above max", map[string]string{"datafruits:scaling": `{"chat":{"min":4,"max":2}}`}, nil, "datafruits:scaling.chat.max", "2", "at least min (4)"},
		{"unknown foundation", map[string]string{"datafruits:foundation": "aws"}, nil, "datafruits:foundation", "aws", "digitalocean, in-cluster"},
		{"chart mirror relative path", map[string]string{"datafruits:chartMirror": "../shared/charts"}, nil, "datafruits:chartMirror", "../shared/charts", "absolute directory"},
		{"chart mirror missing directory", map[string]string{"datafruits:chartMirror": "/nonexistent/charts"}, nil, "datafruits:chartMirror", "/nonexistent/charts", "existing directory"},
		{"chart mirror other scheme", map[string]string{"datafruits:chartMirror": "oci://ghcr.io/charts"}, nil, "datafruits:chartMirror", "oci://ghcr.io/charts", "http(s) Helm repository URL"},
		{"duplicate DJ port", map[string]string{"datafruits:stations": `[{"name":"a"},{"name":"b","djPort":9000}]`}, nil, "datafruits:stations[1].djPort", "9000", "unique per station"},
		{"station name", map[string]string{"datafruits:stations": `[{"name":"Data Fruits"}]`}, nil, "datafruits:stations[0].name", "Data Fruits", "DNS label"},
		{"station name is a mount", map[string]string{"datafruits:stations": `[{"name":"datafruits.mp3"}]`}, nil, "datafruits:stations[0].name", "datafruits.mp3", "DNS label"},
		{"DJ port on the ingress's websecure", map[string]string{"datafruits:stations": `[{"name":"a","djPort":8443}]`}, nil, "datafruits:stations[0].djPort", "8443", "ingress's own ports [8000 8080 8443 9100]"},
		{"missing acme email", map[string]string{"datafruits:acmeEmail": ""}, nil, "datafruits:acmeEmail", `""`, "required"},
		{"acme server", map[string]string{"datafruits:acmeServer": "zerossl"}, nil, "datafruits:acmeServer", "zerossl", "production, staging, self-signed"},
		{"webhook in plain text", map[string]string{"datafruits:discordWebhookUrl": "https://discord.com/api/webhooks/1/x"}, nil, "datafruits:discordWebhookUrl", "plain text, not shown", "pulumi config set --secret discordWebhookUrl"},
		{"apiEnv in plain text", map[string]string{"datafruits:apiEnv": `{"MAILGUN_API_KEY":"k"}`}, nil, "datafruits:apiEnv", "plain text, not shown", "--secret apiEnv"},
		{"webhook not https", map[string]string{"datafruits:discordWebhookUrl": "http://example.com/hook"}, []string{"datafruits:discordWebhookUrl"}, "datafruits:discordWebhookUrl", "secret, not shown", "https://"},
		{"protect not a bool", map[string]string{"datafruits:protect": "yes please"}, nil, "datafruits:protect", "yes please", "true or false"},
		{"backup schedule not cron", map[string]string{"datafruits:backupSchedule": "@daily"}, nil, "datafruits:backupSchedule", "@daily", "five-field cron"},
		{"backups kept: none", map[string]string{"datafruits:backupKeepCount": "0"}, nil, "datafruits:backupKeepCount", "0", "from 1 to 365"},
		{"offsite over plain http", map[string]string{"datafruits:backupOffsite": "http://s3.example.com/offsite"}, nil, "datafruits:backupOffsite", "http://s3.example.com/offsite", "https://endpoint/bucket"},
		{"offsite at DigitalOcean", map[string]string{"datafruits:backupOffsite": "https://fra1.digitaloceanspaces.com/offsite", "datafruits:backupOffsiteKeyId": "id", "datafruits:backupOffsiteSecret": "s3cr3t-value"},
			[]string{"datafruits:backupOffsiteKeyId", "datafruits:backupOffsiteSecret"}, "datafruits:backupOffsite", "fra1.digitaloceanspaces.com", "outside DigitalOcean"},
		{"offsite without keys", map[string]string{"datafruits:backupOffsite": "https://s3.example.com/offsite"}, nil, "datafruits:backupOffsite", "https://s3.example.com/offsite", "backupOffsiteSecret"},
		{"offsite keys without a bucket", map[string]string{"datafruits:backupOffsiteKeyId": "id", "datafruits:backupOffsiteSecret": "s3cr3t-value"},
			[]string{"datafruits:backupOffsiteKeyId", "datafruits:backupOffsiteSecret"}, "datafruits:backupOffsite", `""`, "https://endpoint/bucket"},
		{"unknown part", map[string]string{"datafruits:moved": `{"radios":false}`}, nil, "datafruits:moved.radios", "false", "site, admin, api, chat, radio, video"},
		{"site calls an API that is nowhere", map[string]string{"datafruits:moved": `{"api":false,"video":false,"radio":false}`}, nil, "datafruits:legacy.api", `""`, "required while moved.api is false, because moved parts call the API (site)"},
		{"legacy address of a moved part", map[string]string{"datafruits:legacy": `{"chat":"https://hotdog-lounge.herokuapp.com"}`}, nil, "datafruits:legacy.chat", "https://hotdog-lounge.herokuapp.com", "only for a part not moved"},
		{"legacy address over plain http", map[string]string{"datafruits:moved": `{"api":false,"video":false,"radio":false}`, "datafruits:legacy": `{"api":"http://api.datafruits.fm"}`}, nil, "datafruits:legacy.api", "http://api.datafruits.fm", "https:// URL"},
		{"video without the radio", map[string]string{"datafruits:moved": `{"radio":false}`}, nil, "datafruits:moved.video", "true", "moved.radio is false"},
		{"video without the API", map[string]string{"datafruits:moved": `{"api":false}`, "datafruits:legacy": `{"api":"https://datafruits.streampusher.com"}`, "datafruits:legacyLiqSecret": "liq"},
			[]string{"datafruits:legacyLiqSecret"}, "datafruits:moved.video", "true", "plain HTTP"},
		{"radio without today's liq secret", map[string]string{"datafruits:moved": `{"api":false,"video":false}`, "datafruits:legacy": `{"api":"https://datafruits.streampusher.com"}`}, nil, "datafruits:legacyLiqSecret", `""`, "required while moved.radio is true and moved.api is false"},
		{"former host of an unknown part", map[string]string{"datafruits:formerHosts": `{"shop":["shop.example.com"]}`}, nil, "datafruits:formerHosts.shop", "shop.example.com", "one of site, admin, api, chat, video, stream-datafruits"},
		{"former host of a part not moved", map[string]string{"datafruits:moved": `{"chat":false}`, "datafruits:formerHosts": `{"chat":["chat.streampusher.com"]}`}, nil, "datafruits:formerHosts.chat", "chat.streampusher.com", "only for a moved part: moved.chat is false"},
		{"former host inside the stack's domain", map[string]string{"datafruits:formerHosts": `{"stream-datafruits":["radio.swag.lgbt"]}`}, nil, "datafruits:formerHosts.stream-datafruits", "radio.swag.lgbt", "a host outside swag.lgbt"},
		{"former host given twice", map[string]string{"datafruits:formerHosts": `{"admin":["streampusher.com"],"site":["streampusher.com"]}`}, nil, "datafruits:formerHosts.site", "streampusher.com", "formerHosts.admin has it already"},
		{"former host that is no host", map[string]string{"datafruits:formerHosts": `{"admin":["https://streampusher.com"]}`}, nil, "datafruits:formerHosts.admin", "https://streampusher.com", "host names"},
		{"two stations on today's API", map[string]string{"datafruits:moved": `{"api":false,"video":false}`, "datafruits:legacy": `{"api":"https://datafruits.streampusher.com"}`, "datafruits:legacyLiqSecret": "liq",
			"datafruits:stations": `[{"name":"datafruits"},{"name":"two"}]`}, []string{"datafruits:legacyLiqSecret"}, "datafruits:moved.api", "false", "names one station"},
		{"record of a type DigitalOcean does not serve", map[string]string{"datafruits:dnsRecords": `[{"name":"1.2","type":"PTR","value":"x.example."}]`}, nil, "datafruits:dnsRecords[0]", "1.2 PTR x.example.", "A, AAAA, CNAME, MX, TXT, SRV, CAA or NS"},
		{"MX without a priority", map[string]string{"datafruits:dnsRecords": `[{"name":"@","type":"MX","value":"mx1.forwardemail.net."}]`}, nil, "datafruits:dnsRecords[0]", "@ MX mx1.forwardemail.net.", "a priority"},
		{"CNAME target without its dot", map[string]string{"datafruits:dnsRecords": `[{"name":"www","type":"CNAME","value":"datafruits.herokudns.com"}]`}, nil, "datafruits:dnsRecords[0]", "www CNAME datafruits.herokudns.com", "ending with a dot"},
		{"A record of an IPv6 address", map[string]string{"datafruits:dnsRecords": `[{"name":"old","type":"A","value":"2001:db8::1"}]`}, nil, "datafruits:dnsRecords[0]", "old A 2001:db8::1", "IPv4"},
		{"CNAME beside another record", map[string]string{"datafruits:dnsRecords": `[{"name":"www","type":"CNAME","value":"a.example."},{"name":"www","type":"TXT","value":"x"}]`}, nil, "datafruits:dnsRecords", "www CNAME, TXT", "a CNAME alone"},
		{"offsite secret in plain text", map[string]string{"datafruits:backupOffsite": "https://s3.example.com/offsite", "datafruits:backupOffsiteKeyId": "id", "datafruits:backupOffsiteSecret": "s3cr3t-value"},
			[]string{"datafruits:backupOffsiteKeyId"}, "datafruits:backupOffsiteSecret", "plain text, not shown", "--secret backupOffsiteSecret"},
	}
	if len(cases) < 15 {
		t.Fatalf("the issue asks for at least 15 cases, have %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			for k, v := range tc.set {
				if v == "" {
					delete(cfg, k)
					continue
				}
				cfg[k] = v
			}
			_, err := load(t, cfg, tc.secret...)
			if err == nil {
				t.Fatalf("accepted %v", tc.set)
			}
			var line string
			for _, l := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(l, tc.key+":") {
					if line != "" {
						t.Errorf("more than one error for %s:\n%s", tc.key, err)
					}
					line = l
				}
			}
			if line == "" {
				t.Fatalf("no error names %s; got:\n%s", tc.key, err)
			}
			if !strings.Contains(line, tc.given) || !strings.Contains(line, tc.allowed) {
				t.Errorf("error %q should show the value %q and what is allowed (%q)", line, tc.given, tc.allowed)
			}
			if strings.Contains(err.Error(), "discord.com/api/webhooks") || strings.Contains(err.Error(), `"k"`) || strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("error leaks a secret value: %s", err)
			}
		})
	}
}

func TestOffsiteBackupsAreReadWithSecretKeys(t *testing.T) {
	cfg := validConfig()
	cfg["datafruits:backupOffsite"] = "https://s3.eu-central-003.backblazeb2.com/datafruits-offsite/"
	cfg["datafruits:backupOffsiteKeyId"] = "key-id"
	cfg["datafruits:backupOffsiteSecret"] = "s3cr3t-value"
	got, err := load(t, cfg, "datafruits:backupOffsiteKeyId", "datafruits:backupOffsiteSecret")
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if got.Backup.Offsite != (stacks.OffsiteBucket{Endpoint: "https://s3.eu-central-003.backblazeb2.com", Bucket: "datafruits-offsite"}) {
		t.Errorf("Offsite = %+v", got.Backup.Offsite)
	}
	if !pulumi.IsSecret(got.Secrets.BackupOffsiteSecret) || !pulumi.IsSecret(got.Secrets.BackupOffsiteKeyID) {
		t.Error("the offsite keys are not secret outputs")
	}
	if got.Backup.Schedule != "30 3 * * *" || got.Backup.KeepCount != 7 || got.Backup.KeepDays != 30 {
		t.Errorf("backup defaults = %+v", got.Backup)
	}
}

// TestOnePartAtATime: the roadmap's first steps, each a valid stack: the site
// and the radio move first and call today's API; everything moved needs no
// legacy address.
func TestOnePartAtATime(t *testing.T) {
	cfg := validConfig()
	cfg["datafruits:moved"] = `{"api":false,"admin":false,"video":false}`
	cfg["datafruits:legacy"] = `{"api":"https://datafruits.streampusher.com"}`
	cfg["datafruits:legacyLiqSecret"] = "todays-liq-secret"
	got, err := load(t, cfg, "datafruits:legacyLiqSecret")
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if got.Moved["api"] || got.Moved["admin"] || !got.Moved["site"] || !got.Moved["radio"] || !got.Moved["chat"] {
		t.Errorf("Moved = %v", got.Moved)
	}
	if got.Legacy["api"] != "https://datafruits.streampusher.com" || !pulumi.IsSecret(got.Secrets.LegacyLiqSecret) {
		t.Errorf("Legacy = %v; the legacy liq secret must stay secret", got.Legacy)
	}
	all, err := load(t, validConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range stacks.Parts {
		if !all.Moved[part] {
			t.Errorf("by default every part is moved; %s is not", part)
		}
	}
}

func TestLoadReadsSecretsAsSecrets(t *testing.T) {
	cfg := validConfig()
	cfg["datafruits:discordWebhookUrl"] = "https://discord.com/api/webhooks/1/x"
	cfg["datafruits:apiEnv"] = `{"MAILGUN_API_KEY":"k","STRIPE_KEY":"s"}`
	got, err := load(t, cfg, "datafruits:discordWebhookUrl", "datafruits:apiEnv")
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if !got.Secrets.HasDiscordWebhook {
		t.Error("webhook not read")
	}
	if strings.Join(got.Secrets.APIEnvNames, ",") != "MAILGUN_API_KEY,STRIPE_KEY" {
		t.Errorf("APIEnvNames = %v", got.Secrets.APIEnvNames)
	}
}

// TestCommittedStackFilesUseKnownKeys catches typos in Pulumi.*.yaml, which
// Pulumi itself would silently accept.
func TestCommittedStackFilesUseKnownKeys(t *testing.T) {
	for _, stack := range []string{"staging", "prod", "local"} {
		cfg, _, err := pulumitest.StackConfig(stack)
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		var keys []string
		for k := range cfg {
			keys = append(keys, k)
		}
		if unknown := stacks.UnknownKeys(keys); len(unknown) > 0 {
			t.Errorf("Pulumi.%s.yaml sets unknown keys %v; known: %v", stack, unknown, stacks.KnownKeys())
		}
	}
}

// TestReadmeDocumentsEveryKey keeps the README's configuration table complete.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range stacks.KnownKeys() {
		if !strings.Contains(string(readme), "| `datafruits:"+key+"` |") {
			t.Errorf("README.md's configuration table has no row for datafruits:%s", key)
		}
	}
}
