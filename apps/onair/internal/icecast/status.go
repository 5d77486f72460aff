// Package icecast reads Icecast's public status document, status-json.xsl.
//
// The document is produced by an XSLT that turns the XML stats into JSON
// (web/xml2json.xslt), which gives it quirks this package smooths over:
//   - "source" is absent with no sources, an object with one, a list with several
//     (xiph/Icecast-Server#12);
//   - the mount is not a field: it is only the path of "listenurl";
//   - text that looks like a number or a boolean is emitted as one, so a show
//     titled 1999 arrives as the number 1999;
//   - fields such as "title" are missing until the source sends metadata;
//   - right after start-up the document is not valid JSON (xiph/Icecast-Server#38).
package icecast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Status is what one read of status-json.xsl says about the server.
type Status struct {
	// ServerID is Icecast's version string, such as "Icecast 2.4.4".
	ServerID string
	// Sources are the connected sources, one per mount, in document order.
	Sources []Source
	// Problems describes source entries that were skipped because they were unusable.
	Problems []string
}

// Source is one connected source client on one mount.
type Source struct {
	// Mount is the mount point, such as "/datafruits.mp3".
	Mount string
	// Title is the stream's current title metadata; empty when none was sent.
	Title string
	// ServerName is the name the source client gave the stream (ice-name).
	ServerName string
	// Listeners is the number of listeners connected to the mount.
	Listeners int
	// StreamStart is when the source connected; zero when Icecast did not say.
	StreamStart time.Time
}

// MalformedError reports a status document that could not be understood.
type MalformedError struct {
	// Reason says what was wrong with the document.
	Reason string
}

func (e *MalformedError) Error() string { return "malformed icecast status document: " + e.Reason }

// Parse reads a status-json.xsl document.
func Parse(doc []byte) (Status, error) {
	var envelope struct {
		Icestats *json.RawMessage `json:"icestats"`
	}
	if err := json.Unmarshal(doc, &envelope); err != nil {
		return Status{}, &MalformedError{Reason: describeJSONError(doc, err)}
	}
	if envelope.Icestats == nil {
		return Status{}, &MalformedError{Reason: `no "icestats" object`}
	}
	var stats struct {
		ServerID text            `json:"server_id"`
		Source   json.RawMessage `json:"source"`
	}
	if err := json.Unmarshal(*envelope.Icestats, &stats); err != nil {
		return Status{}, &MalformedError{Reason: `"icestats" is not an object: ` + err.Error()}
	}

	var entries []json.RawMessage
	switch src := bytes.TrimSpace(stats.Source); {
	case len(src) == 0 || string(src) == "null":
	case src[0] == '[':
		if err := json.Unmarshal(src, &entries); err != nil {
			return Status{}, &MalformedError{Reason: `"source" list: ` + err.Error()}
		}
	case src[0] == '{':
		entries = []json.RawMessage{src}
	default:
		return Status{}, &MalformedError{Reason: `"source" is neither an object nor a list`}
	}

	status := Status{ServerID: string(stats.ServerID)}
	for i, raw := range entries {
		if string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		source, err := parseSource(raw)
		if err != nil {
			status.Problems = append(status.Problems, fmt.Sprintf("source %d: %v", i, err))
			continue
		}
		status.Sources = append(status.Sources, source)
	}
	return status, nil
}

func parseSource(raw json.RawMessage) (Source, error) {
	var entry struct {
		ListenURL          text  `json:"listenurl"`
		Title              text  `json:"title"`
		ServerName         text  `json:"server_name"`
		Listeners          count `json:"listeners"`
		StreamStartISO8601 text  `json:"stream_start_iso8601"`
		StreamStart        text  `json:"stream_start"`
	}
	if err := json.Unmarshal(raw, &entry); err != nil {
		return Source{}, err
	}
	if entry.ListenURL == "" {
		return Source{}, fmt.Errorf(`no "listenurl", so no mount`)
	}
	listenURL, err := url.Parse(string(entry.ListenURL))
	if err != nil || listenURL.Path == "" || listenURL.Path == "/" {
		return Source{}, fmt.Errorf(`"listenurl" %q has no mount path`, string(entry.ListenURL))
	}
	return Source{
		Mount:       listenURL.Path,
		Title:       string(entry.Title),
		ServerName:  string(entry.ServerName),
		Listeners:   int(entry.Listeners),
		StreamStart: parseStreamStart(string(entry.StreamStartISO8601), string(entry.StreamStart)),
	}, nil
}

// parseStreamStart reads Icecast's start time. Its "ISO 8601" has no colon in
// the zone offset, so time.RFC3339 rejects it.
func parseStreamStart(iso, rfc1123 string) time.Time {
	if t, err := time.Parse("2006-01-02T15:04:05-0700", iso); err == nil {
		return t
	}
	if t, err := time.Parse(time.RFC1123Z, rfc1123); err == nil {
		return t
	}
	return time.Time{}
}

func describeJSONError(doc []byte, err error) string {
	if len(bytes.TrimSpace(doc)) == 0 {
		return "empty body"
	}
	if syntaxErr, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("invalid JSON at byte %d of %d: %v", syntaxErr.Offset, len(doc), err)
	}
	return fmt.Sprintf("invalid JSON (%d bytes): %v", len(doc), err)
}

// text is a string field that xml2json.xslt may have emitted as a number or a boolean.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return fmt.Errorf("expected text, got %s", b[:1])
	default:
		*t = text(b)
	}
	return nil
}

// count is a non-negative integer field that may arrive as a number or as text.
type count int

func (c *count) UnmarshalJSON(b []byte) error {
	var t text
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	if t == "" {
		*c = 0
		return nil
	}
	n, err := strconv.Atoi(string(t))
	if err != nil || n < 0 {
		return fmt.Errorf("expected a count, got %q", string(t))
	}
	*c = count(n)
	return nil
}
