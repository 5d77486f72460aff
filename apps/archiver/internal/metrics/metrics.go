// Package metrics keeps the archiver's counters and gauges and writes them in the
// Prometheus text exposition format. It is small on purpose: a dozen series do not
// justify the client library's dependency tree in a sidecar image.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Registry holds named series.
type Registry struct {
	mu     sync.Mutex
	series map[string]*family
}

type family struct {
	help, kind string
	values     map[string]float64 // by rendered label set, "" for none
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{series: map[string]*family{}} }

// Counter declares a counter.
func (r *Registry) Counter(name, help string) { r.declare(name, help, "counter") }

// Gauge declares a gauge.
func (r *Registry) Gauge(name, help string) { r.declare(name, help, "gauge") }

func (r *Registry) declare(name, help, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.series[name] = &family{help: help, kind: kind, values: map[string]float64{"": 0}}
}

// Add adds delta to a series; labels are name, value pairs.
func (r *Registry) Add(name string, delta float64, labels ...string) {
	r.update(name, labels, func(v float64) float64 { return v + delta })
}

// Set sets a gauge.
func (r *Registry) Set(name string, value float64, labels ...string) {
	r.update(name, labels, func(float64) float64 { return value })
}

func (r *Registry) update(name string, labels []string, f func(float64) float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fam, ok := r.series[name]
	if !ok {
		panic("metrics: undeclared series " + name)
	}
	key := render(labels)
	if key != "" {
		delete(fam.values, "")
	}
	fam.values[key] = f(fam.values[key])
}

func render(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, 0, len(labels)/2)
	for i := 0; i+1 < len(labels); i += 2 {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(labels[i+1])
		parts = append(parts, fmt.Sprintf(`%s="%s"`, labels[i], v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// WriteTo writes every series in the text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.series))
	for name := range r.series {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fam := r.series[name]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, fam.help, name, fam.kind)
		keys := make([]string, 0, len(fam.values))
		for k := range fam.values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := fam.values[k]
			if v == math.Trunc(v) && math.Abs(v) < 1e15 {
				fmt.Fprintf(&b, "%s%s %d\n", name, k, int64(v))
			} else {
				fmt.Fprintf(&b, "%s%s %g\n", name, k, v)
			}
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Handler serves the registry.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		r.WriteTo(w)
	})
}
