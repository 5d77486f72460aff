package chart_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// release runs chart.Release for Traefik from src under mocks and returns the
// recorded inputs, or the program's error.
func release(t *testing.T, src chart.Source) (pulumitest.Resource, error) {
	t.Helper()
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := chart.Release(ctx, "traefik", chart.Traefik, src, "traefik", pulumi.String("platform"), pulumi.Map{})
		return err
	})
	if err != nil {
		return pulumitest.Resource{}, err
	}
	rel := mocks.ByType("kubernetes:helm.sh/v3:Release")
	if len(rel) != 1 {
		t.Fatalf("want one Release, got %d", len(rel))
	}
	return rel[0], nil
}

func TestUpstreamRepositoryByDefault(t *testing.T) {
	rel, err := release(t, chart.Source{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pulumitest.GetString(rel.Inputs, "repositoryOpts.repo"); got != chart.Traefik.Repo {
		t.Errorf("repositoryOpts.repo = %q, want the upstream %q", got, chart.Traefik.Repo)
	}
	if got := pulumitest.GetString(rel.Inputs, "version"); got != chart.Traefik.Version {
		t.Errorf("version = %q, want %q", got, chart.Traefik.Version)
	}
}

func TestMirrorURLServesThePinnedVersion(t *testing.T) {
	rel, err := release(t, chart.Source{Mirror: "http://127.0.0.1:8879/charts"})
	if err != nil {
		t.Fatal(err)
	}
	if got := pulumitest.GetString(rel.Inputs, "repositoryOpts.repo"); got != "http://127.0.0.1:8879/charts" {
		t.Errorf("repositoryOpts.repo = %q, want the mirror", got)
	}
	if got := pulumitest.GetString(rel.Inputs, "chart"); got != "traefik" {
		t.Errorf("chart = %q, want traefik", got)
	}
	if got := pulumitest.GetString(rel.Inputs, "version"); got != chart.Traefik.Version {
		t.Errorf("version = %q, want the pinned %q", got, chart.Traefik.Version)
	}
}

func TestMirrorDirectoryUsesThePackagedChart(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "traefik-"+chart.Traefik.Version+".tgz")
	if err := os.WriteFile(pkg, []byte("not read under mocks"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := release(t, chart.Source{Mirror: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := pulumitest.GetString(rel.Inputs, "chart"); got != pkg {
		t.Errorf("chart = %q, want the packaged chart %q", got, pkg)
	}
	if got := pulumitest.GetString(rel.Inputs, "repositoryOpts.repo"); got != "" {
		t.Errorf("repositoryOpts.repo = %q, want none for a packaged chart", got)
	}
}

func TestMirrorDirectoryWithoutThePinnedChartFails(t *testing.T) {
	dir := t.TempDir()
	// Another version of the chart is not the pinned one.
	if err := os.WriteFile(filepath.Join(dir, "traefik-1.0.0.tgz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := release(t, chart.Source{Mirror: dir})
	if err == nil || !strings.Contains(err.Error(), "traefik-"+chart.Traefik.Version+".tgz") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("want an error naming the mirror and the missing package, got %v", err)
	}
}

// TestSharedMirrorHoldsEveryPinnedChart keeps the pins and the offline mirror
// in step: a bumped pin without its package in the mirror fails here.
func TestSharedMirrorHoldsEveryPinnedChart(t *testing.T) {
	dir := os.Getenv("DATAFRUITS_MIRROR")
	if dir == "" {
		t.Skip("DATAFRUITS_MIRROR not set: no offline mirror to check")
	}
	for _, c := range chart.All {
		if _, err := os.Stat(filepath.Join(dir, "charts", c.Package())); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}
