package contract

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// --- access to plain JSON objects ---

func mapAt(m map[string]any, path ...string) map[string]any {
	cur := m
	for _, p := range path {
		next, _ := cur[p].(map[string]any)
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

func str(m map[string]any, path ...string) string {
	parent := mapAt(m, path[:len(path)-1]...)
	s, _ := parent[path[len(path)-1]].(string)
	return s
}

func num(m map[string]any, def float64, path ...string) float64 {
	parent := mapAt(m, path[:len(path)-1]...)
	if f, ok := parent[path[len(path)-1]].(float64); ok {
		return f
	}
	return def
}

func list(m map[string]any, path ...string) []any {
	parent := mapAt(m, path[:len(path)-1]...)
	l, _ := parent[path[len(path)-1]].([]any)
	return l
}

func meta(body map[string]any) map[string]any {
	m, _ := body["metadata"].(map[string]any)
	if m == nil {
		m = map[string]any{}
		body["metadata"] = m
	}
	return m
}

// workloadKinds are the kinds whose readiness the contract test waits for.
var workloadKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true}

// podTemplate returns the pod template (metadata and spec) of a workload, or nil.
func podTemplate(kind string, body map[string]any) map[string]any {
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		return mapAt(body, "spec", "template")
	case "CronJob":
		return mapAt(body, "spec", "jobTemplate", "spec", "template")
	case "Pod":
		return body
	}
	return nil
}

// --- label selectors ---

// selectorMatches evaluates a metav1.LabelSelector against labels.
func selectorMatches(sel map[string]any, labels map[string]any) bool {
	if sel == nil {
		return false
	}
	for k, v := range mapAt(sel, "matchLabels") {
		if labels[k] != v {
			return false
		}
	}
	for _, e := range list(sel, "matchExpressions") {
		expr, _ := e.(map[string]any)
		key := str(expr, "key")
		val, has := labels[key]
		var values []string
		for _, v := range list(expr, "values") {
			s, _ := v.(string)
			values = append(values, s)
		}
		in := false
		for _, v := range values {
			if val == v {
				in = true
			}
		}
		switch str(expr, "operator") {
		case "In":
			if !has || !in {
				return false
			}
		case "NotIn":
			if has && in {
				return false
			}
		case "Exists":
			if !has {
				return false
			}
		case "DoesNotExist":
			if has {
				return false
			}
		}
	}
	return true
}

// selectorQuery renders a LabelSelector as a query string for list calls.
func selectorQuery(sel map[string]any) string {
	var parts []string
	for k, v := range mapAt(sel, "matchLabels") {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	for _, e := range list(sel, "matchExpressions") {
		expr, _ := e.(map[string]any)
		var values []string
		for _, v := range list(expr, "values") {
			values = append(values, fmt.Sprint(v))
		}
		key := str(expr, "key")
		switch str(expr, "operator") {
		case "In":
			parts = append(parts, fmt.Sprintf("%s in (%s)", key, strings.Join(values, ",")))
		case "NotIn":
			parts = append(parts, fmt.Sprintf("%s notin (%s)", key, strings.Join(values, ",")))
		case "Exists":
			parts = append(parts, key)
		case "DoesNotExist":
			parts = append(parts, "!"+key)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// plainSelector turns a Service's map selector into a LabelSelector.
func plainSelector(m map[string]any) map[string]any {
	return map[string]any{"matchLabels": m}
}

// --- waiting for workloads ---

// workloadReady reports whether a workload read from the server is Available
// with all replicas Ready, and if not, a short reason.
func workloadReady(kind string, obj map[string]any) (bool, string) {
	generation := num(obj, 0, "metadata", "generation")
	if observed := num(obj, 0, "status", "observedGeneration"); observed < generation {
		return false, "the controller has not seen the latest spec yet"
	}
	switch kind {
	case "Deployment", "StatefulSet":
		want := num(obj, 1, "spec", "replicas")
		ready := num(obj, 0, "status", "readyReplicas")
		available := num(obj, 0, "status", "availableReplicas")
		updated := num(obj, 0, "status", "updatedReplicas")
		if ready < want || available < want || (kind == "Deployment" && updated < want) {
			return false, fmt.Sprintf("%.0f of %.0f replicas ready, %.0f available", ready, want, available)
		}
		if kind == "Deployment" && want > 0 && conditionStatus(obj, "Available") != "True" {
			return false, "condition Available is not True: " + conditionMessage(obj, "Available")
		}
		return true, ""
	case "DaemonSet":
		want := num(obj, 0, "status", "desiredNumberScheduled")
		ready := num(obj, 0, "status", "numberReady")
		if want == 0 || ready < want {
			return false, fmt.Sprintf("%.0f of %.0f pods ready", ready, want)
		}
		return true, ""
	}
	return true, ""
}

func conditionStatus(obj map[string]any, typ string) string {
	for _, c := range list(obj, "status", "conditions") {
		cond, _ := c.(map[string]any)
		if str(cond, "type") == typ {
			return str(cond, "status")
		}
	}
	return ""
}

func conditionMessage(obj map[string]any, typ string) string {
	for _, c := range list(obj, "status", "conditions") {
		cond, _ := c.(map[string]any)
		if str(cond, "type") == typ {
			return strings.TrimSpace(str(cond, "reason") + ": " + str(cond, "message"))
		}
	}
	return "(no condition)"
}

// waitReady polls every applied workload until all are Ready or the timeout
// passes; then it records a failure per workload with what kept it. A
// workload that is stuck for good (pods the API server refuses to create, pods
// no node can take for a while) fails at once instead of holding up the run.
func waitReady(ctx context.Context, c *Client, r *Report, opts Options) bool {
	var workloads []*Object
	for _, o := range r.Applied {
		if workloadKinds[o.Kind] {
			workloads = append(workloads, o)
		}
	}
	start := time.Now()
	deadline := start.Add(opts.ReadyTimeout)
	lastLog, lastStuckCheck := start, start
	unschedulableSince := map[string]time.Time{}
	stuck := map[*Object]bool{}
	for {
		var notReady []*Object
		reasons := map[*Object]string{}
		for _, o := range workloads {
			if stuck[o] {
				continue
			}
			obj, err := c.Get(ctx, o.APIVersion, o.Kind, o.Namespace, o.Name)
			if err != nil {
				notReady = append(notReady, o)
				reasons[o] = err.Error()
				continue
			}
			if ok, why := workloadReady(o.Kind, obj); !ok {
				notReady = append(notReady, o)
				reasons[o] = why
			}
		}
		if len(notReady) == 0 {
			for _, o := range workloads {
				if !stuck[o] {
					r.checked(o.Kind + " Ready")
				}
			}
			return len(stuck) == 0
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			for _, o := range notReady {
				r.fail(o.Ref(), "not Ready after %s: %s%s", opts.ReadyTimeout, reasons[o], diagnosePods(ctx, c, o))
			}
			return false
		}
		if time.Since(lastStuckCheck) > 2*time.Second {
			lastStuckCheck = time.Now()
			for _, o := range notReady {
				if why := stuckReason(ctx, c, o, unschedulableSince); why != "" {
					stuck[o] = true
					r.fail(o.Ref(), "not Ready: %s: %s", reasons[o], why)
				}
			}
		}
		if time.Since(lastLog) > 10*time.Second {
			opts.Logf("stack %s: waiting for %d workloads (%s: %s)", r.Stack, len(notReady), notReady[0].Ref(), reasons[notReady[0]])
			lastLog = time.Now()
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// unschedulableGrace is how long a pod may stay unschedulable before the
// workload counts as stuck (claims binding or a node arriving can resolve it).
const unschedulableGrace = 10 * time.Second

// stuckReason returns why a workload cannot become Ready without a change to
// the program, or "" while it still might: the API server refused its pods
// (admission, quota, a missing ServiceAccount), or a pod has been unschedulable
// for longer than unschedulableGrace.
func stuckReason(ctx context.Context, c *Client, o *Object, unschedulableSince map[string]time.Time) string {
	events, err := c.List(ctx, "v1", "Event", o.Namespace, "")
	if err == nil {
		for _, e := range events {
			if str(e, "type") == "Warning" && str(e, "reason") == "FailedCreate" && strings.HasPrefix(str(e, "involvedObject", "name"), o.Name) {
				return "the API server refuses its pods: " + str(e, "message")
			}
		}
	}
	pods, err := c.List(ctx, "v1", "Pod", o.Namespace, selectorQuery(mapAt(o.Body, "spec", "selector")))
	if err != nil {
		return ""
	}
	for _, p := range pods {
		name := str(p, "metadata", "name")
		if conditionStatus(p, "PodScheduled") != "False" {
			delete(unschedulableSince, name)
			continue
		}
		since, seen := unschedulableSince[name]
		if !seen {
			unschedulableSince[name] = time.Now()
			continue
		}
		if time.Since(since) > unschedulableGrace {
			return fmt.Sprintf("pod %s unschedulable for over %s: %s", name, unschedulableGrace, conditionMessage(p, "PodScheduled"))
		}
	}
	return ""
}

// diagnosePods explains why a workload's pods are missing or not ready, from
// pod conditions (the scheduler's message) and the newest Warning events.
func diagnosePods(ctx context.Context, c *Client, o *Object) string {
	var notes []string
	pods, err := c.List(ctx, "v1", "Pod", o.Namespace, selectorQuery(mapAt(o.Body, "spec", "selector")))
	if err == nil {
		if len(pods) == 0 {
			notes = append(notes, "no pods exist")
		}
		for _, p := range pods {
			if conditionStatus(p, "PodScheduled") == "False" {
				notes = append(notes, fmt.Sprintf("pod %s unschedulable: %s", str(p, "metadata", "name"), conditionMessage(p, "PodScheduled")))
			} else if conditionStatus(p, "Ready") != "True" {
				notes = append(notes, fmt.Sprintf("pod %s %s, not Ready", str(p, "metadata", "name"), str(p, "status", "phase")))
			}
			if len(notes) >= 3 {
				break
			}
		}
	}
	events, err := c.List(ctx, "v1", "Event", o.Namespace, "")
	if err == nil {
		var warnings []string
		for _, e := range events {
			if str(e, "type") == "Warning" && strings.HasPrefix(str(e, "involvedObject", "name"), o.Name) {
				warnings = append(warnings, str(e, "reason")+": "+str(e, "message"))
			}
		}
		if n := len(warnings); n > 0 {
			notes = append(notes, "last warning "+warnings[n-1])
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}

// --- Services ---

// checkServices requires every Service with a selector to select pods and to
// have endpoints for each of its ports.
func checkServices(ctx context.Context, c *Client, r *Report, d *Declared, opts Options) {
	deadline := time.Now().Add(opts.EndpointsTimeout)
	for _, o := range r.Applied {
		if o.Kind != "Service" || str(o.Body, "spec", "type") == "ExternalName" {
			continue
		}
		r.checked("Service endpoints")
		selector := mapAt(o.Body, "spec", "selector")
		if len(selector) == 0 {
			if d.Find("EndpointSlice", o.Namespace, o.Name) == nil && d.Find("Endpoints", o.Namespace, o.Name) == nil {
				r.fail(o.Ref(), "has no selector and the program declares no endpoints for it, so it reaches nothing")
			}
			continue
		}
		query := selectorQuery(plainSelector(selector))
		pods, err := c.List(ctx, "v1", "Pod", o.Namespace, query)
		if err != nil {
			r.fail(o.Ref(), "listing its pods: %v", err)
			continue
		}
		if len(pods) == 0 {
			if release := d.chartRelease(o.Namespace, plainSelector(selector), ""); release != "" {
				r.skipCheck(o, "Service endpoints", release)
				continue
			}
			if o.fromChart() {
				// A chart's Service for pods that something running makes
				// (prometheus-operator's StatefulSets, the cluster's CoreDNS).
				r.Skipped = append(r.Skipped, Skipped{Type: "check Service endpoints", Name: o.Ref(),
					Reason: "a chart's Service whose pods an operator or the cluster makes at run time (needs a running container)"})
				continue
			}
			r.fail(o.Ref(), "selector %s matches no pod in namespace %s", query, o.Namespace)
			continue
		}
		for _, port := range list(o.Body, "spec", "ports") {
			p, _ := port.(map[string]any)
			if why := portWithoutEndpoints(ctx, c, o, p, pods, deadline); why != "" {
				r.fail(o.Ref(), "%s", why)
			}
		}
	}
}

// portWithoutEndpoints waits until the Service port has a ready endpoint and
// returns "" then, or why it has none.
func portWithoutEndpoints(ctx context.Context, c *Client, svc *Object, port map[string]any, pods []map[string]any, deadline time.Time) string {
	name := str(port, "name")
	label := fmt.Sprintf("port %v", port["port"])
	if name != "" {
		label = fmt.Sprintf("port %s (%v)", name, port["port"])
	}
	// A named targetPort must be a port name some selected container declares,
	// or the EndpointSlice controller leaves the port out.
	if target, ok := port["targetPort"].(string); ok {
		declared := map[string]bool{}
		for _, pod := range pods {
			for _, ctr := range list(pod, "spec", "containers") {
				for _, cp := range list(ctr.(map[string]any), "ports") {
					declared[str(cp.(map[string]any), "name")] = true
				}
			}
		}
		if !declared[target] {
			names := make([]string, 0, len(declared))
			for n := range declared {
				if n != "" {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			return fmt.Sprintf("%s: targetPort %q is not a port name any selected container declares (they declare: %s)", label, target, strings.Join(names, ", "))
		}
	}
	for {
		slices, err := c.List(ctx, "discovery.k8s.io/v1", "EndpointSlice", svc.Namespace, "kubernetes.io/service-name="+svc.Name)
		if err != nil {
			return "listing its EndpointSlices: " + err.Error()
		}
		for _, s := range slices {
			hasPort := false
			for _, sp := range list(s, "ports") {
				if str(sp.(map[string]any), "name") == name {
					hasPort = true
				}
			}
			if !hasPort {
				continue
			}
			for _, e := range list(s, "endpoints") {
				ep, _ := e.(map[string]any)
				if ready, ok := mapAt(ep, "conditions")["ready"].(bool); ok && ready {
					return ""
				}
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Sprintf("%s has no ready endpoint although %d pods match its selector", label, len(pods))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// servicePortExists reports whether a Service has a port with this number or name.
func servicePortExists(svc map[string]any, port any) bool {
	for _, p := range list(svc, "spec", "ports") {
		sp, _ := p.(map[string]any)
		switch v := port.(type) {
		case float64:
			if num(sp, -1, "port") == v {
				return true
			}
		case string:
			if str(sp, "name") == v {
				return true
			}
		}
	}
	return false
}

func servicePorts(svc map[string]any) string {
	var parts []string
	for _, p := range list(svc, "spec", "ports") {
		sp, _ := p.(map[string]any)
		if n := str(sp, "name"); n != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", n, sp["port"]))
		} else {
			parts = append(parts, fmt.Sprint(sp["port"]))
		}
	}
	return strings.Join(parts, ", ")
}

// --- Ingresses and routes ---

// checkIngresses requires every Ingress backend to be an existing Service port.
func checkIngresses(ctx context.Context, c *Client, r *Report) {
	for _, o := range r.Applied {
		if o.Kind != "Ingress" {
			continue
		}
		var backends []map[string]any
		if b := mapAt(o.Body, "spec", "defaultBackend", "service"); b != nil {
			backends = append(backends, b)
		}
		for _, rule := range list(o.Body, "spec", "rules") {
			for _, p := range list(rule.(map[string]any), "http", "paths") {
				if b := mapAt(p.(map[string]any), "backend", "service"); b != nil {
					backends = append(backends, b)
				}
			}
		}
		if len(backends) == 0 {
			r.fail(o.Ref(), "routes to no Service")
		}
		for _, b := range backends {
			r.checked("Ingress backend")
			port := any(str(b, "port", "name"))
			if n, ok := mapAt(b, "port")["number"].(float64); ok {
				port = n
			}
			svc, err := c.Get(ctx, "v1", "Service", o.Namespace, str(b, "name"))
			if err != nil {
				r.fail(o.Ref(), "backend Service %s/%s: %v", o.Namespace, str(b, "name"), err)
				continue
			}
			if !servicePortExists(svc, port) {
				r.fail(o.Ref(), "backend Service %s/%s has no port %v (its ports: %s)", o.Namespace, str(b, "name"), port, servicePorts(svc))
			}
		}
	}
}

// routeBackends returns the Service references of route custom resources
// (Traefik IngressRoute/IngressRouteTCP/IngressRouteUDP, Gateway API routes)
// as namespace, name, port.
func routeBackends(o *Object) [][3]any {
	var out [][3]any
	ns := func(m map[string]any) string {
		if n := str(m, "namespace"); n != "" {
			return n
		}
		if o.Namespace == "" {
			return "default"
		}
		return o.Namespace
	}
	switch {
	case strings.HasPrefix(o.Kind, "IngressRoute") && strings.HasPrefix(o.Group(), "traefik."):
		for _, route := range list(o.Body, "spec", "routes") {
			for _, s := range list(route.(map[string]any), "services") {
				svc, _ := s.(map[string]any)
				if k := str(svc, "kind"); k != "" && k != "Service" {
					continue // TraefikService: a Traefik object, not a Kubernetes Service
				}
				out = append(out, [3]any{ns(svc), str(svc, "name"), svc["port"]})
			}
		}
	case o.Group() == "gateway.networking.k8s.io" && strings.HasSuffix(o.Kind, "Route"):
		for _, rule := range list(o.Body, "spec", "rules") {
			for _, b := range list(rule.(map[string]any), "backendRefs") {
				ref, _ := b.(map[string]any)
				if k := str(ref, "kind"); k != "" && k != "Service" {
					continue
				}
				out = append(out, [3]any{ns(ref), str(ref, "name"), ref["port"]})
			}
		}
	}
	return out
}

// checkRoutesStatically checks the routes whose CRDs are not installed here
// against the Services the program declares.
func checkRoutesStatically(r *Report, d *Declared) {
	for _, o := range d.Objects {
		backends := routeBackends(o)
		for _, b := range backends {
			r.checked("route backend (static)")
			ns, name, port := b[0].(string), b[1].(string), b[2]
			svc := d.Find("Service", ns, name)
			if svc == nil && ns == "default" {
				svc = d.Find("Service", "", name)
			}
			if svc == nil {
				r.fail(o.Ref(), "routes to Service %s/%s, which the program does not declare", ns, name)
				continue
			}
			if !servicePortExists(svc.Body, port) {
				r.fail(o.Ref(), "routes to Service %s/%s port %v, which it does not have (its ports: %s)", ns, name, port, servicePorts(svc.Body))
			}
		}
	}
}

// --- PodDisruptionBudgets and HorizontalPodAutoscalers ---

// checkDisruptionBudgets requires every PodDisruptionBudget to select the pods
// of an existing workload in its namespace.
func checkDisruptionBudgets(ctx context.Context, c *Client, r *Report, d *Declared) {
	for _, o := range r.Applied {
		if o.Kind != "PodDisruptionBudget" {
			continue
		}
		r.checked("PodDisruptionBudget target")
		sel := mapAt(o.Body, "spec", "selector")
		found := false
		for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet"} {
			items, err := c.List(ctx, "apps/v1", kind, o.Namespace, "")
			if err != nil {
				r.fail(o.Ref(), "listing %ss: %v", kind, err)
				continue
			}
			for _, w := range items {
				if selectorMatches(sel, mapAt(w, "spec", "template", "metadata", "labels")) {
					found = true
				}
			}
		}
		if !found {
			if release := d.chartRelease(o.Namespace, sel, ""); release != "" {
				r.skipCheck(o, "PodDisruptionBudget target", release)
				continue
			}
			r.fail(o.Ref(), "selector %s matches the pods of no Deployment, StatefulSet or DaemonSet in namespace %s", selectorQuery(sel), o.Namespace)
		}
	}
}

// checkAutoscalers requires every HorizontalPodAutoscaler's target to exist,
// and the target not to set replicas itself: with server-side apply the
// program and the autoscaler would fight over it (pulumi-kubernetes #2491).
func checkAutoscalers(ctx context.Context, c *Client, r *Report, d *Declared) {
	for _, o := range r.Applied {
		if o.Kind != "HorizontalPodAutoscaler" {
			continue
		}
		r.checked("HorizontalPodAutoscaler target")
		ref := mapAt(o.Body, "spec", "scaleTargetRef")
		apiVersion, kind, name := str(ref, "apiVersion"), str(ref, "kind"), str(ref, "name")
		if apiVersion == "" {
			apiVersion = "apps/v1"
		}
		if _, err := c.Get(ctx, apiVersion, kind, o.Namespace, name); err != nil {
			if release := d.chartRelease(o.Namespace, nil, name); IsNotFound(err) && d.Find(kind, o.Namespace, name) == nil && release != "" {
				r.skipCheck(o, "HorizontalPodAutoscaler target", release)
				continue
			}
			r.fail(o.Ref(), "scale target %s %s/%s: %v", kind, o.Namespace, name, err)
			continue
		}
		if target := d.Find(kind, o.Namespace, name); target != nil {
			if _, set := mapAt(target.Body, "spec")["replicas"]; set {
				r.fail(o.Ref(), "its target %s sets spec.replicas, which the autoscaler owns: leave it out (pulumi-kubernetes #2491)", target.Ref())
			}
		}
	}
}

// chartRelease returns the skipped Helm release of this namespace whose pods
// a selector (or, with a nil selector, a workload name) means, going by the
// labels charts set (app.kubernetes.io/instance and name, app, release) and
// only when no declared workload matches; "" when the check must run.
func (d *Declared) chartRelease(namespace string, selector map[string]any, workload string) string {
	releases := d.releases[namespace]
	if len(releases) == 0 {
		return ""
	}
	for _, o := range d.Objects {
		tmpl := podTemplate(o.Kind, o.Body)
		if o.Namespace == namespace && tmpl != nil && selector != nil && selectorMatches(selector, mapAt(tmpl, "metadata", "labels")) {
			return ""
		}
	}
	var values []string
	if selector == nil {
		values = append(values, workload)
	}
	for _, key := range []string{"app.kubernetes.io/instance", "app.kubernetes.io/name", "app", "release"} {
		if v, ok := mapAt(selector, "matchLabels")[key].(string); ok {
			values = append(values, v)
		}
	}
	for _, rel := range releases {
		for _, v := range values {
			if rel.names(v) {
				return rel.name
			}
		}
	}
	return ""
}

// skipCheck records a check that cannot run because its target would come
// from a Helm chart, as a skip by name.
func (r *Report) skipCheck(o *Object, check, release string) {
	r.Skipped = append(r.Skipped, Skipped{Type: "check " + check, Name: o.Ref(),
		Reason: "its target would be made by Helm release " + release + " (skipped), so it cannot be checked here"})
}

// --- Secrets and ConfigMaps that pods reference ---

type podRef struct {
	kind, name, key, where string
}

// podReferences lists the Secrets and ConfigMaps a pod spec needs (optional
// references left out).
func podReferences(spec map[string]any) []podRef {
	var refs []podRef
	optional := func(m map[string]any) bool { b, _ := m["optional"].(bool); return b }
	for _, field := range []string{"initContainers", "containers"} {
		for _, ct := range list(spec, field) {
			ctr, _ := ct.(map[string]any)
			cname := str(ctr, "name")
			for _, e := range list(ctr, "env") {
				env, _ := e.(map[string]any)
				where := fmt.Sprintf("container %s env %s", cname, str(env, "name"))
				if s := mapAt(env, "valueFrom", "secretKeyRef"); s != nil && !optional(s) {
					refs = append(refs, podRef{"Secret", str(s, "name"), str(s, "key"), where})
				}
				if s := mapAt(env, "valueFrom", "configMapKeyRef"); s != nil && !optional(s) {
					refs = append(refs, podRef{"ConfigMap", str(s, "name"), str(s, "key"), where})
				}
			}
			for _, e := range list(ctr, "envFrom") {
				from, _ := e.(map[string]any)
				where := fmt.Sprintf("container %s envFrom", cname)
				if s := mapAt(from, "secretRef"); s != nil && !optional(s) {
					refs = append(refs, podRef{"Secret", str(s, "name"), "", where})
				}
				if s := mapAt(from, "configMapRef"); s != nil && !optional(s) {
					refs = append(refs, podRef{"ConfigMap", str(s, "name"), "", where})
				}
			}
		}
	}
	for _, v := range list(spec, "volumes") {
		vol, _ := v.(map[string]any)
		where := "volume " + str(vol, "name")
		if s := mapAt(vol, "secret"); s != nil && !optional(s) {
			refs = append(refs, podRef{"Secret", str(s, "secretName"), "", where})
		}
		if s := mapAt(vol, "configMap"); s != nil && !optional(s) {
			refs = append(refs, podRef{"ConfigMap", str(s, "name"), "", where})
		}
		for _, src := range list(vol, "projected", "sources") {
			sm, _ := src.(map[string]any)
			if s := mapAt(sm, "secret"); s != nil && !optional(s) {
				refs = append(refs, podRef{"Secret", str(s, "name"), "", where})
			}
			if s := mapAt(sm, "configMap"); s != nil && !optional(s) {
				refs = append(refs, podRef{"ConfigMap", str(s, "name"), "", where})
			}
		}
	}
	for _, s := range list(spec, "imagePullSecrets") {
		refs = append(refs, podRef{"Secret", str(s.(map[string]any), "name"), "", "imagePullSecrets"})
	}
	return refs
}

// checkPodReferences requires every Secret and ConfigMap (and key) a pod
// template references to exist: kwok starts pods regardless, a kubelet would not.
func checkPodReferences(ctx context.Context, c *Client, r *Report) {
	for _, o := range r.Applied {
		tmpl := podTemplate(o.Kind, o.Body)
		if tmpl == nil {
			continue
		}
		for _, ref := range podReferences(mapAt(tmpl, "spec")) {
			r.checked(ref.kind + " reference")
			obj, err := c.Get(ctx, "v1", ref.kind, o.Namespace, ref.name)
			if err != nil && IsNotFound(err) && o.fromChart() && ref.kind == "Secret" {
				// Charts' install hooks write some Secrets from their Jobs'
				// containers (kube-webhook-certgen's admission certificate).
				r.Skipped = append(r.Skipped, Skipped{Type: "check Secret reference", Name: o.Ref(),
					Reason: fmt.Sprintf("%s references Secret %s, which a chart hook's container writes at install (needs a running container)", ref.where, ref.name)})
				continue
			}
			if err != nil {
				r.fail(o.Ref(), "%s references %s %s/%s: %v", ref.where, ref.kind, o.Namespace, ref.name, err)
				continue
			}
			if ref.key == "" {
				continue
			}
			_, inData := mapAt(obj, "data")[ref.key]
			_, inBinary := mapAt(obj, "binaryData")[ref.key]
			if !inData && !inBinary {
				r.fail(o.Ref(), "%s references key %q of %s %s/%s, which has no such key", ref.where, ref.key, ref.kind, o.Namespace, ref.name)
			}
		}
	}
}
