// Package config reads the archiver's settings from the environment.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// Config is the archiver's validated configuration.
type Config struct {
	// Station names the station whose recordings are archived; it is the first segment of every object key.
	Station string
	// WatchDir is the directory Liquidsoap writes finished and unfinished recordings into.
	WatchDir string
	// QuietPeriod is how long a file must stay unchanged before it counts as finished.
	QuietPeriod time.Duration
	// Retention is how long a local copy is kept after it is archived; zero removes it at once.
	Retention time.Duration
	// ScanInterval is how often the watch directory is listed.
	ScanInterval time.Duration
	// ListenAddr is the address of the health and metrics server.
	ListenAddr string
	// DatabaseURL is the PostgreSQL connection URL.
	DatabaseURL string
	// APIDatabaseURL is the API's database, where archived sets are
	// registered in its recordings and tracks tables (optional: empty leaves
	// the API's tables alone).
	APIDatabaseURL string
	// S3Endpoint is the S3 API endpoint, with scheme.
	S3Endpoint *url.URL
	// S3Region is the bucket's region.
	S3Region string
	// S3Bucket is the media bucket behind the CDN.
	S3Bucket string
	// S3Key and S3Secret are the bucket's access key pair.
	S3Key, S3Secret string
	// S3ForcePathStyle addresses the bucket in the path instead of the host name.
	S3ForcePathStyle bool
	// PartSize is the size of one multipart upload part; files up to this size go up in one request.
	PartSize int64
	// UploadConcurrency is how many parts of one file are in flight at once.
	UploadConcurrency int
	// PublicBaseURL is the CDN address the public link of an object is built on.
	PublicBaseURL *url.URL
	// DiscordWebhookURL, when set, gets one message per newly archived broadcast.
	DiscordWebhookURL string
	// ShutdownTimeout bounds how long a graceful shutdown waits for the current upload.
	ShutdownTimeout time.Duration
}

// minPartSize is S3's smallest allowed part (except the last).
const minPartSize = 5 << 20

var stationPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Load reads the configuration through getenv and validates every value,
// naming the variable, the value given (never for secrets) and what is allowed.
func Load(getenv func(string) string) (*Config, error) {
	var errs []error
	bad := func(name, value, allowed string) {
		errs = append(errs, fmt.Errorf("%s=%q is invalid: %s", name, value, allowed))
	}
	missing := func(name, what string) {
		errs = append(errs, fmt.Errorf("%s is required: %s", name, what))
	}
	required := func(name, what string) string {
		v := getenv(name)
		if v == "" {
			missing(name, what)
		}
		return v
	}
	duration := func(name, def string, min time.Duration) time.Duration {
		v := cmp.Or(getenv(name), def)
		d, err := time.ParseDuration(v)
		if err != nil || d < min {
			bad(name, v, fmt.Sprintf("want a Go duration of at least %s, like 2m or 30s", min))
		}
		return d
	}
	integer := func(name, def string, min, max int64) int64 {
		v := cmp.Or(getenv(name), def)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			bad(name, v, fmt.Sprintf("want a whole number from %d to %d", min, max))
		}
		return n
	}
	absURL := func(name, v string) *url.URL {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, v, "want an absolute http:// or https:// URL")
			return nil
		}
		return u
	}

	c := &Config{
		Station:        required("ARCHIVER_STATION", "the station name, like datafruits"),
		WatchDir:       required("ARCHIVER_WATCH_DIR", "the directory Liquidsoap records into"),
		QuietPeriod:    duration("ARCHIVER_QUIET_PERIOD", "2m", 0),
		Retention:      duration("ARCHIVER_RETENTION", "0s", 0),
		ListenAddr:     cmp.Or(getenv("ARCHIVER_LISTEN_ADDR"), ":8080"),
		DatabaseURL:    required("DATABASE_URL", "a PostgreSQL URL, like postgres://user:pass@host:5432/db"),
		APIDatabaseURL: getenv("API_DATABASE_URL"),
		S3Region:       cmp.Or(getenv("S3_REGION"), "us-east-1"),
		S3Bucket:       required("S3_BUCKET", "the media bucket name"),
		S3Key:          required("S3_KEY", "the access key id"),
		S3Secret:       required("S3_SECRET", "the secret access key"),
		// DiscordWebhookURL is validated below without echoing it: the URL carries the webhook's token.
		DiscordWebhookURL: getenv("DISCORD_WEBHOOK_URL"),
	}
	c.ScanInterval = duration("ARCHIVER_SCAN_INTERVAL", "5s", 10*time.Millisecond)
	c.ShutdownTimeout = duration("ARCHIVER_SHUTDOWN_TIMEOUT", "25s", 0)
	c.PartSize = integer("ARCHIVER_PART_SIZE", strconv.Itoa(16<<20), minPartSize, 5<<30) // 16 MiB: 10,000 parts reach 156 GiB
	c.UploadConcurrency = int(integer("ARCHIVER_UPLOAD_CONCURRENCY", "4", 1, 16))

	if c.Station != "" && !stationPattern.MatchString(c.Station) {
		bad("ARCHIVER_STATION", c.Station, "want lower-case letters, digits and dashes (it becomes the first part of object keys)")
	}
	if v := getenv("S3_FORCE_PATH_STYLE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("S3_FORCE_PATH_STYLE", v, "want true or false")
		}
		c.S3ForcePathStyle = b
	}
	c.S3Endpoint = absURL("S3_ENDPOINT", required("S3_ENDPOINT", "the S3 API URL, like https://nyc3.digitaloceanspaces.com"))
	c.PublicBaseURL = absURL("PUBLIC_BASE_URL", required("PUBLIC_BASE_URL", "the CDN base URL public links are built on"))
	if u, err := url.Parse(c.DiscordWebhookURL); c.DiscordWebhookURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, errors.New("DISCORD_WEBHOOK_URL is invalid: want an absolute https:// URL (value not shown: it holds the webhook token)"))
	}
	for name, v := range map[string]string{"DATABASE_URL": c.DatabaseURL, "API_DATABASE_URL": c.APIDatabaseURL} {
		if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql")) {
			errs = append(errs, errors.New(name+" is invalid: want postgres://user:password@host:port/database (value not shown: it holds a password)"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// PublicURL returns the CDN link of an object key.
func (c *Config) PublicURL(key string) string {
	return c.PublicBaseURL.JoinPath(key).String()
}
