package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const secretWebhook = "https://discord.com/api/webhooks/123/very-secret-token"

func env(overrides map[string]string) func(string) string {
	base := map[string]string{
		"ONAIR_STATION":     "datafruits",
		"ONAIR_ICECAST_URL": "http://icecast:8000",
		"ONAIR_LISTEN_URL":  "https://stream.datafruits.fm/",
	}
	for k, v := range overrides {
		base[k] = v
	}
	return func(key string) string { return base[key] }
}

func TestLoadAppliesDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.PollInterval != 5*time.Second || c.GracePeriod != 60*time.Second || c.ListenAddr != ":8080" ||
		c.HeartbeatInterval != 15*time.Second || c.MaxStreamClients != 10000 || c.IcecastTimeout != 3*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	if c.ListenURL != "https://stream.datafruits.fm" {
		t.Errorf("ListenURL = %q, want the trailing slash trimmed", c.ListenURL)
	}
	if c.DiscordWebhookURL != "" || c.AllowedOrigins != nil || c.Mounts != nil {
		t.Errorf("optional settings should default to empty: %+v", c)
	}
}

func TestLoadReadsEverySetting(t *testing.T) {
	c, err := Load(env(map[string]string{
		"ONAIR_POLL_INTERVAL":   "250ms",
		"ONAIR_GRACE_PERIOD":    "0s",
		"ONAIR_ALLOWED_ORIGINS": "https://datafruits.fm, https://www.datafruits.fm/",
		"ONAIR_LISTEN_ADDR":     "127.0.0.1:9999",
		"DISCORD_WEBHOOK_URL":   secretWebhook,
		"ONAIR_MOUNTS":          "/datafruits.mp3,/datafruits.ogg",
		"ONAIR_LOG_LEVEL":       "debug",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.PollInterval != 250*time.Millisecond || c.GracePeriod != 0 || c.ListenAddr != "127.0.0.1:9999" ||
		c.DiscordWebhookURL != secretWebhook || c.LogLevel != slog.LevelDebug {
		t.Errorf("config = %+v", c)
	}
	if strings.Join(c.AllowedOrigins, " ") != "https://datafruits.fm https://www.datafruits.fm" {
		t.Errorf("AllowedOrigins = %q", c.AllowedOrigins)
	}
	if strings.Join(c.Mounts, " ") != "/datafruits.mp3 /datafruits.ogg" {
		t.Errorf("Mounts = %q", c.Mounts)
	}
}

func TestLoadNamesEveryBadSetting(t *testing.T) {
	_, err := Load(env(map[string]string{
		"ONAIR_STATION":         "",
		"ONAIR_ICECAST_URL":     "icecast:8000",
		"ONAIR_POLL_INTERVAL":   "5",
		"ONAIR_GRACE_PERIOD":    "-1s",
		"ONAIR_ALLOWED_ORIGINS": "*",
		"ONAIR_LISTEN_ADDR":     "8080",
		"ONAIR_MOUNTS":          "live",
		"DISCORD_WEBHOOK_URL":   "http://discord.com/api/webhooks/123/very-secret-token",
	}))
	if err == nil {
		t.Fatal("Load accepted bad settings")
	}
	for _, key := range []string{"ONAIR_STATION", "ONAIR_ICECAST_URL", "ONAIR_POLL_INTERVAL", "ONAIR_GRACE_PERIOD",
		"ONAIR_ALLOWED_ORIGINS", "ONAIR_LISTEN_ADDR", "ONAIR_MOUNTS", "DISCORD_WEBHOOK_URL"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if strings.Contains(err.Error(), "very-secret-token") {
		t.Errorf("error reveals the webhook URL:\n%v", err)
	}
}

func TestLogValueHidesTheWebhook(t *testing.T) {
	c, err := Load(env(map[string]string{"DISCORD_WEBHOOK_URL": secretWebhook}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
	if strings.Contains(buf.String(), "very-secret-token") || !strings.Contains(buf.String(), `"discord_webhook_set":true`) {
		t.Errorf("log line = %s", buf.String())
	}
}
