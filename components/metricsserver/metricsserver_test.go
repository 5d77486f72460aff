package metricsserver_test

import (
	"testing"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/components/metricsserver"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestPinnedRelease(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := metricsserver.New(ctx, "metrics-server", &metricsserver.Args{Namespace: pulumi.String("platform")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rel := mocks.ByType("kubernetes:helm.sh/v3:Release")
	if len(rel) != 1 || pulumitest.GetString(rel[0].Inputs, "version") != chart.MetricsServer.Version || pulumitest.GetString(rel[0].Inputs, "repositoryOpts.repo") != chart.MetricsServer.Repo {
		t.Errorf("want metrics-server pinned at %s", chart.MetricsServer.Version)
	}
}
