package job_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/components/job"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestJobIsLockedDownAndReachesOnlyItsPeers(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := job.New(ctx, "migrate", &job.Args{
			Namespace: "station", Image: "example/app:1.0.0", Command: []string{"migrate"},
			Env: map[string]string{"MODE": "once"}, SecretEnv: pulumi.StringMap{"DATABASE_URL": pulumi.String("postgresql://u:p@db/app")},
			Files: map[string]string{"script.sql": "SELECT 1;"}, FilesPath: "/etc/migrate",
			EgressTo: []netpol.Peer{{CIDR: "10.110.0.0/20", Ports: []int{25060}}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	j, ok := mocks.Find("kubernetes:batch/v1:Job", "migrate")
	if !ok {
		t.Fatal("no Job")
	}
	for path, want := range map[string]bool{
		"spec.template.spec.securityContext.runAsNonRoot":                         true,
		"spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem": true,
		"spec.template.spec.automountServiceAccountToken":                         false,
	} {
		if v := pulumitest.Get(j.Inputs, path); !v.IsBool() || v.BoolValue() != want {
			t.Errorf("%s = %v, want %v", path, v, want)
		}
	}
	if v := pulumitest.Get(j.Inputs, "spec.ttlSecondsAfterFinished"); !v.IsNull() {
		t.Errorf("a Job the cluster deletes by itself shows as drift on every refresh: ttlSecondsAfterFinished = %v", v)
	}
	if strings.Contains(pulumitest.PlainOutsideSecrets(j.Inputs), "postgresql://") {
		t.Error("the secret setting is in the Job's spec")
	}
	for _, s := range mocks.ByType("kubernetes:core/v1:Secret") {
		if !pulumitest.IsSecret(s.Inputs, "stringData") {
			t.Errorf("Secret %s holds plain values", s.Name)
		}
	}
	np, ok := mocks.Find("kubernetes:networking.k8s.io/v1:NetworkPolicy", "migrate")
	if !ok || pulumitest.GetString(np.Inputs, "spec.egress[0].to[0].ipBlock.cidr") != "10.110.0.0/20" || len(pulumitest.Array(np.Inputs, "spec.ingress")) != 0 {
		t.Errorf("the Job's policy must allow its peers out and nothing in, got %s", pulumitest.Plain(np.Inputs))
	}
}

func TestJobRejectsMissingCommand(t *testing.T) {
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := job.New(ctx, "bad", &job.Args{Namespace: "station", Image: "example/app:1.0.0"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "Command") {
		t.Errorf("want an error naming Command, got %v", err)
	}
}
