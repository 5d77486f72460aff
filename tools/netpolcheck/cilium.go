package netpolcheck

import (
	"fmt"
	"slices"
	"strconv"
)

// This file is a deliberately small evaluator of CiliumNetworkPolicy entity
// rules, the only Cilium rules the program declares: cyclonus models
// Kubernetes NetworkPolicy only. It follows Cilium's documented semantics
// (Documentation/security/policy/language.rst and layer3.rst at the pinned
// CiliumVersion):
//   - a policy applies to the pods of its namespace its endpointSelector
//     (matchLabels only; {} is every pod) selects;
//   - an ingress rule admits a peer whose entity is in fromEntities, an egress
//     rule a peer whose entity is in toEntities; pods have no entity, so entity
//     rules never match them;
//   - toPorts (when present) must list the port, protocol TCP, UDP or ANY;
//   - allows add up across NetworkPolicies and CiliumNetworkPolicies: a
//     direction is refused when some policy of either kind selects the pod and
//     none allows the flow.
// Anything else in a policy (fromEndpoints, CIDR rules, L7 rules, deny rules,
// matchExpressions, entities other than world/host/remote-node/kube-apiserver)
// is reported as unsupported rather than guessed.

// ciliumVerdict is what the CiliumNetworkPolicies say about one direction.
type ciliumVerdict struct {
	// selected lists the policies selecting the pod; allowedBy those that admit the flow.
	selected, allowedBy []string
}

var supportedEntities = []string{"world", "host", "remote-node", "kube-apiserver"}

// evalCilium evaluates one direction: ingress into (or egress out of) the pod
// target (namespace, labels) from (or to) a peer with entity peerEntity ("" for a pod).
func evalCilium(policies []map[string]any, ingress bool, namespace string, labels map[string]string, peerEntity string, port int, protocol string) (ciliumVerdict, error) {
	var v ciliumVerdict
	for _, p := range policies {
		meta, _ := p["metadata"].(map[string]any)
		name := fmt.Sprintf("%v/%v", meta["namespace"], meta["name"])
		spec, _ := p["spec"].(map[string]any)
		if meta["namespace"] != namespace || spec == nil {
			continue
		}
		for key := range spec {
			if !slices.Contains([]string{"endpointSelector", "ingress", "egress"}, key) {
				return v, fmt.Errorf("CiliumNetworkPolicy %s: spec.%s is not modelled by this evaluator", name, key)
			}
		}
		selected, err := selects(spec["endpointSelector"], labels)
		if err != nil {
			return v, fmt.Errorf("CiliumNetworkPolicy %s: %w", name, err)
		}
		field, entityKey := "egress", "toEntities"
		if ingress {
			field, entityKey = "ingress", "fromEntities"
		}
		rules, _ := spec[field].([]any)
		if !selected || rules == nil {
			continue
		}
		v.selected = append(v.selected, name)
		for i, r := range rules {
			rule, _ := r.(map[string]any)
			ok, err := ruleAllows(rule, entityKey, peerEntity, port, protocol)
			if err != nil {
				return v, fmt.Errorf("CiliumNetworkPolicy %s: %s[%d]: %w", name, field, i, err)
			}
			if ok {
				v.allowedBy = append(v.allowedBy, name)
				break
			}
		}
	}
	return v, nil
}

func selects(selector any, labels map[string]string) (bool, error) {
	sel, ok := selector.(map[string]any)
	if !ok {
		return false, fmt.Errorf("endpointSelector is missing")
	}
	for key := range sel {
		if key != "matchLabels" {
			return false, fmt.Errorf("endpointSelector.%s is not modelled by this evaluator", key)
		}
	}
	match, _ := sel["matchLabels"].(map[string]any)
	for k, want := range match {
		if labels[k] != want {
			return false, nil
		}
	}
	return true, nil
}

func ruleAllows(rule map[string]any, entityKey, peerEntity string, port int, protocol string) (bool, error) {
	for key := range rule {
		if key != entityKey && key != "toPorts" {
			return false, fmt.Errorf("%s is not modelled by this evaluator", key)
		}
	}
	raw, _ := rule[entityKey].([]any)
	if len(raw) == 0 {
		return false, fmt.Errorf("a rule without %s", entityKey)
	}
	matched := false
	for _, e := range raw {
		entity, _ := e.(string)
		if !slices.Contains(supportedEntities, entity) {
			return false, fmt.Errorf("entity %q is not modelled by this evaluator", entity)
		}
		if peerEntity != "" && entity == peerEntity {
			matched = true
		}
	}
	if !matched {
		return false, nil
	}
	toPorts, present := rule["toPorts"].([]any)
	if !present {
		return true, nil
	}
	for _, tp := range toPorts {
		tpm, _ := tp.(map[string]any)
		ports, _ := tpm["ports"].([]any)
		for _, pp := range ports {
			pm, _ := pp.(map[string]any)
			n, err := strconv.Atoi(fmt.Sprint(pm["port"]))
			if err != nil {
				return false, fmt.Errorf("named port %v is not modelled by this evaluator", pm["port"])
			}
			proto := fmt.Sprint(pm["protocol"])
			if n == port && (proto == protocol || proto == "ANY" || pm["protocol"] == nil) {
				return true, nil
			}
		}
	}
	return false, nil
}
