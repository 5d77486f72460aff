// Package chart pins the community Helm charts the platform installs, in one
// place, and installs them with helm.v3.Release: helm.v4.Chart drops Helm
// hooks (pulumi-kubernetes #3284), which cert-manager and Traefik rely on.
package chart

import (
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

// Release installs the chart as a Helm release named releaseName in namespace.
func Release(ctx *pulumi.Context, name string, c Chart, releaseName string, namespace pulumi.StringInput, values pulumi.Map, opts ...pulumi.ResourceOption) (*helmv3.Release, error) {
	return helmv3.NewRelease(ctx, name, &helmv3.ReleaseArgs{
		Name:           pulumi.String(releaseName),
		Chart:          pulumi.String(c.Name),
		Version:        pulumi.String(c.Version),
		RepositoryOpts: &helmv3.RepositoryOptsArgs{Repo: pulumi.String(c.Repo)},
		Namespace:      namespace,
		Values:         values,
		// A failed upgrade rolls back instead of leaving a half-applied release.
		Atomic:     pulumi.Bool(true),
		MaxHistory: pulumi.Int(5),
		Timeout:    pulumi.Int(600),
	}, opts...)
}
