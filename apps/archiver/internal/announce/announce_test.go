package announce

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/catalog"
)

func sample() *catalog.Recording {
	d := 2*time.Hour + 3*time.Second
	return &catalog.Recording{Station: "datafruits", Show: "@everyone-party", PublicURL: "https://cdn.example/a.mp3",
		StartedAt: time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC), Duration: &d}
}

func TestMessageNamesTheShowAndNeverPings(t *testing.T) {
	body, err := Message(sample())
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Content         string `json:"content"`
		AllowedMentions struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"@everyone-party", "2024-05-01 20:00", "2h0m3s", "https://cdn.example/a.mp3"} {
		if !strings.Contains(msg.Content, want) {
			t.Errorf("message %q lacks %q", msg.Content, want)
		}
	}
	if msg.AllowedMentions.Parse == nil || len(msg.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions.parse = %v, want [] so no name in a show title pings anyone", msg.AllowedMentions.Parse)
	}
}

func TestPostTellsDefiniteFailuresFromUnknownOutcomes(t *testing.T) {
	answer := func(status int, header map[string]string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
		}))
		t.Cleanup(s.Close)
		return s
	}
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stop) }) // runs first: release the handler so Close can return
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name       string
		url        string
		wantErr    bool
		definite   bool
		retryAfter time.Duration
	}{
		{"204 is sent", answer(http.StatusNoContent, nil).URL, false, false, 0},
		{"500 is retried", answer(http.StatusInternalServerError, nil).URL, true, true, 0},
		{"429 waits as told", answer(http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}).URL, true, true, 7 * time.Second},
		{"refused connection is retried", closed.URL, true, true, 0},
		{"timeout after sending is unknown", hang.URL, true, false, 0},
	}
	for _, tt := range tests {
		a := New(nil, tt.url+"/api/webhooks/1/secret-token", nil, nil)
		a.client.Timeout = 300 * time.Millisecond
		retryAfter, err := a.post(context.Background(), sample())
		var definite *definiteError
		if (err != nil) != tt.wantErr || errors.As(err, &definite) != tt.definite || retryAfter != tt.retryAfter {
			t.Errorf("%s: err=%v definite=%v retryAfter=%v; want err=%v definite=%v retryAfter=%v",
				tt.name, err, errors.As(err, &definite), retryAfter, tt.wantErr, tt.definite, tt.retryAfter)
		}
		if err != nil && strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: error %q leaks the webhook token", tt.name, err)
		}
	}
}
