// Package diagram draws the program's architecture from the resources it
// declares: who talks to whom is read from what the components already say
// (network policies, Secret and ConfigMap values, Ingress and TCP routes,
// Helm values, database pools and CDN origins), never from a list typed by
// hand. Build turns the resources a mocked run recorded into a Graph; the
// Graph renders as Mermaid, whole or as one user story's view.
package diagram

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Layers, in drawing order.
const (
	Foundation = "foundation"
	Platform   = "platform"
	Station    = "station"
)

// Kind says what a node is; it picks the node's shape.
type Kind string

// Node kinds.
const (
	KindWorkload Kind = "workload" // a container of a Deployment or StatefulSet
	KindRelease  Kind = "release"  // a Helm release (its pods are the chart's)
	KindDatabase Kind = "database" // a managed database cluster or pool
	KindBucket   Kind = "bucket"   // an object storage bucket
	KindCDN      Kind = "cdn"      // a CDN endpoint
	KindCompute  Kind = "compute"  // the Kubernetes cluster and its node pools
	KindBalancer Kind = "balancer" // a cloud load balancer
	KindExternal Kind = "external" // a host outside the stack (Discord)
	KindActor    Kind = "actor"    // a person, in story views
)

// Node is one box of the diagram.
type Node struct {
	// ID is unique and Mermaid-safe.
	ID string
	// Label is what the box shows: the workload's name, the bucket's name...
	Label string
	Kind  Kind
	// Layer is Foundation, Platform, Station or "" (outside the stack).
	Layer string
	// Group is the Kubernetes namespace ("" outside the cluster).
	Group string
}

// Edge is "From talks to To".
type Edge struct {
	From, To string
	// Label says how, e.g. "postgresql", "tcp/8000", "S3".
	Label string
	// Shallow is true when From only calls or watches To from the outside
	// (through its public host, or scraping its metrics): story views show To
	// but do not follow To's own edges.
	Shallow bool
}

// Graph is the stack's nodes and edges, deduplicated.
type Graph struct {
	Nodes map[string]*Node
	edges map[[2]string]*Edge
}

// Edges returns the edges sorted by From, then To.
func (g *Graph) Edges() []Edge {
	out := make([]Edge, 0, len(g.edges))
	for _, e := range g.edges {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Edge) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	return out
}

// Options tell Build what the resources cannot.
type Options struct {
	// LayerOf names the layer of a Kubernetes namespace (required).
	LayerOf func(namespace string) string
}

func newGraph() *Graph { return &Graph{Nodes: map[string]*Node{}, edges: map[[2]string]*Edge{}} }

func (g *Graph) addNode(n *Node) *Node {
	if old, ok := g.Nodes[n.ID]; ok {
		return old
	}
	g.Nodes[n.ID] = n
	return n
}

// connect adds an edge, merging labels of repeated edges; self-edges are dropped.
func (g *Graph) connect(from, to, label string, shallow bool) {
	if from == "" || to == "" || from == to {
		return
	}
	key := [2]string{from, to}
	e, ok := g.edges[key]
	if !ok {
		g.edges[key] = &Edge{From: from, To: to, Label: label, Shallow: shallow}
		return
	}
	e.Shallow = e.Shallow && shallow
	if label != "" && !slices.Contains(strings.Split(e.Label, ", "), label) {
		labels := append(strings.Split(e.Label, ", "), label)
		labels = slices.DeleteFunc(labels, func(s string) bool { return s == "" })
		slices.Sort(labels)
		e.Label = strings.Join(labels, ", ")
	}
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9_]`)

func nodeID(prefix, name string) string { return prefix + "_" + unsafeID.ReplaceAllString(name, "_") }

// Type tokens Build reads.
const (
	typeDeployment  = "kubernetes:apps/v1:Deployment"
	typeStatefulSet = "kubernetes:apps/v1:StatefulSet"
	typeService     = "kubernetes:core/v1:Service"
	typeSecret      = "kubernetes:core/v1:Secret"
	typeConfigMap   = "kubernetes:core/v1:ConfigMap"
	typeIngress     = "kubernetes:networking.k8s.io/v1:Ingress"
	typeNetPol      = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	typeRouteTCP    = "kubernetes:traefik.io/v1alpha1:IngressRouteTCP"
	typeRelease     = "kubernetes:helm.sh/v3:Release"
	// typeAlertmanagerConfig configures the monitoring release's Alertmanager.
	typeAlertmanagerConfig = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"
	typeDBCluster          = "digitalocean:index/databaseCluster:DatabaseCluster"
	typeDBPool             = "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool"
	typeDBFirewall         = "digitalocean:index/databaseFirewall:DatabaseFirewall"
	typeBucket             = "digitalocean:index/spacesBucket:SpacesBucket"
	typeCDN                = "digitalocean:index/cdn:Cdn"
	typeK8sCluster         = "digitalocean:index/kubernetesCluster:KubernetesCluster"
	typeNodePool           = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
)

const nameLabel = "app.kubernetes.io/name"

// mockID is the ID pulumitest's mocks give a resource: its name and "-id".
// Inputs that reference another resource by ID (a pool's clusterId) hold it.
func mockID(r pulumitest.Resource) string { return r.Name + "-id" }

// index is what Build learns about the resources before drawing edges.
type index struct {
	g        *Graph
	byType   map[string][]pulumitest.Resource
	pods     map[string]string              // namespace/app label → the pod's main node
	releases map[string]string              // namespace/release name → node
	charts   map[string]string              // namespace/chart name → node
	services map[string]string              // namespace/service name → node behind it
	objects  map[string]pulumitest.Resource // kind/namespace/name → Secret or ConfigMap
	hosts    map[string]string              // private or public host of a managed service → node
	buckets  map[string]string              // bucket name → node
	known    map[string]bool                // hosts that name something not worth an edge (S3 endpoints, CDN domains)
	routes   []route                        // public HTTP routes
	tcp      map[int]string                 // public TCP port → node
	own      map[string]map[string]bool     // node → public hosts it serves
	ports    map[string]map[int]string      // pod's main node → container port → container's node
}

type route struct {
	host, path, node string
}

func (ix *index) key(parts ...string) string { return strings.Join(parts, "/") }

// Build draws the graph of the resources a mocked run recorded.
func Build(resources []pulumitest.Resource, opts Options) (*Graph, error) {
	if opts.LayerOf == nil {
		return nil, fmt.Errorf("diagram: Options.LayerOf is required")
	}
	ix := &index{
		g: newGraph(), byType: map[string][]pulumitest.Resource{}, pods: map[string]string{},
		releases: map[string]string{}, charts: map[string]string{}, services: map[string]string{},
		objects: map[string]pulumitest.Resource{}, hosts: map[string]string{}, buckets: map[string]string{},
		known: map[string]bool{}, tcp: map[int]string{}, own: map[string]map[string]bool{}, ports: map[string]map[int]string{},
	}
	for _, r := range resources {
		ix.byType[r.Type] = append(ix.byType[r.Type], r)
	}
	ix.foundationNodes()
	ix.clusterNodes(opts)
	if err := ix.routing(); err != nil {
		return nil, err
	}
	ix.networkPolicies()
	ix.scrapes()
	ix.values()
	return ix.g, nil
}

// foundationNodes adds the cloud's managed services and their own links:
// a pool to its database, a CDN to its bucket, the database firewall.
func (ix *index) foundationNodes() {
	g := ix.g
	for _, r := range ix.byType[typeK8sCluster] {
		label := fmt.Sprintf("DOKS %s: %s × %s", str(r.Inputs, "version"), str(r.Inputs, "nodePool.size"), str(r.Inputs, "nodePool.nodeCount"))
		if str(r.Inputs, "ha") == "true" {
			label += ", HA"
		}
		g.addNode(&Node{ID: nodeID("do", r.Name), Label: label, Kind: KindCompute, Layer: Foundation})
	}
	for _, r := range ix.byType[typeNodePool] {
		label := fmt.Sprintf("node pool %s: %s × %s–%s", str(r.Inputs, "name"), str(r.Inputs, "size"), str(r.Inputs, "minNodes"), str(r.Inputs, "maxNodes"))
		g.addNode(&Node{ID: nodeID("do", r.Name), Label: label, Kind: KindCompute, Layer: Foundation})
	}
	clusters := map[string]string{}
	for _, r := range ix.byType[typeDBCluster] {
		engine := map[string]string{"pg": "Postgres", "valkey": "Valkey", "redis": "Redis"}[str(r.Inputs, "engine")]
		if engine == "" {
			engine = str(r.Inputs, "engine")
		}
		label := fmt.Sprintf("%s %s × %s", engine, str(r.Inputs, "size"), str(r.Inputs, "nodeCount"))
		id := g.addNode(&Node{ID: nodeID("do", r.Name), Label: label, Kind: KindDatabase, Layer: Foundation}).ID
		clusters[mockID(r)] = id
		ix.hostsOf(r, id)
	}
	for _, r := range ix.byType[typeDBPool] {
		id := g.addNode(&Node{ID: nodeID("do", r.Name), Label: "PgBouncer pool " + str(r.Inputs, "name"), Kind: KindDatabase, Layer: Foundation}).ID
		ix.hostsOf(r, id)
		g.connect(id, clusters[str(r.Inputs, "clusterId")], "postgresql", false)
	}
	k8s := map[string]string{}
	for _, r := range ix.byType[typeK8sCluster] {
		k8s[mockID(r)] = nodeID("do", r.Name)
	}
	for _, r := range ix.byType[typeDBFirewall] {
		for _, rule := range pulumitest.Array(r.Inputs, "rules") {
			m := unwrap(rule).ObjectValue()
			if str(m, "type") == "k8s" {
				g.connect(k8s[str(m, "value")], clusters[str(r.Inputs, "clusterId")], "firewall", false)
			}
		}
	}
	byDomain := map[string]string{}
	for _, r := range ix.byType[typeBucket] {
		name := str(r.Inputs, "name")
		id := g.addNode(&Node{ID: nodeID("do", r.Name), Label: name, Kind: KindBucket, Layer: Foundation}).ID
		ix.buckets[name] = id
		byDomain[str(r.Outputs, "bucketDomainName")] = id
		ix.known[str(r.Outputs, "endpoint")] = true
	}
	for _, r := range ix.byType[typeCDN] {
		domain := cmp.Or(str(r.Inputs, "customDomain"), str(r.Outputs, "endpoint"))
		id := g.addNode(&Node{ID: nodeID("do", r.Name), Label: "CDN " + domain, Kind: KindCDN, Layer: Foundation}).ID
		ix.known[domain] = true
		g.connect(id, byDomain[str(r.Inputs, "origin")], "origin", false)
	}
}

func (ix *index) hostsOf(r pulumitest.Resource, id string) {
	for _, k := range []string{"host", "privateHost"} {
		if h := str(r.Outputs, k); h != "" {
			ix.hosts[h] = id
		}
	}
}

// clusterNodes adds a node per container of every Deployment and
// StatefulSet and per Helm release, and learns which Services front them.
func (ix *index) clusterNodes(opts Options) {
	g := ix.g
	for _, typ := range []string{typeDeployment, typeStatefulSet} {
		for _, r := range ix.byType[typ] {
			ns, name := str(r.Inputs, "metadata.namespace"), str(r.Inputs, "metadata.name")
			short := strings.TrimPrefix(name, ns+"-")
			claimed := map[string]bool{}
			for _, v := range pulumitest.Array(r.Inputs, "spec.template.spec.volumes") {
				if m := unwrap(v).ObjectValue(); !unwrap(m["persistentVolumeClaim"]).IsNull() {
					claimed[str(m, "name")] = true
				}
			}
			if typ == typeStatefulSet {
				for _, v := range pulumitest.Array(r.Inputs, "spec.volumeClaimTemplates") {
					claimed[str(unwrap(v).ObjectValue(), "metadata.name")] = true
				}
			}
			mounts := map[string]string{}
			main := nodeID("k8s", name)
			ix.ports[main] = map[int]string{}
			for i, c := range pulumitest.Array(r.Inputs, "spec.template.spec.containers") {
				cm := unwrap(c).ObjectValue()
				id, label := nodeID("k8s", name), short
				if i > 0 {
					id, label = nodeID("k8s", name+"-"+str(cm, "name")), str(cm, "name")
				}
				g.addNode(&Node{ID: id, Label: label, Kind: KindWorkload, Layer: opts.LayerOf(ns), Group: ns})
				if i == 0 {
					ix.pods[ix.key(ns, labelOf(r.Inputs, "spec.template.metadata.labels", nameLabel))] = id
				}
				for _, p := range pulumitest.Array(cm, "ports") {
					ix.ports[main][int(pulumitest.GetNumber(unwrap(p).ObjectValue(), "containerPort"))] = id
				}
				// Containers of one pod that mount the same claimed volume
				// hand data over through it (Liquidsoap's recordings → archiver).
				for _, m := range pulumitest.Array(cm, "volumeMounts") {
					vol := str(unwrap(m).ObjectValue(), "name")
					if !claimed[vol] {
						continue
					}
					if first, ok := mounts[vol]; ok {
						g.connect(first, id, "volume "+vol, false)
					} else {
						mounts[vol] = id
					}
				}
			}
		}
	}
	for _, r := range ix.byType[typeRelease] {
		ns, name, chart := str(r.Inputs, "namespace"), str(r.Inputs, "name"), str(r.Inputs, "chart")
		label := name
		if chart != name {
			label = name + " (" + chart + ")"
		}
		id := g.addNode(&Node{ID: nodeID("helm", name), Label: label, Kind: KindRelease, Layer: opts.LayerOf(ns), Group: ns}).ID
		ix.releases[ix.key(ns, name)] = id
		ix.charts[ix.key(ns, chart)] = id
	}
	for _, r := range ix.byType[typeService] {
		ns, name := str(r.Inputs, "metadata.namespace"), str(r.Inputs, "metadata.name")
		ix.services[ix.key(ns, name)] = ix.selected(ns, labelOf(r.Inputs, "spec.selector", nameLabel))
	}
	for _, typ := range []string{typeSecret, typeConfigMap} {
		for _, r := range ix.byType[typ] {
			ix.objects[ix.key(typ, str(r.Inputs, "metadata.namespace"), str(r.Outputs, "metadata.name"))] = r
		}
	}
}

// selected is the node a selector's app.kubernetes.io/name picks: a pod of
// the program's, or a chart's pods (named after the release or the chart).
func (ix *index) selected(ns, app string) string {
	if app == "" {
		return ""
	}
	return cmp.Or(ix.pods[ix.key(ns, app)], ix.releases[ix.key(ns, app)], ix.charts[ix.key(ns, app)])
}

// routing adds the public ways in: the load balancer to the ingress
// controller, the controller to every Ingress and TCP route's backend.
func (ix *index) routing() error {
	g := ix.g
	classes := map[string]string{}     // ingress class → controller release
	entrypoints := map[string]string{} // TCP entrypoint → controller release
	for _, r := range ix.byType[typeRelease] {
		id := ix.releases[ix.key(str(r.Inputs, "namespace"), str(r.Inputs, "name"))]
		if class := str(r.Inputs, "values.ingressClass.name"); class != "" {
			classes[class] = id
		}
		if ports := pulumitest.Get(r.Inputs, "values.ports"); unwrap(ports).IsObject() {
			for ep := range unwrap(ports).ObjectValue() {
				entrypoints[string(ep)] = id
			}
		}
	}
	// Charts that publish their own Ingress (Grafana in kube-prometheus-stack):
	// values ….ingress.hosts, with the class beside them.
	for _, r := range ix.byType[typeRelease] {
		id := ix.releases[ix.key(str(r.Inputs, "namespace"), str(r.Inputs, "name"))]
		walk(pulumitest.Get(r.Inputs, "values"), nil, func(path []string, host string) {
			if n := len(path); n >= 2 && path[n-2] == "ingress" && path[n-1] == "hosts" {
				ix.routes = append(ix.routes, route{host: host, node: id})
				ix.serves(id, host)
				class := str(r.Inputs, "values."+strings.Join(path[:n-1], ".")+".ingressClassName")
				g.connect(classes[class], id, "https "+host, false)
			}
		})
	}
	for _, r := range ix.byType[typeIngress] {
		ns := str(r.Inputs, "metadata.namespace")
		controller := classes[str(r.Inputs, "spec.ingressClassName")]
		for _, rule := range pulumitest.Array(r.Inputs, "spec.rules") {
			rm := unwrap(rule).ObjectValue()
			host := str(rm, "host")
			for _, p := range pulumitest.Array(rm, "http.paths") {
				pm := unwrap(p).ObjectValue()
				backend := ix.services[ix.key(ns, str(pm, "backend.service.name"))]
				if backend == "" {
					return fmt.Errorf("diagram: Ingress %s routes %s to Service %q, which selects no declared workload", r.Name, host, str(pm, "backend.service.name"))
				}
				ix.routes = append(ix.routes, route{host: host, path: str(pm, "path"), node: backend})
				ix.serves(backend, host)
				g.connect(controller, backend, "https "+host+str(pm, "path"), false)
			}
		}
	}
	// A TCP entrypoint's public port is the port of the controller's Service named after it.
	ports := map[string]int{}
	for _, r := range ix.byType[typeService] {
		for _, p := range pulumitest.Array(r.Inputs, "spec.ports") {
			pm := unwrap(p).ObjectValue()
			if _, ok := entrypoints[str(pm, "name")]; ok {
				ports[str(pm, "name")] = int(pulumitest.GetNumber(pm, "port"))
			}
		}
	}
	for _, r := range ix.byType[typeRouteTCP] {
		ns := str(r.Inputs, "metadata.namespace")
		for _, ep := range pulumitest.Array(r.Inputs, "spec.entryPoints") {
			epName := unwrap(ep).StringValue()
			for _, rt := range pulumitest.Array(r.Inputs, "spec.routes") {
				for _, s := range pulumitest.Array(unwrap(rt).ObjectValue(), "services") {
					backend := ix.services[ix.key(ns, str(unwrap(s).ObjectValue(), "name"))]
					ix.tcp[ports[epName]] = backend
					g.connect(entrypoints[epName], backend, "tcp/"+strconv.Itoa(ports[epName]), false)
				}
			}
		}
	}
	for _, r := range ix.byType[typeService] {
		if str(r.Inputs, "spec.type") != "LoadBalancer" {
			continue
		}
		name := cmp.Or(labelOf(r.Inputs, "metadata.annotations", "service.beta.kubernetes.io/do-loadbalancer-name"), r.Name)
		id := g.addNode(&Node{ID: nodeID("lb", r.Name), Label: "load balancer " + name, Kind: KindBalancer, Layer: Foundation}).ID
		var ps []string
		for _, p := range pulumitest.Array(r.Inputs, "spec.ports") {
			ps = append(ps, pulumitest.GetString(unwrap(p).ObjectValue(), "port"))
		}
		g.connect(id, ix.services[ix.key(str(r.Inputs, "metadata.namespace"), str(r.Inputs, "metadata.name"))], "tcp/"+strings.Join(ps, ","), false)
	}
	return nil
}

func (ix *index) serves(node, host string) {
	if ix.own[node] == nil {
		ix.own[node] = map[string]bool{}
	}
	ix.own[node][host] = true
}

// networkPolicies adds an edge per pod-to-pod rule: egress to pods, and
// ingress from pods, by their app.kubernetes.io/name label. Address blocks
// are left out: "the VPC on 25060" or "the internet on 443" does not say
// which service, and the Secrets below do.
func (ix *index) networkPolicies() {
	for _, r := range ix.byType[typeNetPol] {
		ns := str(r.Inputs, "metadata.namespace")
		self := ix.pods[ix.key(ns, labelOf(r.Inputs, "spec.podSelector.matchLabels", nameLabel))]
		if self == "" {
			continue
		}
		for _, dir := range []struct{ rules, peers string }{{"spec.egress", "to"}, {"spec.ingress", "from"}} {
			for _, rule := range pulumitest.Array(r.Inputs, dir.rules) {
				rm := unwrap(rule).ObjectValue()
				var ports []string
				for _, p := range pulumitest.Array(rm, "ports") {
					if pm := unwrap(p).ObjectValue(); str(pm, "protocol") != "UDP" {
						ports = append(ports, pulumitest.GetString(pm, "port"))
					}
				}
				label := "tcp/" + strings.Join(ports, ",")
				for _, peer := range pulumitest.Array(rm, dir.peers) {
					pm := unwrap(peer).ObjectValue()
					app := labelOf(pm, "podSelector.matchLabels", nameLabel)
					peerNS := cmp.Or(labelOf(pm, "namespaceSelector.matchLabels", "kubernetes.io/metadata.name"), ns)
					other := ix.pods[ix.key(peerNS, app)]
					if app == "" || other == "" {
						continue
					}
					if dir.peers == "to" {
						ix.g.connect(self, other, label, false)
					} else {
						ix.g.connect(other, self, label, false)
					}
				}
			}
		}
	}
}

// scrapes adds an edge from each Prometheus (a release with
// values.prometheus.prometheusSpec) to each Service annotated
// prometheus.io/scrape: how the station's workloads announce their metrics.
func (ix *index) scrapes() {
	for _, r := range ix.byType[typeRelease] {
		if unwrap(pulumitest.Get(r.Inputs, "values.prometheus.prometheusSpec")).IsNull() {
			continue
		}
		prometheus := ix.releases[ix.key(str(r.Inputs, "namespace"), str(r.Inputs, "name"))]
		for _, svc := range ix.byType[typeService] {
			if labelOf(svc.Inputs, "metadata.annotations", "prometheus.io/scrape") != "true" {
				continue
			}
			target := ix.services[ix.key(str(svc.Inputs, "metadata.namespace"), str(svc.Inputs, "metadata.name"))]
			port := labelOf(svc.Inputs, "metadata.annotations", "prometheus.io/port")
			n, _ := strconv.Atoi(port)
			// The port names the container that serves the metrics (a sidecar's).
			ix.g.connect(prometheus, cmp.Or(ix.ports[target][n], target), "metrics :"+port, true)
		}
	}
}

// labelOf reads a key with dots (a label or annotation) from the map at path.
func labelOf(m resource.PropertyMap, path, key string) string {
	v := unwrap(pulumitest.Get(m, path))
	if !v.IsObject() {
		return ""
	}
	if s := unwrap(v.ObjectValue()[resource.PropertyKey(key)]); s.IsString() {
		return s.StringValue()
	}
	return ""
}

// values adds an edge per value that names a service: every string a
// container gets (its env, the ConfigMaps and Secrets it reads as env or
// files, its arguments) and every string of a Helm release's values (and of
// the Secrets they name).
func (ix *index) values() {
	for _, typ := range []string{typeDeployment, typeStatefulSet} {
		for _, r := range ix.byType[typ] {
			ns, name := str(r.Inputs, "metadata.namespace"), str(r.Inputs, "metadata.name")
			volumes := map[string]string{} // volume name → Secret or ConfigMap
			for _, v := range pulumitest.Array(r.Inputs, "spec.template.spec.volumes") {
				vm := unwrap(v).ObjectValue()
				if s := str(vm, "secret.secretName"); s != "" {
					volumes[str(vm, "name")] = ix.key(typeSecret, ns, s)
				}
				if c := str(vm, "configMap.name"); c != "" {
					volumes[str(vm, "name")] = ix.key(typeConfigMap, ns, c)
				}
			}
			for i, c := range pulumitest.Array(r.Inputs, "spec.template.spec.containers") {
				cm := unwrap(c).ObjectValue()
				id := nodeID("k8s", name)
				if i > 0 {
					id = nodeID("k8s", name+"-"+str(cm, "name"))
				}
				var vals []string
				collect := func(v resource.PropertyValue) { walk(v, nil, func(_ []string, s string) { vals = append(vals, s) }) }
				collect(cm["args"])
				collect(cm["command"])
				for _, e := range pulumitest.Array(cm, "env") {
					collect(unwrap(e).ObjectValue()["value"])
				}
				for _, e := range pulumitest.Array(cm, "envFrom") {
					em := unwrap(e).ObjectValue()
					if s := str(em, "secretRef.name"); s != "" {
						collect(ix.data(ix.key(typeSecret, ns, s)))
					}
					if s := str(em, "configMapRef.name"); s != "" {
						collect(ix.data(ix.key(typeConfigMap, ns, s)))
					}
				}
				for _, m := range pulumitest.Array(cm, "volumeMounts") {
					if obj, ok := volumes[str(unwrap(m).ObjectValue(), "name")]; ok {
						collect(ix.data(obj))
					}
				}
				for _, s := range vals {
					ix.value(id, ns, s)
				}
			}
		}
	}
	for _, r := range ix.byType[typeRelease] {
		ns := str(r.Inputs, "namespace")
		id := ix.releases[ix.key(ns, str(r.Inputs, "name"))]
		walk(pulumitest.Get(r.Inputs, "values"), nil, func(path []string, s string) {
			// Alert rules are text for people (summaries, runbook links), not peers.
			if slices.Contains(path, "additionalPrometheusRulesMap") {
				return
			}
			ix.value(id, ns, s)
			if _, ok := ix.objects[ix.key(typeSecret, ns, s)]; ok {
				walk(ix.data(ix.key(typeSecret, ns, s)), nil, func(_ []string, v string) { ix.value(id, ns, v) })
			}
		})
	}
	ix.alertmanagerConfigs()
}

// alertmanagerConfigs connects the monitoring release to what its
// AlertmanagerConfigs name: the operator reads them into Alertmanager's
// configuration, so a Secret holding the Discord webhook is the release's peer.
func (ix *index) alertmanagerConfigs() {
	for _, amc := range ix.byType[typeAlertmanagerConfig] {
		ns := str(amc.Inputs, "metadata.namespace")
		for _, r := range ix.byType[typeRelease] {
			if str(r.Inputs, "namespace") != ns || !strings.Contains(str(r.Inputs, "chart"), "kube-prometheus-stack") {
				continue
			}
			id := ix.releases[ix.key(ns, str(r.Inputs, "name"))]
			walk(pulumitest.Get(amc.Inputs, "spec"), nil, func(_ []string, s string) {
				if _, ok := ix.objects[ix.key(typeSecret, ns, s)]; ok {
					walk(ix.data(ix.key(typeSecret, ns, s)), nil, func(_ []string, v string) { ix.value(id, ns, v) })
				}
			})
		}
	}
}

// data is a Secret's or ConfigMap's values.
func (ix *index) data(key string) resource.PropertyValue {
	r, ok := ix.objects[key]
	if !ok {
		return resource.NewNullProperty()
	}
	return resource.NewProperty(resource.PropertyMap{"data": r.Inputs["data"], "stringData": r.Inputs["stringData"]})
}

var (
	urlInText = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^\s"'<>,]+`)
	hostRe    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
)

// value connects from to what one string names. A multi-line string is a
// configuration file: every URL in it counts. Otherwise the whole string
// must be one URL, one host name or one bucket name: a list (CORS origins)
// names no peer.
func (ix *index) value(from, ns, s string) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "\n") {
		for _, u := range urlInText.FindAllString(s, -1) {
			ix.url(from, ns, u)
		}
		return
	}
	if b, ok := ix.buckets[s]; ok {
		ix.g.connect(from, b, "S3", false)
		return
	}
	if strings.Contains(s, "://") {
		ix.url(from, ns, s)
		return
	}
	if hostRe.MatchString(s) {
		if to, ok := ix.hosts[s]; ok {
			ix.g.connect(from, to, "", false)
		} else if to := ix.inCluster(ns, s); to != "" {
			ix.g.connect(from, to, "", false)
		}
	}
}

// url connects from to the service a URL points at: a managed database by
// its host, a Service by its in-cluster name, the station's own public hosts
// through their routes, or a host outside the stack.
func (ix *index) url(from, ns, raw string) {
	u, err := url.Parse(raw)
	if err != nil || !hostRe.MatchString(u.Hostname()) || net.ParseIP(u.Hostname()) != nil {
		return // not a URL, or a bind address such as http://0.0.0.0:3000
	}
	host, scheme := u.Hostname(), u.Scheme
	if i := strings.LastIndex(scheme, "+"); i >= 0 {
		scheme = scheme[i+1:] // postgresql+postgresql:// is GoatCounter's driver prefix
	}
	if to, ok := ix.hosts[host]; ok {
		ix.g.connect(from, to, scheme, false)
		return
	}
	if to := ix.inCluster(ns, host); to != "" {
		ix.g.connect(from, to, scheme, false)
		return
	}
	if ix.own[from][host] || ix.known[host] {
		// A workload's own public host names itself (links, canonical URLs);
		// S3 endpoints and CDN domains are reached through their buckets.
		return
	}
	if scheme == "tcp" {
		port, _ := strconv.Atoi(u.Port())
		if to, ok := ix.tcp[port]; ok {
			ix.g.connect(from, to, "tcp/"+u.Port(), true)
		}
		return
	}
	best, path := route{path: "-"}, cmp.Or(u.Path, "/")
	for _, r := range ix.routes {
		if r.host == host && strings.HasPrefix(path, r.path) && (best.path == "-" || len(r.path) > len(best.path)) {
			best = r
		}
	}
	if best.node != "" {
		ix.g.connect(from, best.node, scheme, true)
		return
	}
	if strings.Contains(host, ".") && !strings.HasSuffix(host, ".svc") && !strings.HasSuffix(host, ".local") {
		id := ix.g.addNode(&Node{ID: nodeID("ext", host), Label: host, Kind: KindExternal}).ID
		ix.g.connect(from, id, scheme, false)
	}
}

// inCluster resolves a cluster DNS name (svc, svc.ns, svc.ns.svc,
// svc.ns.svc.cluster.local) to the node behind the Service, or to the Helm
// release of that name (charts name their Services after the release).
func (ix *index) inCluster(ns, host string) string {
	parts := strings.Split(strings.TrimSuffix(host, ".cluster.local"), ".")
	switch {
	case len(parts) == 1:
	case len(parts) == 2 || (len(parts) == 3 && parts[2] == "svc"):
		ns = parts[1]
	default:
		return ""
	}
	return cmp.Or(ix.services[ix.key(ns, parts[0])], ix.releases[ix.key(ns, parts[0])])
}

// walk calls fn for every string inside v, with its path of keys.
func walk(v resource.PropertyValue, path []string, fn func(path []string, s string)) {
	v = unwrap(v)
	switch {
	case v.IsString():
		fn(path, v.StringValue())
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			walk(e, path, fn)
		}
	case v.IsObject():
		m := v.ObjectValue()
		for _, k := range m.StableKeys() {
			walk(m[k], append(slices.Clone(path), string(k)), fn)
		}
	}
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() || v.IsOutput() {
		if v.IsSecret() {
			v = v.SecretValue().Element
		} else {
			v = v.OutputValue().Element
		}
	}
	return v
}

func str(m resource.PropertyMap, path string) string { return pulumitest.GetString(m, path) }
