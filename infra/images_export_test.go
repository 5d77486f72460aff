package main

import (
	"slices"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// podTypes are the resources whose pod templates tools/imagecheck holds
// against the images, and the Services that say which ports are reached.
var podTypes = []string{
	"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
	"kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Service",
}

// TestExportWorkloads runs every committed stack under mocks and writes, per
// stack, the images stacks.Load resolved and the inputs of every workload and
// Service the program declared to $IMAGES_EXPORT as JSON. scripts/test/images.sh
// runs it, then tools/imagecheck holds each image's Dockerfile against the pods
// that run it. Without IMAGES_EXPORT it checks that the export holds a pod for
// every station image.
func TestExportWorkloads(t *testing.T) {
	type exported struct {
		Type   string         `json:"type"`
		Name   string         `json:"name"`
		Inputs map[string]any `json:"inputs"`
	}
	type stackExport struct {
		Images    map[string]string `json:"images"`
		Resources []exported        `json:"resources"`
	}
	names, err := pulumitest.CommittedStacks()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stackExport{}
	for _, stack := range names {
		var loaded *stacks.Config
		withConfig := func(ctx *pulumi.Context) error {
			cfg, err := stacks.Load(ctx)
			if err != nil {
				return err
			}
			loaded = cfg
			return run(ctx)
		}
		mocks, err := pulumitest.RunStack(stack, withConfig, nil)
		if err != nil {
			t.Fatalf("stack %s: %v", stack, err)
		}
		export := stackExport{Images: loaded.Images}
		images := map[string]bool{}
		for _, r := range mocks.Resources() {
			if !slices.Contains(podTypes, r.Type) {
				continue
			}
			// Secret values are the mocks' test values; only the pod shape matters here.
			inputs := r.Inputs.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
				if v.IsSecret() {
					return "[secret]", true
				}
				return nil, false
			})
			export.Resources = append(export.Resources, exported{Type: r.Type, Name: r.Name, Inputs: inputs})
			for _, at := range []string{"spec.template.spec.containers", "spec.jobTemplate.spec.template.spec.containers"} {
				for _, c := range pulumitest.Array(r.Inputs, at) {
					if c.IsObject() {
						images[pulumitest.GetString(c.ObjectValue(), "image")] = true
					}
				}
			}
		}
		for _, key := range stacks.StationImages {
			if !images[loaded.Images[key]] {
				t.Errorf("stack %s: no Deployment, StatefulSet, Job or CronJob runs images.%s (%s)", stack, key, loaded.Images[key])
			}
		}
		out[stack] = export
	}
	if path := writeExport(t, "IMAGES_EXPORT", out); path != "" {
		t.Logf("wrote %d stacks to %s", len(out), path)
	}
}
