package config

import (
	"strings"
	"testing"
	"time"
)

func env(overrides map[string]string) func(string) string {
	base := map[string]string{
		"ARCHIVER_STATION": "datafruits", "ARCHIVER_WATCH_DIR": "/recordings",
		"DATABASE_URL": "postgres://u:hunter2@db:5432/archiver", "S3_ENDPOINT": "https://nyc3.digitaloceanspaces.com",
		"S3_BUCKET": "media", "S3_KEY": "AKIA", "S3_SECRET": "s3cr3t", "PUBLIC_BASE_URL": "https://cdn.example.com/media",
	}
	for k, v := range overrides {
		base[k] = v
	}
	return func(k string) string { return base[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.QuietPeriod != 2*time.Minute || c.Retention != 0 || c.ListenAddr != ":8080" || c.S3ForcePathStyle || c.PartSize != 16<<20 || c.UploadConcurrency != 4 {
		t.Errorf("defaults = %+v", c)
	}
	if got := c.PublicURL("datafruits/2024/05/01/show/a.mp3"); got != "https://cdn.example.com/media/datafruits/2024/05/01/show/a.mp3" {
		t.Errorf("PublicURL = %q", got)
	}
}

func TestLoadNamesEveryBadValueAndHidesSecrets(t *testing.T) {
	_, err := Load(env(map[string]string{
		"ARCHIVER_STATION": "", "ARCHIVER_QUIET_PERIOD": "soon", "S3_FORCE_PATH_STYLE": "maybe",
		"DATABASE_URL": "mysql://u:hunter2@db", "DISCORD_WEBHOOK_URL": "discord.com/api/webhooks/1/t0ken",
		"S3_ENDPOINT": "nyc3.digitaloceanspaces.com", "ARCHIVER_PART_SIZE": "1024",
	}))
	if err == nil {
		t.Fatal("Load accepted bad values")
	}
	msg := err.Error()
	for _, want := range []string{"ARCHIVER_STATION is required", `ARCHIVER_QUIET_PERIOD="soon"`, `S3_FORCE_PATH_STYLE="maybe"`,
		"DATABASE_URL is invalid", "DISCORD_WEBHOOK_URL is invalid", `S3_ENDPOINT="nyc3.digitaloceanspaces.com"`, `ARCHIVER_PART_SIZE="1024"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
	for _, secret := range []string{"hunter2", "t0ken", "s3cr3t"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error leaks secret %q:\n%s", secret, msg)
		}
	}
}
