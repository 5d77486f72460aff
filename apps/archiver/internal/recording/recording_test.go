package recording

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDescribe(t *testing.T) {
	mod := time.Date(2024, 5, 2, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		rel, key, show, contentType string
		fromName                    bool
	}{
		{"datafruits-2024-05-01-20-30-00.mp3", "datafruits/2024/05/01/unscheduled/datafruits-2024-05-01-20-30-00.mp3", "unscheduled", "audio/mpeg", true},
		{"Night Shift 20240501_203000.ogg", "datafruits/2024/05/01/night-shift/night-shift-20240501-203000-", "night-shift", "audio/ogg", true},
		{"lofi-hours/2024-05-01T20:30:00.flac", "datafruits/2024/05/01/lofi-hours/2024-05-01t20-30-00-", "lofi-hours", "audio/flac", true},
		{"ÜBER ☃ show!!.mp3", "datafruits/2024/05/02/ber-show/ber-show-", "ber-show", "audio/mpeg", false},
		{"noext", "datafruits/2024/05/02/noext/noext", "noext", "application/octet-stream", false},
	}
	for _, tt := range tests {
		got := Describe("datafruits", tt.rel, mod, 0)
		if !strings.HasPrefix(got.Key, tt.key) || got.Show != tt.show || got.ContentType != tt.contentType || got.StartFromName != tt.fromName {
			t.Errorf("Describe(%q) = key %q show %q type %q fromName %v; want key prefix %q show %q type %q fromName %v",
				tt.rel, got.Key, got.Show, got.ContentType, got.StartFromName, tt.key, tt.show, tt.contentType, tt.fromName)
		}
		for _, r := range got.Key {
			if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789-./", r) {
				t.Errorf("Describe(%q).Key = %q has unsafe character %q", tt.rel, got.Key, r)
			}
		}
	}
	a, b := Describe("s", "a☃.mp3", mod, 0), Describe("s", "a★.mp3", mod, 0)
	if a.Key == b.Key {
		t.Errorf("two odd names map to one key %q", a.Key)
	}
	if d := Describe("s", "x.mp3", mod, time.Hour); !d.StartedAt.Equal(mod.Add(-time.Hour)) {
		t.Errorf("start without a timestamp in the name = %v, want modification time less duration %v", d.StartedAt, mod.Add(-time.Hour))
	}
}

func TestIsCandidate(t *testing.T) {
	for name, want := range map[string]bool{"a.mp3": true, ".a.mp3": false, "a.mp3.part": false, "a.TMP": false} {
		if IsCandidate(name) != want {
			t.Errorf("IsCandidate(%q) = %v, want %v", name, !want, want)
		}
	}
}

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDuration(t *testing.T) {
	// 10 s of 128 kbit/s MPEG-1 layer III CBR: 160,000 bytes of frames.
	cbr := make([]byte, 160000)
	copy(cbr, []byte{0xFF, 0xFB, 0x90, 0x64})
	// A Xing header saying 1000 frames of 1152 samples at 44.1 kHz.
	xing := make([]byte, 4000)
	copy(xing, []byte{0xFF, 0xFB, 0x90, 0x64})
	copy(xing[36:], "Xing\x00\x00\x00\x01")
	binary.BigEndian.PutUint32(xing[44:], 1000)
	// WAV: 2 s at 8000 bytes/s.
	wav := make([]byte, 44+16000)
	copy(wav, "RIFF\x00\x00\x00\x00WAVEfmt ")
	binary.LittleEndian.PutUint32(wav[16:], 16)
	binary.LittleEndian.PutUint32(wav[28:], 8000)
	copy(wav[36:], "data")
	binary.LittleEndian.PutUint32(wav[40:], 16000)
	// FLAC: 3 s at 48 kHz.
	flac := make([]byte, 42)
	copy(flac, "fLaC")
	info := flac[8:]
	rate, samples := uint64(48000), uint64(144000)
	info[10], info[11], info[12] = byte(rate>>12), byte(rate>>4), byte(rate<<4)
	binary.BigEndian.PutUint32(info[14:], uint32(samples))
	// Ogg Opus: last granule 48000*5 + 312 pre-skip.
	ogg := make([]byte, 200)
	copy(ogg, "OggS")
	copy(ogg[28:], "OpusHead\x01\x02")
	binary.LittleEndian.PutUint16(ogg[38:], 312)
	copy(ogg[100:], "OggS")
	binary.LittleEndian.PutUint64(ogg[106:], 48000*5+312)

	tests := []struct {
		name string
		data []byte
		want time.Duration
	}{
		{"cbr.mp3", cbr, 10 * time.Second},
		{"xing.mp3", xing, 26122448979 * time.Nanosecond},
		{"a.wav", wav, 2 * time.Second},
		{"a.flac", flac, 3 * time.Second},
		{"a.opus", ogg, 5 * time.Second},
	}
	for _, tt := range tests {
		got, ok := Duration(write(t, tt.name, tt.data))
		if !ok || (got-tt.want).Abs() > 10*time.Millisecond {
			t.Errorf("Duration(%s) = %v, %v; want %v", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := Duration(write(t, "random.mp3", []byte("not audio at all"))); ok {
		t.Error("Duration of a non-audio .mp3 reported a duration")
	}
}

// TestDescribeFindsTheDJ: the radio's Liquidsoap script names live sets
// <station>-<dj>-<Y-m-d-H-M-S>.mp3 (components/radio/templates/radio.liq.tmpl);
// the DJ is what the API's users table knows them by.
func TestDescribeFindsTheDJ(t *testing.T) {
	mod := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	for rel, want := range map[string]string{
		"datafruits-ovenrake-2026-11-30-20-00-00.mp3":     "ovenrake",
		"datafruits-dj-two-words-2026-11-30-20-00-00.mp3": "dj-two-words",
		"datafruits-Ünï☃-2026-11-30-20-00-00.mp3":         "Ünï☃",
		"datafruits-2026-11-30-20-00-00.mp3":              "",
		"other-ovenrake-2026-11-30-20-00-00.mp3":          "",
		"datafruits-ovenrake.mp3":                         "",
	} {
		if got := Describe("datafruits", rel, mod, 0).DJ; got != want {
			t.Errorf("Describe(%q).DJ = %q, want %q", rel, got, want)
		}
	}
}
