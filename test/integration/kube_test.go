//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/datafruits/infra/internal/contract"
)

// partOf selects the project's objects: every namespace and workload the
// program declares carries it.
const partOf = "app.kubernetes.io/part-of=datafruits"

// objectRef names one Kubernetes object the stack's state records.
type objectRef struct {
	APIVersion, Kind, Namespace, Name string
}

func (o objectRef) String() string {
	if o.Namespace == "" {
		return fmt.Sprintf("%s %s %s", o.APIVersion, o.Kind, o.Name)
	}
	return fmt.Sprintf("%s %s %s/%s", o.APIVersion, o.Kind, o.Namespace, o.Name)
}

// refFromState maps a resource of the state to the object it manages: the
// type token gives apiVersion and kind ("kubernetes:apps/v1:Deployment",
// "kubernetes:core/v1:Service"), the ID is "namespace/name" or "name".
// Helm releases, custom resources and providers are not plain objects.
func refFromState(typ, id string) (objectRef, bool) {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" || id == "" {
		return objectRef{}, false
	}
	module, kind := parts[1], parts[2]
	if !strings.Contains(module, "/") || strings.HasPrefix(module, "helm.sh/") || strings.HasPrefix(module, "yaml/") {
		return objectRef{}, false
	}
	apiVersion := strings.TrimPrefix(module, "core/")
	ref := objectRef{APIVersion: apiVersion, Kind: kind, Name: id}
	if ns, name, ok := strings.Cut(id, "/"); ok {
		ref.Namespace, ref.Name = ns, name
	}
	return ref, true
}

// kube is the API server of the embedded control plane, through the
// contract test's client.
type kube struct {
	*contract.Client
}

func newKube(ctx context.Context, kubeconfig string) (*kube, error) {
	c, err := contract.NewClientFromKubeconfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	if err := c.Discover(ctx); err != nil {
		return nil, err
	}
	return &kube{Client: c}, nil
}

// publishIngressStatus plays the ingress controller's part until ctx ends.
// The embedded control plane runs no containers, so nothing writes an
// Ingress's status.loadBalancer, and pulumi-kubernetes waits for it before it
// calls an Ingress ready (pulumi-kubernetes #268, #1812): without this every
// Ingress would time out after ten minutes. The address is 127.0.0.1, where a
// port-forward to the ingress controller would listen.
func (k *kube) publishIngressStatus(ctx context.Context, logf func(string, ...any)) {
	body := []byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.1"}]}}}`)
	reported := map[string]bool{}
	for {
		ingresses, err := k.List(ctx, "networking.k8s.io/v1", "Ingress", "", "")
		if err == nil {
			for _, ing := range ingresses {
				md, _ := ing["metadata"].(map[string]any)
				ns, _ := md["namespace"].(string)
				name, _ := md["name"].(string)
				if hasLoadBalancerStatus(ing) {
					continue
				}
				p := fmt.Sprintf("/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s/status", url.PathEscape(ns), url.PathEscape(name))
				if err := k.Patch(ctx, p, "application/merge-patch+json", body); err != nil && !reported[ns+"/"+name] {
					reported[ns+"/"+name] = true
					logf("publishing the status of Ingress %s/%s: %v", ns, name, err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func hasLoadBalancerStatus(ing map[string]any) bool {
	st, _ := ing["status"].(map[string]any)
	lb, _ := st["loadBalancer"].(map[string]any)
	list, _ := lb["ingress"].([]any)
	return len(list) > 0
}

// projectNamespaces lists the namespaces the program made.
func (k *kube) projectNamespaces(ctx context.Context) ([]string, error) {
	items, err := k.List(ctx, "v1", "Namespace", "", partOf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ns := range items {
		names = append(names, str(ns, "metadata", "name"))
	}
	sort.Strings(names)
	return names, nil
}

// workloadReadiness lists every Deployment and StatefulSet in the project's
// namespaces with its ready and wanted replicas; notReady names those short
// of their replicas or not yet observed at their latest generation.
func (k *kube) workloadReadiness(ctx context.Context) (all, notReady []string, err error) {
	namespaces, err := k.projectNamespaces(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, ns := range namespaces {
		for _, kind := range []string{"Deployment", "StatefulSet"} {
			items, err := k.List(ctx, "apps/v1", kind, ns, "")
			if err != nil {
				return nil, nil, err
			}
			for _, w := range items {
				want := num(w, 1, "spec", "replicas")
				ready := num(w, 0, "status", "readyReplicas")
				observed := num(w, 0, "status", "observedGeneration") >= num(w, 0, "metadata", "generation")
				desc := fmt.Sprintf("%s %s/%s %d/%d ready", kind, ns, str(w, "metadata", "name"), int(ready), int(want))
				all = append(all, desc)
				if ready != want || !observed {
					notReady = append(notReady, desc)
				}
			}
		}
	}
	return all, notReady, nil
}

// volatileMetadata changes on every write or belongs to the server, not to
// what the program declares.
var volatileMetadata = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"}

// snapshot reads each object and keeps what a rollback must restore: every
// field but status and the server's bookkeeping.
func (k *kube) snapshot(ctx context.Context, refs []objectRef) (map[string]any, error) {
	// The charts' CRDs (cert-manager's ClusterIssuer, ...) arrive with the
	// first pulumi up, after the client first discovered the API.
	if err := k.Discover(ctx); err != nil {
		return nil, err
	}
	snap := map[string]any{}
	for _, r := range refs {
		obj, err := k.Get(ctx, r.APIVersion, r.Kind, r.Namespace, r.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		delete(obj, "status")
		if md, ok := obj["metadata"].(map[string]any); ok {
			for _, f := range volatileMetadata {
				delete(md, f)
			}
			if ann, ok := md["annotations"].(map[string]any); ok {
				// The Deployment controller counts rollouts here; a rollback is one more.
				delete(ann, "deployment.kubernetes.io/revision")
				if len(ann) == 0 {
					delete(md, "annotations")
				}
			}
		}
		snap[r.String()] = obj
	}
	return snap, nil
}

// diffSnapshots names each object added, removed or changed between a and b,
// with the first differing paths of a changed one.
func diffSnapshots(a, b map[string]any) []string {
	var out []string
	for key, av := range a {
		bv, ok := b[key]
		if !ok {
			out = append(out, "missing: "+key)
			continue
		}
		if paths := diffValues("", av, bv, nil); len(paths) > 0 {
			if len(paths) > 5 {
				paths = append(paths[:5], "...")
			}
			out = append(out, fmt.Sprintf("changed: %s: %s", key, strings.Join(paths, "; ")))
		}
	}
	for key := range b {
		if _, ok := a[key]; !ok {
			out = append(out, "extra: "+key)
		}
	}
	sort.Strings(out)
	return out
}

func diffValues(path string, a, b any, out []string) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			out = diffValues(path+"."+k, am[k], bm[k], out)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		as, _ := json.Marshal(a)
		bs, _ := json.Marshal(b)
		out = append(out, fmt.Sprintf("%s: %s -> %s", path, truncate(string(as)), truncate(string(bs))))
	}
	return out
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// waitGone polls until none of refs exists; it returns those still there.
func (k *kube) waitGone(ctx context.Context, refs []objectRef, limit time.Duration) []string {
	deadline := time.Now().Add(limit)
	for {
		var left []string
		for _, r := range refs {
			if _, err := k.Get(ctx, r.APIVersion, r.Kind, r.Namespace, r.Name); !contract.IsNotFound(err) {
				if err != nil {
					left = append(left, fmt.Sprintf("%s (%v)", r, err))
				} else {
					left = append(left, r.String())
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(time.Second)
	}
}

// labelledLeftovers lists objects of the given kinds, in any namespace,
// that still carry the project's label.
func (k *kube) labelledLeftovers(ctx context.Context, kinds [][2]string) ([]string, error) {
	var left []string
	for _, kind := range kinds {
		if _, known := k.Namespaced(kind[0], kind[1]); !known {
			continue
		}
		items, err := k.List(ctx, kind[0], kind[1], "", partOf)
		if err != nil {
			return nil, fmt.Errorf("list %s %s: %w", kind[0], kind[1], err)
		}
		for _, o := range items {
			left = append(left, fmt.Sprintf("%s %s/%s", kind[1], str(o, "metadata", "namespace"), str(o, "metadata", "name")))
		}
	}
	return left, nil
}

// recycleVolumes makes Released PersistentVolumes available again: the
// embedded control plane has no provisioner, only a fixed pool that the
// deleted claims of a destroyed stack would otherwise use up.
func (k *kube) recycleVolumes(ctx context.Context) error {
	pvs, err := k.List(ctx, "v1", "PersistentVolume", "", "")
	if err != nil {
		return err
	}
	for _, pv := range pvs {
		if str(pv, "status", "phase") != "Released" {
			continue
		}
		name := str(pv, "metadata", "name")
		md, _ := pv["metadata"].(map[string]any)
		spec, _ := pv["spec"].(map[string]any)
		delete(spec, "claimRef")
		fresh := map[string]any{
			"apiVersion": "v1", "kind": "PersistentVolume",
			"metadata": map[string]any{"name": name, "labels": md["labels"]},
			"spec":     spec,
		}
		if err := k.Delete(ctx, "v1", "PersistentVolume", "", name); err != nil {
			return err
		}
		if left := k.waitGone(ctx, []objectRef{{APIVersion: "v1", Kind: "PersistentVolume", Name: name}}, 30*time.Second); len(left) > 0 {
			return fmt.Errorf("PersistentVolume %s not deleted after 30s", name)
		}
		if err := k.Create(ctx, "v1", "PersistentVolume", "", fresh); err != nil {
			return fmt.Errorf("re-create PersistentVolume %s: %w", name, err)
		}
	}
	return nil
}

func at(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func str(m map[string]any, path ...string) string {
	s, _ := at(m, path...).(string)
	return s
}

func num(m map[string]any, def float64, path ...string) float64 {
	if f, ok := at(m, path...).(float64); ok {
		return f
	}
	return def
}
