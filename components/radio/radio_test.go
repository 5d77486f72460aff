package radio_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/radio"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func args() *radio.Args {
	return &radio.Args{
		Station: "datafruits", Namespace: "radio-datafruits",
		Images: map[string]string{"icecast": "mcfiredrill/icecast:2.4.4", "liquidsoap": "savonet/liquidsoap:v2.1.3",
			"archiver": "ghcr.io/datafruits/archiver:0.1.0", "onair": "ghcr.io/datafruits/onair:0.1.0"},
		StreamHost: "stream.datafruits.fm", DJHost: "dj.datafruits.fm", DJEntrypoint: "dj-9000", DJPort: 9000,
		Relays: workload.Scaling{Min: 2, Max: 6}, StorageClass: "do-block-storage",
		Archive: radio.Archive{
			DatabaseURL: pulumi.String("postgresql://archiver@db/archiver"), S3Endpoint: pulumi.String("https://nyc3.digitaloceanspaces.com"),
			S3Region: "nyc3", Bucket: pulumi.String("media"), AccessKeyID: pulumi.String("AK"), SecretAccessKey: pulumi.String("SK"),
			PublicBaseURL: pulumi.String("https://media.datafruits.fm"),
		},
		AllowedOrigins: []string{"https://datafruits.fm"},
		LiqSecret:      pulumi.String("liq-secret-value"),
		API: radio.API{URL: "http://api.station.svc.cluster.local:3000", Host: "datafruits.datafruits.fm",
			Peer: netpol.Peer{Namespace: "station", PodLabels: map[string]string{"app.kubernetes.io/name": "api"}, Ports: []int{3000}}},
		Platform: workload.PlatformRefs{IngressNamespace: "platform", MonitoringNamespace: "observability", IngressClass: "traefik", TraefikCRDs: true},
	}
}

func TestStationShape(t *testing.T) {
	var r *radio.Radio
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		var err error
		r, err = radio.New(ctx, "radio-datafruits", args())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ns, ok := mocks.Find("kubernetes:core/v1:Namespace", "radio-datafruits-namespace"); !ok || pulumitest.GetString(ns.Inputs, "metadata.name") != "radio-datafruits" {
		t.Error("each station has its own namespace")
	}
	svc, _ := mocks.Find("kubernetes:core/v1:Service", "radio-datafruits-icecast")
	if pulumitest.GetString(svc.Inputs, "metadata.name") != "icecast" {
		t.Error(`the source Icecast's Service must be named "icecast"`)
	}
	ls, _ := mocks.Find("kubernetes:apps/v1:Deployment", "radio-datafruits-liquidsoap")
	if pulumitest.GetNumber(ls.Inputs, "spec.replicas") != 1 || pulumitest.GetString(ls.Inputs, "spec.strategy.type") != "Recreate" {
		t.Error("Liquidsoap must be one replica with Recreate")
	}
	if pulumitest.GetString(ls.Inputs, "spec.template.spec.containers[1].name") != "archiver" ||
		pulumitest.GetString(ls.Inputs, "spec.template.spec.containers[1].volumeMounts[1].mountPath") != "/recordings" {
		t.Errorf("the archiver must run beside Liquidsoap on the recordings volume: %v", pulumitest.Get(ls.Inputs, "spec.template.spec.containers[1].volumeMounts"))
	}
	route, ok := mocks.Find("kubernetes:traefik.io/v1alpha1:IngressRouteTCP", "radio-datafruits-liquidsoap-dj-9000")
	if !ok || pulumitest.GetString(route.Inputs, "spec.entryPoints[0]") != "dj-9000" || pulumitest.GetNumber(route.Inputs, "spec.routes[0].services[0].port") != 9000 {
		t.Errorf("DJ input must be a TCP route on entrypoint dj-9000 to the harbor port")
	}
	relayHPA, _ := mocks.Find("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "radio-datafruits-relay")
	if pulumitest.GetNumber(relayHPA.Inputs, "spec.minReplicas") != 2 || pulumitest.GetNumber(relayHPA.Inputs, "spec.maxReplicas") != 6 {
		t.Error("relays scale within the configured bounds")
	}
	passwords := mocks.ByType("random:index/randomPassword:RandomPassword")
	if len(passwords) != 3 {
		t.Errorf("want generated source, admin and relay passwords, got %d", len(passwords))
	}
	for _, r := range mocks.Resources() {
		if strings.Contains(pulumitest.Plain(r.Inputs), "hackme") {
			t.Errorf("%s carries Icecast's upstream default password", r.Name)
		}
	}
	if !pulumi.IsSecret(r.SourcePassword) || !pulumi.IsSecret(r.AdminPassword) {
		t.Error("Icecast passwords must be secret outputs")
	}
}

func TestRequiresEveryImage(t *testing.T) {
	a := args()
	delete(a.Images, "archiver")
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := radio.New(ctx, "radio-datafruits", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `"archiver"`) {
		t.Errorf("want an error naming the archiver image, got %v", err)
	}
}

// TestRadioConfigurationIsRenderedAndSecretsStayInSecrets checks that every daemon runs the
// configuration the program renders (mounted from ConfigMaps), that no password or the liq
// secret is in any ConfigMap, and that Liquidsoap gets both from a Secret.
func TestRadioConfigurationIsRenderedAndSecretsStayInSecrets(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := radio.New(ctx, "radio-datafruits", args())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	config := func(name, file string) string {
		cm, ok := mocks.Find("kubernetes:core/v1:ConfigMap", name)
		if !ok {
			t.Fatalf("no ConfigMap %s", name)
		}
		// File names have dots, which GetString's path would split on.
		v := pulumitest.Get(cm.Inputs, "data").ObjectValue()[resource.PropertyKey(file)]
		if !v.IsString() {
			t.Fatalf("ConfigMap %s has no %s", name, file)
		}
		return v.StringValue()
	}
	liq := config("radio-datafruits-liquidsoap-config", "radio.liq")
	for _, want := range []string{`getenv("LIQ_SECRET")`, `getenv("ICECAST_SOURCE_PASSWORD")`, `"http://api.station.svc.cluster.local:3000"`,
		`"datafruits.datafruits.fm"`, `mount="#{station}.mp3"`, `mount="#{station}.ogg"`, `"/recordings/archive/`, "datafruits_dead_air", "rtmp://0.0.0.0:1936/live/vj"} {
		if !strings.Contains(liq, want) {
			t.Errorf("the Liquidsoap script lacks %s", want)
		}
	}
	source := config("radio-datafruits-icecast-config", "icecast.xml")
	relay := config("radio-datafruits-relay-config", "icecast.xml")
	if strings.Contains(source, "<master-server>") || !strings.Contains(relay, "<master-server>icecast</master-server>") {
		t.Error("only the relays relay the source server (Service icecast)")
	}
	for name, xml := range map[string]string{"source": source, "relay": relay} {
		if !strings.Contains(xml, "@ICECAST_SOURCE_PASSWORD@") || !strings.Contains(xml, "<accesslog>-</accesslog>") {
			t.Errorf("%s icecast.xml: passwords must be placeholders and the access log on standard error", name)
		}
	}
	for _, cm := range mocks.ByType("kubernetes:core/v1:ConfigMap") {
		plain := pulumitest.Plain(cm.Inputs)
		for _, secret := range []string{"generated-radio-datafruits-source-password", "generated-radio-datafruits-relay-password",
			"generated-radio-datafruits-admin-password", "liq-secret-value"} {
			if strings.Contains(plain, secret) {
				t.Errorf("ConfigMap %s carries a secret (%s)", cm.Name, secret)
			}
		}
	}
	env, ok := mocks.Find("kubernetes:core/v1:Secret", "radio-datafruits-liquidsoap-secret-env")
	if !ok || !pulumitest.IsSecret(env.Inputs, "stringData") || pulumitest.GetString(env.Inputs, "stringData.LIQ_SECRET") != "liq-secret-value" {
		t.Error("Liquidsoap must get LIQ_SECRET from a secret Secret")
	}
	ls, _ := mocks.Find("kubernetes:apps/v1:Deployment", "radio-datafruits-liquidsoap")
	if pulumitest.GetString(ls.Inputs, "spec.template.spec.containers[0].command[1]") != "/etc/liquidsoap/radio.liq" {
		t.Errorf("Liquidsoap must run the mounted script: %v", pulumitest.Get(ls.Inputs, "spec.template.spec.containers[0].command"))
	}
}

// TestLiquidsoapImageMustBeTheTestedMinor refuses an image the script was not tested on.
func TestLiquidsoapImageMustBeTheTestedMinor(t *testing.T) {
	for image, ok := range map[string]bool{
		"savonet/liquidsoap:v2.1.3": true, "savonet/liquidsoap:2.1.4": true,
		"mcfiredrill/liquidsoap:2.2.5": false, "savonet/liquidsoap:v2.4.x-latest": false, "savonet/liquidsoap@sha256:abc": false,
		"ghcr.io/datafruits/datafruits-liquidsoap:2.1.3-0123abcd@sha256:" + strings.Repeat("ab", 32): true,
		"ghcr.io/datafruits/datafruits-liquidsoap:2.4.0@sha256:" + strings.Repeat("ab", 32):          false,
		"registry.local:5000/liquidsoap@sha256:" + strings.Repeat("ab", 32):                          false,
	} {
		err := radio.CheckLiquidsoapImage(image)
		if (err == nil) != ok {
			t.Errorf("%s: got %v, want accepted=%v", image, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "2.1.3") {
			t.Errorf("%s: the error must say what is allowed: %v", image, err)
		}
	}
}

// TestStationNameMustBeAMountAndDNSLabel refuses names that cannot name a mount or namespace.
func TestStationNameMustBeAMountAndDNSLabel(t *testing.T) {
	a := args()
	a.Station = "datafruits.mp3"
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := radio.New(ctx, "radio-datafruits", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `"datafruits.mp3"`) {
		t.Errorf("want an error naming the station, got %v", err)
	}
}

// TestArchiverWaitsOutTheReconnectWindow: a DJ back within the reconnect
// window appends to the same recording; the archiver must not take the file
// before that window has passed, or the rest of the set would conflict with
// the archived part. Both figures are read from what the program renders.
func TestArchiverWaitsOutTheReconnectWindow(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := radio.New(ctx, "radio-datafruits", args())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env, _ := mocks.Find("kubernetes:core/v1:ConfigMap", "radio-datafruits-liquidsoap-archiver-env")
	quiet, err := time.ParseDuration(pulumitest.GetString(env.Inputs, "data.ARCHIVER_QUIET_PERIOD"))
	if err != nil {
		t.Fatalf("ARCHIVER_QUIET_PERIOD: %v", err)
	}
	cfg, _ := mocks.Find("kubernetes:core/v1:ConfigMap", "radio-datafruits-liquidsoap-config")
	script := pulumitest.Get(cfg.Inputs, "data").ObjectValue()["radio.liq"].StringValue()
	m := regexp.MustCompile(`now - !last_disconnect_at > ([0-9.]+)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("the rendered radio.liq has no reconnect window (now - !last_disconnect_at > N)")
	}
	window, _ := strconv.ParseFloat(m[1], 64)
	if quiet.Seconds() <= window {
		t.Errorf("the archiver takes a recording after %s unchanged, within Liquidsoap's %gs reconnect window", quiet, window)
	}
}

// TestArchiverRegistersInTheAPIsDatabase: given the API's database, the
// archiver gets it as secret env, never in its ConfigMap.
func TestArchiverRegistersInTheAPIsDatabase(t *testing.T) {
	a := args()
	a.Archive.APIDatabaseURL = pulumi.String("postgresql://api:pw@db/api")
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := radio.New(ctx, "radio-datafruits", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := mocks.Find("kubernetes:core/v1:Secret", "radio-datafruits-liquidsoap-archiver-secret-env")
	if pulumitest.GetString(secret.Inputs, "stringData.API_DATABASE_URL") != "postgresql://api:pw@db/api" {
		t.Errorf("the archiver's secret env lacks API_DATABASE_URL: %v", pulumitest.Get(secret.Inputs, "stringData"))
	}
	env, _ := mocks.Find("kubernetes:core/v1:ConfigMap", "radio-datafruits-liquidsoap-archiver-env")
	if strings.Contains(fmt.Sprint(pulumitest.Get(env.Inputs, "data")), "pw@") {
		t.Error("the API's database URL reached the archiver's ConfigMap")
	}
}

// TestDeadAirGaugeIsScraped: Prometheus' annotated-services job scrapes one
// port per Service, and Liquidsoap's workload Service names the archiver's;
// the dead-air gauge needs a Service of its own selecting Liquidsoap's pods.
func TestDeadAirGaugeIsScraped(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := radio.New(ctx, "radio-datafruits", args())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := mocks.Find("kubernetes:apps/v1:Deployment", "radio-datafruits-liquidsoap")
	podLabels := pulumitest.Get(ls.Inputs, "spec.template.metadata.labels").ObjectValue()
	var liqPort float64
	for _, p := range pulumitest.Array(ls.Inputs, "spec.template.spec.containers[0].ports") {
		if p.ObjectValue()["name"].StringValue() == "liq-metrics" {
			liqPort = p.ObjectValue()["containerPort"].NumberValue()
		}
	}
	found := false
	for _, svc := range mocks.ByType("kubernetes:core/v1:Service") {
		ann := pulumitest.Get(svc.Inputs, "metadata.annotations")
		if !ann.IsObject() || str(ann.ObjectValue()["prometheus.io/scrape"]) != "true" ||
			str(ann.ObjectValue()["prometheus.io/port"]) != strconv.FormatFloat(liqPort, 'f', -1, 64) {
			continue
		}
		selects := true
		for k, v := range pulumitest.Get(svc.Inputs, "spec.selector").ObjectValue() {
			if str(podLabels[k]) != str(v) {
				selects = false
			}
		}
		found = found || selects
	}
	if liqPort == 0 || !found {
		t.Errorf("no Service annotated for scraping selects Liquidsoap's pods on its metrics port %v", liqPort)
	}
}

func str(v resource.PropertyValue) string {
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}
