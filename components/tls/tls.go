// Package tls declares cert-manager from its chart, a Let's Encrypt
// ClusterIssuer for the stack, and a Certificate for every public host.
package tls

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/datafruits/infra/components/chart"
	"github.com/datafruits/infra/components/workload"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ACME directories of Let's Encrypt.
const (
	ACMEProduction = "https://acme-v02.api.letsencrypt.org/directory"
	ACMEStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// Args configures cert-manager and the issuer.
type Args struct {
	// Namespace is where cert-manager runs (required).
	Namespace pulumi.StringInput
	// Issuer is "production" or "staging" (Let's Encrypt; staging has no rate limits and untrusted
	// certificates) or "self-signed" for clusters the internet cannot reach (required).
	Issuer string
	// Email is the ACME account's e-mail (required for Let's Encrypt).
	Email string
	// IngressClass answers HTTP-01 challenges (required).
	IngressClass string
	// DependsOn are resources the issuer waits for, such as the ingress (optional).
	DependsOn []pulumi.Resource
	// Charts is where the cert-manager chart comes from (optional; default its upstream repository).
	Charts chart.Source
}

// TLS is cert-manager with its issuer.
type TLS struct {
	pulumi.ResourceState

	// IssuerName is the ClusterIssuer that signs the certificates.
	IssuerName pulumi.StringOutput `pulumi:"issuerName"`

	// Ready are the resources certificates must wait for (the chart installs the CRDs).
	Ready []pulumi.Resource
	// PubliclyTrusted is true when the issuer's certificates chain to a root
	// that browsers and HTTP clients trust (Let's Encrypt production only).
	PubliclyTrusted bool
}

// MetricsPort is cert-manager's controller metrics port (its chart's Service, v1.18.2).
const MetricsPort = 9402

// New declares cert-manager and the issuer.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*TLS, error) {
	if args == nil || args.Namespace == nil || args.IngressClass == "" {
		return nil, fmt.Errorf("tls %s: Namespace and IngressClass are required", name)
	}
	issuerName, spec, err := issuerSpec(args)
	if err != nil {
		return nil, fmt.Errorf("tls %s: %w", name, err)
	}
	t := &TLS{}
	if err := ctx.RegisterComponentResource("datafruits:tls:TLS", name, t, opts...); err != nil {
		return nil, err
	}
	release, err := chart.Release(ctx, name+"-cert-manager", chart.CertManager, args.Charts, "cert-manager", args.Namespace, pulumi.Map{
		"crds":       pulumi.Map{"enabled": pulumi.Bool(true), "keep": pulumi.Bool(true)},
		"prometheus": pulumi.Map{"enabled": pulumi.Bool(true), "servicemonitor": pulumi.Map{"enabled": pulumi.Bool(false)}},
		// Prometheus finds the station's metrics by Service annotations; the
		// chart annotates only its pods unless serviceAnnotations is set
		// (cert-manager v1.18.2 templates/service.yaml, port 9402). Without
		// them the certificate-expiry alert has no series and never fires.
		"serviceAnnotations": pulumi.StringMap{
			"prometheus.io/scrape": pulumi.String("true"),
			"prometheus.io/port":   pulumi.String(strconv.Itoa(MetricsPort)),
		},
	}, pulumi.Parent(t))
	if err != nil {
		return nil, err
	}
	issuer, err := apiextensions.NewCustomResource(ctx, name+"-issuer", &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String("cert-manager.io/v1"),
		Kind:        pulumi.String("ClusterIssuer"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(issuerName)},
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, pulumi.Parent(t), pulumi.DependsOn(append([]pulumi.Resource{release}, args.DependsOn...)))
	if err != nil {
		return nil, err
	}
	t.IssuerName = pulumi.String(issuerName).ToStringOutput()
	t.Ready = []pulumi.Resource{release, issuer}
	// Let's Encrypt's staging roots are deliberately untrusted, and a
	// self-signed certificate chains to nothing.
	t.PubliclyTrusted = args.Issuer == "production"
	return t, ctx.RegisterResourceOutputs(t, pulumi.Map{"issuerName": t.IssuerName})
}

// issuerSpec is the ClusterIssuer for the chosen issuer: Let's Encrypt with
// HTTP-01 through the ingress, or self-signed.
func issuerSpec(args *Args) (string, pulumi.Map, error) {
	var server string
	switch args.Issuer {
	case "production":
		server = ACMEProduction
	case "staging":
		server = ACMEStaging
	case "self-signed":
		return "self-signed", pulumi.Map{"selfSigned": pulumi.Map{}}, nil
	default:
		return "", nil, fmt.Errorf("Issuer %q must be production, staging or self-signed", args.Issuer)
	}
	if args.Email == "" {
		return "", nil, fmt.Errorf("Email is required for Let's Encrypt")
	}
	name := "letsencrypt-" + args.Issuer
	return name, pulumi.Map{"acme": pulumi.Map{
		"server":              pulumi.String(server),
		"email":               pulumi.String(args.Email),
		"privateKeySecretRef": pulumi.Map{"name": pulumi.String(name + "-account")},
		"solvers": pulumi.Array{pulumi.Map{
			"http01": pulumi.Map{"ingress": pulumi.Map{"ingressClassName": pulumi.String(args.IngressClass)}},
		}},
	}}, nil
}

// CertificatesArgs lists the hosts that need certificates.
type CertificatesArgs struct {
	// Endpoints are the public endpoints; each https host gets one Certificate in its namespace (required).
	Endpoints []workload.Endpoint
	// IssuerName is the ClusterIssuer to use (required).
	IssuerName pulumi.StringInput
	// Ready are the resources the certificates wait for (required: cert-manager and its CRDs).
	Ready []pulumi.Resource
}

// Certificates is one Certificate per public https host.
type Certificates struct {
	pulumi.ResourceState

	// Hosts are the hosts that got a certificate.
	Hosts []string
}

// NewCertificates declares the certificates. Their Secrets are what the
// routes' TLS sections name (workload.TLSSecretName).
func NewCertificates(ctx *pulumi.Context, name string, args *CertificatesArgs, opts ...pulumi.ResourceOption) (*Certificates, error) {
	if args == nil || args.IssuerName == nil {
		return nil, fmt.Errorf("certificates %s: IssuerName is required", name)
	}
	c := &Certificates{}
	if err := ctx.RegisterComponentResource("datafruits:tls:Certificates", name, c, opts...); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var eps []workload.Endpoint
	for _, e := range args.Endpoints {
		key := e.Namespace + "/" + e.Host
		if e.Protocol != "https" || seen[key] {
			continue
		}
		seen[key] = true
		eps = append(eps, e)
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].Host+eps[i].Namespace < eps[j].Host+eps[j].Namespace })
	for _, e := range eps {
		secretName := workload.TLSSecretName(e.Host)
		if _, err := apiextensions.NewCustomResource(ctx, name+"-"+e.Namespace+"-"+secretName, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String("cert-manager.io/v1"),
			Kind:       pulumi.String("Certificate"),
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(secretName), Namespace: pulumi.String(e.Namespace)},
			OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
				"secretName": pulumi.String(secretName),
				"dnsNames":   pulumi.ToStringArray([]string{e.Host}),
				"issuerRef":  pulumi.Map{"kind": pulumi.String("ClusterIssuer"), "name": args.IssuerName},
				"privateKey": pulumi.Map{"algorithm": pulumi.String("ECDSA"), "size": pulumi.Int(256), "rotationPolicy": pulumi.String("Always")},
			}},
		}, pulumi.Parent(c), pulumi.DependsOn(args.Ready)); err != nil {
			return nil, err
		}
		c.Hosts = append(c.Hosts, e.Host)
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"hosts": pulumi.ToStringArray(c.Hosts)})
}
