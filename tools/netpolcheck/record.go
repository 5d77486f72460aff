package netpolcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	networkingv1 "k8s.io/api/networking/v1"
)

// Record is what infra's TestRecordNetworkPolicies wrote for one stack.
type Record struct {
	Stack                 string           `json:"stack"`
	Foundation            string           `json:"foundation"`
	VPCRange              string           `json:"vpcRange"`
	NetworkPolicies       []map[string]any `json:"networkPolicies"`
	CiliumNetworkPolicies []map[string]any `json:"ciliumNetworkPolicies"`
	Workloads             []struct {
		Kind      string            `json:"kind"`
		Namespace string            `json:"namespace"`
		Name      string            `json:"name"`
		PodLabels map[string]string `json:"podLabels"`
	} `json:"workloads"`
}

// LoadRecord reads one stack's record.
func LoadRecord(path string) (*Record, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// RunsCilium reports whether the stack's cluster is DOKS, which runs Cilium.
func (r *Record) RunsCilium() bool { return r.Foundation == "digitalocean" }

// networkPolicies decodes the recorded NetworkPolicies into the API types
// the matcher takes; a field the API types lack is an error.
func (r *Record) networkPolicies() ([]*networkingv1.NetworkPolicy, error) {
	var out []*networkingv1.NetworkPolicy
	for _, m := range r.NetworkPolicies {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var np networkingv1.NetworkPolicy
		if err := dec.Decode(&np); err != nil {
			return nil, fmt.Errorf("stack %s: NetworkPolicy %v: %w", r.Stack, m["metadata"], err)
		}
		out = append(out, &np)
	}
	return out, nil
}

// podLabels returns the pod labels of the program's workload namespace/name.
func (r *Record) podLabels(namespace, name string) (map[string]string, bool) {
	for _, w := range r.Workloads {
		if w.Namespace == namespace && w.Name == name {
			return w.PodLabels, true
		}
		if w.Namespace == namespace && w.PodLabels["app.kubernetes.io/name"] == name {
			return w.PodLabels, true
		}
	}
	return nil, false
}
