package contract

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Options tune a contract run. The zero value uses the defaults.
type Options struct {
	// ReadyTimeout bounds the wait for every workload to be Available (default 90s).
	ReadyTimeout time.Duration
	// EndpointsTimeout bounds the wait, once workloads are Ready, for every
	// Service's endpoints (default 15s; the EndpointSlice controller batches updates).
	EndpointsTimeout time.Duration
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	if o.EndpointsTimeout == 0 {
		o.EndpointsTimeout = 15 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Failure is one broken expectation: the object and what is wrong, in the API
// server's words where it has some.
type Failure struct {
	Object  string
	Problem string
}

// Report is the outcome of one stack's contract run.
type Report struct {
	Stack    string
	Applied  []*Object
	Skipped  []Skipped
	Failures []Failure
	// ApplySeconds is how long applying every object took; ReadySeconds the
	// time from the first apply until every workload was Ready (0 when some never were).
	ApplySeconds float64
	ReadySeconds float64
	// Checks counts the checks that ran, by name (for example "Service endpoints").
	Checks map[string]int

	redact []string
}

func (r *Report) fail(object, format string, args ...any) {
	r.Failures = append(r.Failures, Failure{Object: object, Problem: fmt.Sprintf(format, args...)})
}

func (r *Report) checked(name string) { r.Checks[name]++ }

// builtinGroups are the API groups a plain Kubernetes API server serves. A kind
// of these groups the server does not know is the program's mistake; a kind of
// any other group is a custom resource whose definition is not installed here.
var builtinGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "autoscaling": true, "policy": true, "networking.k8s.io": true,
	"rbac.authorization.k8s.io": true, "storage.k8s.io": true, "scheduling.k8s.io": true,
	"apiextensions.k8s.io": true, "admissionregistration.k8s.io": true, "coordination.k8s.io": true,
	"discovery.k8s.io": true, "node.k8s.io": true, "certificates.k8s.io": true, "events.k8s.io": true,
	"flowcontrol.apiserver.k8s.io": true, "apiregistration.k8s.io": true, "resource.k8s.io": true,
	"extensions": true, "storagemigration.k8s.io": true,
}

// Run applies the declared objects to the API server, waits for the workloads
// and runs every check. It never stops at the first failure: the report lists
// them all. The caller removes the objects with Cleanup.
func Run(ctx context.Context, c *Client, stack string, d *Declared, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	r := &Report{Stack: stack, Skipped: append([]Skipped(nil), d.Skipped...), Checks: map[string]int{}, redact: redactions(d)}
	if err := c.Discover(ctx); err != nil {
		return nil, err
	}
	declaredCRDs := map[string]bool{} // "group/Kind"
	for _, o := range d.Objects {
		if o.Kind == "CustomResourceDefinition" {
			group := str(o.Body, "spec", "group")
			declaredCRDs[group+"/"+str(o.Body, "spec", "names", "kind")] = true
		}
	}

	start := time.Now()
	for _, o := range d.Objects {
		if _, known := c.Namespaced(o.APIVersion, o.Kind); !known && declaredCRDs[o.Group()+"/"+o.Kind] {
			// Its CRD (the program's or a chart's) was applied just before
			// (they rank first): wait for the API server to serve the kind.
			waitForKind(ctx, c, o.APIVersion, o.Kind, 15*time.Second)
		}
		namespaced, known := c.Namespaced(o.APIVersion, o.Kind)
		if !known {
			if builtinGroups[o.Group()] {
				r.fail(o.Ref(), "the API server does not serve %s %s (misspelt kind or removed API version?)", o.APIVersion, o.Kind)
			} else {
				r.Skipped = append(r.Skipped, Skipped{Type: o.APIVersion + " " + o.Kind, Name: o.Ref(),
					Reason: "custom resource without its CustomResourceDefinition here (it comes with a Helm chart)"})
			}
			continue
		}
		if namespaced && o.Namespace == "" {
			o.Namespace = "default"
			meta(o.Body)["namespace"] = "default"
		}
		if err := c.Apply(ctx, o); err != nil {
			r.fail(o.Ref(), "apply rejected: %v", err)
			continue
		}
		r.Applied = append(r.Applied, o)
	}
	r.ApplySeconds = time.Since(start).Seconds()
	opts.Logf("stack %s: applied %d objects in %.1fs", stack, len(r.Applied), r.ApplySeconds)

	checkRoutesStatically(r, d)
	if ready := waitReady(ctx, c, r, opts); ready {
		r.ReadySeconds = time.Since(start).Seconds()
		opts.Logf("stack %s: every workload Ready %.1fs after the first apply", stack, r.ReadySeconds)
	}
	checkServices(ctx, c, r, d, opts)
	checkIngresses(ctx, c, r)
	checkDisruptionBudgets(ctx, c, r, d)
	checkAutoscalers(ctx, c, r, d)
	checkPodReferences(ctx, c, r)
	return r, nil
}

func waitForKind(ctx context.Context, c *Client, apiVersion, kind string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if err := c.Discover(ctx); err == nil {
			if _, ok := c.Namespaced(apiVersion, kind); ok {
				return
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// redactions are the values a report must never show: everything the inputs
// marked secret and every value of a Secret object.
func redactions(d *Declared) []string {
	out := append([]string(nil), d.secrets...)
	for _, o := range d.Objects {
		if o.Kind != "Secret" {
			continue
		}
		for _, field := range []string{"data", "stringData"} {
			m, _ := o.Body[field].(map[string]any)
			for _, v := range m {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	kept := out[:0]
	for _, s := range out {
		if len(s) >= 4 && !d.public[s] {
			kept = append(kept, s)
		}
	}
	out = kept
	// Longest first, so a secret containing another is redacted whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// String renders the report to fit one screen: figures, skipped resources by
// name, then every failure with the API server's message.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stack %s: %d objects applied in %.1fs (%s)\n", r.Stack, len(r.Applied), r.ApplySeconds, CountByKind(r.Applied))
	if r.ReadySeconds > 0 {
		fmt.Fprintf(&b, "  every Deployment/StatefulSet/DaemonSet Ready %.1fs after the first apply\n", r.ReadySeconds)
	} else {
		fmt.Fprintf(&b, "  NOT every workload became Ready\n")
	}
	if len(r.Checks) > 0 {
		names := make([]string, 0, len(r.Checks))
		for n := range r.Checks {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s %d", n, r.Checks[n])
		}
		fmt.Fprintf(&b, "  checks: %s\n", strings.Join(parts, ", "))
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "  skipped %d (cannot be applied here):\n", len(r.Skipped))
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "    %s [%s]: %s\n", s.Name, s.Type, s.Reason)
		}
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "  FAILED %d:\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "    %s: %s\n", f.Object, r.redacted(f.Problem))
		}
	}
	fmt.Fprintf(&b, "contract figures: stack=%s objects=%d skipped=%d apply_s=%.1f ready_s=%.1f failures=%d\n",
		r.Stack, len(r.Applied), len(r.Skipped), r.ApplySeconds, r.ReadySeconds, len(r.Failures))
	return b.String()
}

func (r *Report) redacted(s string) string {
	for _, secret := range r.redact {
		s = strings.ReplaceAll(s, secret, "[secret]")
	}
	return s
}

// Cleanup deletes what a run applied, newest kinds first, waits for the
// namespaces it deleted to be gone, and makes released PersistentVolumes
// available again, so the next stack starts from an empty cluster.
func Cleanup(ctx context.Context, c *Client, applied []*Object) error {
	var namespaces []string
	var errs []string
	for i := len(applied) - 1; i >= 0; i-- {
		o := applied[i]
		if o.Kind == "Namespace" && (o.Name == "default" || strings.HasPrefix(o.Name, "kube-")) {
			continue
		}
		if o.Kind == "StatefulSet" {
			deleteClaimsOf(ctx, c, o)
		}
		if err := c.Delete(ctx, o.APIVersion, o.Kind, o.Namespace, o.Name); err != nil {
			errs = append(errs, fmt.Sprintf("delete %s: %v", o.Ref(), err))
		}
		if o.Kind == "Namespace" {
			namespaces = append(namespaces, o.Name)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for _, ns := range namespaces {
		for {
			_, err := c.Get(ctx, "v1", "Namespace", "", ns)
			if IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Sprintf("namespace %s still terminating after 90s", ns))
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if err := recycleVolumes(ctx, c); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleanup: %s", strings.Join(errs, "; "))
	}
	return nil
}

// RemoveLeftovers deletes the declared objects when an earlier run was
// interrupted before its Cleanup (one of the declared namespaces still
// exists), so that this run starts from an empty cluster. It reports whether
// there was anything to remove.
func RemoveLeftovers(ctx context.Context, c *Client, d *Declared) (bool, error) {
	if err := c.Discover(ctx); err != nil {
		return false, err
	}
	found := false
	for _, o := range d.Objects {
		if o.Kind != "Namespace" || o.Name == "default" || strings.HasPrefix(o.Name, "kube-") {
			continue
		}
		if _, err := c.Get(ctx, "v1", "Namespace", "", o.Name); err == nil {
			found = true
		}
	}
	if !found {
		return false, nil
	}
	var known []*Object
	for _, o := range d.Objects {
		if namespaced, ok := c.Namespaced(o.APIVersion, o.Kind); ok {
			if namespaced && o.Namespace == "" {
				o.Namespace = "default"
			}
			known = append(known, o)
		}
	}
	return true, Cleanup(ctx, c, known)
}

// deleteClaimsOf deletes the claims a StatefulSet's volumeClaimTemplates made:
// Kubernetes keeps them when the StatefulSet goes.
func deleteClaimsOf(ctx context.Context, c *Client, sts *Object) {
	replicas := int(num(sts.Body, 1, "spec", "replicas"))
	for _, t := range list(sts.Body, "spec", "volumeClaimTemplates") {
		tmpl, _ := t.(map[string]any)
		for i := 0; i < replicas; i++ {
			claim := fmt.Sprintf("%s-%s-%d", str(tmpl, "metadata", "name"), sts.Name, i)
			_ = c.Delete(ctx, "v1", "PersistentVolumeClaim", sts.Namespace, claim)
		}
	}
}

// recycleVolumes re-creates Released PersistentVolumes without their claim
// reference: with no provisioner, the embedded control plane has a fixed pool.
// Volumes still bound to a claim that is being deleted are waited for.
func recycleVolumes(ctx context.Context, c *Client) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		pvs, err := c.List(ctx, "v1", "PersistentVolume", "", "")
		if err != nil {
			return err
		}
		waiting := 0
		for _, pv := range pvs {
			name := str(pv, "metadata", "name")
			switch str(pv, "status", "phase") {
			case "Released":
			case "Bound":
				claim, err := c.Get(ctx, "v1", "PersistentVolumeClaim", str(pv, "spec", "claimRef", "namespace"), str(pv, "spec", "claimRef", "name"))
				if err == nil && mapAt(claim, "metadata")["deletionTimestamp"] != nil {
					waiting++
				}
				continue
			default:
				continue
			}
			fresh := map[string]any{
				"apiVersion": "v1", "kind": "PersistentVolume",
				"metadata": map[string]any{"name": name, "labels": mapAt(pv, "metadata", "labels")},
				"spec":     mapAt(pv, "spec"),
			}
			delete(fresh["spec"].(map[string]any), "claimRef")
			if err := c.Delete(ctx, "v1", "PersistentVolume", "", name); err != nil {
				return err
			}
			for time.Now().Before(deadline) {
				if _, err := c.Get(ctx, "v1", "PersistentVolume", "", name); IsNotFound(err) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err := c.Create(ctx, "v1", "PersistentVolume", "", fresh); err != nil {
				return fmt.Errorf("re-create PersistentVolume %s: %w", name, err)
			}
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d PersistentVolumes still bound to claims being deleted after 60s", waiting)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
