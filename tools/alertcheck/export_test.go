package alertcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/yaml"
)

// resource is one resource the program declared, as infra's
// TestExportMonitoring wrote it (prod stack under mocks, Discord webhook set).
type resource struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs"`
}

var (
	exportOnce sync.Once
	exported   []resource
	exportErr  error
)

// declared returns the inputs of the resource the program declared with this
// type and name, from $ALERTCHECK_EXPORT.
func declared(t *testing.T, typ, name string) map[string]any {
	t.Helper()
	exportOnce.Do(func() {
		path := os.Getenv("ALERTCHECK_EXPORT")
		if path == "" {
			exportErr = fmt.Errorf("ALERTCHECK_EXPORT is not set: run scripts/test/alerts.sh, which exports what the program declares first")
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			exportErr = err
			return
		}
		exportErr = json.Unmarshal(b, &exported)
	})
	if exportErr != nil {
		t.Fatal(exportErr)
	}
	for _, r := range exported {
		if r.Type == typ && r.Name == name {
			return r.Inputs
		}
	}
	t.Fatalf("the program declares no %s named %s", typ, name)
	return nil
}

// get walks a dotted path through nested maps.
func get(m map[string]any, path string) any {
	var v any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[part]
	}
	return v
}

// requireEnv returns the variable or fails naming it.
func requireEnv(t *testing.T, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set (%s): run scripts/test/alerts.sh", name, what)
	}
	return v
}

// renderChart renders a pinned chart from the chart mirror with the values
// the program gave its Helm release, the way `helm install` would on a
// Kubernetes 1.35 cluster, and returns every rendered object.
func renderChart(t *testing.T, pkg, release, namespace string, values map[string]any) []map[string]any {
	t.Helper()
	dir := requireEnv(t, "ALERTCHECK_CHARTS", "the chart mirror with the pinned charts")
	chrt, err := loader.Load(filepath.Join(dir, pkg))
	if err != nil {
		t.Fatalf("chart %s: %v", pkg, err)
	}
	if values == nil {
		values = map[string]any{}
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, values); err != nil {
		t.Fatalf("chart %s dependencies: %v", pkg, err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.35.0", Major: "1", Minor: "35"}
	vals, err := chartutil.ToRenderValues(chrt, values, chartutil.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true, Revision: 1}, caps)
	if err != nil {
		t.Fatalf("chart %s refuses the program's values: %v", pkg, err)
	}
	files, err := engine.Render(chrt, vals)
	if err != nil {
		t.Fatalf("chart %s does not render with the program's values: %v", pkg, err)
	}
	var objects []map[string]any
	for name, content := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(content, "\n---") {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("chart %s: %s: %v", pkg, name, err)
			}
			if obj != nil && obj["kind"] != nil {
				objects = append(objects, obj)
			}
		}
	}
	return objects
}

// findObject returns the rendered object of this kind and name.
func findObject(t *testing.T, objects []map[string]any, kind, name string) map[string]any {
	t.Helper()
	var names []string
	for _, o := range objects {
		if o["kind"] == kind {
			n, _ := get(o, "metadata.name").(string)
			if n == name {
				return o
			}
			names = append(names, n)
		}
	}
	t.Fatalf("no %s %q rendered (have %v)", kind, name, names)
	return nil
}

// releaseValues is the values map of one of the program's Helm releases.
func releaseValues(t *testing.T, name string) map[string]any {
	t.Helper()
	v, _ := declared(t, "kubernetes:helm.sh/v3:Release", name)["values"].(map[string]any)
	if v == nil {
		t.Fatalf("release %s has no values", name)
	}
	return v
}
