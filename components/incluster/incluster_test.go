package incluster_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/incluster"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestDataServices(t *testing.T) {
	var d *incluster.Data
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		var err error
		d, err = incluster.New(ctx, "data", &incluster.Args{
			Namespace: "data", StorageClass: "standard", Databases: []string{"api", "chat"},
			Buckets: []string{"b-media", "b-logs"}, PublicBuckets: []string{"b-media"},
			Images:   map[string]string{"postgres": "postgres:16.6", "valkey": "valkey/valkey:8.0.2", "minio": "minio/minio:RELEASE.2025-04-22T22-12-26Z", "minioClient": "minio/mc:RELEASE.2025-04-16T18-13-26Z"},
			Platform: workload.PlatformRefs{IngressNamespace: "platform", MonitoringNamespace: "observability", IngressClass: "traefik"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sets := mocks.ByType("kubernetes:apps/v1:StatefulSet")
	if len(sets) != 3 {
		t.Fatalf("want PostgreSQL, Valkey and MinIO StatefulSets, got %d", len(sets))
	}
	for _, s := range sets {
		if pulumitest.GetNumber(s.Inputs, "spec.replicas") != 1 || pulumitest.GetString(s.Inputs, "spec.volumeClaimTemplates[0].spec.storageClassName") != "standard" {
			t.Errorf("%s must be one replica with its data on a volume", s.Name)
		}
	}
	// Users and databases are the database set-up Job's (dbsetup): an init
	// script would run on the first start only.
	for _, s := range mocks.ByType("kubernetes:core/v1:Secret") {
		if strings.Contains(pulumitest.Plain(s.Inputs), "CREATE DATABASE") {
			t.Errorf("Secret %s carries an init script; users and databases belong to the set-up Job", s.Name)
		}
	}
	if len(d.AppPasswords) != 2 || !pulumi.IsSecret(d.AppPasswords["api"]) || !pulumi.IsSecret(d.PostgresAdminPassword) {
		t.Errorf("want a secret password per app and for the superuser, got %d app passwords", len(d.AppPasswords))
	}
	job := mocks.ByType("kubernetes:batch/v1:Job")
	if len(job) != 1 || !strings.Contains(pulumitest.Plain(job[0].Inputs), "mc anonymous set download local/b-media") {
		t.Error("a Job must create the buckets and open the public ones")
	}
	if !pulumi.IsSecret(d.URLs) || !pulumi.IsSecret(d.RedisPassword) || !pulumi.IsSecret(d.S3SecretAccessKey) {
		t.Error("credentials must be secret outputs")
	}
}
