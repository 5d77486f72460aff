package zone

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/datafruits.fm.records.yaml from the zone file")

// TestTodaysZoneSurvivesTheMove reads the registrar's export of today's zone:
// mail, SPF, DKIM (split into strings), DMARC, SRV, CAA and the hosts keep
// their values; SOA, the apex NS and PTR are skipped with the reason.
// testdata/datafruits.fm.records.yaml is what the program's tests load as
// datafruits:dnsRecords (infra/dnsrecords_test.go).
func TestTodaysZoneSurvivesTheMove(t *testing.T) {
	f, err := os.Open("testdata/datafruits.fm.zone")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, skipped, err := Parse(f, "datafruits.fm")
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]Record{}
	for _, r := range records {
		byKey[r.Name+" "+r.Type+" "+r.Value] = r
	}
	for key, check := range map[string]func(Record) bool{
		"@ MX mx1.forwardemail.net.":                                        func(r Record) bool { return *r.Priority == 10 && r.TTL == 3600 },
		"@ MX mx2.forwardemail.net.":                                        func(r Record) bool { return *r.Priority == 20 },
		"@ TXT v=spf1 include:spf.forwardemail.net -all":                    func(r Record) bool { return true },
		"_dmarc TXT v=DMARC1; p=quarantine; rua=mailto:dmarc@datafruits.fm": func(r Record) bool { return true },
		"@ A 203.0.113.10":                                                  func(r Record) bool { return r.TTL == 300 },
		"www CNAME datafruits.herokudns.com.":                               func(r Record) bool { return true },
		"_xmpp-server._tcp SRV xmpp.datafruits.fm.":                         func(r Record) bool { return *r.Priority == 5 && *r.Weight == 0 && *r.Port == 5269 },
		"@ CAA sectigo.com":                                                 func(r Record) bool { return *r.Flags == 0 && r.Tag == "issue" },
		"old AAAA 2001:db8::1":                                              func(r Record) bool { return true },
	} {
		r, ok := byKey[key]
		if !ok {
			t.Errorf("record %q is lost", key)
		} else if !check(r) {
			t.Errorf("record %q: %+v", key, r)
		}
	}
	var dkim string
	for _, r := range records {
		if r.Name == "google._domainkey" {
			dkim = r.Value
		}
	}
	// The first string ends "...GtleQ", the second starts "IDAQAB": joined with nothing between.
	if !strings.HasPrefix(dkim, "v=DKIM1; k=rsa; p=MIIB") || !strings.Contains(dkim, "GtleQIDAQAB") || !strings.HasSuffix(dkim, "exampleexample") {
		t.Errorf("the DKIM key's two strings are not joined into one value: %q", dkim)
	}
	why := map[string]string{}
	for _, s := range skipped {
		why[s.Name+" "+s.Type] = s.Why
	}
	for _, key := range []string{"@ SOA", "@ NS", "3.2.1 PTR"} {
		if why[key] == "" {
			t.Errorf("%s is not reported as skipped", key)
		}
	}
	if len(records) != 12 || len(skipped) != 4 {
		t.Errorf("%d records imported and %d skipped; the file has 16: 12 to import, SOA, 2 apex NS and a PTR to skip", len(records), len(skipped))
	}

	out := StackYAML(records)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		var r Record
		if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(line), "- ")), &r); err != nil {
			t.Errorf("line %q of the stack snippet is not a record: %v", line, err)
		}
	}
	golden := "testdata/datafruits.fm.records.yaml"
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/zone -update)", err)
	}
	if string(want) != out {
		t.Errorf("%s differs from what import-zone prints now (go test ./internal/zone -update):\n%s", golden, out)
	}
}

func TestARecordOutsideTheZoneIsRefused(t *testing.T) {
	_, _, err := Parse(strings.NewReader("mail.example.org. 300 IN A 192.0.2.1\n"), "datafruits.fm")
	if err == nil || !strings.Contains(err.Error(), "outside the zone datafruits.fm") {
		t.Errorf("got %v", err)
	}
}
