// Package chart pins the community Helm charts the platform installs, in one
// place, and installs them with helm.v3.Release: helm.v4.Chart drops Helm
// hooks (pulumi-kubernetes #3284), which cert-manager and Traefik rely on.
package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Chart is a chart at a pinned version in its repository.
type Chart struct {
	// Name is the chart's name in the repository.
	Name string
	// Repo is the chart repository's URL.
	Repo string
	// Version is the pinned chart version.
	Version string
}

// The pinned charts. Bump one version at a time and read its upgrade notes.
var (
	Traefik             = Chart{Name: "traefik", Repo: "https://traefik.github.io/charts", Version: "39.0.2"}
	CertManager         = Chart{Name: "cert-manager", Repo: "https://charts.jetstack.io", Version: "v1.18.2"}
	KubePrometheusStack = Chart{Name: "kube-prometheus-stack", Repo: "https://prometheus-community.github.io/helm-charts", Version: "70.0.0"}
	Loki                = Chart{Name: "loki", Repo: "https://grafana.github.io/helm-charts", Version: "6.24.0"}
	Alloy               = Chart{Name: "alloy", Repo: "https://grafana.github.io/helm-charts", Version: "0.10.0"}
	MetricsServer       = Chart{Name: "metrics-server", Repo: "https://kubernetes-sigs.github.io/metrics-server/", Version: "3.13.0"}
)

// All lists every pinned chart.
var All = []Chart{Traefik, CertManager, KubePrometheusStack, Loki, Alloy, MetricsServer}

// Package is the file name `helm package` gives the chart: <name>-<version>.tgz.
func (c Chart) Package() string { return c.Name + "-" + c.Version + ".tgz" }

// Source is where the charts come from. The zero value means each chart's
// upstream repository; a mirror serves the same pinned versions from one place
// (a Helm repository URL, or a directory of packaged charts such as
// ../shared/charts), for machines without internet.
type Source struct {
	// Mirror is a Helm repository URL (http:// or https://) or an absolute
	// directory holding <name>-<version>.tgz files (optional; default upstream).
	Mirror string
}

// IsDirectory reports whether the mirror is a directory rather than a URL.
func (s Source) IsDirectory() bool {
	return s.Mirror != "" && !strings.HasPrefix(s.Mirror, "http://") && !strings.HasPrefix(s.Mirror, "https://")
}

// releaseChart fills in where the release takes chart c from.
func (s Source) releaseChart(c Chart, args *helmv3.ReleaseArgs) error {
	switch {
	case s.Mirror == "":
		args.Chart, args.Version = pulumi.String(c.Name), pulumi.String(c.Version)
		args.RepositoryOpts = &helmv3.RepositoryOptsArgs{Repo: pulumi.String(c.Repo)}
	case s.IsDirectory():
		path := filepath.Join(s.Mirror, c.Package())
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("chart mirror %s has no %s (the pinned %s chart): %w", s.Mirror, c.Package(), c.Name, err)
		}
		// A packaged chart carries its version: the file name pins it.
		args.Chart = pulumi.String(path)
	default:
		args.Chart, args.Version = pulumi.String(c.Name), pulumi.String(c.Version)
		args.RepositoryOpts = &helmv3.RepositoryOptsArgs{Repo: pulumi.String(s.Mirror)}
	}
	return nil
}

// Release installs the chart as a Helm release named releaseName in namespace,
// taking the chart from src.
func Release(ctx *pulumi.Context, name string, c Chart, src Source, releaseName string, namespace pulumi.StringInput, values pulumi.Map, opts ...pulumi.ResourceOption) (*helmv3.Release, error) {
	args := &helmv3.ReleaseArgs{
		Name:      pulumi.String(releaseName),
		Namespace: namespace,
		Values:    values,
		// A failed upgrade rolls back instead of leaving a half-applied release.
		Atomic:     pulumi.Bool(true),
		MaxHistory: pulumi.Int(5),
		Timeout:    pulumi.Int(600),
	}
	if err := src.releaseChart(c, args); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return helmv3.NewRelease(ctx, name, args, opts...)
}
