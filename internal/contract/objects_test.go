package contract

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/datafruits/infra/internal/pulumitest"
)

func TestFromResourcesConvertsEveryKubernetesObject(t *testing.T) {
	d := fixture{namespace: "unit"}.declare(t)

	got := CountByKind(d.Objects)
	want := "ConfigMap 1, Deployment 2, HorizontalPodAutoscaler 1, Ingress 1, IngressRoute 1, Namespace 1, PodDisruptionBudget 1, Secret 1, Service 2, StatefulSet 1"
	if got != want {
		t.Errorf("objects by kind:\n got %s\nwant %s", got, want)
	}
	if d.Objects[0].Kind != "Namespace" {
		t.Errorf("first object is %s, want the Namespace (applied first)", d.Objects[0].Ref())
	}
	svc := d.Find("Service", "unit", "web")
	if svc == nil || svc.APIVersion != "v1" || svc.Body["apiVersion"] != "v1" || svc.Body["kind"] != "Service" {
		t.Fatalf("Service unit/web: want apiVersion v1 from the type token core/v1, got %+v", svc)
	}
	route := d.Find("IngressRoute", "unit", "web-route")
	if route == nil || route.APIVersion != "traefik.io/v1alpha1" {
		t.Errorf("CustomResource web-route: want apiVersion traefik.io/v1alpha1 from its inputs, got %+v", route)
	}
	if len(d.Skipped) != 1 || d.Skipped[0].Name != "traefik" || d.Skipped[0].Type != "kubernetes:helm.sh/v3:Release" {
		t.Errorf("skipped: want the Helm release traefik by name, got %+v", d.Skipped)
	}
}

func TestFromResourcesUnwrapsSecretsAndRemembersThem(t *testing.T) {
	d := fixture{namespace: "unit"}.declare(t)
	secret := d.Find("Secret", "unit", "web-secret")
	if secret == nil {
		t.Fatal("no Secret unit/web-secret")
	}
	if got := str(secret.Body, "stringData", "PASSWORD"); got != fixtureSecret {
		t.Errorf("Secret stringData.PASSWORD = %q, want the unwrapped secret value", got)
	}
	r := &Report{Stack: "unit", redact: redactions(d), Checks: map[string]int{}}
	r.fail(secret.Ref(), "apply rejected: value %s is bad", fixtureSecret)
	if out := r.String(); strings.Contains(out, fixtureSecret) || !strings.Contains(out, "[secret]") {
		t.Errorf("report must redact secret values, got:\n%s", out)
	}
	// A value that is also used in the open (a name, a label) is not a secret.
	r.fail(secret.Ref(), "namespace %s", "unit")
	d.secrets = append(d.secrets, "unit")
	r.redact = redactions(d)
	if out := r.String(); !strings.Contains(out, "namespace unit") {
		t.Errorf("public strings must not be redacted, got:\n%s", out)
	}
}

func TestFromResourcesNamesObjectsLikeTheProvider(t *testing.T) {
	d := fixture{namespace: "unit"}.declare(t)
	var worker *Object
	for _, o := range d.Objects {
		if o.Logical == "worker" {
			worker = o
		}
	}
	if worker == nil {
		t.Fatal("no Deployment with logical name worker")
	}
	if !regexp.MustCompile(`^worker-[0-9a-z]{8}$`).MatchString(worker.Name) {
		t.Errorf("auto-name = %q, want worker-<8 lowercase alphanumerics>", worker.Name)
	}
	// The program's references to the object read the mocks' outputs: same name.
	if want := pulumitest.AutoName("worker"); worker.Name != want {
		t.Errorf("auto-name = %q, want the mocks' %q", worker.Name, want)
	}
	if str(worker.Body, "metadata", "name") != worker.Name {
		t.Errorf("the generated name must be in the applied body too")
	}
	again := fixture{namespace: "unit"}.declare(t)
	for _, o := range again.Objects {
		if o.Logical == "worker" && o.Name != worker.Name {
			t.Errorf("auto-names must be stable across runs: %s then %s", worker.Name, o.Name)
		}
	}
}

func TestFromResourcesRejectsUnknownValues(t *testing.T) {
	_, err := FromResources("unit", []pulumitest.Resource{{
		Type: "kubernetes:core/v1:ConfigMap", Name: "cm", Custom: true,
		Inputs: resource.PropertyMap{
			"metadata": resource.NewProperty(resource.PropertyMap{"name": resource.MakeComputed(resource.NewProperty(""))}),
		},
	}})
	if err == nil || !strings.Contains(err.Error(), "metadata.name is unknown") {
		t.Errorf("want an error naming the unknown input metadata.name, got %v", err)
	}
}

func TestFromResourcesIgnoresOtherProviders(t *testing.T) {
	d, err := FromResources("unit", []pulumitest.Resource{
		{Type: "digitalocean:index/vpc:Vpc", Name: "vpc", Custom: true},
		{Type: "random:index/randomPassword:RandomPassword", Name: "pw", Custom: true},
		{Type: "datafruits:radio:Radio", Name: "radio"},
		{Type: "pulumi:providers:kubernetes", Name: "k8s", Custom: true},
	})
	if err != nil || len(d.Objects) != 0 || len(d.Skipped) != 0 {
		t.Errorf("want nothing declared or skipped, got %+v, %v", d, err)
	}
}

func TestSelectors(t *testing.T) {
	sel := map[string]any{
		"matchLabels": map[string]any{"app": "web"},
		"matchExpressions": []any{
			map[string]any{"key": "tier", "operator": "In", "values": []any{"front", "edge"}},
			map[string]any{"key": "canary", "operator": "DoesNotExist"},
		},
	}
	cases := []struct {
		labels map[string]any
		want   bool
	}{
		{map[string]any{"app": "web", "tier": "front"}, true},
		{map[string]any{"app": "web", "tier": "back"}, false},
		{map[string]any{"app": "web", "tier": "edge", "canary": "yes"}, false},
		{map[string]any{"app": "api", "tier": "front"}, false},
	}
	for _, c := range cases {
		if got := selectorMatches(sel, c.labels); got != c.want {
			t.Errorf("selectorMatches(%v) = %v, want %v", c.labels, got, c.want)
		}
	}
	if got, want := selectorQuery(sel), "!canary,app=web,tier in (front,edge)"; got != want {
		t.Errorf("selectorQuery = %q, want %q", got, want)
	}
}

func TestRoutesAreCheckedAgainstDeclaredServices(t *testing.T) {
	good := fixture{namespace: "unit"}.declare(t)
	r := &Report{Checks: map[string]int{}}
	checkRoutesStatically(r, good)
	if len(r.Failures) != 0 || r.Checks["route backend (static)"] != 1 {
		t.Errorf("the fixture's route is fine: failures %+v, checks %v", r.Failures, r.Checks)
	}

	bad := fixture{namespace: "unit", routePort: 8443}.declare(t)
	r = &Report{Checks: map[string]int{}}
	checkRoutesStatically(r, bad)
	if len(r.Failures) != 1 || !strings.Contains(r.Failures[0].Problem, "port 8443") {
		t.Errorf("a route to a port the Service lacks must fail naming it, got %+v", r.Failures)
	}
}

func TestPodReferences(t *testing.T) {
	d := fixture{namespace: "unit"}.declare(t)
	web := d.Find("Deployment", "unit", "web")
	refs := podReferences(mapAt(web.Body, "spec", "template", "spec"))
	want := []podRef{
		{"Secret", "web-secret", "PASSWORD", "container web env PASSWORD"},
		{"ConfigMap", "web-config", "", "container web envFrom"},
	}
	if len(refs) != len(want) {
		t.Fatalf("references = %+v, want %+v", refs, want)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Errorf("reference %d = %+v, want %+v", i, refs[i], want[i])
		}
	}
}

func TestChecksSkipOnlyWhatAChartWouldMake(t *testing.T) {
	d := &Declared{releases: map[string][]release{"platform": {{name: "traefik", chart: "traefik"}, {name: "loki", chart: "loki"}}}}
	sel := func(kv ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return plainSelector(m)
	}
	cases := []struct {
		name      string
		namespace string
		selector  map[string]any
		workload  string
		want      string
	}{
		{"chart instance label", "platform", sel("app.kubernetes.io/instance", "traefik-platform"), "", "traefik"},
		{"chart name label", "platform", sel("app.kubernetes.io/name", "loki"), "", "loki"},
		{"a broken selector of the program", "platform", sel("app", "statuspage"), "", ""},
		{"no chart in the namespace", "station", sel("app.kubernetes.io/instance", "traefik"), "", ""},
		{"HPA target named like the release", "platform", nil, "traefik", "traefik"},
		{"HPA target of the program", "platform", nil, "site", ""},
	}
	for _, c := range cases {
		if got := d.chartRelease(c.namespace, c.selector, c.workload); got != c.want {
			t.Errorf("%s: chartRelease = %q, want %q", c.name, got, c.want)
		}
	}
}
