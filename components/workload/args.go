// Package workload declares one station workload the same way every time: a
// Deployment or StatefulSet with probes, limits and a locked-down security
// context, its Service, its route on the ingress, an autoscaler and a
// PodDisruptionBudget, and the NetworkPolicy that says who may talk to it.
package workload

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/datafruits/infra/components/netpol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures a workload.
type Args struct {
	// Namespace is where every object goes (required).
	Namespace string
	// Image is the container image with a pinned tag or digest (required; never :latest).
	Image string
	// Command overrides the image's entrypoint (optional).
	Command []string
	// CommandArgs overrides the image's arguments (optional).
	CommandArgs []string
	// Ports are the container's ports; the first is the main one (optional: a worker without ports gets no Service).
	Ports []Port
	// Env are plain settings; they go into a ConfigMap (optional). Never put secrets here.
	Env map[string]string
	// SecretEnv are secret settings; they go into a Secret (optional).
	SecretEnv pulumi.StringMapInput
	// SecretEnvKeys lists SecretEnv's keys, so the pod can reference them before values resolve (required with SecretEnv).
	SecretEnvKeys []string
	// FieldEnv sets variables from the pod's own fields, e.g. {"POD_IP": "status.podIP"} (optional).
	FieldEnv map[string]string
	// InlineEnv are plain settings that may reference FieldEnv as $(NAME), set in the pod spec (optional).
	InlineEnv map[string]string
	// SecretFiles are files rendered by the program, mounted read-only from a Secret (optional).
	SecretFiles *SecretFiles
	// ConfigFiles are configuration files rendered by the program (never secrets), mounted
	// read-only from a ConfigMap (optional).
	ConfigFiles *ConfigFiles
	// Replicas is the fixed replica count when Scaling is nil (optional; default 1).
	Replicas int
	// Scaling turns on a HorizontalPodAutoscaler that owns the replica count (optional).
	Scaling *Scaling
	// Resources are the container's requests and limits (optional; small defaults).
	Resources Resources
	// Probe is how Kubernetes tells the workload is up (required when the workload has ports).
	Probe *Probe
	// WritableRootFilesystem allows writes outside ScratchPaths, for images that need it (optional; default false).
	WritableRootFilesystem bool
	// ScratchPaths get an emptyDir each, for caches and temp files (optional).
	ScratchPaths []string
	// RunAsUser is the UID the containers run as (optional; default 1000). Never 0.
	RunAsUser int
	// Route publishes an HTTP port on the ingress (optional).
	Route *Route
	// TCPRoutes publish ports on the ingress's plain TCP entrypoints (optional).
	TCPRoutes []TCPRoute
	// Volume is a persistent volume (optional). StatefulSets get a claim template, Deployments one claim.
	Volume *Volume
	// StatefulSet runs the pods as a StatefulSet with stable names (optional; default Deployment).
	StatefulSet bool
	// Recreate stops the old pod before starting the new one (optional; for single-writer workloads).
	Recreate bool
	// Headless adds a headless Service "<name>-headless" for peer discovery (optional).
	Headless bool
	// ServiceName overrides the Service's name (optional; default the workload's name).
	ServiceName string
	// Sidecars run beside the main container and share its volume (optional).
	Sidecars []Sidecar
	// IngressFrom are the peers allowed to connect, besides the ingress controller for routes (optional).
	IngressFrom []Peer
	// EgressTo are the peers the pods may connect to, besides DNS (optional).
	EgressTo []Peer
	// Platform names the namespaces of the ingress controller and of Prometheus (required).
	Platform PlatformRefs
	// MetricsPort names the port Prometheus scrapes (optional; none when empty).
	MetricsPort string
	// Labels are extra labels for every object (optional).
	Labels map[string]string
}

// Port is a named container port.
type Port struct {
	// Name is the port's name (required, at most 15 characters).
	Name string
	// Number is the port number (required).
	Number int
}

// Scaling bounds the autoscaler.
type Scaling struct {
	// Min is the lowest replica count (required, at least 1).
	Min int
	// Max is the highest replica count (required, at least Min).
	Max int
	// CPUPercent is the target CPU utilisation (optional; default 70).
	CPUPercent int
}

// Resources are requests and limits, in Kubernetes quantities.
type Resources struct {
	// CPU is the CPU request (optional; default "50m"). No CPU limit is set: throttled audio stutters.
	CPU string
	// Memory is the memory request and limit (optional; default "128Mi").
	Memory string
}

// Probe says how to check a container.
type Probe struct {
	// HTTPPath probes an HTTP path on Port; empty means a TCP probe.
	HTTPPath string
	// Port is the name of the probed port (required).
	Port string
	// StartupSeconds is how long the container may take to start (optional; default 60).
	StartupSeconds int
}

// Route publishes a port on the ingress under a host.
type Route struct {
	// Host is the full public host name (required).
	Host string
	// Port is the name of the Service port to route to (optional; default the main port).
	Port string
	// LongLived relaxes timeouts for websockets and hours-long listener streams (optional).
	LongLived bool
	// Path is the path prefix routed to the workload (optional; default "/").
	Path string
	// HealthPath is what the status page checks (optional; default Path).
	HealthPath string
	// FormerHosts are hosts the workload was reached at before the station
	// moved here, served the same (optional). Each gets its certificate but no
	// DNS record, status check or uptime check: its DNS lives elsewhere, and
	// points here only from the day its owner moves it.
	FormerHosts []string
}

// SecretFiles are files mounted from a Secret the workload owns.
type SecretFiles struct {
	// MountPath is the directory the files appear in (required).
	MountPath string
	// Files maps file names to contents (required).
	Files pulumi.StringMapInput
	// Names lists the file names, known before the contents resolve (required).
	Names []string
}

// ConfigFiles are files mounted from a ConfigMap the workload owns.
type ConfigFiles struct {
	// MountPath is the directory the files appear in (required).
	MountPath string
	// Files maps file names to contents (required).
	Files map[string]string
}

// TCPRoute publishes a port on one of the ingress's plain TCP entrypoints.
type TCPRoute struct {
	// Entrypoint is the ingress entrypoint's name (required).
	Entrypoint string
	// Host is the public host name DNS points at the load balancer for it (required).
	Host string
	// ExternalPort is the entrypoint's public port (required).
	ExternalPort int
	// Port is the name of the Service port to forward to (required).
	Port string
}

// Volume is a persistent volume mounted into the main container and the sidecars.
type Volume struct {
	// Name is the volume's name (required).
	Name string
	// MountPath is where it is mounted (required).
	MountPath string
	// Size is the claim's size, e.g. "10Gi" (required).
	Size string
	// StorageClass is the claim's StorageClass (required).
	StorageClass string
}

// Sidecar is a container beside the main one.
type Sidecar struct {
	// Name is the container's name (required).
	Name string
	// Image is the container image (required).
	Image string
	// Ports are the sidecar's ports (optional).
	Ports []Port
	// Env are plain settings (optional).
	Env map[string]string
	// SecretEnv are secret settings, in their own Secret (optional).
	SecretEnv pulumi.StringMapInput
	// SecretEnvKeys lists SecretEnv's keys (required with SecretEnv).
	SecretEnvKeys []string
	// Probe checks the sidecar (optional).
	Probe *Probe
	// Resources are its requests and limits (optional).
	Resources Resources
	// MountVolume mounts the workload's Volume at this path (optional).
	MountVolume string
}

// Peer is a party allowed to connect to or from a workload.
type Peer = netpol.Peer

// PlatformRefs names where the platform's parts run.
type PlatformRefs struct {
	// IngressNamespace is the ingress controller's namespace.
	IngressNamespace string
	// MonitoringNamespace is Prometheus' namespace.
	MonitoringNamespace string
	// IngressClass is the IngressClass routes use.
	IngressClass string
	// TraefikCRDs is true when Traefik's custom resources exist (TCP routes and transports need them).
	TraefikCRDs bool
	// CRDsReady are the resources that install those definitions; custom resources wait for them.
	CRDsReady []pulumi.Resource
	// IngressAddress is true when an ingress controller publishes a load balancer address on
	// Ingresses; otherwise Pulumi must not wait for one (pulumi-kubernetes #268, #1812).
	IngressAddress bool
}

var (
	nameRe     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$`)
	portNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$`)
)

func (a *Args) validate(name string) error {
	fail := func(format string, v ...any) error {
		return fmt.Errorf("workload %s: "+format, append([]any{name}, v...)...)
	}
	switch {
	case a == nil:
		return fail("args are required")
	case !nameRe.MatchString(name):
		return fail("name must be a DNS label of at most 52 characters")
	case a.Namespace == "":
		return fail("Namespace is required")
	case a.Image == "" || strings.HasSuffix(a.Image, ":latest") || !strings.ContainsAny(a.Image, ":@"):
		return fail("Image %q must carry a pinned tag or digest (never :latest)", a.Image)
	case len(a.Ports) > 0 && (a.Probe == nil || a.Probe.Port == ""):
		return fail("a workload with ports needs a Probe on one of them")
	case len(a.Ports) == 0 && (a.Route != nil || len(a.TCPRoutes) > 0 || a.MetricsPort != "" || a.Headless):
		return fail("routes, metrics and a headless Service need ports")
	case a.RunAsUser < 0:
		return fail("RunAsUser %d must not be negative", a.RunAsUser)
	case a.SecretEnv != nil && len(a.SecretEnvKeys) == 0:
		return fail("SecretEnvKeys must list the keys of SecretEnv")
	case a.Platform.IngressNamespace == "" || a.Platform.MonitoringNamespace == "" || a.Platform.IngressClass == "":
		return fail("Platform refs are required")
	}
	ports := map[string]bool{}
	for _, p := range a.allPorts() {
		if !portNameRe.MatchString(p.Name) || p.Number < 1 || p.Number > 65535 {
			return fail("port %q (%d) needs a name of at most 15 lowercase characters and a number from 1 to 65535", p.Name, p.Number)
		}
		ports[p.Name] = true
	}
	if a.Probe != nil && !ports[a.Probe.Port] {
		return fail("Probe.Port %q is not one of the workload's ports", a.Probe.Port)
	}
	if a.SecretFiles != nil && (a.SecretFiles.MountPath == "" || a.SecretFiles.Files == nil || len(a.SecretFiles.Names) == 0) {
		return fail("SecretFiles needs a MountPath, Files and their Names")
	}
	if a.ConfigFiles != nil && (a.ConfigFiles.MountPath == "" || len(a.ConfigFiles.Files) == 0) {
		return fail("ConfigFiles needs a MountPath and Files")
	}
	if a.Route != nil {
		if a.Route.Host == "" {
			return fail("Route.Host is required")
		}
		if a.Route.Port == "" {
			a.Route.Port = a.Ports[0].Name
		}
		if !ports[a.Route.Port] {
			return fail("Route.Port %q is not one of the workload's ports", a.Route.Port)
		}
		if a.Route.Path == "" {
			a.Route.Path = "/"
		}
		if a.Route.HealthPath == "" {
			a.Route.HealthPath = a.Route.Path
		}
		for _, h := range a.Route.FormerHosts {
			if h == "" || h == a.Route.Host {
				return fail("Route.FormerHosts %q: a former host must be another host than Route.Host %q", a.Route.FormerHosts, a.Route.Host)
			}
		}
	}
	for _, r := range a.TCPRoutes {
		if r.Entrypoint == "" || r.Host == "" || r.ExternalPort == 0 || !ports[r.Port] {
			return fail("TCP route %+v needs an entrypoint, a host, an external port and one of the workload's ports", r)
		}
	}
	if a.MetricsPort != "" && !ports[a.MetricsPort] {
		return fail("MetricsPort %q is not one of the workload's ports", a.MetricsPort)
	}
	if a.Scaling != nil {
		if a.Scaling.Min < 1 || a.Scaling.Max < a.Scaling.Min {
			return fail("Scaling %d..%d must satisfy 1 <= min <= max", a.Scaling.Min, a.Scaling.Max)
		}
		if a.Recreate {
			return fail("a Recreate workload is a single writer and cannot autoscale")
		}
		if a.Scaling.CPUPercent == 0 {
			a.Scaling.CPUPercent = 70
		}
	}
	if a.Volume != nil && (a.Volume.Name == "" || a.Volume.MountPath == "" || a.Volume.Size == "" || a.Volume.StorageClass == "") {
		return fail("Volume needs a name, a mount path, a size and a StorageClass")
	}
	if a.Volume != nil && !a.StatefulSet && !a.Recreate {
		return fail("a Deployment with a ReadWriteOnce volume must use Recreate (two pods cannot mount it)")
	}
	for _, s := range a.Sidecars {
		if s.Name == "" || s.Image == "" || strings.HasSuffix(s.Image, ":latest") {
			return fail("sidecar %q needs a name and a pinned image", s.Name)
		}
		if s.SecretEnv != nil && len(s.SecretEnvKeys) == 0 {
			return fail("sidecar %q: SecretEnvKeys must list the keys of SecretEnv", s.Name)
		}
		if s.MountVolume != "" && a.Volume == nil {
			return fail("sidecar %q mounts the volume, but the workload has none", s.Name)
		}
	}
	if a.Replicas == 0 {
		a.Replicas = 1
	}
	if a.RunAsUser == 0 {
		a.RunAsUser = 1000
	}
	if a.Probe != nil && a.Probe.StartupSeconds == 0 {
		a.Probe.StartupSeconds = 60
	}
	a.Resources = a.Resources.withDefaults()
	return nil
}

func (r Resources) withDefaults() Resources {
	if r.CPU == "" {
		r.CPU = "50m"
	}
	if r.Memory == "" {
		r.Memory = "128Mi"
	}
	return r
}

func (a *Args) allPorts() []Port {
	ports := append([]Port(nil), a.Ports...)
	for _, s := range a.Sidecars {
		ports = append(ports, s.Ports...)
	}
	return ports
}

// TLSSecretName is the Secret that holds a host's certificate; the platform's
// certificates write it and the routes read it.
func TLSSecretName(host string) string {
	return strings.ReplaceAll(host, ".", "-") + "-tls"
}
