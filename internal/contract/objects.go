// Package contract replays the Kubernetes objects a Pulumi program declares
// (recorded under mocks by internal/pulumitest) against a real API server and
// checks that they make a working cluster: every object accepted with strict
// field validation, every workload Available, every Service backed by pods,
// every Ingress, route, PodDisruptionBudget and HorizontalPodAutoscaler pointing
// at something that exists, every Secret and ConfigMap a pod needs present.
//
// The API server is the embedded control plane of scripts/controlplane
// (kwok fakes the nodes and pod status), reached with plain net/http.
package contract

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/datafruits/infra/internal/pulumitest"
)

// Object is one Kubernetes object the program declares, ready to apply.
type Object struct {
	// APIVersion and Kind come from the resource type token (or, for
	// CustomResource, from the inputs).
	APIVersion string
	Kind       string
	// Namespace is empty for cluster-scoped kinds and before defaulting.
	Namespace string
	// Name is metadata.name, generated like the provider does when the program left it out.
	Name string
	// Logical is the Pulumi logical name, Type the Pulumi type token.
	Logical string
	Type    string
	// Body is the whole object as plain JSON values (secrets unwrapped).
	Body map[string]any
}

// Ref names an object for messages: Kind namespace/name.
func (o *Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Group returns the API group of the object ("" for the core group).
func (o *Object) Group() string {
	if i := strings.Index(o.APIVersion, "/"); i >= 0 {
		return o.APIVersion[:i]
	}
	return ""
}

// Skipped is a declared Kubernetes resource the contract test cannot apply here.
type Skipped struct {
	// Type is the Pulumi type token, Name the logical name (or Kind namespace/name).
	Type   string
	Name   string
	Reason string
}

// Declared is what a program declares for Kubernetes.
type Declared struct {
	Objects []*Object
	// Skipped lists Helm releases, remote components and patches, by name.
	Skipped []Skipped
	// secrets are the string values that were secret in the inputs, so that
	// reports can redact them from the API server's messages; public are the
	// strings seen outside secrets (names, labels), which are never redacted.
	secrets []string
	public  map[string]bool
	// releases are the Helm releases skipped, by namespace.
	releases map[string][]release
	// Releases are the Helm releases, with their values, for RenderCharts.
	Releases []Release
	// ChartObjects counts the objects RenderCharts added from charts.
	ChartObjects int
}

// Find returns the declared object of this kind, namespace and name.
func (d *Declared) Find(kind, namespace, name string) *Object {
	for _, o := range d.Objects {
		if o.Kind == kind && o.Namespace == namespace && o.Name == name {
			return o
		}
	}
	return nil
}

// unappliable are Kubernetes provider types that are not objects of their own:
// Helm releases and remote components render charts or files the provider
// fetches at deploy time (no chart repository is reachable here), and patches
// change objects something else created.
var unappliable = map[string]string{
	"kubernetes:helm.sh/v3:Release":                       "Helm release: rendered only when a chart renderer is given (RenderCharts)",
	"kubernetes:helm.sh/v4:Chart":                         "Helm chart: rendered by the provider from a chart repository, unreachable here",
	"kubernetes:yaml/v2:ConfigFile":                       "remote YAML component: rendered by the provider",
	"kubernetes:yaml/v2:ConfigGroup":                      "remote YAML component: rendered by the provider",
	"kubernetes:kustomize/v2:Directory":                   "remote kustomize component: rendered by the provider",
	"kubernetes:helm.sh/v3:Chart":                         "Helm chart component: rendered from a chart repository, unreachable here",
	"kubernetes:yaml:ConfigFile":                          "YAML component: its objects are recorded as children",
	"kubernetes:yaml:ConfigGroup":                         "YAML component: its objects are recorded as children",
	"kubernetes:kustomize:Directory":                      "kustomize component: its objects are recorded as children",
	"kubernetes:apiextensions.k8s.io:CustomResourcePatch": "patch of an object created elsewhere",
}

// FromResources converts the recorded resources of one program run into
// Kubernetes objects. Non-Kubernetes resources are ignored. stack names the
// run in messages.
func FromResources(stack string, resources []pulumitest.Resource) (*Declared, error) {
	d := &Declared{public: map[string]bool{}}
	var errs []string
	for _, r := range resources {
		if !strings.HasPrefix(r.Type, "kubernetes:") {
			continue // other providers, components, the Kubernetes provider itself
		}
		if reason, ok := unappliable[r.Type]; ok {
			if reason != "" {
				d.Skipped = append(d.Skipped, Skipped{Type: r.Type, Name: r.Name, Reason: reason})
			}
			if strings.HasPrefix(r.Type, "kubernetes:helm.sh/") {
				d.addRelease(r)
			}
			if r.Type == "kubernetes:helm.sh/v3:Release" {
				rel, err := releaseOf(r, d)
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				d.Releases = append(d.Releases, rel)
			}
			continue
		}
		if !isObjectType(r.Type) {
			d.Skipped = append(d.Skipped, Skipped{Type: r.Type, Name: r.Name, Reason: "not a Kubernetes object type the contract test knows"})
			continue
		}
		if strings.HasSuffix(r.Type, "Patch") {
			d.Skipped = append(d.Skipped, Skipped{Type: r.Type, Name: r.Name, Reason: "patch of an object created elsewhere"})
			continue
		}
		if strings.HasSuffix(r.Type, "List") {
			errs = append(errs, fmt.Sprintf("%s %s: List types are not supported; declare the items one by one", r.Type, r.Name))
			continue
		}
		o, err := objectOf(r, d)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		d.Objects = append(d.Objects, o)
	}
	if len(errs) > 0 {
		return d, fmt.Errorf("cannot convert %d resources:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	sortObjects(d.Objects)
	return d, nil
}

// addRelease remembers a skipped Helm release by namespace: objects the
// program declares around a chart (a Service, a PDB for the chart's pods)
// cannot be checked against pods the chart would make.
func (d *Declared) addRelease(r pulumitest.Resource) {
	ns := cmp.Or(pulumitest.GetString(r.Inputs, "namespace"), "default")
	rel := release{
		name:  cmp.Or(pulumitest.GetString(r.Inputs, "name"), r.Name),
		chart: pulumitest.GetString(r.Inputs, "chart"),
	}
	if d.releases == nil {
		d.releases = map[string][]release{}
	}
	d.releases[ns] = append(d.releases[ns], rel)
}

// release is a skipped Helm release: its name and chart.
type release struct{ name, chart string }

// names reports whether a label value or object name is one a chart of this
// release would use: the release or chart name, or either with a suffix.
func (r release) names(value string) bool {
	for _, n := range []string{r.name, r.chart} {
		if n != "" && (value == n || strings.HasPrefix(value, n+"-")) {
			return true
		}
	}
	return false
}

// isObjectType reports whether a type token names a Kubernetes object kind
// ("kubernetes:<group>/<version>:<Kind>" or the CustomResource type).
func isObjectType(t string) bool {
	parts := strings.Split(t, ":")
	return len(parts) == 3 && parts[0] == "kubernetes" && (strings.Contains(parts[1], "/") || parts[1] == "apiextensions.k8s.io")
}

func objectOf(r pulumitest.Resource, d *Declared) (*Object, error) {
	body, err := plainMap(r.Inputs, plainer{secrets: &d.secrets, public: d.public, secretObject: r.Type == "kubernetes:core/v1:Secret"})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", r.Type, r.Name, err)
	}
	parts := strings.Split(r.Type, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%s %s: unexpected type token", r.Type, r.Name)
	}
	o := &Object{Logical: r.Name, Type: r.Type, Body: body}
	if r.Type == "kubernetes:apiextensions.k8s.io:CustomResource" {
		o.APIVersion, _ = body["apiVersion"].(string)
		o.Kind, _ = body["kind"].(string)
		if o.APIVersion == "" || o.Kind == "" {
			return nil, fmt.Errorf("%s %s: custom resource without apiVersion and kind", r.Type, r.Name)
		}
	} else {
		o.APIVersion = strings.TrimPrefix(parts[1], "core/")
		o.Kind = parts[2]
		body["apiVersion"] = o.APIVersion
		body["kind"] = o.Kind
	}
	meta, _ := body["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		body["metadata"] = meta
	}
	o.Namespace, _ = meta["namespace"].(string)
	o.Name, _ = meta["name"].(string)
	if o.Name == "" {
		if gn, _ := meta["generateName"].(string); gn != "" {
			return nil, fmt.Errorf("%s %s: generateName is not supported: the contract test cannot know the name", r.Type, r.Name)
		}
		// The mocks give auto-named objects the provider's kind of name in their
		// outputs, and the program's references use those outputs.
		o.Name = pulumitest.GetString(r.Outputs, "metadata.name")
		if o.Name == "" {
			o.Name = pulumitest.AutoName(r.Name)
		}
		meta["name"] = o.Name
	}
	return o, nil
}

// plainMap converts Pulumi inputs to plain JSON values. Secrets are unwrapped
// and their string values recorded (callers must never print them); unknown
// values are an error, because under mocks every input should be known.
func plainMap(m resource.PropertyMap, p plainer) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		pv, err := p.plain(v, string(k), false)
		if err != nil {
			return nil, err
		}
		if pv != nil {
			out[string(k)] = pv
		}
	}
	return out, nil
}

// plainer converts property values, recording secret strings and public ones
// (the data of Secret objects counts as neither: it is redacted by redactions).
type plainer struct {
	secrets      *[]string
	public       map[string]bool
	secretObject bool
}

func (p plainer) plain(v resource.PropertyValue, path string, secret bool) (any, error) {
	switch {
	case v.IsSecret():
		return p.plain(v.SecretValue().Element, path, true)
	case v.IsComputed():
		return nil, fmt.Errorf("input %s is unknown (computed) under mocks; give the mock an output for it", path)
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return nil, fmt.Errorf("input %s is an unknown output under mocks", path)
		}
		return p.plain(o.Element, path, secret || o.Secret)
	case v.IsNull():
		return nil, nil
	case v.IsBool():
		return v.BoolValue(), nil
	case v.IsNumber():
		return v.NumberValue(), nil
	case v.IsString():
		switch {
		case secret && p.secrets != nil:
			*p.secrets = append(*p.secrets, v.StringValue())
		case p.secretObject && (strings.HasPrefix(path, "data.") || strings.HasPrefix(path, "stringData.")):
		case p.public != nil:
			p.public[v.StringValue()] = true
		}
		return v.StringValue(), nil
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, 0, len(arr))
		for i, e := range arr {
			pe, err := p.plain(e, fmt.Sprintf("%s[%d]", path, i), secret)
			if err != nil {
				return nil, err
			}
			out = append(out, pe)
		}
		return out, nil
	case v.IsObject():
		obj := v.ObjectValue()
		out := make(map[string]any, len(obj))
		for k, e := range obj {
			pe, err := p.plain(e, path+"."+string(k), secret)
			if err != nil {
				return nil, err
			}
			if pe != nil {
				out[string(k)] = pe
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("input %s has a value kind (%s) a Kubernetes object cannot hold", path, v.TypeString())
	}
}

// applyRank orders kinds so that what others depend on is applied first.
var applyRank = map[string]int{
	"Namespace": 0, "CustomResourceDefinition": 1,
	"PriorityClass": 2, "StorageClass": 2, "IngressClass": 2, "RuntimeClass": 2,
	"ServiceAccount": 3, "ClusterRole": 3, "Role": 3,
	"ClusterRoleBinding": 4, "RoleBinding": 4,
	"ConfigMap": 5, "Secret": 5, "LimitRange": 5, "ResourceQuota": 5,
	"PersistentVolume": 6, "PersistentVolumeClaim": 6,
	"Deployment": 7, "StatefulSet": 7, "DaemonSet": 7, "Job": 7, "CronJob": 7, "ReplicaSet": 7, "Pod": 7,
	"Service": 8, "Endpoints": 8, "EndpointSlice": 8,
	"Ingress":             9,
	"PodDisruptionBudget": 10, "HorizontalPodAutoscaler": 10,
	"NetworkPolicy": 11,
}

func rankOf(kind string) int {
	if r, ok := applyRank[kind]; ok {
		return r
	}
	return 12 // custom resources last: their definitions come first
}

func sortObjects(objs []*Object) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if rankOf(a.Kind) != rankOf(b.Kind) {
			return rankOf(a.Kind) < rankOf(b.Kind)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// JSON returns the object as JSON, the body of a server-side apply.
func (o *Object) JSON() ([]byte, error) { return json.Marshal(o.Body) }

// CountByKind returns "Kind n" pairs sorted by kind, for the report.
func CountByKind(objs []*Object) string {
	counts := map[string]int{}
	for _, o := range objs {
		counts[o.Kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
