package workload_test

import (
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// generatedNames runs the workload and returns the names of its ConfigMap
// and Secrets, by logical name.
func generatedNames(t *testing.T, token string) map[string]string {
	t.Helper()
	a := args()
	a.SecretEnv = pulumi.StringMap{"TOKEN": pulumi.ToSecret(pulumi.String(token)).(pulumi.StringOutput)}
	mocks := build(t, a)
	names := map[string]string{}
	for _, typ := range []string{"kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret"} {
		for _, r := range mocks.ByType(typ) {
			v := pulumitest.Get(r.Inputs, "metadata.name")
			if v.IsSecret() {
				t.Errorf("%s %s: metadata.name is secret in the state; the content hash must not be", typ, r.Name)
			}
			names[r.Name] = pulumitest.GetString(r.Inputs, "metadata.name")
		}
	}
	return names
}

// TestGeneratedObjectsAreNamedByContent: a rollback by git revert must give back
// byte-identical objects, so a ConfigMap's or Secret's name follows from its
// content alone, never from a random suffix.
func TestGeneratedObjectsAreNamedByContent(t *testing.T) {
	first, again := generatedNames(t, "token-one"), generatedNames(t, "token-one")
	changed := generatedNames(t, "token-two")
	if len(first) == 0 {
		t.Fatal("no ConfigMap or Secret recorded")
	}
	for logical, name := range first {
		if name == "" || !strings.HasPrefix(name, logical+"-") {
			t.Errorf("%s: name %q, want %s-<content hash>", logical, name, logical)
		}
		if again[logical] != name {
			t.Errorf("%s: the same content got two names, %q and %q", logical, name, again[logical])
		}
	}
	if changed["app-secret-env"] == first["app-secret-env"] {
		t.Errorf("app-secret-env: new content kept the name %q; the pods would not roll", first["app-secret-env"])
	}
	if changed["app-env"] != first["app-env"] {
		t.Errorf("app-env: unchanged content changed name (%q → %q)", first["app-env"], changed["app-env"])
	}
}
