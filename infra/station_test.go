package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const testWebhook = "https://discord.com/api/webhooks/123/very-secret-token"

// runProd runs the committed prod stack with a Discord webhook set as a secret.
func runProd(t *testing.T, overrides map[string]string) *pulumitest.Mocks {
	t.Helper()
	cfg := map[string]string{"datafruits:discordWebhookUrl": testWebhook}
	for k, v := range overrides {
		cfg[k] = v
	}
	mocks, err := pulumitest.RunStack("prod", run, cfg, "datafruits:discordWebhookUrl")
	if err != nil {
		t.Fatalf("prod stack: %v", err)
	}
	return mocks
}

func container(r pulumitest.Resource, i int) resource.PropertyMap {
	v := pulumitest.Get(r.Inputs, fmt.Sprintf("spec.template.spec.containers[%d]", i))
	if !v.IsObject() {
		return resource.PropertyMap{}
	}
	return v.ObjectValue()
}

// envOf collects a container's plain env and the ConfigMap data it loads.
func envOf(mocks *pulumitest.Mocks, c resource.PropertyMap) map[string]string {
	env := map[string]string{}
	for _, e := range pulumitest.Array(c, "env") {
		env[pulumitest.GetString(e.ObjectValue(), "name")] = pulumitest.GetString(e.ObjectValue(), "value")
	}
	for _, from := range pulumitest.Array(c, "envFrom") {
		name := pulumitest.GetString(from.ObjectValue(), "configMapRef.name")
		for _, cm := range mocks.ByType("kubernetes:core/v1:ConfigMap") {
			if pulumitest.GetString(cm.Outputs, "metadata.name") == name {
				for k, v := range pulumitest.Get(cm.Inputs, "data").ObjectValue() {
					env[string(k)] = v.StringValue()
				}
			}
		}
	}
	return env
}

func TestStationWorkloads(t *testing.T) {
	mocks := runProd(t, nil)
	deployments := map[string]pulumitest.Resource{}
	for _, d := range mocks.ByType("kubernetes:apps/v1:Deployment") {
		deployments[d.Name] = d
	}
	for _, name := range []string{"site", "admin", "api", "worker", "chat", "analytics", "video", "radio-datafruits-icecast", "radio-datafruits-relay", "radio-datafruits-liquidsoap", "radio-datafruits-onair"} {
		if _, ok := deployments[name]; !ok {
			t.Errorf("no Deployment %s", name)
		}
	}

	// The station's images run read-only (tools/imagecheck holds their Dockerfiles
	// against these pods); admin is nginx-unprivileged, UID 101.
	for name, uid := range map[string]float64{"site": 1000, "admin": 101, "api": 1000, "worker": 1000, "chat": 1000, "video": 1000} {
		d := deployments[name]
		if got := pulumitest.GetNumber(d.Inputs, "spec.template.spec.securityContext.runAsUser"); got != uid {
			t.Errorf("%s runs as %v, want %v (its image's USER)", name, got, uid)
		}
		if ro := pulumitest.Get(container(d, 0), "securityContext.readOnlyRootFilesystem"); !ro.IsBool() || !ro.BoolValue() {
			t.Errorf("%s: the root file system must be read-only; the image's writes are mounts", name)
		}
	}

	chat := envOf(mocks, container(deployments["chat"], 0))
	for k, want := range map[string]string{
		"PHX_SERVER": "true", "RELEASE_DISTRIBUTION": "name", "RELEASE_NODE": "hotdog_lounge@$(POD_IP)",
		"DNS_CLUSTER_QUERY": "chat-headless.station.svc.cluster.local",
	} {
		if chat[k] != want {
			t.Errorf("chat %s = %q, want %q", k, chat[k], want)
		}
	}
	if _, ok := mocks.Find("kubernetes:core/v1:Service", "chat-headless"); !ok {
		t.Error("chat needs a headless Service for DNSCluster")
	}
	hpas := map[string]pulumitest.Resource{}
	for _, h := range mocks.ByType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") {
		hpas[h.Name] = h
	}
	if h := hpas["chat"]; pulumitest.GetNumber(h.Inputs, "spec.minReplicas") != 2 || pulumitest.GetNumber(h.Inputs, "spec.maxReplicas") != 8 {
		t.Errorf("chat autoscaler must follow Pulumi.prod.yaml (2..8), got %v..%v", pulumitest.GetNumber(h.Inputs, "spec.minReplicas"), pulumitest.GetNumber(h.Inputs, "spec.maxReplicas"))
	}

	ls := deployments["radio-datafruits-liquidsoap"]
	if pulumitest.GetNumber(ls.Inputs, "spec.replicas") != 1 || pulumitest.GetString(ls.Inputs, "spec.strategy.type") != "Recreate" {
		t.Errorf("Liquidsoap must be exactly one replica with Recreate")
	}
	lsConfig, _ := mocks.Find("kubernetes:core/v1:ConfigMap", "radio-datafruits-liquidsoap-config")
	if script := pulumitest.Get(lsConfig.Inputs, "data").ObjectValue()["radio.liq"]; !script.IsString() ||
		!strings.Contains(script.StringValue(), `host="icecast", port=8000`) {
		t.Errorf("Liquidsoap's rendered script must push to the Service named icecast")
	}
	if name := pulumitest.GetString(container(ls, 1), "name"); name != "archiver" {
		t.Errorf("Liquidsoap's sidecar = %q, want archiver", name)
	}
	icecastSvc, ok := mocks.Find("kubernetes:core/v1:Service", "radio-datafruits-icecast")
	if !ok || pulumitest.GetString(icecastSvc.Inputs, "metadata.name") != "icecast" || pulumitest.GetString(icecastSvc.Inputs, "metadata.namespace") != "radio-datafruits" {
		t.Errorf("the source Icecast's Service must be radio-datafruits/icecast")
	}

	analytics := deployments["analytics"]
	if args := strings.Join(stringsOf(pulumitest.Get(container(analytics, 0), "args")), " "); !strings.Contains(args, "-tls http") {
		t.Errorf("GoatCounter must not run its own ACME behind the ingress: args %q", args)
	}
}

func stringsOf(v resource.PropertyValue) []string {
	var out []string
	if !v.IsArray() {
		return out
	}
	for _, e := range v.ArrayValue() {
		out = append(out, e.StringValue())
	}
	return out
}

// TestNoSecretInPlainText: generated passwords, database URLs, keys and the
// Discord webhook reach the cluster only inside values marked secret, never
// in a ConfigMap, an env value, an annotation or a Helm value.
func TestNoSecretInPlainText(t *testing.T) {
	mocks := runProd(t, nil)
	secrets := []string{testWebhook, pulumitest.FakeDBPassword, pulumitest.FakeSpacesSecret, "generated-", "hackme"}
	for _, r := range mocks.Resources() {
		if strings.HasPrefix(r.Type, "datafruits:") {
			continue
		}
		plain := pulumitest.PlainOutsideSecrets(r.Inputs)
		for _, s := range secrets {
			if strings.Contains(plain, s) {
				t.Errorf("%s %s has %q outside a secret", r.Type, r.Name, s)
			}
		}
	}
	// And the webhook does reach Alertmanager, Gatus, onair and the archiver.
	var holders []string
	for _, r := range mocks.ByType("kubernetes:core/v1:Secret") {
		if strings.Contains(pulumitest.Plain(r.Inputs), testWebhook) {
			holders = append(holders, r.Name)
		}
	}
	if len(holders) < 4 {
		t.Errorf("webhook reaches only %v; want Alertmanager, status page, onair and archiver", holders)
	}
}

// TestEveryPublicHostIsServed: each public host has a DNS record, a
// certificate (https) and a status page check.
func TestEveryPublicHostIsServed(t *testing.T) {
	mocks := runProd(t, nil)
	records := map[string]bool{}
	for _, r := range mocks.ByType("digitalocean:index/dnsRecord:DnsRecord") {
		if pulumitest.GetString(r.Inputs, "type") == "A" {
			records[pulumitest.GetString(r.Inputs, "name")] = true
			if v := pulumitest.GetString(r.Inputs, "value"); v != pulumitest.FakeLBAddress {
				t.Errorf("A record %s points at %q, want the load balancer's IP", pulumitest.GetString(r.Inputs, "name"), v)
			}
		}
	}
	certs := map[string]bool{}
	for _, c := range mocks.ByType("kubernetes:cert-manager.io/v1:Certificate") {
		certs[pulumitest.GetString(c.Inputs, "spec.dnsNames[0]")] = true
	}
	gatus := ""
	for _, s := range mocks.ByType("kubernetes:core/v1:Secret") {
		if c := pulumitest.GetString(s.Inputs, "stringData.config\\.yaml"); c != "" {
			gatus = c
		}
		if v := pulumitest.Get(s.Inputs, "stringData"); v.IsObject() || v.IsSecret() {
			if c, ok := unwrapMap(v)["config.yaml"]; ok {
				gatus = c
			}
		}
	}
	if gatus == "" {
		t.Fatal("no Gatus configuration found")
	}
	hosts := []string{"datafruits.fm", "api.datafruits.fm", "chat.datafruits.fm", "stream.datafruits.fm", "dj.datafruits.fm",
		"video.datafruits.fm", "admin.datafruits.fm", "stats.datafruits.fm", "status.datafruits.fm", "grafana.datafruits.fm"}
	for _, h := range hosts {
		label := strings.TrimSuffix(strings.TrimSuffix(h, "datafruits.fm"), ".")
		if label == "" {
			label = "@"
		}
		if !records[label] {
			t.Errorf("%s has no DNS record", h)
		}
		if h == "dj.datafruits.fm" {
			if !strings.Contains(gatus, "tcp://dj.datafruits.fm:9000") {
				t.Errorf("DJ input has no TCP check")
			}
			continue
		}
		if !certs[h] {
			t.Errorf("%s has no certificate", h)
		}
		if h != "status.datafruits.fm" && !strings.Contains(gatus, "https://"+h) {
			t.Errorf("%s has no status page check", h)
		}
	}
	if !strings.Contains(gatus, "tcp://video.datafruits.fm:1935") {
		t.Error("RTMP input has no TCP check")
	}
}

func unwrapMap(v resource.PropertyValue) map[string]string {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	out := map[string]string{}
	if !v.IsObject() {
		return out
	}
	for k, e := range v.ObjectValue() {
		for e.IsSecret() {
			e = e.SecretValue().Element
		}
		if e.IsString() {
			out[string(k)] = e.StringValue()
		}
	}
	return out
}

func TestEveryNamespaceDeniesByDefault(t *testing.T) {
	for _, stack := range []string{"prod", "local"} {
		mocks, err := pulumitest.RunStack(stack, run, nil)
		if err != nil {
			t.Fatal(err)
		}
		denied := map[string]bool{}
		for _, p := range mocks.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			if pulumitest.GetString(p.Inputs, "metadata.name") == "default-deny" && len(pulumitest.Get(p.Inputs, "spec.podSelector").ObjectValue()) == 0 {
				denied[pulumitest.GetString(p.Inputs, "metadata.namespace")] = true
			}
		}
		for _, ns := range mocks.ByType("kubernetes:core/v1:Namespace") {
			name := pulumitest.GetString(ns.Inputs, "metadata.name")
			if !denied[name] {
				t.Errorf("%s: namespace %s has no default-deny policy", stack, name)
			}
			if pulumitest.Get(ns.Inputs, "metadata.labels").ObjectValue()["pod-security.kubernetes.io/enforce"].IsNull() {
				t.Errorf("%s: namespace %s has no Pod Security level", stack, name)
			}
		}
	}
}

func TestProtectFollowsConfig(t *testing.T) {
	stateful := []string{
		"digitalocean:index/databaseCluster:DatabaseCluster", "digitalocean:index/databaseDb:DatabaseDb",
		"digitalocean:index/spacesBucket:SpacesBucket", "digitalocean:index/domain:Domain",
	}
	for stack, want := range map[string]bool{"prod": true, "staging": false} {
		mocks, err := pulumitest.RunStack(stack, run, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range stateful {
			for _, r := range mocks.ByType(typ) {
				if r.Protect != want {
					t.Errorf("%s: %s %s protect = %v, want %v", stack, typ, r.Name, r.Protect, want)
				}
			}
		}
	}
}

// TestSecondStationAddsOnlyARadio: a second entry in `stations` adds one
// radio with its children and its public hosts' records and certificates.
// The only existing resources that change are the ones that list every DJ
// port or every endpoint: Traefik's release, its Service and the platform
// namespace's policy (a new TCP entrypoint), and the status page's checks
// and its egress policy (the new port).
func TestSecondStationAddsOnlyARadio(t *testing.T) {
	// Prod's database has no connection to spare for a second archiver
	// (stacks.ConnectionBudget): both runs take the next size up.
	bigger := "db-s-2vcpu-4gb"
	one := runProd(t, map[string]string{"datafruits:databaseSize": bigger})
	two := runProd(t, map[string]string{"datafruits:databaseSize": bigger, "datafruits:stations": `[{"name":"datafruits"},{"name":"jungle"}]`})
	before := map[string]pulumitest.Resource{}
	for _, r := range one.Resources() {
		before[r.URN] = r
	}
	var added, changed []string
	for _, r := range two.Resources() {
		old, ok := before[r.URN]
		if !ok {
			added = append(added, r.URN)
			continue
		}
		if pulumitest.Plain(old.Inputs) != pulumitest.Plain(r.Inputs) {
			changed = append(changed, r.Type+" "+r.Name)
		}
		delete(before, r.URN)
	}
	if len(before) != 0 {
		t.Errorf("adding a station removed resources: %v", before)
	}
	for _, urn := range added {
		ok := strings.Contains(urn, "radio-jungle") ||
			strings.Contains(urn, "stream-jungle") || strings.Contains(urn, "dj-jungle")
		if !ok {
			t.Errorf("adding a station added an unrelated resource %s", urn)
		}
	}
	if len(added) < 20 {
		t.Errorf("a radio is more than %d resources", len(added))
	}
	sort.Strings(changed)
	// The status page's config Secret is named by its content, so its
	// Deployment rolls to the new checks; the API's policy admits each
	// station's Liquidsoap; the DJ port is a new entrypoint, so the nodes are
	// admitted to it too (platform-allow-entities).
	wantChanged := []string{"kubernetes:apps/v1:Deployment statuspage", "kubernetes:cilium.io/v2:CiliumNetworkPolicy platform-allow-entities", "kubernetes:core/v1:Secret statuspage-files", "kubernetes:core/v1:Service ingress-service", "kubernetes:helm.sh/v3:Release ingress-traefik", "kubernetes:networking.k8s.io/v1:NetworkPolicy api", "kubernetes:networking.k8s.io/v1:NetworkPolicy platform-allow-layer", "kubernetes:networking.k8s.io/v1:NetworkPolicy statuspage"}
	if strings.Join(changed, "\n") != strings.Join(wantChanged, "\n") {
		t.Errorf("changed resources:\n%s\nwant:\n%s", strings.Join(changed, "\n"), strings.Join(wantChanged, "\n"))
	}
}

// TestStagingAndProdCanShareAnAccount: DigitalOcean names VPCs and database
// clusters uniquely per account and refuses overlapping VPC ranges, so the
// two DigitalOcean stacks must differ in each.
func TestStagingAndProdCanShareAnAccount(t *testing.T) {
	seen := map[string]string{}
	for _, stack := range []string{"staging", "prod"} {
		mocks, err := pulumitest.RunStack(stack, run, nil)
		if err != nil {
			t.Fatalf("%s stack: %v", stack, err)
		}
		for _, typ := range []string{
			"digitalocean:index/vpc:Vpc", "digitalocean:index/kubernetesCluster:KubernetesCluster",
			"digitalocean:index/databaseCluster:DatabaseCluster",
		} {
			for _, r := range mocks.ByType(typ) {
				key := typ + " name " + pulumitest.GetString(r.Inputs, "name")
				if other, ok := seen[key]; ok {
					t.Errorf("%s and %s both declare %s", other, stack, key)
				}
				seen[key] = stack
			}
		}
		for _, r := range mocks.ByType("digitalocean:index/vpc:Vpc") {
			key := "VPC range " + pulumitest.GetString(r.Inputs, "ipRange")
			if other, ok := seen[key]; ok {
				t.Errorf("%s and %s both use %s", other, stack, key)
			}
			seen[key] = stack
		}
	}
}
