package radio_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/radio"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func args() *radio.Args {
	return &radio.Args{
		Station: "datafruits", Namespace: "radio-datafruits",
		Images: map[string]string{"icecast": "mcfiredrill/icecast:2.4.4", "liquidsoap": "mcfiredrill/liquidsoap:2.2.5",
			"archiver": "ghcr.io/datafruits/archiver:0.1.0", "onair": "ghcr.io/datafruits/onair:0.1.0"},
		StreamHost: "stream.datafruits.fm", DJHost: "dj.datafruits.fm", DJEntrypoint: "dj-9000", DJPort: 9000,
		Relays: workload.Scaling{Min: 2, Max: 6}, StorageClass: "do-block-storage",
		Archive: radio.Archive{
			DatabaseURL: pulumi.String("postgresql://archiver@db/archiver"), S3Endpoint: pulumi.String("https://nyc3.digitaloceanspaces.com"),
			S3Region: "nyc3", Bucket: pulumi.String("media"), AccessKeyID: pulumi.String("AK"), SecretAccessKey: pulumi.String("SK"),
			PublicBaseURL: pulumi.String("https://media.datafruits.fm"),
		},
		AllowedOrigins: []string{"https://datafruits.fm"},
		Platform:       workload.PlatformRefs{IngressNamespace: "platform", MonitoringNamespace: "observability", IngressClass: "traefik", TraefikCRDs: true},
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
