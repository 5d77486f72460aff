package tls_test

import (
	"testing"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/components/tls"
	"github.com/datafruits/infra/components/workload"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestIssuerPerStackAndCertificatePerHost(t *testing.T) {
	for issuer, server := range map[string]string{"staging": tls.ACMEStaging, "production": tls.ACMEProduction} {
		mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
			t, err := tls.New(ctx, "tls", &tls.Args{Namespace: pulumi.String("platform"), Issuer: issuer, Email: "a@b.fm", IngressClass: "traefik"})
			if err != nil {
				return err
			}
			_, err = tls.NewCertificates(ctx, "certs", &tls.CertificatesArgs{
				IssuerName: t.IssuerName, Ready: t.Ready,
				Endpoints: []workload.Endpoint{
					{Host: "datafruits.fm", Namespace: "station", Protocol: "https"},
					{Host: "stream.datafruits.fm", Namespace: "radio-datafruits", Protocol: "https"},
					{Host: "stream.datafruits.fm", Namespace: "radio-datafruits", Protocol: "https"},
					{Host: "dj.datafruits.fm", Namespace: "radio-datafruits", Protocol: "tcp"},
				},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := mocks.Find("kubernetes:helm.sh/v3:Release", "tls-cert-manager")
		if pulumitest.GetString(rel.Inputs, "version") != chart.CertManager.Version || pulumitest.GetString(rel.Inputs, "values.crds.enabled") != "true" {
			t.Errorf("cert-manager must be pinned with its CRDs")
		}
		// The annotated-services scrape job selects Services by these
		// annotations; without them certificate expiry is never scraped.
		ann := pulumitest.Get(rel.Inputs, "values.serviceAnnotations").ObjectValue()
		if ann["prometheus.io/scrape"].StringValue() != "true" || ann["prometheus.io/port"].StringValue() != "9402" {
			t.Errorf("cert-manager's metrics Service must be annotated for scraping on 9402, got %v", ann)
		}
		issuers := mocks.ByType("kubernetes:cert-manager.io/v1:ClusterIssuer")
		if len(issuers) != 1 || pulumitest.GetString(issuers[0].Inputs, "spec.acme.server") != server {
			t.Errorf("%s: issuer must use %s", issuer, server)
		}
		certs := mocks.ByType("kubernetes:cert-manager.io/v1:Certificate")
		if len(certs) != 2 {
			t.Fatalf("want one certificate per https host and namespace (2), got %d", len(certs))
		}
		for _, c := range certs {
			host := pulumitest.GetString(c.Inputs, "spec.dnsNames[0]")
			if pulumitest.GetString(c.Inputs, "spec.secretName") != workload.TLSSecretName(host) {
				t.Errorf("certificate for %s writes %s, routes read %s", host, pulumitest.GetString(c.Inputs, "spec.secretName"), workload.TLSSecretName(host))
			}
		}
	}
}

func TestSelfSignedNeedsNoEmail(t *testing.T) {
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := tls.New(ctx, "tls", &tls.Args{Namespace: pulumi.String("platform"), Issuer: "self-signed", IngressClass: "traefik"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if i := mocks.ByType("kubernetes:cert-manager.io/v1:ClusterIssuer"); len(i) != 1 || pulumitest.Get(i[0].Inputs, "spec.selfSigned").IsNull() {
		t.Error("want a selfSigned ClusterIssuer")
	}
	_, err = pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := tls.New(ctx, "tls", &tls.Args{Namespace: pulumi.String("platform"), Issuer: "production", IngressClass: "traefik"})
		return err
	})
	if err == nil {
		t.Error("Let's Encrypt without an e-mail must be refused")
	}
}
