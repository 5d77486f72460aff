package imagecheck

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Export is what infra's TestExportWorkloads writes: per stack, the images
// stacks.Load resolved and the inputs of every workload and Service.
type Export map[string]StackExport

// StackExport is one stack's part of the export.
type StackExport struct {
	Images    map[string]string `json:"images"`
	Resources []Resource        `json:"resources"`
}

// Resource is one declared Kubernetes object's inputs.
type Resource struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs"`
}

// ReadExport reads the export file.
func ReadExport(path string) (Export, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var e Export
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// Container is one container of a declared pod, with what the pod gives it.
type Container struct {
	// Workload names the object, e.g. "Deployment site" (errors name it).
	Workload string
	// Field is the path of this container in the object, e.g. spec.template.spec.containers[0].
	Field string
	Name  string
	Image string
	// RunAsUser and RunAsGroup are the effective IDs (container over pod); nil when unset.
	RunAsUser, RunAsGroup *int
	// UserField is where RunAsUser is set.
	UserField string
	// ReadOnlyRoot is the container's readOnlyRootFilesystem.
	ReadOnlyRoot bool
	// Ports are its declared ports by name.
	Ports map[string]int
	// Reached are the ports something connects to (probes, Services), each with the field that says so.
	Reached map[int]string
	// Mounts are its volume mount paths.
	Mounts []string
}

func path(m any, keys ...string) any {
	for _, k := range keys {
		obj, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = obj[k]
	}
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func intOf(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

var podSpecPath = map[string][]string{
	"kubernetes:apps/v1:Deployment":  {"spec", "template"},
	"kubernetes:apps/v1:StatefulSet": {"spec", "template"},
	"kubernetes:batch/v1:Job":        {"spec", "template"},
	"kubernetes:batch/v1:CronJob":    {"spec", "jobTemplate", "spec", "template"},
}

// Containers lists every container of every pod template in a stack, with
// the ports its probes and the Services that select its pod reach.
func Containers(s StackExport) []Container {
	type service struct {
		namespace string
		selector  map[string]any
		ports     []any
		name      string
	}
	var services []service
	for _, r := range s.Resources {
		if r.Type == "kubernetes:core/v1:Service" {
			sel, _ := path(r.Inputs, "spec", "selector").(map[string]any)
			ns, _ := path(r.Inputs, "metadata", "namespace").(string)
			services = append(services, service{namespace: ns, selector: sel, ports: list(path(r.Inputs, "spec", "ports")), name: r.Name})
		}
	}
	var out []Container
	for _, r := range s.Resources {
		tmplPath, ok := podSpecPath[r.Type]
		if !ok {
			continue
		}
		kind := r.Type[strings.LastIndex(r.Type, ":")+1:]
		ns, _ := path(r.Inputs, "metadata", "namespace").(string)
		tmpl := path(r.Inputs, tmplPath...)
		labels, _ := path(tmpl, "metadata", "labels").(map[string]any)
		spec := path(tmpl, "spec")
		specField := strings.Join(tmplPath, ".") + ".spec"
		podUser, podUserOK := intOf(path(spec, "securityContext", "runAsUser"))
		podGroup, podGroupOK := intOf(path(spec, "securityContext", "runAsGroup"))
		for i, c := range list(path(spec, "containers")) {
			field := fmt.Sprintf("%s.containers[%d]", specField, i)
			ct := Container{Workload: kind + " " + r.Name, Field: field, Ports: map[string]int{}, Reached: map[int]string{}}
			ct.Name, _ = path(c, "name").(string)
			ct.Image, _ = path(c, "image").(string)
			if u, ok := intOf(path(c, "securityContext", "runAsUser")); ok {
				ct.RunAsUser, ct.UserField = &u, field+".securityContext.runAsUser"
			} else if podUserOK {
				ct.RunAsUser, ct.UserField = &podUser, specField+".securityContext.runAsUser"
			}
			if g, ok := intOf(path(c, "securityContext", "runAsGroup")); ok {
				ct.RunAsGroup = &g
			} else if podGroupOK {
				ct.RunAsGroup = &podGroup
			}
			ct.ReadOnlyRoot, _ = path(c, "securityContext", "readOnlyRootFilesystem").(bool)
			for _, p := range list(path(c, "ports")) {
				name, _ := path(p, "name").(string)
				if n, ok := intOf(path(p, "containerPort")); ok {
					ct.Ports[name] = n
				}
			}
			resolve := func(v any) (int, bool) {
				if name, ok := v.(string); ok {
					if n, ok := ct.Ports[name]; ok {
						return n, true
					}
				}
				if n, ok := v.(float64); ok {
					return int(n), true
				}
				return 0, false
			}
			for _, probe := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
				for _, action := range []string{"httpGet", "tcpSocket"} {
					if n, ok := resolve(path(c, probe, action, "port")); ok {
						ct.Reached[n] = fmt.Sprintf("%s.%s.%s.port", field, probe, action)
					}
				}
			}
			for _, svc := range services {
				if svc.namespace != ns || len(svc.selector) == 0 || !selects(svc.selector, labels) {
					continue
				}
				for j, p := range svc.ports {
					target := path(p, "targetPort")
					if target == nil {
						target = path(p, "port")
					}
					// A named target port of another container (a sidecar) is that container's.
					if n, ok := resolve(target); ok {
						if _, named := target.(string); named || portDeclared(ct.Ports, n) {
							ct.Reached[n] = fmt.Sprintf("Service %s spec.ports[%d].targetPort", svc.name, j)
						}
					}
				}
			}
			for _, m := range list(path(c, "volumeMounts")) {
				if p, ok := path(m, "mountPath").(string); ok {
					ct.Mounts = append(ct.Mounts, strings.TrimSuffix(p, "/"))
				}
			}
			out = append(out, ct)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Workload+out[i].Field < out[j].Workload+out[j].Field })
	return out
}

func portDeclared(ports map[string]int, n int) bool {
	for _, p := range ports {
		if p == n {
			return true
		}
	}
	return false
}

func selects(selector, labels map[string]any) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
