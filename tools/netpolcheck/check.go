package netpolcheck

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// podCIDR is where pods get addresses (DOKS's and kind's default). Pods get
// addresses from it so that ipBlock rules are evaluated against them too.
var podCIDR = netip.MustParsePrefix("10.244.0.0/16")

// Result is the verdict on one row for one stack.
type Result struct {
	Row     Row
	Stack   string
	Allowed bool
	// Detail says which policies decided, per direction.
	Detail string
	// Skipped says why the row does not apply to this stack ("" when it does).
	Skipped string

	port     int
	protocol string
}

// Failed reports whether the row's expectation does not hold.
func (r Result) Failed() bool { return r.Skipped == "" && r.Allowed == r.Row.Deny }

// String names the row, the stack and what was found.
func (r Result) String() string {
	got := "allowed"
	if !r.Allowed {
		got = "refused"
	}
	return fmt.Sprintf("%s on %s: port %d/%s %s — %s", r.Row, r.Stack, r.port, r.protocol, got, r.Detail)
}

// party is a resolved endpoint.
type party struct {
	name      string
	namespace string
	labels    map[string]string
	ip        string
	entity    string
	port      int
}

func (p party) isPod() bool { return p.namespace != "" }

// Checker evaluates rows for one stack.
type Checker struct {
	rec      *Record
	table    *Table
	policy   *matcher.Policy
	pods     map[string]string // "namespace/labels" → address
	nextPod  netip.Addr
	cilium   bool
	excepted []string
}

// NewChecker builds the matcher from the stack's NetworkPolicies. On Cilium
// (DOKS) an ipBlock selects only addresses outside the cluster (cilium PR
// #28421; DOKS leaves policy-cidr-match-mode unset): the pod range and every
// address the table gives a non-world entity are added to each ipBlock's
// except list before cyclonus sees the policies, which is exactly that rule.
func NewChecker(rec *Record, table *Table) (*Checker, error) {
	nps, err := rec.networkPolicies()
	if err != nil {
		return nil, err
	}
	c := &Checker{rec: rec, table: table, pods: map[string]string{}, nextPod: podCIDR.Addr().Next(), cilium: rec.RunsCilium()}
	if !c.cilium && len(rec.CiliumNetworkPolicies) > 0 {
		return nil, fmt.Errorf("stack %s declares %d CiliumNetworkPolicies but its cluster does not run Cilium (no CRD there)", rec.Stack, len(rec.CiliumNetworkPolicies))
	}
	if c.cilium {
		c.excepted = []string{podCIDR.String()}
		names := make([]string, 0, len(table.Endpoints))
		for n := range table.Endpoints {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p, err := c.resolve(n)
			if err != nil || p == nil || p.isPod() || p.entity == "world" {
				continue
			}
			c.excepted = append(c.excepted, p.ip+"/32")
		}
		for _, np := range nps {
			exceptClusterAddresses(np, c.excepted)
		}
	}
	c.policy = matcher.BuildNetworkPolicies(false, nps)
	return c, nil
}

func exceptClusterAddresses(np *networkingv1.NetworkPolicy, except []string) {
	add := func(peers []networkingv1.NetworkPolicyPeer) {
		for i := range peers {
			if b := peers[i].IPBlock; b != nil {
				b.Except = append(append([]string(nil), b.Except...), except...)
			}
		}
	}
	for i := range np.Spec.Ingress {
		add(np.Spec.Ingress[i].From)
	}
	for i := range np.Spec.Egress {
		add(np.Spec.Egress[i].To)
	}
}

// resolve turns an endpoint name into a party on this stack (nil: the
// endpoint does not exist on this stack's foundation).
func (c *Checker) resolve(name string) (*party, error) {
	e := c.table.Endpoints[name]
	if e == nil {
		return nil, fmt.Errorf("no endpoint %q", name)
	}
	v := e.variant(c.rec.Foundation)
	if v == nil {
		return nil, nil
	}
	p := &party{name: name, entity: v.Entity, port: v.Port, ip: v.IP}
	switch {
	case v.Workload != "":
		ns, workload, ok := strings.Cut(v.Workload, "/")
		if !ok {
			return nil, fmt.Errorf("endpoint %s: workload %q is not namespace/name", name, v.Workload)
		}
		labels, found := c.rec.podLabels(ns, workload)
		if !found {
			return nil, fmt.Errorf("endpoint %s: stack %s declares no workload %s", name, c.rec.Stack, v.Workload)
		}
		p.namespace, p.labels = ns, labels
	case v.Namespace != "":
		p.namespace, p.labels = v.Namespace, v.Labels
	case v.VPCHost != 0:
		vpc, err := netip.ParsePrefix(c.rec.VPCRange)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: vpcHost on stack %s whose VPC range is %q", name, c.rec.Stack, c.rec.VPCRange)
		}
		a := vpc.Masked().Addr()
		for i := 0; i < v.VPCHost; i++ {
			a = a.Next()
		}
		p.ip = a.String()
	}
	if p.isPod() {
		key := p.namespace + "/" + fmt.Sprint(p.labels)
		if c.pods[key] == "" {
			c.pods[key] = c.nextPod.String()
			c.nextPod = c.nextPod.Next()
		}
		p.ip = c.pods[key]
	}
	return p, nil
}

// Check evaluates one row on this stack.
func (c *Checker) Check(r Row) (Result, error) {
	res := Result{Row: r, Stack: c.rec.Stack}
	if r.Only != "" && r.Only != c.rec.Foundation {
		res.Skipped = "only on " + r.Only
		return res, nil
	}
	from, err := c.resolve(r.From)
	if err != nil {
		return res, err
	}
	to, err := c.resolve(r.To)
	if err != nil {
		return res, err
	}
	if from == nil || to == nil {
		res.Skipped = "an endpoint does not exist on " + c.rec.Foundation
		return res, nil
	}
	port := r.Port
	if port == 0 {
		port = to.port
	}
	if port == 0 {
		return res, fmt.Errorf("%s: no port, and %s has none", r, r.To)
	}
	protocol := r.Protocol
	if protocol == "" {
		protocol = "TCP"
	}
	res.port, res.protocol = port, protocol
	traffic := &matcher.Traffic{
		Source: peerOf(from), Destination: peerOf(to),
		ResolvedPort: port, Protocol: v1.Protocol(protocol),
	}
	verdict := c.policy.IsTrafficAllowed(traffic)
	egress, egressDetail, err := c.direction(false, verdict.Egress, from, to, port, protocol)
	if err != nil {
		return res, err
	}
	ingress, ingressDetail, err := c.direction(true, verdict.Ingress, to, from, port, protocol)
	if err != nil {
		return res, err
	}
	res.Allowed = egress && ingress
	res.Detail = "egress " + egressDetail + "; ingress " + ingressDetail
	return res, nil
}

// direction combines the NetworkPolicy verdict with the Cilium one for one
// direction of the flow: target is the pod whose policies decide (the
// source for egress, the destination for ingress), peer the other party.
func (c *Checker) direction(ingress bool, np *matcher.DirectionResult, target, peer *party, port int, protocol string) (bool, string, error) {
	if !target.isPod() {
		return true, "not policed (" + target.name + " is outside the cluster's pods)", nil
	}
	npSelected := len(np.AllowingTargets)+len(np.DenyingTargets) > 0
	npAllows := len(np.AllowingTargets) > 0
	var cv ciliumVerdict
	if c.cilium {
		peerEntity := ""
		if !peer.isPod() {
			peerEntity = peer.entity
		}
		var err error
		if cv, err = evalCilium(c.rec.CiliumNetworkPolicies, ingress, target.namespace, target.labels, peerEntity, port, protocol); err != nil {
			return false, "", err
		}
	}
	switch {
	case npAllows:
		return true, "allowed by a rule among NetworkPolicies " + targetNames(np.AllowingTargets), nil
	case len(cv.allowedBy) > 0:
		return true, "allowed by CiliumNetworkPolicy " + strings.Join(cv.allowedBy, ", "), nil
	case !npSelected && len(cv.selected) == 0:
		return true, "no policy selects " + target.name, nil
	}
	detail := "refused: no rule of " + targetNames(np.DenyingTargets)
	if len(cv.selected) > 0 {
		detail += ", CiliumNetworkPolicy " + strings.Join(cv.selected, ", ")
	}
	return false, detail + " admits " + describe(peer), nil
}

func describe(p *party) string {
	if p.isPod() {
		return p.name + " (pod in " + p.namespace + ")"
	}
	return fmt.Sprintf("%s (%s, entity %s)", p.name, p.ip, p.entity)
}

func targetNames(targets []*matcher.Target) string {
	var names []string
	for _, t := range targets {
		for _, r := range t.SourceRules {
			names = append(names, r.Namespace+"/"+r.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func peerOf(p *party) *matcher.TrafficPeer {
	if !p.isPod() {
		return &matcher.TrafficPeer{IP: p.ip}
	}
	return &matcher.TrafficPeer{IP: p.ip, Internal: &matcher.InternalPeer{
		PodLabels: p.labels, Namespace: p.namespace,
		NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": p.namespace},
	}}
}
