package workload

import (
	"sort"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Endpoint is a public way into a workload, for DNS, certificates and the
// status page. It is a plain value: hosts are known when the program starts.
type Endpoint struct {
	// Workload is the workload's name.
	Workload string
	// Namespace is the workload's namespace (where its certificate must live).
	Namespace string
	// Host is the public host name.
	Host string
	// Protocol is "https" for routes and "tcp" for TCP entrypoints.
	Protocol string
	// Port is the public port (443 for https).
	Port int
	// HealthPath is the path the status page checks on https endpoints.
	HealthPath string
	// Former marks a host kept from before the move (Route.FormerHosts):
	// certificates cover it; DNS, the status page and uptime checks leave it out.
	Former bool
}

// Workload is one station workload.
type Workload struct {
	pulumi.ResourceState

	// ServiceName is the Service in front of the pods.
	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	// Namespace is where the workload runs.
	Namespace pulumi.StringOutput `pulumi:"namespace"`
	// URL is the in-cluster URL of the main port, http://<service>.<namespace>:<port>.
	URL pulumi.StringOutput `pulumi:"url"`

	// Endpoints are the workload's public ways in.
	Endpoints []Endpoint
}

// SelectorLabels are the labels that select workload name's pods, for
// objects declared beside it (a second Service, a PodMonitor).
func SelectorLabels(name string) pulumi.StringMap { return selectorLabels(name) }

// Labels every object of a workload carries; the selector uses the first two.
func selectorLabels(name string) pulumi.StringMap {
	return pulumi.StringMap{
		"app.kubernetes.io/name":    pulumi.String(name),
		"app.kubernetes.io/part-of": pulumi.String("datafruits"),
	}
}

// New declares the workload. Pass the Kubernetes provider with
// pulumi.Providers(provider): the children inherit it from the component.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Workload, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	w := &Workload{}
	if err := ctx.RegisterComponentResource("datafruits:workload:Workload", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	ns := pulumi.String(args.Namespace)
	labels := selectorLabels(name)
	allLabels := pulumi.StringMap{"app.kubernetes.io/managed-by": pulumi.String("pulumi")}
	for k, v := range labels {
		allLabels[k] = v
	}
	for k, v := range args.Labels {
		allLabels[k] = pulumi.String(v)
	}
	meta := func(objName string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(objName), Namespace: ns, Labels: allLabels}
	}
	// autoMeta leaves the name to Pulumi: a changed ConfigMap or Secret gets a
	// new name, and the pod template that references it rolls the pods.
	autoMeta := func() *metav1.ObjectMetaArgs { return &metav1.ObjectMetaArgs{Namespace: ns, Labels: allLabels} }
	serviceName := args.ServiceName
	if serviceName == "" {
		serviceName = name
	}

	main, err := w.container(ctx, name, name, containerSpec{
		image: args.Image, command: args.Command, args: args.CommandArgs, ports: args.Ports,
		env: args.Env, secretEnv: args.SecretEnv, secretEnvKeys: args.SecretEnvKeys, fieldEnv: args.FieldEnv,
		inlineEnv: args.InlineEnv, secretFiles: args.SecretFiles, configFiles: args.ConfigFiles,
		probe: args.Probe, resources: args.Resources, writableRoot: args.WritableRootFilesystem,
		scratch: args.ScratchPaths, volume: args.Volume, mountPath: mountPathOf(args.Volume),
	}, autoMeta)
	if err != nil {
		return nil, err
	}
	containers := corev1.ContainerArray{main.container}
	volumes := corev1.VolumeArray{}
	volumes = append(volumes, main.volumes...)
	for _, s := range args.Sidecars {
		sc, err := w.container(ctx, name, s.Name, containerSpec{
			image: s.Image, ports: s.Ports, env: s.Env, secretEnv: s.SecretEnv, secretEnvKeys: s.SecretEnvKeys,
			probe: s.Probe, resources: s.Resources.withDefaults(), volume: args.Volume, mountPath: s.MountVolume,
			scratch: []string{"/tmp"},
		}, autoMeta)
		if err != nil {
			return nil, err
		}
		containers = append(containers, sc.container)
		volumes = append(volumes, sc.volumes...)
	}

	var claim *corev1.PersistentVolumeClaim
	claimSpec := func() *corev1.PersistentVolumeClaimSpecArgs {
		return &corev1.PersistentVolumeClaimSpecArgs{
			AccessModes:      pulumi.ToStringArray([]string{"ReadWriteOnce"}),
			StorageClassName: pulumi.String(args.Volume.StorageClass),
			Resources: &corev1.VolumeResourceRequirementsArgs{
				Requests: pulumi.StringMap{"storage": pulumi.String(args.Volume.Size)},
			},
		}
	}
	if args.Volume != nil && !args.StatefulSet {
		// Recordings outlive pods; keep the claim when the workload is removed by mistake.
		claim, err = corev1.NewPersistentVolumeClaim(ctx, name+"-"+args.Volume.Name, &corev1.PersistentVolumeClaimArgs{
			Metadata: meta(name + "-" + args.Volume.Name),
			Spec:     claimSpec(),
		}, parent, pulumi.RetainOnDelete(true))
		if err != nil {
			return nil, err
		}
		volumes = append(volumes, &corev1.VolumeArgs{
			Name:                  pulumi.String(args.Volume.Name),
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: claim.Metadata.Name().Elem()},
		})
	}

	podSpec := &corev1.PodSpecArgs{
		Containers:                   containers,
		Volumes:                      volumes,
		AutomountServiceAccountToken: pulumi.Bool(false),
		EnableServiceLinks:           pulumi.Bool(false),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(args.RunAsUser),
			RunAsGroup:     pulumi.Int(args.RunAsUser),
			FsGroup:        pulumi.Int(args.RunAsUser),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		// Spread replicas over nodes so one node's loss does not take a whole workload.
		TopologySpreadConstraints: corev1.TopologySpreadConstraintArray{&corev1.TopologySpreadConstraintArgs{
			MaxSkew:           pulumi.Int(1),
			TopologyKey:       pulumi.String("kubernetes.io/hostname"),
			WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
			LabelSelector:     &metav1.LabelSelectorArgs{MatchLabels: labels},
		}},
	}
	template := &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{Labels: allLabels},
		Spec:     podSpec,
	}
	selector := &metav1.LabelSelectorArgs{MatchLabels: labels}

	// With an autoscaler, the Deployment must not set replicas: under
	// server-side apply both would own the field (pulumi-kubernetes #2491).
	var replicas pulumi.IntPtrInput
	if args.Scaling == nil {
		replicas = pulumi.IntPtr(args.Replicas)
	}
	var workloadKind string
	var workloadRes pulumi.Resource
	deps := []pulumi.Resource{}
	if claim != nil {
		deps = append(deps, claim)
	}
	if args.StatefulSet {
		workloadKind = "StatefulSet"
		spec := &appsv1.StatefulSetSpecArgs{
			ServiceName: pulumi.String(serviceName),
			Replicas:    replicas,
			Selector:    selector,
			Template:    template,
		}
		if args.Volume != nil {
			spec.VolumeClaimTemplates = corev1.PersistentVolumeClaimTypeArray{&corev1.PersistentVolumeClaimTypeArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(args.Volume.Name)},
				Spec:     claimSpec(),
			}}
		}
		workloadRes, err = appsv1.NewStatefulSet(ctx, name, &appsv1.StatefulSetArgs{Metadata: meta(name), Spec: spec}, parent, pulumi.DependsOn(deps))
	} else {
		workloadKind = "Deployment"
		strategy := &appsv1.DeploymentStrategyArgs{Type: pulumi.String("RollingUpdate")}
		if args.Recreate {
			strategy = &appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")}
		}
		workloadRes, err = appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
			Metadata: meta(name),
			Spec: &appsv1.DeploymentSpecArgs{
				Replicas: replicas, Selector: selector, Template: template, Strategy: strategy,
				RevisionHistoryLimit: pulumi.Int(5),
			},
		}, parent, pulumi.DependsOn(deps))
	}
	if err != nil {
		return nil, err
	}

	if args.Scaling != nil {
		if _, err := autoscalingv2.NewHorizontalPodAutoscaler(ctx, name, &autoscalingv2.HorizontalPodAutoscalerArgs{
			Metadata: meta(name),
			Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
				ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
					ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String(workloadKind), Name: pulumi.String(name),
				},
				MinReplicas: pulumi.Int(args.Scaling.Min),
				MaxReplicas: pulumi.Int(args.Scaling.Max),
				Metrics: autoscalingv2.MetricSpecArray{&autoscalingv2.MetricSpecArgs{
					Type: pulumi.String("Resource"),
					Resource: &autoscalingv2.ResourceMetricSourceArgs{
						Name:   pulumi.String("cpu"),
						Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(args.Scaling.CPUPercent)},
					},
				}},
			},
		}, parent, pulumi.DependsOn([]pulumi.Resource{workloadRes})); err != nil {
			return nil, err
		}
	}

	// One pod at a time may be evicted by drains and upgrades; for a single
	// replica this still lets a node drain (minAvailable 1 would block it).
	if _, err := policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: meta(name),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.Int(1),
			Selector:       selector,
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{workloadRes})); err != nil {
		return nil, err
	}

	w.Namespace = pulumi.String(args.Namespace).ToStringOutput()
	if len(args.Ports) == 0 {
		// A worker with no ports: no Service, routes or scrape target.
		if err := w.networkPolicy(ctx, name, args, meta(name), labels); err != nil {
			return nil, err
		}
		w.ServiceName = pulumi.String("").ToStringOutput()
		w.URL = pulumi.String("").ToStringOutput()
		return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"serviceName": w.ServiceName, "namespace": w.Namespace, "url": w.URL})
	}

	servicePorts := corev1.ServicePortArray{}
	for _, p := range args.allPorts() {
		servicePorts = append(servicePorts, &corev1.ServicePortArgs{
			Name: pulumi.String(p.Name), Port: pulumi.Int(p.Number), TargetPort: pulumi.String(p.Name), Protocol: pulumi.String("TCP"),
		})
	}
	svcMeta := meta(serviceName)
	svcAnnotations := pulumi.StringMap{}
	if args.MetricsPort != "" {
		svcAnnotations["prometheus.io/scrape"] = pulumi.String("true")
		svcAnnotations["prometheus.io/port"] = pulumi.Sprintf("%d", portNumber(args.allPorts(), args.MetricsPort))
	}
	if args.longLivedTransport() {
		// Traefik reads service.* annotations from the Service, not the
		// Ingress (Traefik docs, Kubernetes Ingress routing, "On Service").
		svcAnnotations["traefik.ingress.kubernetes.io/service.serverstransport"] = pulumi.Sprintf("%s-%s-long-lived@kubernetescrd", args.Namespace, name)
	}
	if len(svcAnnotations) > 0 {
		svcMeta.Annotations = svcAnnotations
	}
	svc, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
		Metadata: svcMeta,
		Spec:     &corev1.ServiceSpecArgs{Selector: labels, Ports: servicePorts, Type: pulumi.String("ClusterIP")},
	}, parent)
	if err != nil {
		return nil, err
	}
	if args.Headless {
		// Peers find each other through the headless Service's DNS records,
		// also before they are Ready (clustering starts before readiness).
		if _, err := corev1.NewService(ctx, name+"-headless", &corev1.ServiceArgs{
			Metadata: meta(name + "-headless"),
			Spec: &corev1.ServiceSpecArgs{
				ClusterIP: pulumi.String("None"), Selector: labels, Ports: servicePorts,
				PublishNotReadyAddresses: pulumi.Bool(true),
			},
		}, parent); err != nil {
			return nil, err
		}
	}

	if err := w.routes(ctx, name, args, meta, svc); err != nil {
		return nil, err
	}
	if err := w.networkPolicy(ctx, name, args, meta(name), labels); err != nil {
		return nil, err
	}

	w.ServiceName = svc.Metadata.Name().Elem()
	w.URL = pulumi.Sprintf("http://%s.%s:%d", w.ServiceName, args.Namespace, args.Ports[0].Number)
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"serviceName": w.ServiceName, "namespace": w.Namespace, "url": w.URL})
}

// routes publishes the workload on the ingress: an Ingress for HTTP hosts
// (TLS from the host's certificate Secret) and Traefik TCP routes.
func (w *Workload) routes(ctx *pulumi.Context, name string, args *Args, meta func(string) *metav1.ObjectMetaArgs, svc *corev1.Service) error {
	parent := pulumi.Parent(w)
	if r := args.Route; r != nil {
		m := meta(name)
		var ingressDeps []pulumi.Resource
		annotations := pulumi.StringMap{
			"traefik.ingress.kubernetes.io/router.entrypoints": pulumi.String("websecure"),
			"traefik.ingress.kubernetes.io/router.tls":         pulumi.String("true"),
		}
		if args.longLivedTransport() {
			// Websockets and listener streams stay open for hours: a
			// ServersTransport without response or idle timeouts to the pods.
			transport, err := apiextensions.NewCustomResource(ctx, name+"-long-lived", &apiextensions.CustomResourceArgs{
				ApiVersion: pulumi.String("traefik.io/v1alpha1"),
				Kind:       pulumi.String("ServersTransport"),
				Metadata:   meta(name + "-long-lived"),
				OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
					"forwardingTimeouts": pulumi.Map{
						"dialTimeout":           pulumi.String("10s"),
						"responseHeaderTimeout": pulumi.String("0s"),
						"idleConnTimeout":       pulumi.String("3600s"),
					},
				}},
			}, parent, pulumi.DependsOn(args.Platform.CRDsReady))
			if err != nil {
				return err
			}
			ingressDeps = append(ingressDeps, transport)
		}
		if !args.Platform.IngressAddress {
			// Nothing will write an address into the Ingress's status (no
			// controller, or one behind a ClusterIP Service): Pulumi would
			// wait ten minutes for it on every up.
			annotations["pulumi.com/skipAwait"] = pulumi.String("true")
		}
		m.Annotations = annotations
		// The host, then the hosts it had before the move: the same backend,
		// each with the certificate of its own name.
		var tls networkingv1.IngressTLSArray
		var rules networkingv1.IngressRuleArray
		for _, host := range append([]string{r.Host}, r.FormerHosts...) {
			tls = append(tls, &networkingv1.IngressTLSArgs{
				Hosts:      pulumi.ToStringArray([]string{host}),
				SecretName: pulumi.String(TLSSecretName(host)),
			})
			rules = append(rules, &networkingv1.IngressRuleArgs{
				Host: pulumi.String(host),
				Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{&networkingv1.HTTPIngressPathArgs{
					Path:     pulumi.String(r.Path),
					PathType: pulumi.String("Prefix"),
					Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
						Name: svc.Metadata.Name().Elem(),
						Port: &networkingv1.ServiceBackendPortArgs{Name: pulumi.String(r.Port)},
					}},
				}}},
			})
		}
		if _, err := networkingv1.NewIngress(ctx, name, &networkingv1.IngressArgs{
			Metadata: m,
			Spec: &networkingv1.IngressSpecArgs{
				IngressClassName: pulumi.String(args.Platform.IngressClass),
				Tls:              tls,
				Rules:            rules,
			},
		}, parent, pulumi.DependsOn(ingressDeps)); err != nil {
			return err
		}
		w.Endpoints = append(w.Endpoints, Endpoint{Workload: name, Namespace: args.Namespace, Host: r.Host, Protocol: "https", Port: 443, HealthPath: r.HealthPath})
		for _, host := range r.FormerHosts {
			w.Endpoints = append(w.Endpoints, Endpoint{Workload: name, Namespace: args.Namespace, Host: host, Protocol: "https", Port: 443, HealthPath: r.HealthPath, Former: true})
		}
	}
	for _, r := range args.TCPRoutes {
		w.Endpoints = append(w.Endpoints, Endpoint{Workload: name, Namespace: args.Namespace, Host: r.Host, Protocol: "tcp", Port: r.ExternalPort})
		if !args.Platform.TraefikCRDs {
			// Without Traefik there is no TCP entrypoint: reach it with a port-forward.
			continue
		}
		// Plain TCP: DJ encoders send no Content-Length and cannot pass an
		// HTTP proxy, and RTMP is not HTTP. HostSNI(`*`) matches any client.
		if _, err := apiextensions.NewCustomResource(ctx, name+"-"+r.Entrypoint, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String("traefik.io/v1alpha1"),
			Kind:       pulumi.String("IngressRouteTCP"),
			Metadata:   meta(name + "-" + r.Entrypoint),
			OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
				"entryPoints": pulumi.ToStringArray([]string{r.Entrypoint}),
				"routes": pulumi.Array{pulumi.Map{
					"match": pulumi.String("HostSNI(`*`)"),
					"services": pulumi.Array{pulumi.Map{
						"name": svc.Metadata.Name().Elem(),
						"port": pulumi.Int(portNumber(args.allPorts(), r.Port)),
					}},
				}},
			}},
		}, parent, pulumi.DependsOn(args.Platform.CRDsReady)); err != nil {
			return err
		}
	}
	return nil
}

func portNumber(ports []Port, name string) int {
	for _, p := range ports {
		if p.Name == name {
			return p.Number
		}
	}
	return 0
}

func mountPathOf(v *Volume) string {
	if v == nil {
		return ""
	}
	return v.MountPath
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// longLivedTransport is true when the route gets a ServersTransport without
// timeouts (websockets, listener streams) that its Service names.
func (a *Args) longLivedTransport() bool {
	return a.Route != nil && a.Route.LongLived && a.Platform.TraefikCRDs
}
