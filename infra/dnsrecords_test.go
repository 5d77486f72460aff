package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

// importedRecords reads what `movein import-zone` printed for the example of
// today's zone (apps/movein/internal/zone/testdata, kept equal to its output
// by that package's test) and returns it as the datafruits:dnsRecords value.
func importedRecords(t *testing.T) string {
	t.Helper()
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "apps/movein/internal/zone/testdata/datafruits.fm.records.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var records []json.RawMessage
	for _, line := range strings.Split(string(b), "\n") {
		if item, ok := strings.CutPrefix(strings.TrimSpace(line), "- "); ok {
			records = append(records, json.RawMessage(item))
		}
	}
	out, err := json.Marshal(records)
	if err != nil {
		t.Fatalf("the imported records are not JSON lines: %v", err)
	}
	return string(out)
}

// TestTodaysRecordsLiveOnUntilTheirPartsMove: with only the radio and chat
// moved, today's site and API keep their records (Heroku), mail keeps its MX
// and TXT records, and the stack adds its own hosts beside them.
func TestTodaysRecordsLiveOnUntilTheirPartsMove(t *testing.T) {
	mocks, err := pulumitest.RunStack("prod", run, map[string]string{
		"datafruits:moved":           `{"site":false,"api":false,"admin":false,"video":false}`,
		"datafruits:legacy":          `{"api":"https://datafruits.streampusher.com"}`,
		"datafruits:legacyLiqSecret": "todays-liq-secret-value",
		"datafruits:dnsRecords":      importedRecords(t),
	}, "datafruits:legacyLiqSecret")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range mocks.ByType("digitalocean:index/dnsRecord:DnsRecord") {
		in := r.Inputs
		got[pulumitest.GetString(in, "name")+" "+pulumitest.GetString(in, "type")+" "+pulumitest.GetString(in, "value")+" "+pulumitest.GetString(in, "priority")] = true
	}
	for _, want := range []string{
		"@ A 203.0.113.10 ", "api CNAME api-datafruits.herokudns.com. ", "www CNAME datafruits.herokudns.com. ",
		"@ MX mx1.forwardemail.net. 10", "@ MX mx2.forwardemail.net. 20", "@ TXT v=spf1 include:spf.forwardemail.net -all ",
		"stream A " + pulumitest.FakeLBAddress + " ", "chat A " + pulumitest.FakeLBAddress + " ",
	} {
		if !got[want] {
			t.Errorf("no record %q", want)
		}
	}
}

// TestAnImportedRecordCannotHideAMovedPart: once the site is moved, today's
// apex A record would send listeners back to Heroku; the program refuses it.
func TestAnImportedRecordCannotHideAMovedPart(t *testing.T) {
	_, err := pulumitest.RunStack("prod", run, map[string]string{"datafruits:dnsRecords": importedRecords(t)})
	if err == nil || !strings.Contains(err.Error(), "@ A 203.0.113.10: the stack serves this name itself") ||
		!strings.Contains(err.Error(), "api CNAME api-datafruits.herokudns.com.") {
		t.Errorf("got %v, want the apex A and api CNAME records refused", err)
	}
}
