// Package zone reads today's DNS zone (a zone file in the master format that
// registrars and BIND export) into the records the stack's zone declares
// (datafruits:dnsRecords), so that mail (MX), SPF, DKIM and verification
// records (TXT) survive the move of the name servers to DigitalOcean.
package zone

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// Record is one record as datafruits:dnsRecords holds it; Name is relative to
// the zone ("@" for the apex) and host names in Value end with a dot.
type Record struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	TTL      int    `json:"ttl"`
	Priority *int   `json:"priority,omitempty"`
	Weight   *int   `json:"weight,omitempty"`
	Port     *int   `json:"port,omitempty"`
	Flags    *int   `json:"flags,omitempty"`
	Tag      string `json:"tag,omitempty"`
}

// Skipped is a record of the file that is not imported, and why.
type Skipped struct {
	Name, Type, Why string
}

// Parse reads a zone file of domain. Records DigitalOcean manages itself (SOA,
// the apex NS) and types it does not serve are skipped with the reason.
func Parse(r io.Reader, domain string) ([]Record, []Skipped, error) {
	origin := dns.Fqdn(domain)
	zp := dns.NewZoneParser(r, origin, "")
	var records []Record
	var skipped []Skipped
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		name, inZone := relative(h.Name, origin)
		typ := dns.TypeToString[h.Rrtype]
		if !inZone {
			return nil, nil, fmt.Errorf("record %s %s is outside the zone %s", h.Name, typ, domain)
		}
		rec := Record{Name: name, Type: typ, TTL: int(h.Ttl)}
		n := func(v uint16) *int { i := int(v); return &i }
		switch v := rr.(type) {
		case *dns.A:
			rec.Value = v.A.String()
		case *dns.AAAA:
			rec.Value = v.AAAA.String()
		case *dns.CNAME:
			rec.Value = v.Target
		case *dns.MX:
			rec.Value, rec.Priority = v.Mx, n(v.Preference)
		case *dns.TXT:
			// The strings of one TXT record are one value (RFC 7208 3.3 for SPF; DKIM keys too).
			rec.Value = strings.Join(v.Txt, "")
		case *dns.SRV:
			rec.Value, rec.Priority, rec.Weight, rec.Port = v.Target, n(v.Priority), n(v.Weight), n(v.Port)
		case *dns.CAA:
			rec.Value, rec.Flags, rec.Tag = v.Value, n(uint16(v.Flag)), v.Tag
		case *dns.NS:
			if name == "@" {
				skipped = append(skipped, Skipped{name, typ, "DigitalOcean's name servers serve the zone after the move"})
				continue
			}
			rec.Value = v.Ns
		case *dns.SOA:
			skipped = append(skipped, Skipped{name, typ, "DigitalOcean writes the zone's SOA"})
			continue
		default:
			skipped = append(skipped, Skipped{name, typ, "DigitalOcean DNS serves A, AAAA, CNAME, MX, TXT, SRV, CAA and NS records only"})
			continue
		}
		records = append(records, rec)
	}
	if err := zp.Err(); err != nil {
		return nil, nil, fmt.Errorf("zone file of %s: %w", domain, err)
	}
	sort.SliceStable(records, func(i, j int) bool {
		if records[i].Name != records[j].Name {
			return records[i].Name < records[j].Name
		}
		return records[i].Type < records[j].Type
	})
	return records, skipped, nil
}

// relative is fqdn's name inside origin: "@" for the apex.
func relative(fqdn, origin string) (string, bool) {
	fqdn, origin = strings.ToLower(fqdn), strings.ToLower(origin)
	if fqdn == origin {
		return "@", true
	}
	name, ok := strings.CutSuffix(fqdn, "."+origin)
	return name, ok
}

// StackYAML renders records as the datafruits:dnsRecords entry of a
// Pulumi.<stack>.yaml file, one record per line (JSON objects are YAML).
func StackYAML(records []Record) string {
	var b strings.Builder
	b.WriteString("  datafruits:dnsRecords:\n")
	for _, r := range records {
		line, _ := json.Marshal(r)
		fmt.Fprintf(&b, "    - %s\n", line)
	}
	return b.String()
}
