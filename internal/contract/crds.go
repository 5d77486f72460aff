package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// ModuleCRDs reads CustomResourceDefinitions that ship inside a Go module
// (for example Cilium's, in github.com/cilium/cilium) from the module cache,
// downloading the module through the Go module proxy first: the definitions
// are upstream's own, at the pinned version, and never copied into this
// repository.
func ModuleCRDs(ctx context.Context, module, version, dir string, files ...string) ([]*Object, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %v: %s", module, version, err, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return nil, fmt.Errorf("go mod download %s@%s: no module directory (%v %s)", module, version, err, info.Error)
	}
	var objs []*Object
	for _, f := range files {
		path := filepath.Join(info.Dir, dir, f)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var body map[string]any
			if err := dec.Decode(&body); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if body == nil {
				continue
			}
			if body["kind"] != "CustomResourceDefinition" {
				return nil, fmt.Errorf("%s: a %v, not a CustomResourceDefinition", path, body["kind"])
			}
			o := &Object{APIVersion: fmt.Sprint(body["apiVersion"]), Kind: "CustomResourceDefinition", Body: body,
				Name: str(body, "metadata", "name"), Logical: module + "@" + version + "/" + f}
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// InstallCRDs applies CustomResourceDefinitions that the cluster itself
// provides in production (a CNI's, for example) and waits until the API
// server serves their kinds, so that the program's objects of those kinds are
// applied and validated against the real schema instead of being skipped.
func InstallCRDs(ctx context.Context, c *Client, crds []*Object) error {
	if err := c.Discover(ctx); err != nil {
		return err
	}
	for _, o := range crds {
		if err := c.Apply(ctx, o); err != nil {
			return fmt.Errorf("apply %s: %w", o.Ref(), err)
		}
	}
	for _, o := range crds {
		group := str(o.Body, "spec", "group")
		kind := str(o.Body, "spec", "names", "kind")
		versions := list(o.Body, "spec", "versions")
		if len(versions) == 0 {
			return fmt.Errorf("%s has no versions", o.Ref())
		}
		v, _ := versions[0].(map[string]any)
		apiVersion := group + "/" + fmt.Sprint(v["name"])
		waitForKind(ctx, c, apiVersion, kind, 30*time.Second)
		if _, ok := c.Namespaced(apiVersion, kind); !ok {
			return fmt.Errorf("the API server does not serve %s %s 30s after its definition was applied", apiVersion, kind)
		}
	}
	return nil
}
