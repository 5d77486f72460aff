package netpolcheck

import (
	"fmt"
	"net/netip"
	"os"
	"sort"

	"sigs.k8s.io/yaml"
)

// Table is components/netpol/connectivity.yaml.
type Table struct {
	Endpoints map[string]*Endpoint `json:"endpoints"`
	Rows      []Row                `json:"rows"`
}

// Endpoint is one party of a flow; see the table's header for the fields.
type Endpoint struct {
	Workload     string            `json:"workload,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	IP           string            `json:"ip,omitempty"`
	VPCHost      int               `json:"vpcHost,omitempty"`
	Entity       string            `json:"entity,omitempty"`
	Port         int               `json:"port,omitempty"`
	DigitalOcean *Endpoint         `json:"digitalocean,omitempty"`
	InCluster    *Endpoint         `json:"in-cluster,omitempty"`
}

// Row is one flow of the table.
type Row struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int    `json:"port,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Why      string `json:"why"`
	Deny     bool   `json:"deny,omitempty"`
	Only     string `json:"only,omitempty"`
	Pending  string `json:"pending,omitempty"`

	// Line is the row's number in the table (1-based), for messages.
	Line int `json:"-"`
}

// String names the row in messages.
func (r Row) String() string {
	verb := "allowed"
	if r.Deny {
		verb = "refused"
	}
	return fmt.Sprintf("row %d %s → %s (%s; must be %s)", r.Line, r.From, r.To, r.Why, verb)
}

// LoadTable reads and validates the table: every row names known endpoints,
// a port (its own or the destination's) and a known foundation.
func LoadTable(path string) (*Table, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Table
	if err := yaml.UnmarshalStrict(raw, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems []string
	for name, e := range t.Endpoints {
		for _, variant := range []*Endpoint{e, e.DigitalOcean, e.InCluster} {
			if variant == nil || (variant == e && (e.DigitalOcean != nil || e.InCluster != nil)) {
				continue
			}
			if msg := variant.validate(); msg != "" {
				problems = append(problems, fmt.Sprintf("endpoint %s: %s", name, msg))
			}
		}
	}
	for i := range t.Rows {
		r := &t.Rows[i]
		r.Line = i + 1
		for _, n := range []string{r.From, r.To} {
			if t.Endpoints[n] == nil {
				problems = append(problems, fmt.Sprintf("%s: no endpoint named %q", r, n))
			}
		}
		if r.Why == "" {
			problems = append(problems, fmt.Sprintf("%s: says no why", r))
		}
		if r.Only != "" && r.Only != "digitalocean" && r.Only != "in-cluster" {
			problems = append(problems, fmt.Sprintf("%s: on %q; allowed: digitalocean, in-cluster", r, r.Only))
		}
		if r.Protocol != "" && r.Protocol != "TCP" && r.Protocol != "UDP" {
			problems = append(problems, fmt.Sprintf("%s: protocol %q; allowed: TCP, UDP", r, r.Protocol))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s: %d problems:\n  %s", path, len(problems), joinLines(problems))
	}
	return &t, nil
}

func (e *Endpoint) validate() string {
	kinds := 0
	if e.Workload != "" {
		kinds++
	}
	if e.Namespace != "" {
		kinds++
	}
	if e.IP != "" || e.VPCHost != 0 {
		kinds++
		if e.Entity == "" {
			return "an address needs the Cilium entity it has on DOKS"
		}
		if e.IP != "" {
			if _, err := netip.ParseAddr(e.IP); err != nil {
				return fmt.Sprintf("ip %q: %v", e.IP, err)
			}
		}
	}
	if kinds != 1 {
		return "give exactly one of workload, namespace + labels, or ip/vpcHost + entity"
	}
	return ""
}

// variant is the endpoint as it exists on the foundation (nil: not there).
func (e *Endpoint) variant(foundation string) *Endpoint {
	if e.DigitalOcean == nil && e.InCluster == nil {
		return e
	}
	if foundation == "digitalocean" {
		return e.DigitalOcean
	}
	return e.InCluster
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}
