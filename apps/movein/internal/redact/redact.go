// Package redact keeps credentials out of everything movein prints.
//
// Two layers: URLs are shown without their password (URL), and every writer
// the command prints to is wrapped by a Redactor that replaces each secret it
// was told about (passwords, S3 secret keys) wherever it appears, so an error
// text from a driver or from pg_dump cannot leak one either.
package redact

import (
	"io"
	"net/url"
	"strings"
	"sync"
)

// Mask is what a secret is replaced with.
const Mask = "xxxxx"

// URL returns raw with any password removed from its user info and from
// password-like query parameters. A URL that does not parse is masked whole.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return Mask
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		switch strings.ToLower(k) {
		case "password", "sslpassword", "secret", "x-amz-credential", "x-amz-signature":
			q.Set(k, Mask)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Redactor replaces registered secrets in text.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers secrets; empty strings and very short ones (which would mask
// ordinary words) are ignored.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
}

// AddURL registers the password of a URL.
func (r *Redactor) AddURL(raw string) {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, has := u.User.Password(); has {
			r.Add(p)
		}
	}
}

// String returns s with every registered secret masked.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, secret := range r.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	return s
}

// Writer wraps w so that every write is redacted first. Each Write is
// redacted on its own: callers write whole lines (slog, fmt.Fprintln), so a
// secret is never split across two writes.
func (r *Redactor) Writer(w io.Writer) io.Writer { return &writer{r: r, w: w} }

type writer struct {
	r *Redactor
	w io.Writer
}

func (w *writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.r.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
