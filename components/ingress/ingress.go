// Package ingress declares the station's front door: Traefik from its chart,
// behind one DigitalOcean load balancer that carries HTTPS (with an HTTP
// redirect) and plain TCP entrypoints for RTMP video and DJ audio, which
// cannot pass an HTTP proxy.
package ingress

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"github.com/datafruits/infra/components/chart"
	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the ingress.
type Args struct {
	// Namespace is where Traefik runs (required).
	Namespace pulumi.StringInput
	// NamespaceName is Namespace's name as a plain string (required).
	NamespaceName string
	// TCPEntrypoints are plain TCP ports, by entrypoint name (optional).
	TCPEntrypoints []Entrypoint
	// Replicas is the number of Traefik pods, the minimum when autoscaled (optional; default 1).
	Replicas int
	// Autoscale has the chart add an autoscaler up to MaxReplicas and a
	// PodDisruptionBudget keeping one pod up (optional).
	Autoscale bool
	// MaxReplicas bounds the autoscaler (optional; default 2 × Replicas).
	MaxReplicas int
	// LoadBalancer exposes Traefik through a DigitalOcean load balancer (optional; false: ClusterIP for port-forwards).
	LoadBalancer bool
	// LoadBalancerName names the DigitalOcean load balancer (required with LoadBalancer).
	LoadBalancerName string
	// Hostname is a host name that resolves to the load balancer (required with LoadBalancer; see below).
	Hostname string
	// TrustedProxyCIDR is where PROXY protocol headers may come from (optional; default 10.0.0.0/8).
	TrustedProxyCIDR string
	// Charts is where the Traefik chart comes from (optional; default its upstream repository).
	Charts chart.Source
}

// Entrypoint is a plain TCP entrypoint.
type Entrypoint struct {
	// Name is the entrypoint's name, also its port name (at most 15 characters).
	Name string
	// Port is the public and container port.
	Port int
}

// MetricsPort is Traefik's metrics entrypoint port (chart 39.0.2 values.yaml ports.metrics.port).
const MetricsPort = 9100

// IngressClass is the IngressClass Traefik serves.
const IngressClass = "traefik"

// releaseName is the Helm release's name; the chart names its pods after it.
const releaseName = "traefik"

// Ingress is Traefik and its load balancer.
type Ingress struct {
	pulumi.ResourceState

	// Address is the load balancer's public IPv4 address (empty without a load balancer).
	Address pulumi.StringOutput `pulumi:"address"`
	// ServiceName is the Service in front of Traefik (for port-forwards).
	ServiceName pulumi.StringOutput `pulumi:"serviceName"`

	// Release installs Traefik and its custom resource definitions.
	Release pulumi.Resource
}

// Web and websecure are Traefik's HTTP entrypoints: container ports of the chart.
const (
	webPort       = 8000
	websecurePort = 8443
)

// The public ports of web and websecure: the Service's, and so the load balancer's.
const (
	webServicePort       = 80
	websecureServicePort = 443
)

// HealthCheckPort is the Service port the load balancer checks (web's, 80).
const HealthCheckPort = webServicePort

var entrypointRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$`)

// New declares Traefik and its Service; with Autoscale the chart adds its
// autoscaler and disruption budget.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Ingress, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	in := &Ingress{}
	if err := ctx.RegisterComponentResource("datafruits:ingress:Ingress", name, in, opts...); err != nil {
		return nil, err
	}

	// Entrypoint options go through Traefik's own flags: their names are
	// stable across chart majors, unlike the chart's value keys. The chart
	// renders redirect flags of its own only from ports.<name>.http.redirections,
	// which these values leave empty, so the two never both set one.
	flags := []string{
		// "to=websecure" would redirect to that entrypoint's address port,
		// the container port 8443, which the load balancer does not expose
		// and Let's Encrypt refuses to follow (it follows 80 and 443 only).
		// The chart renders ":<exposedPort>" for the same reason
		// (_podtemplate.tpl; traefik-helm-chart #166, #173).
		fmt.Sprintf("--entryPoints.web.http.redirections.entryPoint.to=:%d", websecureServicePort),
		"--entryPoints.web.http.redirections.entryPoint.scheme=https",
		"--entryPoints.web.http.redirections.entryPoint.permanent=true",
		// Uploads of past broadcasts take minutes; listener streams and
		// websockets take hours. Traefik v3 would cut reads after 60 s.
		"--entryPoints.websecure.transport.respondingTimeouts.readTimeout=0s",
		"--entryPoints.websecure.transport.respondingTimeouts.idleTimeout=3600s",
	}
	fixedFlags := len(flags)
	ports := pulumi.Map{}
	servicePorts := corev1.ServicePortArray{
		&corev1.ServicePortArgs{Name: pulumi.String("web"), Port: pulumi.Int(webServicePort), TargetPort: pulumi.String("web")},
		&corev1.ServicePortArgs{Name: pulumi.String("websecure"), Port: pulumi.Int(websecureServicePort), TargetPort: pulumi.String("websecure")},
	}
	entrypoints := []string{"web", "websecure"}
	for _, ep := range args.TCPEntrypoints {
		ports[ep.Name] = pulumi.Map{
			"port": pulumi.Int(ep.Port), "exposedPort": pulumi.Int(ep.Port), "protocol": pulumi.String("TCP"),
			"expose": pulumi.Map{"default": pulumi.Bool(true)},
		}
		servicePorts = append(servicePorts, &corev1.ServicePortArgs{Name: pulumi.String(ep.Name), Port: pulumi.Int(ep.Port), TargetPort: pulumi.String(ep.Name)})
		entrypoints = append(entrypoints, ep.Name)
		// Encoders hold one connection for a whole set: never time it out.
		flags = append(flags, fmt.Sprintf("--entryPoints.%s.transport.respondingTimeouts.readTimeout=0s", ep.Name))
	}
	if args.LoadBalancer {
		// The load balancer speaks PROXY protocol so Traefik sees client
		// addresses; every entrypoint must strip the header.
		for _, ep := range entrypoints {
			flags = append(flags, fmt.Sprintf("--entryPoints.%s.proxyProtocol.trustedIPs=%s", ep, args.TrustedProxyCIDR))
		}
	}
	sort.Strings(flags[fixedFlags:])

	values := pulumi.Map{
		"deployment":          pulumi.Map{"replicas": pulumi.Int(args.Replicas)},
		"ingressClass":        pulumi.Map{"enabled": pulumi.Bool(true), "isDefaultClass": pulumi.Bool(true), "name": pulumi.String(IngressClass)},
		"additionalArguments": pulumi.ToStringArray(flags),
		"ports":               ports,
		// The Service is declared below, so its annotations are ours and tested.
		"service": pulumi.Map{"enabled": pulumi.Bool(false)},
		"providers": pulumi.Map{
			"kubernetesCRD": pulumi.Map{"enabled": pulumi.Bool(true), "allowCrossNamespace": pulumi.Bool(false)},
			"kubernetesIngress": pulumi.Map{
				"enabled":          pulumi.Bool(true),
				"publishedService": pulumi.Map{"enabled": pulumi.Bool(true), "pathOverride": pulumi.Sprintf("%s/%s", args.NamespaceName, releaseName)},
			},
		},
		// The metrics Service carries the scrape annotations Prometheus'
		// annotated-services job selects (the chart sets none: values.yaml
		// metrics.prometheus.service.annotations is empty); router labels give
		// requests and errors per host.
		"metrics": pulumi.Map{"prometheus": pulumi.Map{
			"addRoutersLabels": pulumi.Bool(true),
			"service": pulumi.Map{"enabled": pulumi.Bool(true), "annotations": pulumi.StringMap{
				"prometheus.io/scrape": pulumi.String("true"),
				"prometheus.io/port":   pulumi.String(strconv.Itoa(MetricsPort)),
			}},
		}},
		"resources": pulumi.Map{
			"requests": pulumi.Map{"cpu": pulumi.String("100m"), "memory": pulumi.String("128Mi")},
			"limits":   pulumi.Map{"memory": pulumi.String("256Mi")},
		},
	}
	if args.Autoscale {
		// The chart's own autoscaler and budget, not ours: with
		// autoscaling.enabled its Deployment leaves spec.replicas out
		// (templates/deployment.yaml), so Helm upgrades stop resetting the
		// count the autoscaler chose. Both select the chart's pod labels.
		values["autoscaling"] = pulumi.Map{
			"enabled":     pulumi.Bool(true),
			"minReplicas": pulumi.Int(args.Replicas),
			"maxReplicas": pulumi.Int(args.MaxReplicas),
			"metrics": pulumi.Array{pulumi.Map{
				"type": pulumi.String("Resource"),
				"resource": pulumi.Map{
					"name":   pulumi.String("cpu"),
					"target": pulumi.Map{"type": pulumi.String("Utilization"), "averageUtilization": pulumi.Int(70)},
				},
			}},
		}
		values["podDisruptionBudget"] = pulumi.Map{"enabled": pulumi.Bool(true), "minAvailable": pulumi.Int(1)}
	}
	release, err := chart.Release(ctx, name+"-traefik", chart.Traefik, args.Charts, releaseName, args.Namespace, values, pulumi.Parent(in))
	if err != nil {
		return nil, err
	}
	in.Release = release

	podLabels := pulumi.StringMap{
		"app.kubernetes.io/name":     pulumi.String("traefik"),
		"app.kubernetes.io/instance": pulumi.Sprintf("%s-%s", releaseName, args.NamespaceName),
	}
	svcMeta := &metav1.ObjectMetaArgs{Name: pulumi.String(releaseName), Namespace: args.Namespace}
	svcType := "ClusterIP"
	if args.LoadBalancer {
		svcType = "LoadBalancer"
		// DigitalOcean cloud controller annotations (docs/controllers/services/annotations.md); values are strings.
		svcMeta.Annotations = pulumi.StringMap{
			"service.beta.kubernetes.io/do-loadbalancer-name":                  pulumi.String(args.LoadBalancerName),
			"service.beta.kubernetes.io/do-loadbalancer-protocol":              pulumi.String("tcp"),
			"service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol": pulumi.String("true"),
			// With PROXY protocol on, in-cluster clients of the load balancer's
			// IP (cert-manager's HTTP-01 self-check) must go through it, or
			// Traefik gets no header and drops them (cert-manager #466).
			"service.beta.kubernetes.io/do-loadbalancer-hostname":             pulumi.String(args.Hostname),
			"service.beta.kubernetes.io/do-loadbalancer-size-unit":            pulumi.String("1"),
			"service.beta.kubernetes.io/do-loadbalancer-healthcheck-protocol": pulumi.String("tcp"),
			// A Service port, not a container port: the cloud controller maps it to
			// that port's NodePort and refuses to build the load balancer for a port
			// the Service lacks ("specified health check port ... does not exist on
			// service", loadbalancers.go healthCheckPort).
			"service.beta.kubernetes.io/do-loadbalancer-healthcheck-port":                 pulumi.String(fmt.Sprint(HealthCheckPort)),
			"service.beta.kubernetes.io/do-loadbalancer-disable-lets-encrypt-dns-records": pulumi.String("true"),
		}
	}
	svc, err := corev1.NewService(ctx, name+"-service", &corev1.ServiceArgs{
		Metadata: svcMeta,
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String(svcType),
			Selector: podLabels,
			Ports:    servicePorts,
		},
	}, pulumi.Parent(in), pulumi.DependsOn([]pulumi.Resource{release}))
	if err != nil {
		return nil, err
	}

	in.ServiceName = svc.Metadata.Name().Elem()
	in.Address = pulumi.String("").ToStringOutput()
	if args.LoadBalancer {
		// With do-loadbalancer-hostname set, the cloud controller publishes
		// only the host name in the Service's status, never the IP
		// (annotations.md; EnsureLoadBalancer in loadbalancers.go). Ask
		// DigitalOcean for the load balancer by its name instead, once the
		// Service (and so the load balancer) exists.
		lbName := pulumi.All(svc.Metadata.Name(), svc.Status).ApplyT(func([]any) string { return args.LoadBalancerName }).(pulumi.StringOutput)
		in.Address = digitalocean.LookupLoadBalancerOutput(ctx, digitalocean.LookupLoadBalancerOutputArgs{Name: lbName}, pulumi.Parent(in)).Ip()
	}
	return in, ctx.RegisterResourceOutputs(in, pulumi.Map{"address": in.Address, "serviceName": in.ServiceName})
}

// Ports are the container ports Traefik listens on, for network policies.
func (a *Args) Ports() []int {
	ports := []int{webPort, websecurePort}
	for _, ep := range a.TCPEntrypoints {
		ports = append(ports, ep.Port)
	}
	return ports
}

func (a *Args) validate(name string) error {
	if a == nil || a.Namespace == nil || a.NamespaceName == "" {
		return fmt.Errorf("ingress %s: Namespace and NamespaceName are required", name)
	}
	if a.LoadBalancer && (a.LoadBalancerName == "" || a.Hostname == "") {
		return fmt.Errorf("ingress %s: a load balancer needs LoadBalancerName and Hostname", name)
	}
	seen := map[int]bool{webServicePort: true, websecureServicePort: true, webPort: true, websecurePort: true}
	for _, ep := range a.TCPEntrypoints {
		if !entrypointRe.MatchString(ep.Name) || ep.Name == "web" || ep.Name == "websecure" || ep.Name == "traefik" || ep.Name == "metrics" {
			return fmt.Errorf("ingress %s: entrypoint name %q must be a DNS label of at most 15 characters and not a built-in entrypoint", name, ep.Name)
		}
		if seen[ep.Port] || ep.Port < 1 || ep.Port > 65535 {
			return fmt.Errorf("ingress %s: entrypoint %s port %d is taken or out of range", name, ep.Name, ep.Port)
		}
		seen[ep.Port] = true
	}
	if a.Replicas == 0 {
		a.Replicas = 1
	}
	if a.MaxReplicas == 0 {
		a.MaxReplicas = 2 * a.Replicas
	}
	if a.Autoscale && a.MaxReplicas < a.Replicas {
		return fmt.Errorf("ingress %s: MaxReplicas %d is below Replicas %d", name, a.MaxReplicas, a.Replicas)
	}
	if a.TrustedProxyCIDR == "" {
		a.TrustedProxyCIDR = "10.0.0.0/8"
	}
	return nil
}
