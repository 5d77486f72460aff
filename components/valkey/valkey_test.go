package valkey_test

import (
	"testing"

	"github.com/datafruits/infra/components/valkey"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestValkeyIsFirewalledAndSecret(t *testing.T) {
	var v *valkey.Valkey
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		var err error
		v, err = valkey.New(ctx, "valkey", &valkey.Args{Region: "nyc3", VPCID: pulumi.String("vpc-1"), KubernetesClusterID: pulumi.String("k8s-1"), Size: "db-s-1vcpu-1gb", Protect: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c := mocks.ByType("digitalocean:index/databaseCluster:DatabaseCluster")[0]
	if pulumitest.GetString(c.Inputs, "engine") != "valkey" || pulumitest.GetString(c.Inputs, "evictionPolicy") != "noeviction" {
		t.Errorf("want engine valkey with noeviction (Sidekiq), got %v", c.Inputs)
	}
	if !c.Protect {
		t.Error("Valkey holds Sidekiq's queues: protect it when asked")
	}
	fw := mocks.ByType("digitalocean:index/databaseFirewall:DatabaseFirewall")[0]
	if n := len(pulumitest.Get(fw.Inputs, "rules").ArrayValue()); n != 1 || pulumitest.GetString(fw.Inputs, "rules[0].value") != "k8s-1" {
		t.Errorf("firewall must admit only the cluster, got %v", fw.Inputs)
	}
	if !pulumi.IsSecret(v.Password) || !pulumi.IsSecret(v.URL) {
		t.Error("Valkey password and URL must be secret outputs")
	}
}
