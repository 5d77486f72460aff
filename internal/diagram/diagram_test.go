package diagram

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func res(typ, name string, inputs, outputs map[string]any) pulumitest.Resource {
	return pulumitest.Resource{
		Type: typ, Name: name,
		Inputs:  resource.NewPropertyMapFromMap(inputs),
		Outputs: resource.NewPropertyMapFromMap(outputs),
	}
}

// deployment is a one-container Deployment reading one Secret as env.
func deployment(ns, name, secret string, extra ...map[string]any) pulumitest.Resource {
	containers := []any{map[string]any{"name": name, "envFrom": []any{map[string]any{"secretRef": map[string]any{"name": secret}}}}}
	for _, c := range extra {
		containers = append(containers, c)
	}
	return res(typeDeployment, name, map[string]any{
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{nameLabel: name}},
			"spec":     map[string]any{"containers": containers},
		}},
	}, nil)
}

func secret(ns, name string, data map[string]any) pulumitest.Resource {
	return res(typeSecret, name, map[string]any{"metadata": map[string]any{"namespace": ns}, "stringData": data},
		map[string]any{"metadata": map[string]any{"name": name}})
}

func service(ns, name, app string) pulumitest.Resource {
	return res(typeService, name, map[string]any{
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"selector": map[string]any{nameLabel: app}},
	}, nil)
}

// smallStack is an API behind a pool, a Liquidsoap pushing to Icecast by
// its Service name, and a site calling the API through its public host.
func smallStack() []pulumitest.Resource {
	return []pulumitest.Resource{
		res(typeDBCluster, "postgres-cluster", map[string]any{"engine": "pg", "size": "db-s-1vcpu-1gb", "nodeCount": 1},
			map[string]any{"host": "pg.example", "privateHost": "private-pg.example"}),
		res(typeDBPool, "postgres-api-pool", map[string]any{"name": "api-pool", "clusterId": "postgres-cluster-id"},
			map[string]any{"host": "pool.example", "privateHost": "private-pool.example"}),
		res(typeBucket, "spaces-media", map[string]any{"name": "df-media"}, map[string]any{"bucketDomainName": "df-media.nyc3.example", "endpoint": "nyc3.example"}),
		deployment("station", "api", "api-secret-env"),
		secret("station", "api-secret-env", map[string]any{
			"DATABASE_URL": "postgresql://api:pw@private-pool.example:25061/api-pool",
			"S3_BUCKET":    "df-media", "S3_ENDPOINT": "https://nyc3.example",
			"FALCON_BIND": "http://0.0.0.0:3000",
		}),
		service("station", "api", "api"),
		res(typeIngress, "api", map[string]any{
			"metadata": map[string]any{"namespace": "station"},
			"spec": map[string]any{"rules": []any{map[string]any{"host": "api.example.fm", "http": map[string]any{"paths": []any{
				map[string]any{"path": "/", "backend": map[string]any{"service": map[string]any{"name": "api"}}},
			}}}}},
		}, nil),
		deployment("station", "site", "site-secret-env"),
		secret("station", "site-secret-env", map[string]any{"API_URL": "https://api.example.fm", "ORIGINS": "https://api.example.fm,https://example.fm"}),
		deployment("radio-x", "radio-x-liquidsoap", "ls-env"),
		secret("radio-x", "ls-env", map[string]any{"ICECAST_HOST": "icecast"}),
		deployment("radio-x", "radio-x-icecast", "ic-env"),
		service("radio-x", "icecast", "radio-x-icecast"),
	}
}

func build(t *testing.T, rs []pulumitest.Resource) *Graph {
	t.Helper()
	g, err := Build(rs, Options{LayerOf: func(string) string { return Station }})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func edgeSet(g *Graph) map[string]string {
	out := map[string]string{}
	for _, e := range g.Edges() {
		out[e.From+" -> "+e.To] = e.Label
	}
	return out
}

func TestBuildDerivesEdgesFromDeclarations(t *testing.T) {
	got := edgeSet(build(t, smallStack()))
	want := map[string]string{
		"k8s_api -> do_postgres_api_pool":               "postgresql",
		"do_postgres_api_pool -> do_postgres_cluster":   "postgresql",
		"k8s_api -> do_spaces_media":                    "S3",
		"k8s_site -> k8s_api":                           "https",
		"k8s_radio_x_liquidsoap -> k8s_radio_x_icecast": "",
	}
	for edge, label := range want {
		if l, ok := got[edge]; !ok || l != label {
			t.Errorf("edge %s: got label %q (present %v), want %q", edge, l, ok, label)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d edges %v, want exactly %d: the S3 endpoint, a bind address and a list of origins name no peer", len(got), got, len(want))
	}
}

// TestAddingAConnectionChangesTheOutput is what the golden test relies on:
// one more declared peer, one more line in the diagram.
func TestAddingAConnectionChangesTheOutput(t *testing.T) {
	before := build(t, smallStack()).Mermaid()
	rs := smallStack()
	rs = append(rs, res(typeNetPol, "site", map[string]any{
		"metadata": map[string]any{"namespace": "station"},
		"spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": map[string]any{nameLabel: "site"}},
			"egress": []any{map[string]any{
				"ports": []any{map[string]any{"port": 3000, "protocol": "TCP"}},
				"to":    []any{map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{nameLabel: "api"}}}},
			}},
		},
	}, nil))
	after := build(t, rs).Mermaid()
	if before == after {
		t.Fatal("a new network policy peer did not change the diagram")
	}
	// The policy's edge joins the public call: one solid arrow, both labels.
	if !strings.Contains(after, `k8s_site -->|"https, tcp/3000"| k8s_api`) {
		t.Errorf("the new egress rule is not drawn on site → api:\n%s", after)
	}
}

func TestMermaidIsDeterministicAndGrouped(t *testing.T) {
	first := build(t, smallStack()).Mermaid()
	for range 5 {
		if again := build(t, smallStack()).Mermaid(); again != first {
			t.Fatalf("two builds of the same resources differ:\n%s\n---\n%s", first, again)
		}
	}
	for _, want := range []string{
		`subgraph layer_foundation["DigitalOcean foundation"]`,
		`subgraph ns_radio_x["namespace radio-x"]`,
		`k8s_radio_x_icecast["icecast"]`, // the namespace prefix is dropped from labels
		`do_postgres_cluster[("Postgres db-s-1vcpu-1gb × 1")]`,
		`k8s_site -.->|"https"| k8s_api`, // through the public host: shallow
	} {
		if !strings.Contains(first, want) {
			t.Errorf("diagram lacks %s:\n%s", want, first)
		}
	}
}

func TestViewFollowsEntriesButNotShallowEdges(t *testing.T) {
	g := build(t, smallStack())
	v := edgeSet(g.View(Story{Name: "t", Actor: "Someone", Entries: []string{"site"}}))
	if _, ok := v["k8s_site -> k8s_api"]; !ok {
		t.Errorf("view lacks site → api: %v", v)
	}
	if _, ok := v["k8s_api -> do_postgres_api_pool"]; ok {
		t.Errorf("view follows the API's own edges through a shallow edge: %v", v)
	}
	v = edgeSet(g.View(Story{Name: "t", Actor: "Someone", Entries: []string{"api"}}))
	if _, ok := v["do_postgres_api_pool -> do_postgres_cluster"]; !ok {
		t.Errorf("view from the API does not reach Postgres through the pool: %v", v)
	}
}

func TestSplice(t *testing.T) {
	doc := "# A\n<!-- diagram:stack -->\nold\n<!-- /diagram:stack -->\ntail\n"
	got, err := Splice(doc, map[string]string{"stack": "new\n"})
	if err != nil || got != "# A\n<!-- diagram:stack -->\nnew\n<!-- /diagram:stack -->\ntail\n" {
		t.Errorf("Splice = %q, %v", got, err)
	}
	if _, err := Splice("no markers", map[string]string{"stack": "x"}); err == nil || !strings.Contains(err.Error(), "diagram:stack") {
		t.Errorf("Splice without markers: err = %v, want one naming the markers", err)
	}
}

func TestBuildNamesAnIngressWithoutBackend(t *testing.T) {
	rs := []pulumitest.Resource{res(typeIngress, "ghost", map[string]any{
		"metadata": map[string]any{"namespace": "station"},
		"spec": map[string]any{"rules": []any{map[string]any{"host": "ghost.example", "http": map[string]any{"paths": []any{
			map[string]any{"path": "/", "backend": map[string]any{"service": map[string]any{"name": "nobody"}}},
		}}}}},
	}, nil)}
	if _, err := Build(rs, Options{LayerOf: func(string) string { return Station }}); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("Build with a dangling Ingress: err = %v, want one naming it", err)
	}
}
