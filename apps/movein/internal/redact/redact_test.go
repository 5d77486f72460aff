package redact

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestURLDropsThePasswordAndKeepsTheRest(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://api:s3cr%2Ft@db.example:25060/api?sslmode=require": "postgres://api:xxxxx@db.example:25060/api?sslmode=require",
		"postgres://api@db.example/api":                                "postgres://api@db.example/api",
		"postgres://db.example/api?password=hunter22&sslmode=require":  "postgres://db.example/api?password=xxxxx&sslmode=require",
		"::not a url": Mask,
	} {
		if got := URL(raw); got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestWriterMasksEverySecretItWasGiven(t *testing.T) {
	var r Redactor
	r.Add("pa/ss word", "x") // "x" is too short to mask: it would eat ordinary text
	r.AddURL("postgres://u:url-secret@h/d")
	var buf bytes.Buffer
	fmt.Fprintln(r.Writer(&buf), "failed: pa/ss word, pa%2Fss+word, url-secret, x")
	got := buf.String()
	for _, leaked := range []string{"pa/ss word", "pa%2Fss+word", "url-secret"} {
		if strings.Contains(got, leaked) {
			t.Errorf("output %q still holds %q", got, leaked)
		}
	}
	if !strings.Contains(got, ", x\n") {
		t.Errorf("output %q lost the short non-secret word", got)
	}
}
