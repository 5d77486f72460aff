package workload_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var refs = workload.PlatformRefs{IngressNamespace: "platform", MonitoringNamespace: "observability", IngressClass: "traefik", TraefikCRDs: true}

func args() *workload.Args {
	return &workload.Args{
		Namespace: "station", Image: "ghcr.io/datafruits/app:1.0.0",
		Ports:     []workload.Port{{Name: "http", Number: 3000}, {Name: "metrics", Number: 9090}},
		Env:       map[string]string{"MODE": "production"},
		SecretEnv: pulumi.StringMap{"TOKEN": pulumi.ToSecret(pulumi.String("s3cr3t-value")).(pulumi.StringOutput)}, SecretEnvKeys: []string{"TOKEN"},
		Probe:       &workload.Probe{HTTPPath: "/health", Port: "http"},
		Scaling:     &workload.Scaling{Min: 2, Max: 5},
		Route:       &workload.Route{Host: "app.datafruits.fm"},
		MetricsPort: "metrics",
		Platform:    refs,
	}
}

func build(t *testing.T, a *workload.Args) *pulumitest.Mocks {
	t.Helper()
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := workload.New(ctx, "app", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mocks
}

func TestDeploymentIsLockedDownAndAutoscaled(t *testing.T) {
	mocks := build(t, args())
	d, ok := mocks.Find("kubernetes:apps/v1:Deployment", "app")
	if !ok {
		t.Fatal("no Deployment")
	}
	in := d.Inputs
	if !pulumitest.Get(in, "spec.replicas").IsNull() {
		t.Errorf("an autoscaled Deployment must not set replicas (server-side apply conflict), got %v", pulumitest.Get(in, "spec.replicas"))
	}
	c := "spec.template.spec.containers[0]."
	for path, want := range map[string]string{
		c + "securityContext.allowPrivilegeEscalation":                "false",
		c + "securityContext.readOnlyRootFilesystem":                  "true",
		c + "securityContext.runAsNonRoot":                            "true",
		c + "securityContext.capabilities.drop[0]":                    "ALL",
		c + "securityContext.seccompProfile.type":                     "RuntimeDefault",
		"spec.template.spec.securityContext.runAsNonRoot":             "true",
		c + "readinessProbe.httpGet.path":                             "/health",
		c + "livenessProbe.httpGet.port":                              "http",
		c + "resources.requests.cpu":                                  "50m",
		c + "resources.limits.memory":                                 "128Mi",
		c + "image":                                                   "ghcr.io/datafruits/app:1.0.0",
		"spec.template.spec.automountServiceAccountToken":             "false",
		"spec.template.spec.topologySpreadConstraints[0].topologyKey": "kubernetes.io/hostname",
	} {
		if got := pulumitest.GetString(in, path); got != want {
			t.Errorf("Deployment %s = %q, want %q", path, got, want)
		}
	}
	if pulumitest.GetString(in, c+"envFrom[1].secretRef.name") == "" {
		t.Error("secret settings must reach the pod through a Secret reference")
	}
	if strings.Contains(pulumitest.PlainOutsideSecrets(in), "s3cr3t-value") || strings.Contains(pulumitest.Plain(in), "s3cr3t-value") {
		t.Error("a secret value appears in the Deployment")
	}
	hpa, ok := mocks.Find("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "app")
	if !ok || pulumitest.GetNumber(hpa.Inputs, "spec.minReplicas") != 2 || pulumitest.GetNumber(hpa.Inputs, "spec.maxReplicas") != 5 {
		t.Errorf("want an autoscaler 2..5, got %v", hpa.Inputs)
	}
	if pulumitest.GetString(hpa.Inputs, "spec.scaleTargetRef.name") != "app" {
		t.Error("autoscaler must target the Deployment")
	}
	pdb, ok := mocks.Find("kubernetes:policy/v1:PodDisruptionBudget", "app")
	if !ok || pulumitest.GetNumber(pdb.Inputs, "spec.maxUnavailable") != 1 {
		t.Errorf("want a PodDisruptionBudget with maxUnavailable 1, got %v", pdb.Inputs)
	}
	secret := mocks.ByType("kubernetes:core/v1:Secret")
	if len(secret) != 1 || !pulumitest.IsSecret(secret[0].Inputs, "stringData") {
		t.Errorf("the env Secret's data must be marked secret")
	}
}

func TestRouteServiceAndPolicy(t *testing.T) {
	mocks := build(t, args())
	ing, ok := mocks.Find("kubernetes:networking.k8s.io/v1:Ingress", "app")
	if !ok {
		t.Fatal("no Ingress")
	}
	if h := pulumitest.GetString(ing.Inputs, "spec.rules[0].host"); h != "app.datafruits.fm" {
		t.Errorf("route host = %q", h)
	}
	if p := pulumitest.GetString(ing.Inputs, "spec.rules[0].http.paths[0].backend.service.port.name"); p != "http" {
		t.Errorf("route port = %q, want http", p)
	}
	if s := pulumitest.GetString(ing.Inputs, "spec.tls[0].secretName"); s != workload.TLSSecretName("app.datafruits.fm") {
		t.Errorf("route TLS secret = %q", s)
	}
	svc, _ := mocks.Find("kubernetes:core/v1:Service", "app")
	// Annotation keys hold dots, so they are read from the map, not by path.
	if port := pulumitest.Get(svc.Inputs, "metadata.annotations").ObjectValue()["prometheus.io/port"]; !port.IsString() || port.StringValue() != "9090" {
		t.Error("Service must announce the metrics port for Prometheus")
	}
	np, ok := mocks.Find("kubernetes:networking.k8s.io/v1:NetworkPolicy", "app")
	if !ok {
		t.Fatal("no NetworkPolicy")
	}
	nsLabels := pulumitest.Get(np.Inputs, "spec.ingress[0].from[0].namespaceSelector.matchLabels").ObjectValue()
	if nsLabels["kubernetes.io/metadata.name"].StringValue() != "platform" || pulumitest.GetNumber(np.Inputs, "spec.ingress[0].ports[0].port") != 3000 {
		t.Errorf("policy must admit the ingress controller to the routed port, got %v", pulumitest.Get(np.Inputs, "spec.ingress"))
	}
}

func TestSingleWriterWithVolume(t *testing.T) {
	a := args()
	a.Scaling, a.Recreate, a.Replicas = nil, true, 1
	a.Volume = &workload.Volume{Name: "data", MountPath: "/data", Size: "1Gi", StorageClass: "standard"}
	mocks := build(t, a)
	d, _ := mocks.Find("kubernetes:apps/v1:Deployment", "app")
	if pulumitest.GetString(d.Inputs, "spec.strategy.type") != "Recreate" || pulumitest.GetNumber(d.Inputs, "spec.replicas") != 1 {
		t.Errorf("want Recreate with 1 replica, got %v / %v", pulumitest.Get(d.Inputs, "spec.strategy"), pulumitest.Get(d.Inputs, "spec.replicas"))
	}
	if len(mocks.ByType("kubernetes:core/v1:PersistentVolumeClaim")) != 1 {
		t.Error("want one claim")
	}
}

func TestRejectsUnsafeArgs(t *testing.T) {
	for name, mutate := range map[string]func(*workload.Args){
		"latest image":             func(a *workload.Args) { a.Image = "nginx:latest" },
		"untagged image":           func(a *workload.Args) { a.Image = "nginx" },
		"probe on unknown port":    func(a *workload.Args) { a.Probe.Port = "nope" },
		"route on unknown port":    func(a *workload.Args) { a.Route.Port = "nope" },
		"autoscaled single writer": func(a *workload.Args) { a.Recreate = true },
		"shared volume rolling": func(a *workload.Args) {
			a.Scaling = nil
			a.Volume = &workload.Volume{Name: "d", MountPath: "/d", Size: "1Gi", StorageClass: "s"}
		},
		"secret env without keys": func(a *workload.Args) { a.SecretEnvKeys = nil },
	} {
		t.Run(name, func(t *testing.T) {
			a := args()
			mutate(a)
			mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
				_, err := workload.New(ctx, "app", a)
				return err
			})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "workload app") {
				t.Errorf("error %q does not name the workload", err)
			}
			if n := len(mocks.Resources()); n != 0 {
				t.Errorf("declared %d resources before failing", n)
			}
		})
	}
}

func TestIngressAwaitOnlyWithAnAddress(t *testing.T) {
	for _, address := range []bool{true, false} {
		a := args()
		a.Platform.IngressAddress = address
		mocks := build(t, a)
		ing, _ := mocks.Find("kubernetes:networking.k8s.io/v1:Ingress", "app")
		skip := pulumitest.Get(ing.Inputs, "metadata.annotations").ObjectValue()["pulumi.com/skipAwait"]
		if address == skip.IsString() {
			t.Errorf("IngressAddress=%v: skipAwait annotation = %v", address, skip)
		}
	}
}

// TestLongLivedTransportIsNamedByTheService: Traefik reads
// service.serverstransport from the Service (its "On Service" annotations),
// so the annotation on an Ingress would be ignored.
func TestLongLivedTransportIsNamedByTheService(t *testing.T) {
	a := args()
	a.Route.LongLived = true
	mocks := build(t, a)
	const key = "traefik.ingress.kubernetes.io/service.serverstransport"
	svc, _ := mocks.Find("kubernetes:core/v1:Service", "app")
	if v := pulumitest.Get(svc.Inputs, "metadata.annotations").ObjectValue()[key]; !v.IsString() || v.StringValue() != "station-app-long-lived@kubernetescrd" {
		t.Errorf("Service annotation %s = %v, want station-app-long-lived@kubernetescrd", key, v)
	}
	if _, ok := mocks.Find("kubernetes:traefik.io/v1alpha1:ServersTransport", "app-long-lived"); !ok {
		t.Error("no ServersTransport app-long-lived")
	}
}

// TestFormerHostsAreServedTheSame: a host the workload had before the move
// gets its own rule to the same backend and its own certificate Secret, and
// its endpoint says it is former, so DNS and checks can leave it out.
func TestFormerHostsAreServedTheSame(t *testing.T) {
	a := args()
	a.Route.FormerHosts = []string{"streampusher.com"}
	var w *workload.Workload
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		var err error
		w, err = workload.New(ctx, "app", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ing, _ := mocks.Find("kubernetes:networking.k8s.io/v1:Ingress", "app")
	if h := pulumitest.GetString(ing.Inputs, "spec.rules[1].host"); h != "streampusher.com" {
		t.Fatalf("second rule host = %q, want the former host", h)
	}
	if a, b := pulumitest.GetString(ing.Inputs, "spec.rules[0].http.paths[0].backend.service.port.name"), pulumitest.GetString(ing.Inputs, "spec.rules[1].http.paths[0].backend.service.port.name"); a != b {
		t.Errorf("the former host goes to port %q, the host to %q", b, a)
	}
	if s := pulumitest.GetString(ing.Inputs, "spec.tls[1].secretName"); s != workload.TLSSecretName("streampusher.com") {
		t.Errorf("former host's TLS secret = %q", s)
	}
	var former []string
	for _, e := range w.Endpoints {
		if e.Former {
			former = append(former, e.Host)
		}
	}
	if len(w.Endpoints) != 2 || len(former) != 1 || former[0] != "streampusher.com" {
		t.Errorf("endpoints %+v: want the host and one former host", w.Endpoints)
	}

	a = args()
	a.Route.FormerHosts = []string{"app.datafruits.fm"}
	if _, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error { _, err := workload.New(ctx, "app", a); return err }); err == nil || !strings.Contains(err.Error(), "FormerHosts") {
		t.Errorf("the route's own host as a former host: want an error naming FormerHosts, got %v", err)
	}
}
