//go:build contract

package contract

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// These tests need the embedded API server: scripts/test/contract.sh starts it
// and sets KUBECONFIG. They apply the fixture program, whole and broken on purpose.

func serverClient(t *testing.T) *Client {
	t.Helper()
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		t.Fatal("KUBECONFIG is not set: run scripts/test/contract.sh (or make controlplane-up and export the KUBECONFIG it prints)")
	}
	c, err := NewClientFromKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runFixture applies a fixture, registers its cleanup and returns the report.
func runFixture(t *testing.T, f fixture, opts Options) *Report {
	t.Helper()
	c := serverClient(t)
	ctx := context.Background()
	d := f.declare(t)
	if _, err := RemoveLeftovers(ctx, c, d); err != nil {
		t.Fatal(err)
	}
	opts.Logf = t.Logf
	r, err := Run(ctx, c, "fixture-"+f.namespace, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Cleanup(ctx, c, r.Applied); err != nil {
			t.Errorf("%v", err)
		}
	})
	t.Log("\n" + r.String())
	return r
}

// requireFailure asserts that exactly the expected object failed, with a
// message containing want.
func requireFailure(t *testing.T, r *Report, object, want string) {
	t.Helper()
	for _, f := range r.Failures {
		if f.Object == object && strings.Contains(f.Problem, want) {
			if len(r.Failures) != 1 {
				t.Errorf("want only this failure, got %d: %+v", len(r.Failures), r.Failures)
			}
			return
		}
	}
	t.Errorf("want a failure of %s containing %q, got %+v", object, want, r.Failures)
}

func TestFixtureMeetsTheContract(t *testing.T) {
	r := runFixture(t, fixture{namespace: "contract-ok"}, Options{})
	if len(r.Failures) > 0 {
		t.Fatalf("the fixture must pass, got:\n%s", r.String())
	}
	if r.ReadySeconds <= 0 {
		t.Errorf("ReadySeconds = %v, want the time to all Ready", r.ReadySeconds)
	}
	for _, check := range []string{"Deployment Ready", "StatefulSet Ready", "Service endpoints", "Ingress backend",
		"PodDisruptionBudget target", "HorizontalPodAutoscaler target", "Secret reference", "ConfigMap reference", "route backend (static)"} {
		if r.Checks[check] == 0 {
			t.Errorf("check %q never ran (checks: %v)", check, r.Checks)
		}
	}
	skipped := map[string]bool{}
	for _, s := range r.Skipped {
		skipped[s.Name] = true
	}
	if !skipped["traefik"] || !skipped["IngressRoute contract-ok/web-route"] {
		t.Errorf("the Helm release and the IngressRoute must be reported as skipped by name, got %+v", r.Skipped)
	}
	if strings.Contains(r.String(), fixtureSecret) {
		t.Error("the report shows a secret value")
	}
}

func TestServiceSelectingNothingFails(t *testing.T) {
	r := runFixture(t, fixture{namespace: "contract-selector", webSelector: map[string]string{"app": "nobody"}}, Options{})
	requireFailure(t, r, "Service contract-selector/web", "selector app=nobody matches no pod")
}

func TestServiceTargetPortNamingNoContainerPortFails(t *testing.T) {
	r := runFixture(t, fixture{namespace: "contract-port", webTargetPort: "htttp"}, Options{})
	requireFailure(t, r, "Service contract-port/web", `targetPort "htttp" is not a port name any selected container declares`)
}

func TestUnknownFieldIsRejectedByTheServer(t *testing.T) {
	c := serverClient(t)
	ctx := context.Background()
	d := fixture{namespace: "contract-field"}.declare(t)
	web := d.Find("Deployment", "contract-field", "web")
	mapAt(web.Body, "spec")["replica"] = 2.0 // misspelt replicas
	r, err := Run(ctx, c, "fixture-contract-field", d, Options{Logf: t.Logf, ReadyTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Cleanup(ctx, c, r.Applied) })
	t.Log("\n" + r.String())
	found := false
	for _, f := range r.Failures {
		// The API server's own words for strict field validation of an apply.
		if f.Object == "Deployment contract-field/web" && strings.Contains(f.Problem, "apply rejected") &&
			strings.Contains(f.Problem, ".spec.replica: field not declared in schema") {
			found = true
		}
	}
	if !found {
		t.Errorf("want the apply of Deployment contract-field/web rejected for .spec.replica, got %+v", r.Failures)
	}
}

func TestMissingSecretAndBadRouteFail(t *testing.T) {
	c := serverClient(t)
	ctx := context.Background()
	d := fixture{namespace: "contract-refs", routePort: 8080}.declare(t)
	var kept []*Object
	for _, o := range d.Objects {
		if o.Kind != "Secret" {
			kept = append(kept, o)
		}
	}
	d.Objects = kept
	r, err := Run(ctx, c, "fixture-contract-refs", d, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Cleanup(ctx, c, r.Applied) })
	t.Log("\n" + r.String())
	var secret, route bool
	for _, f := range r.Failures {
		secret = secret || f.Object == "Deployment contract-refs/web" && strings.Contains(f.Problem, `secrets "web-secret" not found`)
		route = route || f.Object == "IngressRoute contract-refs/web-route" && strings.Contains(f.Problem, "port 8080")
	}
	if !secret || !route || len(r.Failures) != 2 {
		t.Errorf("want the missing Secret and the route's wrong port reported (and nothing else), got %+v", r.Failures)
	}
}
