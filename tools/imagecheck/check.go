package imagecheck

import (
	"fmt"
	"sort"
	"strings"
)

// CheckImage returns what is wrong with a Dockerfile on its own: a base that
// is not an exact version, an ENV or ARG that carries a secret.
func CheckImage(app string, img *Image) []string {
	var problems []string
	for _, b := range img.Bases {
		if !ExactBase(b.Ref) {
			problems = append(problems, fmt.Sprintf("%s: %s:%d FROM %s: the base image is not an exact version; allowed: a release tag (x.y.z), a dated tag (…-YYYYMMDD) or a digest (@sha256:…), never latest",
				app, img.Path, b.Line, b.Ref))
		}
	}
	for _, s := range img.Settings {
		if SecretLooking(s.Name) {
			problems = append(problems, fmt.Sprintf("%s: %s:%d %s %s: a secret in a build argument or ENV stays in the image for anyone who pulls it; the program hands secrets to the pod from a Secret",
				app, img.Path, s.Line, s.Instruction, s.Name))
		}
	}
	return problems
}

// CheckPod returns every way a container the program declares does not fit
// the image it runs: the user, the ports reached, the paths written.
func CheckPod(app string, img *Image, writes []string, c Container) []string {
	var problems []string
	where := c.Workload + " " + c.Field
	uid, gid, hasGID, numeric := img.UID()
	switch {
	case img.UserLine == 0:
		problems = append(problems, fmt.Sprintf("%s: %s: the final stage sets no USER; allowed: a numeric non-root USER equal to %s's runAsUser",
			app, img.Path, where))
	case !numeric:
		problems = append(problems, fmt.Sprintf("%s: %s:%d USER %s: not numeric, so Kubernetes cannot tell it is not root (runAsNonRoot); allowed: a UID such as 1000",
			app, img.Path, img.UserLine, img.User))
	case uid == 0:
		problems = append(problems, fmt.Sprintf("%s: %s:%d USER %s: the image runs as root; allowed: a non-root UID equal to %s's runAsUser",
			app, img.Path, img.UserLine, img.User, where))
	case c.RunAsUser == nil:
		problems = append(problems, fmt.Sprintf("%s: %s:%d USER %s, but %s sets no runAsUser",
			app, img.Path, img.UserLine, img.User, where))
	case *c.RunAsUser != uid:
		problems = append(problems, fmt.Sprintf("%s: %s:%d USER %s, but %s %s is %d: files the image owns would not be its process's",
			app, img.Path, img.UserLine, img.User, c.Workload, c.UserField, *c.RunAsUser))
	case hasGID && c.RunAsGroup != nil && *c.RunAsGroup != gid:
		problems = append(problems, fmt.Sprintf("%s: %s:%d USER %s, but %s runAsGroup is %d",
			app, img.Path, img.UserLine, img.User, where, *c.RunAsGroup))
	}

	for _, port := range sortedKeys(c.Reached) {
		if _, ok := img.Exposed[port]; !ok {
			problems = append(problems, fmt.Sprintf("%s: %s: port %d is reached through %s %s, but the final stage does not EXPOSE it (exposes %v)",
				app, img.Path, port, c.Workload, c.Reached[port], sortedKeys(img.Exposed)))
		}
	}
	// A container that declares no port runs the image in another role (the API's worker,
	// its migration Job) and listens on nothing.
	for _, port := range sortedKeys(img.Exposed) {
		if len(c.Ports) > 0 && !portDeclared(c.Ports, port) {
			problems = append(problems, fmt.Sprintf("%s: %s:%d EXPOSE %d: %s %s.ports declares no such port; expose only what the program routes",
				app, img.Path, img.Exposed[port], port, c.Workload, c.Field))
		}
	}

	if c.ReadOnlyRoot {
		for _, w := range writes {
			if !mounted(w, c.Mounts) {
				problems = append(problems, fmt.Sprintf("%s: the image writes %s (%s), but %s %s.securityContext.readOnlyRootFilesystem is true and %s.volumeMounts %v mount nothing there",
					app, w, writesFile(img.Path), c.Workload, c.Field, c.Field, c.Mounts))
			}
		}
	}
	return problems
}

func writesFile(dockerfile string) string {
	return strings.TrimSuffix(dockerfile, "Dockerfile") + "WRITES"
}

// mounted reports whether a path is at or under one of the mounts.
func mounted(p string, mounts []string) bool {
	for _, m := range mounts {
		if p == m || strings.HasPrefix(p, m+"/") {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
