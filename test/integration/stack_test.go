//go:build integration

package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLocalStackUp deploys the local stack and requires every Deployment and
// StatefulSet of the project Ready with all its replicas.
func TestLocalStackUp(t *testing.T) {
	s := requireStack(t)
	s.ensureUp(t)
	ctx := context.Background()

	declaredWorkloads := 0
	for _, r := range s.declared(t) {
		if r.Kind == "Deployment" || r.Kind == "StatefulSet" {
			declaredWorkloads++
		}
	}
	if declaredWorkloads == 0 {
		t.Fatal("the stack declares no Deployment or StatefulSet: nothing to check")
	}
	var all, notReady []string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var err error
		if all, notReady, err = s.kube.workloadReadiness(ctx); err != nil {
			t.Fatal(err)
		}
		if len(notReady) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	for _, w := range all {
		t.Log(w)
	}
	if len(notReady) > 0 {
		t.Errorf("not Ready 2 minutes after pulumi up:\n  %s", strings.Join(notReady, "\n  "))
	}
	if len(all) < declaredWorkloads {
		t.Errorf("found %d workloads in the project's namespaces; the stack declares %d", len(all), declaredWorkloads)
	}

	out, err := s.pulumi(ctx, nil, "stack", "output", "--stack", stackName, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var outputs map[string]any
	if err := json.Unmarshal([]byte(out), &outputs); err != nil {
		t.Fatalf("pulumi stack output --json: %v", err)
	}
	for _, key := range []string{"urls", "statusUrl", "stations", "s3Endpoint"} {
		if outputs[key] == nil {
			t.Errorf("stack output %q missing (outputs: %s)", key, out)
		}
	}
}

// TestNoChangesOnSecondRun requires the deployed stack to be what the program
// declares: a preview and a second up change nothing.
func TestNoChangesOnSecondRun(t *testing.T) {
	s := requireStack(t)
	s.ensureUp(t)
	s.previewNoChanges(t)
	// --expect-no-changes makes the CLI fail when the update changed anything.
	s.up(t, "--expect-no-changes")
	s.upToDate = true
}

// rollbackImage is the site image of the change that gets reverted.
const rollbackImage = "ghcr.io/datafruits/datafruits-site:rollback-test"

// TestRollbackByRevert changes the stack file (an object updated, a station
// added), applies it, reverts the commit with git and applies again: the
// cluster must be back to the first state exactly, as the RFC's rollback by
// `git revert` promises.
func TestRollbackByRevert(t *testing.T) {
	s := requireStack(t)
	s.ensureUp(t)
	ctx := context.Background()
	stackFile := filepath.Join(s.dir, "Pulumi."+stackName+".yaml")
	committed, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.kube.snapshot(ctx, s.declared(t))
	if err != nil {
		t.Fatal(err)
	}

	if err := s.setConfig(ctx, "datafruits:images.site", rollbackImage, true); err != nil {
		t.Fatal(err)
	}
	if err := s.setConfig(ctx, "datafruits:stations", `[{"name":"datafruits"},{"name":"rollback","djPort":9001}]`, false); err != nil {
		t.Fatal(err)
	}
	if err := git(s.dir, "commit", "-qam", "a new site image and a second station"); err != nil {
		t.Fatal(err)
	}
	s.up(t)
	changedRefs := s.declared(t)
	changed, err := s.kube.snapshot(ctx, changedRefs)
	if err != nil {
		t.Fatal(err)
	}
	site := "apps/v1 Deployment station/site"
	if obj, ok := changed[site].(map[string]any); !ok {
		t.Fatalf("%s not in the stack", site)
	} else if img := containerImage(obj); img != rollbackImage {
		t.Fatalf("after the change %s runs %q, want %q: the change did not reach the cluster", site, img, rollbackImage)
	}
	if _, ok := changed["v1 Namespace radio-rollback"]; !ok {
		t.Fatal("after the change the second station's namespace radio-rollback is not in the stack")
	}
	t.Logf("the change: %d differences", len(diffSnapshots(before, changed)))

	if err := git(s.dir, "revert", "--no-edit", "HEAD"); err != nil {
		t.Fatal(err)
	}
	reverted, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(reverted) != string(committed) {
		t.Fatalf("git revert did not restore %s:\n%s", stackFile, reverted)
	}
	s.up(t)
	s.upToDate = true

	after, err := s.kube.snapshot(ctx, s.declared(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffSnapshots(before, after); len(diff) > 0 {
		t.Errorf("after the revert the cluster differs from before the change:\n  %s", strings.Join(diff, "\n  "))
	}
	var added []objectRef
	for _, r := range changedRefs {
		if _, ok := before[r.String()]; !ok {
			added = append(added, r)
		}
	}
	if len(added) == 0 {
		t.Error("the change added no object: the second station should have")
	}
	if left := s.kube.waitGone(ctx, added, 3*time.Minute); len(left) > 0 {
		t.Errorf("objects the reverted change added are still in the cluster:\n  %s", strings.Join(left, "\n  "))
	}
	s.previewNoChanges(t)
}

// TestExportHasNoPlaintextSecrets requires `pulumi stack export` to carry no
// generated secret in plain text, nor base64-encoded as in a Secret's data.
func TestExportHasNoPlaintextSecrets(t *testing.T) {
	s := requireStack(t)
	s.ensureUp(t)
	ctx := context.Background()

	state, err := s.exportState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	generated := map[string]string{} // value -> where it comes from
	for _, r := range state.Resources {
		if !strings.HasPrefix(string(r.Type), "random:") {
			continue
		}
		for _, key := range []string{"result", "bcryptHash"} {
			if v := plaintext(r.Outputs[key]); len(v) >= 8 {
				generated[v] = fmt.Sprintf("%s.%s", r.URN.Name(), key)
			}
		}
	}
	if len(generated) < 5 {
		t.Fatalf("found %d generated secrets in the state; the local stack generates more (database, Valkey, MinIO, Icecast and app passwords)", len(generated))
	}
	if !clusterUsesOneOf(ctx, t, s.kube, generated) {
		t.Fatal("no generated secret found in the cluster's Secrets: the check below would prove nothing")
	}

	export, err := s.plainExport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal([]byte(export), &doc); err != nil {
		t.Fatalf("pulumi stack export is not JSON: %v", err)
	}
	leaves := stringLeaves(doc, nil)
	for value, origin := range generated {
		if strings.Contains(export, value) {
			t.Errorf("pulumi stack export contains the value of %s in plain text", origin)
			continue
		}
		for _, leaf := range leaves {
			if decoded, err := base64.StdEncoding.DecodeString(leaf); err == nil && strings.Contains(string(decoded), value) {
				t.Errorf("pulumi stack export contains the value of %s base64-encoded", origin)
				break
			}
		}
	}
	t.Logf("checked %d generated secrets against %d strings of the export", len(generated), len(leaves))
}

// TestDestroyLeavesNothing destroys the stack and requires every object it
// recorded gone, and nothing labelled as the project's left in the cluster.
func TestDestroyLeavesNothing(t *testing.T) {
	s := requireStack(t)
	s.ensureUp(t)
	ctx := context.Background()
	refs := s.declared(t)
	if len(refs) == 0 {
		t.Fatal("the stack records no Kubernetes object before destroy")
	}

	s.upToDate = false
	if _, err := s.pulumi(ctx, os.Stdout, "destroy", "--stack", stackName, "--yes"); err != nil {
		t.Fatal(err)
	}
	s.deployed = false

	if left := s.declared(t); len(left) > 0 {
		t.Errorf("the state still records %d objects after destroy: %v", len(left), left)
	}
	if left := s.kube.waitGone(ctx, refs, 3*time.Minute); len(left) > 0 {
		t.Errorf("objects of the stack still in the cluster after destroy:\n  %s", strings.Join(left, "\n  "))
	}
	namespaces, err := s.kube.projectNamespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(namespaces) > 0 {
		t.Errorf("the project's namespaces are still there: %v", namespaces)
	}
	left, err := s.kube.labelledLeftovers(ctx, [][2]string{
		{"v1", "Pod"}, {"v1", "PersistentVolumeClaim"}, {"v1", "Service"}, {"v1", "Secret"},
		{"v1", "ConfigMap"}, {"v1", "ServiceAccount"}, {"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"},
		{"apps/v1", "ReplicaSet"}, {"apps/v1", "DaemonSet"}, {"batch/v1", "Job"}, {"batch/v1", "CronJob"},
		{"networking.k8s.io/v1", "Ingress"}, {"networking.k8s.io/v1", "NetworkPolicy"},
		{"policy/v1", "PodDisruptionBudget"}, {"autoscaling/v2", "HorizontalPodAutoscaler"},
		{"rbac.authorization.k8s.io/v1", "ClusterRole"}, {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("objects labelled %s left after destroy:\n  %s", partOf, strings.Join(left, "\n  "))
	}
	if err := s.kube.recycleVolumes(ctx); err != nil {
		t.Errorf("recycling the released volumes: %v", err)
	}
}

// plainExport runs `pulumi stack export` without --show-secrets, as a
// person would.
func (s *localStack) plainExport(ctx context.Context) (string, error) {
	return s.pulumi(ctx, nil, "stack", "export", "--stack", stackName)
}

// plaintext unwraps a value of a --show-secrets export: a secret is
// {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": "<JSON>"}.
func plaintext(v any) string {
	if m, ok := v.(map[string]any); ok {
		if p, ok := m["plaintext"].(string); ok {
			var inner any
			if json.Unmarshal([]byte(p), &inner) == nil {
				return plaintext(inner)
			}
			return p
		}
		return ""
	}
	s, _ := v.(string)
	return s
}

func stringLeaves(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = stringLeaves(e, out)
		}
	case map[string]any:
		for _, e := range x {
			out = stringLeaves(e, out)
		}
	}
	return out
}

// clusterUsesOneOf reports whether a Secret in the project's namespaces holds
// one of the values: the secrets reach the cluster, so leaking them in the
// export would matter.
func clusterUsesOneOf(ctx context.Context, t *testing.T, k *kube, values map[string]string) bool {
	namespaces, err := k.projectNamespaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		secrets, err := k.List(ctx, "v1", "Secret", ns, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			data, _ := sec["data"].(map[string]any)
			for _, enc := range data {
				b, _ := base64.StdEncoding.DecodeString(fmt.Sprint(enc))
				for v := range values {
					if strings.Contains(string(b), v) {
						return true
					}
				}
			}
		}
	}
	return false
}

func containerImage(deployment map[string]any) string {
	containers, _ := at(deployment, "spec", "template", "spec", "containers").([]any)
	if len(containers) == 0 {
		return ""
	}
	c, _ := containers[0].(map[string]any)
	img, _ := c["image"].(string)
	return img
}
