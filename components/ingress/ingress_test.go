package ingress_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/components/ingress"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func build(t *testing.T, a *ingress.Args) *pulumitest.Mocks {
	t.Helper()
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := ingress.New(ctx, "ingress", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mocks
}

func prodArgs() *ingress.Args {
	return &ingress.Args{
		Namespace: pulumi.String("platform"), NamespaceName: "platform",
		TCPEntrypoints: []ingress.Entrypoint{{Name: "rtmp", Port: 1935}, {Name: "dj-9000", Port: 9000}},
		Replicas:       2, Autoscale: true, MaxReplicas: 4, LoadBalancer: true,
		LoadBalancerName: "datafruits-prod", Hostname: "datafruits.fm",
	}
}

func TestTraefikChartEntrypointsAndRedirect(t *testing.T) {
	mocks := build(t, prodArgs())
	rel, ok := mocks.Find("kubernetes:helm.sh/v3:Release", "ingress-traefik")
	if !ok {
		t.Fatal("no Traefik release")
	}
	in := rel.Inputs
	if pulumitest.GetString(in, "chart") != chart.Traefik.Name || pulumitest.GetString(in, "version") != chart.Traefik.Version ||
		pulumitest.GetString(in, "repositoryOpts.repo") != chart.Traefik.Repo {
		t.Errorf("release must pin %+v, got %v", chart.Traefik, in)
	}
	for _, ep := range []string{"rtmp", "dj-9000"} {
		if pulumitest.GetString(in, "values.ports."+ep+".protocol") != "TCP" || pulumitest.GetString(in, "values.ports."+ep+".expose.default") != "true" {
			t.Errorf("TCP entrypoint %s missing or not exposed: %v", ep, pulumitest.Get(in, "values.ports"))
		}
	}
	// Prometheus' annotated-services job scrapes Traefik's metrics Service only with these.
	ann := pulumitest.Get(in, "values.metrics.prometheus.service.annotations").ObjectValue()
	if ann["prometheus.io/scrape"].StringValue() != "true" || ann["prometheus.io/port"].StringValue() != "9100" {
		t.Errorf("Traefik's metrics Service must be annotated for scraping on 9100, got %v", ann)
	}
	flags := strings.Join(stringArray(pulumitest.Array(in, "values.additionalArguments")), "\n")
	for _, want := range []string{
		"--entryPoints.web.http.redirections.entryPoint.to=:443",
		"--entryPoints.websecure.proxyProtocol.trustedIPs=10.0.0.0/8",
		"--entryPoints.dj-9000.proxyProtocol.trustedIPs=10.0.0.0/8",
		"--entryPoints.dj-9000.transport.respondingTimeouts.readTimeout=0s",
	} {
		if !strings.Contains(flags, want) {
			t.Errorf("Traefik lacks %s; flags:\n%s", want, flags)
		}
	}
}

// TestRedirectGoesToThePublicHTTPSPort: Traefik resolves a redirect to an
// entrypoint name to that entrypoint's address port (8443 in the chart), so
// http://host/ would go to https://host:8443/, which the load balancer does
// not expose and Let's Encrypt will not follow for HTTP-01. The redirect must
// name the Service's HTTPS port, once: the chart 39.0.2 adds flags of its own
// when ports.web.http.redirections is set, and two would fight.
func TestRedirectGoesToThePublicHTTPSPort(t *testing.T) {
	for _, lb := range []bool{true, false} {
		a := prodArgs()
		a.LoadBalancer = lb
		mocks := build(t, a)
		rel, _ := mocks.Find("kubernetes:helm.sh/v3:Release", "ingress-traefik")
		svc, _ := mocks.Find("kubernetes:core/v1:Service", "ingress-service")
		httpsPort := ""
		for _, p := range pulumitest.Array(svc.Inputs, "spec.ports") {
			if pulumitest.GetString(p.ObjectValue(), "name") == "websecure" {
				httpsPort = fmt.Sprint(p.ObjectValue()["port"].NumberValue())
			}
		}
		var targets []string
		for _, f := range stringArray(pulumitest.Array(rel.Inputs, "values.additionalArguments")) {
			if v, ok := strings.CutPrefix(f, "--entryPoints.web.http.redirections.entryPoint.to="); ok {
				targets = append(targets, v)
			}
		}
		if len(targets) != 1 || targets[0] != ":"+httpsPort {
			t.Errorf("load balancer %v: web must redirect once to %q (the Service's websecure port), got %q", lb, ":"+httpsPort, targets)
		}
		for _, ep := range []string{"web", "websecure"} {
			if v := pulumitest.Get(rel.Inputs, "values.ports."+ep+".http.redirections"); !v.IsNull() {
				t.Errorf("load balancer %v: values.ports.%s.http.redirections = %v makes the chart render a second redirect", lb, ep, v)
			}
		}
	}
}

func TestLoadBalancerAnnotationsAndProdScaling(t *testing.T) {
	mocks := build(t, prodArgs())
	svc, ok := mocks.Find("kubernetes:core/v1:Service", "ingress-service")
	if !ok {
		t.Fatal("no Service")
	}
	if pulumitest.GetString(svc.Inputs, "spec.type") != "LoadBalancer" {
		t.Errorf("want a LoadBalancer Service")
	}
	annotations := pulumitest.Get(svc.Inputs, "metadata.annotations").ObjectValue()
	for k, want := range map[string]string{
		"service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol": "true",
		"service.beta.kubernetes.io/do-loadbalancer-hostname":              "datafruits.fm",
		"service.beta.kubernetes.io/do-loadbalancer-name":                  "datafruits-prod",
	} {
		if v := annotations[pulumiKey(k)]; !v.IsString() || v.StringValue() != want {
			t.Errorf("annotation %s = %v, want %q (annotation values are strings)", k, v, want)
		}
	}
	ports := map[float64]bool{}
	for _, p := range pulumitest.Array(svc.Inputs, "spec.ports") {
		ports[p.ObjectValue()["port"].NumberValue()] = true
	}
	for _, p := range []float64{80, 443, 1935, 9000} {
		if !ports[p] {
			t.Errorf("load balancer lacks port %v", p)
		}
	}
}

// TestAutoscalingIsTheChartsOwn: a Deployment that sets spec.replicas next to
// an autoscaler of its own gets its count reset by every Helm upgrade. The
// chart leaves replicas out only when its own autoscaling is enabled, so the
// autoscaler and budget must be the chart's (the contract suite renders the
// chart and checks the Deployment).
func TestAutoscalingIsTheChartsOwn(t *testing.T) {
	mocks := build(t, prodArgs())
	rel, _ := mocks.Find("kubernetes:helm.sh/v3:Release", "ingress-traefik")
	if got := pulumitest.GetString(rel.Inputs, "values.autoscaling.enabled"); got != "true" {
		t.Errorf("values.autoscaling.enabled = %q, want true", got)
	}
	if min, max := pulumitest.GetString(rel.Inputs, "values.autoscaling.minReplicas"), pulumitest.GetString(rel.Inputs, "values.autoscaling.maxReplicas"); min != "2" || max != "4" {
		t.Errorf("autoscaling bounds %s..%s, want 2..4", min, max)
	}
	if got := pulumitest.GetString(rel.Inputs, "values.podDisruptionBudget.minAvailable"); got != "1" {
		t.Errorf("values.podDisruptionBudget.minAvailable = %q, want 1", got)
	}
	for _, typ := range []string{"kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget"} {
		for _, r := range mocks.Resources() {
			if r.Type == typ {
				t.Errorf("%s %s declared beside the chart's own", typ, r.Name)
			}
		}
	}
}

// TestLoadBalancerHealthCheckIsAServicePort: DigitalOcean's cloud controller
// maps the health-check port to a Service port's NodePort and refuses to build
// the load balancer when the Service has no such port.
func TestLoadBalancerHealthCheckIsAServicePort(t *testing.T) {
	mocks := build(t, prodArgs())
	svc, _ := mocks.Find("kubernetes:core/v1:Service", "ingress-service")
	annotations := pulumitest.Get(svc.Inputs, "metadata.annotations").ObjectValue()
	port := ""
	if v := annotations[pulumiKey("service.beta.kubernetes.io/do-loadbalancer-healthcheck-port")]; v.IsString() {
		port = v.StringValue()
	}
	found := false
	for _, p := range pulumitest.Array(svc.Inputs, "spec.ports") {
		if fmt.Sprint(p.ObjectValue()["port"].NumberValue()) == port {
			found = true
		}
	}
	if !found {
		t.Errorf("health-check port %q is not one of the Service's ports", port)
	}
}

// TestLoadBalancerAddressComesFromDigitalOcean: with do-loadbalancer-hostname
// the Service's status names only the host, so the address is looked up by
// the load balancer's name once the Service exists.
func TestLoadBalancerAddressComesFromDigitalOcean(t *testing.T) {
	mocks := build(t, prodArgs())
	var looked []string
	for _, c := range mocks.Calls() {
		if c.Token == "digitalocean:index/getLoadBalancer:getLoadBalancer" {
			looked = append(looked, c.Args["name"].StringValue())
		}
	}
	if len(looked) != 1 || looked[0] != "datafruits-prod" {
		t.Errorf("want one look-up of load balancer datafruits-prod, got %v", looked)
	}
}

func TestLocalIngressHasNoLoadBalancer(t *testing.T) {
	a := prodArgs()
	a.LoadBalancer, a.Autoscale = false, false
	mocks := build(t, a)
	svc, _ := mocks.Find("kubernetes:core/v1:Service", "ingress-service")
	if pulumitest.GetString(svc.Inputs, "spec.type") != "ClusterIP" {
		t.Error("without a load balancer the Service must be ClusterIP")
	}
	rel, _ := mocks.Find("kubernetes:helm.sh/v3:Release", "ingress-traefik")
	if pulumitest.Get(rel.Inputs, "values.autoscaling").IsObject() {
		t.Error("no autoscaler asked for")
	}
}

func TestRejectsClashingEntrypoints(t *testing.T) {
	a := prodArgs()
	a.TCPEntrypoints = append(a.TCPEntrypoints, ingress.Entrypoint{Name: "dj-again", Port: 9000})
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := ingress.New(ctx, "ingress", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "9000") {
		t.Errorf("want an error naming port 9000, got %v", err)
	}
}
