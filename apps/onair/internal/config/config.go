// Package config reads onair's settings from the environment and validates them.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/datafruits/infra/apps/onair/internal/icecast"
)

// Config is onair's validated configuration.
type Config struct {
	// Station is the station's name, used in Discord messages and as a metric label.
	Station string
	// IcecastURL is the base URL of the Icecast server to watch.
	IcecastURL *url.URL
	// PollInterval is how often status-json.xsl is read.
	PollInterval time.Duration
	// IcecastTimeout bounds one read of status-json.xsl.
	IcecastTimeout time.Duration
	// GracePeriod is how long a source may be gone before its drop is announced.
	GracePeriod time.Duration
	// ListenURL is the public base URL listeners use; a mount's URL is ListenURL + mount.
	ListenURL string
	// AllowedOrigins are the browser origins allowed to read the now-playing endpoints.
	AllowedOrigins []string
	// ListenAddr is the address the HTTP server listens on.
	ListenAddr string
	// DiscordWebhookURL is the webhook announcements go to; empty disables them. Secret.
	DiscordWebhookURL string
	// LivePrefix, when set, makes onair announce titles starting with it (a DJ going live
	// behind Liquidsoap) on the first of Mounts, instead of sources connecting.
	LivePrefix string
	// Relays are the listener relays whose listeners are added to the source's.
	Relays []string
	// Mounts, when set, are the only mounts reported; other mounts are logged as unknown.
	Mounts []string
	// HeartbeatInterval is how often an idle event stream gets a comment line.
	HeartbeatInterval time.Duration
	// MaxStreamClients caps concurrent event-stream clients.
	MaxStreamClients int
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
}

// Load reads the configuration through getenv, applying defaults, and returns
// every invalid setting at once.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	fail := func(key, given, allowed string) {
		errs = append(errs, fmt.Errorf("%s=%q is invalid: %s", key, given, allowed))
	}
	duration := func(key, def string, min time.Duration) time.Duration {
		raw := cmp.Or(getenv(key), def)
		d, err := time.ParseDuration(raw)
		if err != nil || d < min {
			fail(key, raw, fmt.Sprintf("want a Go duration of at least %s, such as %s", min, def))
		}
		return d
	}

	c := Config{
		Station:           strings.TrimSpace(getenv("ONAIR_STATION")),
		ListenAddr:        cmp.Or(getenv("ONAIR_LISTEN_ADDR"), ":8080"),
		DiscordWebhookURL: getenv("DISCORD_WEBHOOK_URL"),
		PollInterval:      duration("ONAIR_POLL_INTERVAL", "5s", 100*time.Millisecond),
		IcecastTimeout:    duration("ONAIR_ICECAST_TIMEOUT", "3s", 100*time.Millisecond),
		GracePeriod:       duration("ONAIR_GRACE_PERIOD", "60s", 0),
		HeartbeatInterval: duration("ONAIR_HEARTBEAT_INTERVAL", "15s", time.Second),
	}

	if c.Station == "" {
		errs = append(errs, errors.New("ONAIR_STATION is required: the station's name, such as datafruits"))
	}

	if raw := getenv("ONAIR_ICECAST_URL"); raw == "" {
		errs = append(errs, errors.New("ONAIR_ICECAST_URL is required: Icecast's base URL, such as http://icecast:8000"))
	} else if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail("ONAIR_ICECAST_URL", raw, "want an http(s) URL with a host, such as http://icecast:8000")
	} else {
		c.IcecastURL = u
	}

	if raw := getenv("ONAIR_LISTEN_URL"); raw == "" {
		errs = append(errs, errors.New("ONAIR_LISTEN_URL is required: the public listen URL base, such as https://stream.datafruits.fm"))
	} else if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail("ONAIR_LISTEN_URL", raw, "want an http(s) URL, such as https://stream.datafruits.fm")
	} else {
		c.ListenURL = strings.TrimRight(raw, "/")
	}

	for _, origin := range splitList(getenv("ONAIR_ALLOWED_ORIGINS")) {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			fail("ONAIR_ALLOWED_ORIGINS", origin, "each origin must be scheme://host[:port] such as https://datafruits.fm; \"*\" is not allowed")
			continue
		}
		c.AllowedOrigins = append(c.AllowedOrigins, u.Scheme+"://"+u.Host)
	}

	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		fail("ONAIR_LISTEN_ADDR", c.ListenAddr, "want host:port, such as :8080")
	}

	if c.DiscordWebhookURL != "" {
		// The value is a secret: errors describe it without repeating it.
		u, err := url.Parse(c.DiscordWebhookURL)
		switch {
		case err != nil || u.Host == "":
			errs = append(errs, errors.New("DISCORD_WEBHOOK_URL is invalid: not a URL with a host (value not shown: it is a secret)"))
		case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())):
			errs = append(errs, errors.New("DISCORD_WEBHOOK_URL is invalid: must be https (plain http only to a loopback test server)"))
		}
	}

	c.LivePrefix = getenv("ONAIR_LIVE_PREFIX")
	if c.LivePrefix != "" && getenv("ONAIR_MOUNTS") == "" {
		fail("ONAIR_LIVE_PREFIX", c.LivePrefix, "needs ONAIR_MOUNTS: the first mount is the one announced")
	}
	for _, relay := range splitList(getenv("ONAIR_RELAYS")) {
		if err := icecast.ValidRelay(relay); err != nil {
			fail("ONAIR_RELAYS", relay, err.Error()+", such as dns+http://relay-headless:8000")
			continue
		}
		c.Relays = append(c.Relays, relay)
	}
	for _, mount := range splitList(getenv("ONAIR_MOUNTS")) {
		if !strings.HasPrefix(mount, "/") || strings.ContainsAny(mount, " ?#") {
			fail("ONAIR_MOUNTS", mount, "each mount must start with / and contain no spaces, such as /datafruits.mp3")
			continue
		}
		c.Mounts = append(c.Mounts, mount)
	}

	rawMax := cmp.Or(getenv("ONAIR_MAX_STREAM_CLIENTS"), "10000")
	if n, err := strconv.Atoi(rawMax); err != nil || n < 1 {
		fail("ONAIR_MAX_STREAM_CLIENTS", rawMax, "want a positive integer")
	} else {
		c.MaxStreamClients = n
	}

	rawLevel := cmp.Or(getenv("ONAIR_LOG_LEVEL"), "info")
	if err := c.LogLevel.UnmarshalText([]byte(rawLevel)); err != nil {
		fail("ONAIR_LOG_LEVEL", rawLevel, "want debug, info, warn or error")
	}

	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n  %w", joinIndented(errs))
	}
	return c, nil
}

// LogValue lets the configuration be logged at start-up without its secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("station", c.Station),
		slog.String("icecast_url", c.IcecastURL.String()),
		slog.String("poll_interval", c.PollInterval.String()),
		slog.String("icecast_timeout", c.IcecastTimeout.String()),
		slog.String("grace_period", c.GracePeriod.String()),
		slog.String("listen_url", c.ListenURL),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.String("listen_addr", c.ListenAddr),
		slog.Bool("discord_webhook_set", c.DiscordWebhookURL != ""),
		slog.Any("mounts", c.Mounts),
		slog.String("heartbeat_interval", c.HeartbeatInterval.String()),
		slog.Int("max_stream_clients", c.MaxStreamClients),
		slog.String("log_level", c.LogLevel.String()),
	)
}

func splitList(raw string) []string {
	var items []string
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type indentedErrors []error

func (e indentedErrors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n  ")
}

func (e indentedErrors) Unwrap() []error { return e }

func joinIndented(errs []error) error { return indentedErrors(errs) }
