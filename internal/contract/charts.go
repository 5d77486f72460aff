package contract

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/datafruits/infra/internal/pulumitest"
)

// Release is a Helm release the program declares, as the provider would
// install it: which chart, where from, and the values the program gives it.
type Release struct {
	// Logical is the Pulumi logical name of the helm.v3.Release.
	Logical string
	// Name and Namespace are the Helm release's.
	Name, Namespace string
	// Chart is a chart name in Repo, or the path of a packaged chart (a mirror directory).
	Chart string
	// Version is the pinned chart version (empty for a packaged chart: its file pins it).
	Version string
	// Repo is the chart repository URL (empty for a packaged chart).
	Repo string
	// Values are the values the program passes, secrets unwrapped.
	Values map[string]any
}

func releaseOf(r pulumitest.Resource, d *Declared) (Release, error) {
	rel := Release{
		Logical:   r.Name,
		Name:      cmp.Or(pulumitest.GetString(r.Inputs, "name"), r.Name),
		Namespace: cmp.Or(pulumitest.GetString(r.Inputs, "namespace"), "default"),
		Chart:     pulumitest.GetString(r.Inputs, "chart"),
		Version:   pulumitest.GetString(r.Inputs, "version"),
		Repo:      pulumitest.GetString(r.Inputs, "repositoryOpts.repo"),
	}
	if v, ok := r.Inputs["values"]; ok && v.IsObject() {
		values, err := plainMap(v.ObjectValue(), plainer{secrets: &d.secrets, public: d.public})
		if err != nil {
			return rel, fmt.Errorf("Helm release %s: values: %v", r.Name, err)
		}
		rel.Values = values
	}
	return rel, nil
}

// ChartRenderer renders charts with the helm CLI at the Helm version the
// pinned pulumi-kubernetes provider embeds (helm template is the same
// rendering the provider's install does, without a cluster).
type ChartRenderer struct {
	// Helm is the helm binary.
	Helm string
	// Mirror is a directory of packaged charts (<name>-<version>.tgz) that
	// stands in for the chart repositories; empty fetches from Repo.
	Mirror string
	// KubeVersion is the cluster's version the charts are rendered for.
	KubeVersion string
}

// chartArgs is where helm takes the release's chart from.
func (cr ChartRenderer) chartArgs(rel Release) ([]string, error) {
	switch {
	case strings.HasSuffix(rel.Chart, ".tgz"):
		return []string{rel.Chart}, nil
	case cr.Mirror != "":
		path := filepath.Join(cr.Mirror, rel.Chart+"-"+rel.Version+".tgz")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("the chart mirror has no %s-%s.tgz: %w", rel.Chart, rel.Version, err)
		}
		return []string{path}, nil
	case rel.Repo != "":
		return []string{rel.Chart, "--repo", rel.Repo, "--version", rel.Version}, nil
	}
	return nil, fmt.Errorf("Helm release %s names no chart repository and no mirror is given", rel.Logical)
}

// Render runs helm template for the release with its values, the chart's
// CRDs included and its hooks kept (Jobs the provider runs at install), and
// returns the rendered documents. apiVersions are the API versions the
// cluster serves, as the provider's discovery would report them.
func (cr ChartRenderer) Render(ctx context.Context, rel Release, apiVersions []string) ([]map[string]any, error) {
	chart, err := cr.chartArgs(rel)
	if err != nil {
		return nil, err
	}
	values, err := json.Marshal(rel.Values)
	if err != nil {
		return nil, err
	}
	args := []string{"template", rel.Name}
	args = append(args, chart...)
	args = append(args, "--namespace", rel.Namespace, "--kube-version", cr.KubeVersion,
		"--include-crds", "--skip-tests", "--values", "-")
	for _, v := range apiVersions {
		args = append(args, "--api-versions", v)
	}
	cmd := exec.CommandContext(ctx, cr.Helm, args...)
	// An empty Helm home: no repositories or plugins of the user's leak in.
	home, err := os.MkdirTemp("", "contract-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	cmd.Stdin = bytes.NewReader(values)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template %s (chart %s): %v: %s", rel.Name, strings.Join(chart, " "), err, strings.TrimSpace(stderr.String()))
	}
	return decodeDocuments(stdout.Bytes())
}

// decodeDocuments parses a multi-document YAML stream into JSON-shaped maps
// (numbers as float64, as the rest of the package expects).
func decodeDocuments(b []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("rendered chart: %w", err)
		}
		if doc == nil {
			continue
		}
		js, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("rendered chart: %w", err)
		}
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			return nil, fmt.Errorf("rendered chart: %w", err)
		}
		// A List's items are objects of their own (kube-prometheus-stack
		// renders its additional rules as one).
		if kind, _ := m["kind"].(string); strings.HasSuffix(kind, "List") && m["items"] != nil {
			for _, item := range list(m, "items") {
				if obj, ok := item.(map[string]any); ok && len(obj) > 0 {
					docs = append(docs, obj)
				}
			}
			continue
		}
		if len(m) > 0 {
			docs = append(docs, m)
		}
	}
}

// RenderCharts renders every declared Helm release with r and adds the
// chart's objects (CRDs, workloads, RBAC, webhooks, hooks) to the declared
// objects, in place of the release's skip. Charts are rendered twice: first
// against what the API server serves, then again with the API versions every
// chart's CRDs add, as a second `pulumi up` renders them once all charts are
// installed (charts switch objects on with .Capabilities.APIVersions).
func (d *Declared) RenderCharts(ctx context.Context, c *Client, r ChartRenderer) error {
	if len(d.Releases) == 0 {
		return nil
	}
	if err := c.Discover(ctx); err != nil {
		return err
	}
	served := c.APIVersions()
	rendered := map[string][]map[string]any{}
	crdVersions := map[string]bool{}
	for _, rel := range d.Releases {
		docs, err := r.Render(ctx, rel, served)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			if str(doc, "kind") != "CustomResourceDefinition" {
				continue
			}
			group, kind := str(doc, "spec", "group"), str(doc, "spec", "names", "kind")
			for _, v := range list(doc, "spec", "versions") {
				if name := str(v.(map[string]any), "name"); name != "" {
					crdVersions[group+"/"+name] = true
					crdVersions[group+"/"+name+"/"+kind] = true
				}
			}
		}
		rendered[rel.Logical] = docs
	}
	if len(crdVersions) > 0 {
		all := append([]string(nil), served...)
		for v := range crdVersions {
			all = append(all, v)
		}
		sort.Strings(all)
		for _, rel := range d.Releases {
			docs, err := r.Render(ctx, rel, all)
			if err != nil {
				return err
			}
			rendered[rel.Logical] = docs
		}
	}

	crdScope := map[string]bool{} // group/Kind -> namespaced
	for _, docs := range rendered {
		for _, doc := range docs {
			if str(doc, "kind") == "CustomResourceDefinition" {
				crdScope[str(doc, "spec", "group")+"/"+str(doc, "spec", "names", "kind")] = str(doc, "spec", "scope") == "Namespaced"
			}
		}
	}
	var errs []string
	for _, rel := range d.Releases {
		for _, doc := range rendered[rel.Logical] {
			o, err := chartObject(doc, rel, c, crdScope)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			d.Objects = append(d.Objects, o)
		}
		d.ChartObjects += len(rendered[rel.Logical])
	}
	if len(errs) > 0 {
		return fmt.Errorf("rendered charts: %s", strings.Join(errs, "; "))
	}
	// The releases are rendered: no longer skipped, and the objects around
	// them (Traefik's Service, PDB, autoscaler) are checked against the
	// chart's real pods.
	kept := d.Skipped[:0]
	for _, s := range d.Skipped {
		if s.Type != "kubernetes:helm.sh/v3:Release" {
			kept = append(kept, s)
		}
	}
	d.Skipped = kept
	d.releases = nil
	sortObjects(d.Objects)
	return nil
}

func chartObject(doc map[string]any, rel Release, c *Client, crdScope map[string]bool) (*Object, error) {
	o := &Object{APIVersion: str(doc, "apiVersion"), Kind: str(doc, "kind"), Body: doc,
		Logical: "chart " + rel.Name, Type: "helm:" + rel.Name}
	md := meta(doc)
	o.Name, _ = md["name"].(string)
	o.Namespace, _ = md["namespace"].(string)
	if o.APIVersion == "" || o.Kind == "" || o.Name == "" {
		return nil, fmt.Errorf("release %s renders an object without apiVersion, kind or name", rel.Name)
	}
	namespaced, known := c.Namespaced(o.APIVersion, o.Kind)
	if !known {
		namespaced = crdScope[o.Group()+"/"+o.Kind]
	}
	// Helm installs namespaced objects that name no namespace into the
	// release's namespace.
	if namespaced && o.Namespace == "" {
		o.Namespace = rel.Namespace
		md["namespace"] = rel.Namespace
	}
	return o, nil
}

// fromChart reports whether the object was rendered from a chart.
func (o *Object) fromChart() bool { return strings.HasPrefix(o.Type, "helm:") }

// APIVersions lists what the API server serves, in the two forms helm's
// --api-versions takes: group/version and group/version/Kind.
func (c *Client) APIVersions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for key := range c.resources {
		gv := key[:strings.LastIndex(key, "/")]
		seen[gv] = true
		seen[key] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
