package icecast

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestParseDocumentsFromIcecast244(t *testing.T) {
	tests := []struct {
		fixture string
		want    []Source
	}{
		{"no-sources.json", nil},
		{"one-source.json", []Source{{
			Mount: "/live.mp3", ServerName: "Tone Show",
			StreamStart: time.Date(2026, 11, 22, 10, 51, 58, 0, time.UTC),
		}}},
		{"two-sources.json", []Source{
			{Mount: "/live.mp3", ServerName: "Tone Show", StreamStart: time.Date(2026, 11, 22, 10, 51, 58, 0, time.UTC)},
			{Mount: "/two.ogg", ServerName: "Unspecified name", Title: "1999", Listeners: 3,
				StreamStart: time.Date(2026, 11, 22, 10, 52, 0, 0, time.UTC)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			status, err := Parse(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if status.ServerID != "Icecast 2.4.4" {
				t.Errorf("ServerID = %q, want Icecast 2.4.4", status.ServerID)
			}
			if len(status.Sources) != len(tt.want) {
				t.Fatalf("got %d sources %+v, want %d", len(status.Sources), status.Sources, len(tt.want))
			}
			for i, want := range tt.want {
				got := status.Sources[i]
				if got.Mount != want.Mount || got.Title != want.Title || got.ServerName != want.ServerName ||
					got.Listeners != want.Listeners || !got.StreamStart.Equal(want.StreamStart) {
					t.Errorf("source %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

func TestParseRejectsBrokenDocuments(t *testing.T) {
	tests := map[string][]byte{
		"startup document (Icecast-Server#38)": readFixture(t, "startup-invalid.json"),
		"truncated":                            readFixture(t, "truncated.json"),
		"empty":                                nil,
		"html error page":                      []byte("<html><body>Could not parse XSLT file</body></html>"),
		"no icestats":                          []byte(`{"stats":{}}`),
		"icestats not an object":               []byte(`{"icestats":"up"}`),
		"source is a number":                   []byte(`{"icestats":{"source":3}}`),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(doc)
			var malformed *MalformedError
			if !errors.As(err, &malformed) {
				t.Fatalf("Parse = %v, want a MalformedError", err)
			}
			if ErrorReason(err) != "malformed" {
				t.Errorf("ErrorReason = %q, want malformed", ErrorReason(err))
			}
		})
	}
}

func TestParseSkipsUnusableSourcesAndKeepsTheRest(t *testing.T) {
	doc := []byte(`{"icestats":{"source":[null,{"listeners":2},{"listenurl":"http://h:8000/ok.mp3","listeners":"4","title":true}]}}`)
	status, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(status.Sources) != 1 || status.Sources[0].Mount != "/ok.mp3" || status.Sources[0].Listeners != 4 || status.Sources[0].Title != "true" {
		t.Errorf("Sources = %+v, want only /ok.mp3 with 4 listeners and title \"true\"", status.Sources)
	}
	if len(status.Problems) != 1 || !strings.Contains(status.Problems[0], "listenurl") {
		t.Errorf("Problems = %q, want one naming the missing listenurl", status.Problems)
	}
}

func TestFetchClassifiesFailures(t *testing.T) {
	var body string
	var code int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status-json.xsl" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	client := NewClient(base, srv.Client())

	code, body = http.StatusOK, string(readFixture(t, "one-source.json"))
	if status, err := client.Fetch(context.Background()); err != nil || len(status.Sources) != 1 {
		t.Fatalf("Fetch = %+v, %v; want one source", status, err)
	}
	code, body = http.StatusNotFound, "Could not parse XSLT file"
	if _, err := client.Fetch(context.Background()); ErrorReason(err) != "http_status" {
		t.Errorf("404: ErrorReason(%v) = %q, want http_status", err, ErrorReason(err))
	}
	code, body = http.StatusOK, string(readFixture(t, "truncated.json"))
	if _, err := client.Fetch(context.Background()); ErrorReason(err) != "malformed" {
		t.Errorf("truncated: ErrorReason(%v) = %q, want malformed", err, ErrorReason(err))
	}

	srv.Close()
	_, err := client.Fetch(context.Background())
	if ErrorReason(err) != "unreachable" {
		t.Errorf("closed server: ErrorReason(%v) = %q, want unreachable", err, ErrorReason(err))
	}
}
