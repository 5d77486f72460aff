package netpolcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is two levels up: tools/netpolcheck.
const repoRoot = "../.."

// TestConnectivity evaluates every row of components/netpol/connectivity.yaml
// against the policies the program declares for each committed stack, as
// recorded by infra's TestRecordNetworkPolicies (scripts/test/netpol.sh runs
// both). A failure names the row, the stack, and the policies that decided.
func TestConnectivity(t *testing.T) {
	dir := os.Getenv("NETPOL_RECORD_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot, ".state", "netpol")
	}
	table, err := LoadTable(filepath.Join(repoRoot, "components", "netpol", "connectivity.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	records, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	stackFiles, _ := filepath.Glob(filepath.Join(repoRoot, "Pulumi.*.yaml"))
	if len(records) == 0 || len(records) != len(stackFiles) {
		t.Fatalf("found %d records in %s for %d stack files: run scripts/test/netpol.sh, which records them first", len(records), dir, len(stackFiles))
	}
	for _, path := range records {
		rec, err := LoadRecord(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(rec.Stack, func(t *testing.T) {
			c, err := NewChecker(rec, table)
			if err != nil {
				t.Fatal(err)
			}
			held, skipped := 0, 0
			var pending []string
			for _, row := range table.Rows {
				res, err := c.Check(row)
				switch {
				case err != nil:
					t.Errorf("%s on %s: %v", row, rec.Stack, err)
				case res.Skipped != "":
					skipped++
				case row.Pending != "":
					state := "still fails"
					if !res.Failed() {
						state = "now holds: drop its pending mark"
					}
					pending = append(pending, res.String()+" [pending: "+row.Pending+"; "+state+"]")
				case res.Failed():
					t.Errorf("%s", res)
				default:
					held++
				}
			}
			for _, p := range pending {
				t.Log(p)
			}
			t.Logf("connectivity figures: stack=%s rows=%d held=%d pending=%d skipped=%d cilium=%v", rec.Stack, len(table.Rows), held, len(pending), skipped, c.cilium)
		})
	}
}

// record builds a one-namespace stack for the evaluator's own tests.
func record(foundation string, nps, cnps []map[string]any) *Record {
	r := &Record{Stack: "test", Foundation: foundation, VPCRange: "10.110.0.0/20", NetworkPolicies: nps, CiliumNetworkPolicies: cnps}
	r.Workloads = append(r.Workloads, struct {
		Kind      string            `json:"kind"`
		Namespace string            `json:"namespace"`
		Name      string            `json:"name"`
		PodLabels map[string]string `json:"podLabels"`
	}{Kind: "Deployment", Namespace: "platform", Name: "webhook", PodLabels: map[string]string{"app.kubernetes.io/name": "webhook"}})
	return r
}

var testTable = &Table{
	Endpoints: map[string]*Endpoint{
		"webhook":   {Workload: "platform/webhook", Port: 10250},
		"apiserver": {IP: "203.0.113.10", Entity: "kube-apiserver"},
		"node":      {VPCHost: 10, Entity: "remote-node"},
		"internet":  {IP: "198.51.100.7", Entity: "world"},
		"other-pod": {Namespace: "station", Labels: map[string]string{"app.kubernetes.io/name": "site"}},
	},
}

func denyAll() map[string]any {
	return map[string]any{"metadata": map[string]any{"name": "default-deny", "namespace": "platform"},
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}}}
}

func fromEverywhere(port int) map[string]any {
	return map[string]any{"metadata": map[string]any{"name": "from-anywhere", "namespace": "platform"},
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}}},
				"ports": []any{map[string]any{"port": port, "protocol": "TCP"}}}}}}
}

func check(t *testing.T, rec *Record, from string) Result {
	t.Helper()
	c, err := NewChecker(rec, testTable)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Check(Row{From: from, To: "webhook", Why: "test", Line: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestIPBlockMissesNodesOnCilium: an ipBlock 0.0.0.0/0 admits the API server
// and the nodes on a generic cluster, and only the world on Cilium (defect 3).
func TestIPBlockMissesNodesOnCilium(t *testing.T) {
	nps := []map[string]any{denyAll(), fromEverywhere(10250)}
	for _, from := range []string{"apiserver", "node"} {
		if res := check(t, record("in-cluster", nps, nil), from); !res.Allowed {
			t.Errorf("generic NetworkPolicy semantics: %s must match 0.0.0.0/0: %s", from, res)
		}
		if res := check(t, record("digitalocean", nps, nil), from); res.Allowed {
			t.Errorf("Cilium semantics: ipBlock must not select %s: %s", from, res)
		}
	}
	if res := check(t, record("digitalocean", nps, nil), "internet"); !res.Allowed {
		t.Errorf("Cilium semantics: ipBlock 0.0.0.0/0 selects the world: %s", res)
	}
	if res := check(t, record("digitalocean", nps, nil), "other-pod"); res.Allowed {
		t.Errorf("Cilium semantics: ipBlock never selects pods: %s", res)
	}
}

// TestEntityRules: the entity evaluator admits exactly the named entities on
// the named ports, never pods, and refuses what it does not model.
func TestEntityRules(t *testing.T) {
	cnp := func(entities []any, port string) map[string]any {
		return map[string]any{"metadata": map[string]any{"name": "allow-entities", "namespace": "platform"},
			"spec": map[string]any{"endpointSelector": map[string]any{}, "ingress": []any{map[string]any{
				"fromEntities": entities, "toPorts": []any{map[string]any{"ports": []any{map[string]any{"port": port, "protocol": "TCP"}}}}}}}}
	}
	nps := []map[string]any{denyAll()}
	if res := check(t, record("digitalocean", nps, []map[string]any{cnp([]any{"kube-apiserver"}, "10250")}), "apiserver"); !res.Allowed {
		t.Errorf("kube-apiserver on 10250 must be admitted: %s", res)
	}
	if res := check(t, record("digitalocean", nps, []map[string]any{cnp([]any{"kube-apiserver"}, "9100")}), "apiserver"); res.Allowed {
		t.Errorf("a rule for port 9100 must not admit 10250: %s", res)
	}
	if res := check(t, record("digitalocean", nps, []map[string]any{cnp([]any{"remote-node"}, "10250")}), "apiserver"); res.Allowed {
		t.Errorf("remote-node must not admit the API server: %s", res)
	}
	if res := check(t, record("digitalocean", nps, []map[string]any{cnp([]any{"world"}, "10250")}), "other-pod"); res.Allowed {
		t.Errorf("entities never match pods: %s", res)
	}
	c, err := NewChecker(record("digitalocean", nps, []map[string]any{cnp([]any{"cluster"}, "10250")}), testTable)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(Row{From: "node", To: "webhook", Why: "test"}); err == nil || !strings.Contains(err.Error(), "not modelled") {
		t.Errorf("an entity the evaluator does not model must be an error, got %v", err)
	}
}
