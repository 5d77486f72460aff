package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Load reads, defaults and validates the stack configuration. It returns every
// problem at once, one line each, naming the key, the value given and what is
// allowed, before the program declares a single resource.
func Load(ctx *pulumi.Context) (*Config, error) {
	r := &reader{ctx: ctx}
	cfg := &Config{Stack: ctx.Stack()}

	r.checkUnknownKeys()

	cfg.Foundation = Foundation(r.enum("foundation", string(FoundationDigitalOcean), []string{string(FoundationDigitalOcean), string(FoundationInCluster)}))
	onDO := cfg.Foundation == FoundationDigitalOcean

	cfg.Domain = r.domain("domain", "", true)
	cfg.AdminDomain = r.domain("adminDomain", "admin."+cfg.Domain, false)
	if onDO {
		cfg.Region = r.enum("region", "", Regions)
	} else {
		cfg.Region = r.str("region", "local")
	}
	cfg.VPCRange = r.match("vpcIpRange", "10.110.0.0/20", vpcRangeRe, "a private CIDR range from /16 to /24, e.g. 10.110.0.0/20, overlapping no other VPC of the account")
	cfg.Protect = r.boolean("protect", false)

	cfg.Cluster = ClusterConfig{
		VersionPrefix:        r.match("kubernetesVersion", "1.35.", versionPrefixRe, `a minor version prefix such as "1.35." (never "latest")`),
		HA:                   r.boolean("clusterHA", false),
		SystemNodeSize:       r.match("systemNodeSize", "s-2vcpu-4gb", dropletSlugRe, `a DigitalOcean droplet slug such as "s-2vcpu-4gb"`),
		SystemNodeCount:      r.intRange("systemNodeCount", 1, 1, 10),
		WorkloadNodeSize:     r.match("workloadNodeSize", "s-2vcpu-4gb", dropletSlugRe, `a DigitalOcean droplet slug such as "s-2vcpu-4gb"`),
		WorkloadMinNodes:     r.intRange("workloadMinNodes", 1, 1, 50),
		WorkloadMaxNodes:     r.intRange("workloadMaxNodes", 3, 1, 50),
		MaintenanceDay:       r.enum("maintenanceDay", "sunday", Weekdays),
		MaintenanceStartTime: r.match("maintenanceStartTime", "04:00", clockRe, `a UTC time "HH:MM"`),
	}
	if cfg.Cluster.WorkloadMinNodes > cfg.Cluster.WorkloadMaxNodes {
		r.fail("workloadMinNodes", strconv.Itoa(cfg.Cluster.WorkloadMinNodes), fmt.Sprintf("at most workloadMaxNodes (%d)", cfg.Cluster.WorkloadMaxNodes))
	}
	cfg.Database = DatabaseConfig{
		// The default pools and scaling need 43 connections at worst; the
		// 1 GB size has 22 (see checkConnectionBudget).
		Size:        r.match("databaseSize", "db-s-1vcpu-2gb", databaseSlugRe, `a DigitalOcean database slug such as "db-s-1vcpu-2gb"`),
		NodeCount:   r.intRange("databaseNodeCount", 1, 1, 3),
		Version:     r.enum("postgresVersion", "16", []string{"14", "15", "16", "17"}),
		APIPoolSize: r.intRange("apiPoolSize", 10, 1, 100),
	}
	cfg.Valkey = ValkeyConfig{
		Size: r.match("valkeySize", "db-s-1vcpu-1gb", databaseSlugRe, `a DigitalOcean database slug such as "db-s-1vcpu-1gb"`),
		// DigitalOcean's managed Valkey offers version 8 only.
		Version: r.enum("valkeyVersion", "8", []string{"8"}),
	}
	cfg.Spaces = SpacesConfig{
		BucketPrefix:     r.match("bucketPrefix", "datafruits-"+ctx.Stack(), bucketPrefixRe, "3-40 lowercase letters, digits and dashes, no dots (a CDN fronts the buckets)"),
		LogRetentionDays: r.intRange("logRetentionDays", 30, 1, 3650),
	}
	cfg.Platform = PlatformConfig{
		HelmCharts:       r.boolean("helmCharts", true),
		MetricsServer:    r.boolean("metricsServer", true),
		ChartMirror:      r.chartMirror("chartMirror"),
		ACMEEmail:        r.match("acmeEmail", "", emailRe, "an e-mail address for the Let's Encrypt account"),
		ACMEServer:       r.enum("acmeServer", "production", []string{"production", "staging", "self-signed"}),
		StorageClass:     r.match("storageClass", "do-block-storage", dnsLabelRe, "a StorageClass name"),
		IngressReplicas:  r.intRange("ingressReplicas", 1, 1, 10),
		IngressAutoscale: r.boolean("ingressAutoscale", false),
		MetricsRetention: r.match("metricsRetention", "15d", retentionRe, `a Prometheus duration such as "15d"`),
		LoadBalancer:     r.boolean("loadBalancer", onDO),
	}
	if cfg.Platform.ACMEServer != "self-signed" && cfg.Platform.ACMEEmail == "" {
		r.fail("acmeEmail", "", "required with a Let's Encrypt acmeServer: an e-mail address for the ACME account")
	}

	cfg.Images = r.images()
	cfg.Scaling = r.scaling()
	cfg.Stations = r.stations()
	cfg.Secrets = r.secrets()
	cfg.Backup = r.backup(&cfg.Secrets)
	cfg.Moved, cfg.Legacy = r.moved(&cfg.Secrets)
	cfg.DNSRecords = r.dnsRecords()
	cfg.FormerHosts = r.formerHosts(cfg.Domain, cfg.AdminDomain, cfg.Moved)
	if onDO {
		r.checkConnectionBudget(cfg)
	}

	if err := errors.Join(r.errs...); err != nil {
		return nil, fmt.Errorf("invalid configuration for stack %q:\n%w", ctx.Stack(), err)
	}
	return cfg, nil
}

// reader reads keys of the datafruits namespace and records every problem.
type reader struct {
	ctx  *pulumi.Context
	errs []error
	// stationNames are the stations read so far.
	stationNames []string
}

func full(key string) string { return Namespace + ":" + key }

func (r *reader) fail(key, given, allowed string) {
	r.errs = append(r.errs, fmt.Errorf("%s: got %q; allowed: %s", full(key), given, allowed))
}

func (r *reader) raw(key string) (string, bool) {
	return r.ctx.GetConfig(full(key))
}

func (r *reader) str(key, def string) string {
	if v, ok := r.raw(key); ok {
		return v
	}
	return def
}

func (r *reader) enum(key, def string, allowed []string) string {
	v, ok := r.raw(key)
	if !ok {
		if def == "" {
			r.fail(key, "", "required; one of "+strings.Join(allowed, ", "))
		}
		return def
	}
	if !slices.Contains(allowed, v) {
		r.fail(key, v, "one of "+strings.Join(allowed, ", "))
	}
	return v
}

func (r *reader) match(key, def string, re *regexp.Regexp, allowed string) string {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	if !re.MatchString(v) {
		r.fail(key, v, allowed)
	}
	return v
}

func (r *reader) domain(key, def string, required bool) string {
	v, ok := r.raw(key)
	if !ok {
		if required {
			r.fail(key, "", "required; a domain name such as datafruits.fm")
		}
		return def
	}
	if !domainRe.MatchString(v) || len(v) > 253 {
		r.fail(key, v, "a lowercase domain name such as datafruits.fm (labels of letters, digits and dashes, a dot between them)")
	}
	return v
}

// chartMirror reads a Helm repository URL or an absolute directory that
// holds packaged charts; empty is upstream.
func (r *reader) chartMirror(key string) string {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return ""
	}
	if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return strings.TrimSuffix(v, "/")
	}
	if !filepath.IsAbs(v) {
		r.fail(key, v, "an http(s) Helm repository URL or an absolute directory of packaged charts (<name>-<version>.tgz)")
		return ""
	}
	if st, err := os.Stat(v); err != nil || !st.IsDir() {
		r.fail(key, v, "an existing directory of packaged charts (<name>-<version>.tgz), or an http(s) Helm repository URL")
		return ""
	}
	return filepath.Clean(v)
}

func (r *reader) boolean(key string, def bool) bool {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(key, v, "true or false")
	}
	return b
}

func (r *reader) intRange(key string, def, lo, hi int) int {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(key, v, fmt.Sprintf("a whole number from %d to %d", lo, hi))
		return def
	}
	return n
}

func (r *reader) object(key string, into any) bool {
	v, ok := r.raw(key)
	if !ok {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		r.fail(key, v, "valid "+describe(into)+": "+err.Error())
		return false
	}
	return true
}

func describe(v any) string {
	switch v.(type) {
	case *map[string]string:
		return "a map of names to strings"
	case *map[string]Scaling:
		return "a map of workload names to {min, max}"
	case *[]Station:
		return "a list of stations ({name, streamHost, djHost, djPort})"
	case *map[string]bool:
		return "a map of part names to true or false"
	case *[]DNSRecord:
		return "a list of DNS records ({name, type, value, ttl, priority, weight, port, flags, tag}; movein import-zone prints it)"
	default:
		return "YAML"
	}
}

func (r *reader) images() map[string]string {
	images := map[string]string{}
	for k, v := range DefaultImages {
		images[k] = v
	}
	var given map[string]string
	if r.object("images", &given) {
		for k, v := range given {
			if !slices.Contains(Workloads, k) {
				r.fail("images."+k, v, "an image for one of the workloads "+strings.Join(Workloads, ", "))
				continue
			}
			images[k] = v
		}
	}
	for _, w := range Workloads {
		img, ok := images[w]
		if !ok {
			r.fail("images."+w, "", "required; an image reference with a tag or digest, e.g. ghcr.io/datafruits/"+w+":1.2.3")
			continue
		}
		if !imageRe.MatchString(img) || strings.HasSuffix(img, ":latest") || strings.Contains(img, ":latest@") {
			r.fail("images."+w, img, "an image reference with a pinned tag or digest (never :latest), e.g. ghcr.io/datafruits/datafruits-"+w+":1.2.3")
			continue
		}
		if slices.Contains(StationImages, w) && !stationImageKnown(w, img) {
			r.fail("images."+w, img, "an image this repository's images workflow builds (ghcr.io/<owner>/datafruits-"+w+":<tag>, from images/"+w+" or apps/"+w+
				"), or any image pinned by digest (name@sha256:<64 hex>); a tag alone does not say the image exists")
		}
	}
	return images
}

// stationImageKnown reports whether a station image is one the images workflow
// pushes for that workload, or is pinned by digest (so it exists as reviewed).
func stationImageKnown(workload, img string) bool {
	if strings.Contains(img, "@sha256:") {
		return true
	}
	m := builtHereRe.FindStringSubmatch(img)
	return m != nil && m[1] == workload
}

func (r *reader) scaling() map[string]Scaling {
	scaling := map[string]Scaling{}
	for k, v := range DefaultScaling {
		scaling[k] = v
	}
	var given map[string]Scaling
	if r.object("scaling", &given) {
		for k, v := range given {
			if _, known := DefaultScaling[k]; !known {
				r.fail("scaling."+k, fmt.Sprintf("%+v", v), "bounds for one of the scalable workloads "+strings.Join(sortedKeys(DefaultScaling), ", "))
				continue
			}
			scaling[k] = v
		}
	}
	for _, k := range sortedKeys(scaling) {
		s := scaling[k]
		switch {
		case s.Min < 1:
			r.fail("scaling."+k+".min", strconv.Itoa(s.Min), "at least 1")
		case s.Max < s.Min:
			r.fail("scaling."+k+".max", strconv.Itoa(s.Max), fmt.Sprintf("at least min (%d)", s.Min))
		case s.Max > 50:
			r.fail("scaling."+k+".max", strconv.Itoa(s.Max), "at most 50")
		}
	}
	return scaling
}

func (r *reader) stations() []Station {
	stations := []Station{{Name: "datafruits"}}
	r.object("stations", &stations)
	if len(stations) == 0 {
		r.fail("stations", "[]", "at least one station")
	}
	seenName, seenPort, seenHost := map[string]bool{}, map[int]bool{}, map[string]bool{}
	for i := range stations {
		s := &stations[i]
		key := fmt.Sprintf("stations[%d]", i)
		if !dnsLabelRe.MatchString(s.Name) || len(s.Name) > 40 {
			r.fail(key+".name", s.Name, "a DNS label of at most 40 lowercase letters, digits and dashes")
		}
		if seenName[s.Name] {
			r.fail(key+".name", s.Name, "a name no other station uses")
		}
		seenName[s.Name] = true
		r.stationNames = append(r.stationNames, s.Name)
		if i == 0 {
			s.StreamHost = cmpOr(s.StreamHost, "stream")
			s.DJHost = cmpOr(s.DJHost, "dj")
			if s.DJPort == 0 {
				s.DJPort = 9000
			}
		} else {
			s.StreamHost = cmpOr(s.StreamHost, "stream-"+s.Name)
			s.DJHost = cmpOr(s.DJHost, "dj-"+s.Name)
			if s.DJPort == 0 {
				s.DJPort = 9000 + i
			}
		}
		for _, h := range []string{s.StreamHost, s.DJHost} {
			if !dnsLabelRe.MatchString(h) {
				r.fail(key+".streamHost/djHost", h, "a DNS label")
			}
			if seenHost[h] || slices.Contains(ReservedHosts, h) {
				r.fail(key+".streamHost/djHost", h, "a host label no other station or workload uses (reserved: "+strings.Join(ReservedHosts, ", ")+")")
			}
			seenHost[h] = true
		}
		if s.DJPort < 1024 || s.DJPort > 65535 || s.DJPort == RTMPPort || seenPort[s.DJPort] || slices.Contains(IngressPorts, s.DJPort) {
			r.fail(key+".djPort", strconv.Itoa(s.DJPort), fmt.Sprintf("a TCP port from 1024 to 65535, unique per station, not %d (RTMP) nor one of the ingress's own ports %v", RTMPPort, IngressPorts))
		}
		seenPort[s.DJPort] = true
	}
	return stations
}

// secrets reads the keys that must be set with `pulumi config set --secret`.
func (r *reader) secrets() Secrets {
	var s Secrets
	if v, ok := r.secret("discordWebhookUrl"); ok {
		if !strings.HasPrefix(v, "https://") {
			r.fail("discordWebhookUrl", "(secret, not shown)", "an https:// Discord webhook URL")
		}
		s.DiscordWebhookURL = pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
		s.HasDiscordWebhook = true
	} else {
		s.DiscordWebhookURL = pulumi.ToSecret(pulumi.String("")).(pulumi.StringOutput)
	}
	env := map[string]string{}
	if v, ok := r.secret("apiEnv"); ok {
		if err := json.Unmarshal([]byte(v), &env); err != nil {
			r.fail("apiEnv", "(secret, not shown)", "a map of environment variable names to values, e.g. {\"MAILGUN_API_KEY\": \"...\"}")
		}
		for name := range env {
			if !envNameRe.MatchString(name) {
				r.fail("apiEnv."+name, "(secret, not shown)", "environment variable names of capitals, digits and underscores")
			}
		}
	}
	s.APIEnvNames = sortedKeys(env)
	m := pulumi.StringMap{}
	for k, v := range env {
		m[k] = pulumi.String(v)
	}
	s.APIEnv = pulumi.ToSecret(m).(pulumi.StringMapOutput)
	return s
}

// moved reads which parts this stack runs and today's addresses of the others.
// A part not moved that a moved part calls needs its legacy address; a legacy
// address of a moved part would be dead configuration and is refused.
func (r *reader) moved(secrets *Secrets) (map[string]bool, map[string]string) {
	moved := map[string]bool{}
	for _, p := range Parts {
		moved[p] = true
	}
	var given map[string]bool
	if r.object("moved", &given) {
		for k, v := range given {
			if !slices.Contains(Parts, k) {
				r.fail("moved."+k, strconv.FormatBool(v), "one of the parts "+strings.Join(Parts, ", "))
				continue
			}
			moved[k] = v
		}
	}
	legacy := map[string]string{}
	if r.object("legacy", &legacy) {
		for _, k := range sortedKeys(legacy) {
			v := legacy[k]
			u, err := url.Parse(v)
			switch {
			case !slices.Contains(Parts, k):
				r.fail("legacy."+k, v, "today's address of one of the parts "+strings.Join(Parts, ", "))
			case moved[k]:
				r.fail("legacy."+k, v, fmt.Sprintf("only for a part not moved: moved.%s is true, so nothing calls %s", k, v))
			case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
				r.fail("legacy."+k, v, "an https:// URL without credentials, e.g. https://api.datafruits.fm")
			}
		}
	}
	// Who calls whom: the site and each radio's Liquidsoap call the API; the
	// video server pushes to the first radio's Liquidsoap and checks stream keys
	// with the API over plain HTTP (nginx-rtmp's on_publish speaks no TLS), so
	// only an API inside the cluster will do.
	needsLegacyAPI := []string{}
	for _, caller := range []string{"site", "radio"} {
		if moved[caller] && !moved["api"] {
			needsLegacyAPI = append(needsLegacyAPI, caller)
		}
	}
	if len(needsLegacyAPI) > 0 && legacy["api"] == "" {
		r.fail("legacy.api", "", fmt.Sprintf("required while moved.api is false, because moved parts call the API (%s): today's address, e.g. https://datafruits.streampusher.com", strings.Join(needsLegacyAPI, ", ")))
	}
	if moved["radio"] && !moved["api"] && len(r.stationNames) > 1 {
		r.fail("moved.api", "false", fmt.Sprintf("true while the stack has %d stations: today's API picks the radio by the host Liquidsoap calls (legacy.api), which names one station", len(r.stationNames)))
	}
	if moved["video"] && !moved["radio"] {
		r.fail("moved.video", "true", "false while moved.radio is false: the video server pushes the VJ's audio into this stack's Liquidsoap")
	}
	if moved["video"] && !moved["api"] {
		r.fail("moved.video", "true", "false while moved.api is false: nginx-rtmp checks stream keys over plain HTTP, which reaches only the API inside the cluster")
	}
	liq, hasLiq := r.secret("legacyLiqSecret")
	secrets.LegacyLiqSecret = pulumi.ToSecret(pulumi.String(liq)).(pulumi.StringOutput)
	switch needs := moved["radio"] && !moved["api"]; {
	case needs && !hasLiq:
		r.fail("legacyLiqSecret", "", "required while moved.radio is true and moved.api is false: the liq-secret today's API expects (`pulumi config set --secret legacyLiqSecret ...`)")
	case !needs && hasLiq:
		r.fail("legacyLiqSecret", "(secret, not shown)", "only while moved.radio is true and moved.api is false; remove it with `pulumi config rm legacyLiqSecret`")
	}
	return moved, legacy
}

// dnsRecords reads the imported records and checks each against what
// DigitalOcean DNS accepts for its type.
func (r *reader) dnsRecords() []DNSRecord {
	var records []DNSRecord
	if !r.object("dnsRecords", &records) {
		return nil
	}
	names := map[string][]string{}
	for i := range records {
		rec := &records[i]
		key := fmt.Sprintf("dnsRecords[%d]", i)
		given := fmt.Sprintf("%s %s %s", rec.Name, rec.Type, rec.Value)
		if rec.TTL == 0 {
			rec.TTL = 3600
		}
		var problem string
		switch {
		case !recordNameRe.MatchString(rec.Name):
			problem = `a name relative to the zone: "@" or labels of lowercase letters, digits, dashes and underscores`
		case rec.TTL < 30 || rec.TTL > 86400:
			problem = "a ttl from 30 to 86400 seconds"
		case rec.Value == "":
			problem = "a value"
		}
		if problem == "" {
			switch rec.Type {
			case "A":
				if ip := net.ParseIP(rec.Value); ip == nil || ip.To4() == nil {
					problem = "an IPv4 address for an A record"
				}
			case "AAAA":
				if ip := net.ParseIP(rec.Value); ip == nil || ip.To4() != nil {
					problem = "an IPv6 address for an AAAA record"
				}
			case "CNAME", "NS":
				if !hostnameRe.MatchString(rec.Value) {
					problem = "a host name ending with a dot for a " + rec.Type + " record"
				} else if rec.Name == "@" {
					problem = "no " + rec.Type + " at the apex: DigitalOcean serves the apex's NS, and a CNAME cannot sit beside them"
				}
			case "MX", "SRV":
				if !hostnameRe.MatchString(rec.Value) || rec.Priority == nil || (rec.Type == "SRV" && (rec.Weight == nil || rec.Port == nil)) {
					problem = "a host name ending with a dot and a priority (SRV: and weight and port)"
				}
			case "CAA":
				if rec.Flags == nil || (rec.Tag != "issue" && rec.Tag != "issuewild" && rec.Tag != "iodef") {
					problem = "flags and a tag issue, issuewild or iodef for a CAA record"
				}
			case "TXT":
			default:
				problem = "a type DigitalOcean DNS serves: A, AAAA, CNAME, MX, TXT, SRV, CAA or NS"
			}
		}
		if problem != "" {
			r.fail(key, given, problem)
		}
		names[rec.Name] = append(names[rec.Name], rec.Type)
	}
	for _, name := range sortedKeys(names) {
		if types := names[name]; slices.Contains(types, "CNAME") && len(types) > 1 {
			r.fail("dnsRecords", name+" "+strings.Join(types, ", "), "a CNAME alone at its name (RFC 1034 3.6.2)")
		}
	}
	return records
}

// backup reads the nightly backups' keys; an offsite bucket needs its two
// secret keys, and the keys need the bucket.
func (r *reader) backup(secrets *Secrets) BackupConfig {
	b := BackupConfig{
		// 03:30 UTC: after the night's shows, before DOKS' maintenance window (04:00 by default).
		Schedule:  r.match("backupSchedule", "30 3 * * *", cronRe, `a five-field cron schedule in UTC of numbers, "*", ranges, lists and steps, e.g. "30 3 * * *"`),
		KeepCount: r.intRange("backupKeepCount", 7, 1, 365),
		KeepDays:  r.intRange("backupKeepDays", 30, 1, 3650),
	}
	keyID, hasKeyID := r.secret("backupOffsiteKeyId")
	secret, hasSecret := r.secret("backupOffsiteSecret")
	secrets.BackupOffsiteKeyID = pulumi.ToSecret(pulumi.String(keyID)).(pulumi.StringOutput)
	secrets.BackupOffsiteSecret = pulumi.ToSecret(pulumi.String(secret)).(pulumi.StringOutput)
	raw, ok := r.raw("backupOffsite")
	if !ok || raw == "" {
		if hasKeyID || hasSecret {
			r.fail("backupOffsite", "", "an https://endpoint/bucket URL: backupOffsiteKeyId and backupOffsiteSecret are set for it")
		}
		return b
	}
	u, err := url.Parse(raw)
	bucket := ""
	if err == nil {
		bucket = strings.Trim(u.Path, "/")
	}
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || bucket == "" || strings.Contains(bucket, "/") {
		r.fail("backupOffsite", raw, "an https://endpoint/bucket URL of an S3-compatible bucket outside DigitalOcean, without keys (they are the secrets backupOffsiteKeyId and backupOffsiteSecret)")
		return b
	}
	if strings.HasSuffix(u.Hostname(), ".digitaloceanspaces.com") {
		r.fail("backupOffsite", raw, "a bucket outside DigitalOcean: a copy at the same provider does not survive losing the account")
	}
	if !hasKeyID || !hasSecret {
		r.fail("backupOffsite", raw, "a bucket whose keys are set: `pulumi config set --secret backupOffsiteKeyId ...` and `... backupOffsiteSecret ...`")
	}
	b.Offsite = OffsiteBucket{Endpoint: u.Scheme + "://" + u.Host, Bucket: bucket}
	return b
}

// secret reads a key that must be a secret and reports one given in plain text.
func (r *reader) secret(key string) (string, bool) {
	v, ok := r.ctx.GetConfig(full(key))
	if !ok || v == "" {
		return "", false
	}
	if !r.ctx.IsConfigSecret(full(key)) {
		r.fail(key, "(plain text, not shown)", fmt.Sprintf("a secret: remove it and run `pulumi config set --secret %s <value>`", key))
	}
	return v, true
}

// checkUnknownKeys reports keys of the datafruits namespace the program does
// not read (typos), from the configuration the engine passed to the program.
func (r *reader) checkUnknownKeys() {
	var all map[string]string
	if err := json.Unmarshal([]byte(os.Getenv("PULUMI_CONFIG")), &all); err != nil {
		return
	}
	for _, key := range UnknownKeys(sortedKeys(all)) {
		r.fail(strings.TrimPrefix(key, Namespace+":"), "(set)", "a known key: "+strings.Join(KnownKeys(), ", "))
	}
}

// UnknownKeys returns the keys of the datafruits namespace not in KnownKeys.
func UnknownKeys(keys []string) []string {
	var unknown []string
	known := KnownKeys()
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, Namespace+":")
		if !ok {
			continue
		}
		if !slices.Contains(known, strings.SplitN(name, ".", 2)[0]) {
			unknown = append(unknown, k)
		}
	}
	return unknown
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formerHosts reads the hosts moved parts had before the move (streampusher.com
// for the admin site, today's stream host): the program serves them as it
// serves the part's own host, so links, apps and directories that know them
// keep working once their DNS points here.
func (r *reader) formerHosts(domain, adminDomain string, moved map[string]bool) map[string][]string {
	given := map[string][]string{}
	if !r.object("formerHosts", &given) {
		return nil
	}
	keys := []string{"site", "admin", "api", "chat", "video"}
	for _, s := range r.stationNames {
		keys = append(keys, "stream-"+s)
	}
	seen := map[string]string{}
	out := map[string][]string{}
	for _, k := range sortedKeys(given) {
		part := k
		if strings.HasPrefix(k, "stream-") {
			part = "radio"
		}
		switch {
		case !slices.Contains(keys, k):
			r.fail("formerHosts."+k, strings.Join(given[k], ","), "one of "+strings.Join(keys, ", "))
			continue
		case !moved[part]:
			r.fail("formerHosts."+k, strings.Join(given[k], ","), fmt.Sprintf("only for a moved part: moved.%s is false, so today's %s still serves these hosts", part, part))
			continue
		}
		for _, h := range given[k] {
			switch {
			case !domainRe.MatchString(h):
				r.fail("formerHosts."+k, h, "host names, e.g. streampusher.com")
			case h == domain || strings.HasSuffix(h, "."+domain) || h == adminDomain:
				r.fail("formerHosts."+k, h, fmt.Sprintf("a host outside %s and the admin domain: the stack serves those already", domain))
			case seen[h] != "":
				r.fail("formerHosts."+k, h, "a host given once: formerHosts."+seen[h]+" has it already")
			default:
				seen[h] = k
				out[k] = append(out[k], h)
			}
		}
	}
	return out
}
