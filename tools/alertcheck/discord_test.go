package alertcheck

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"
)

// discordMessage is what Discord's "Execute Webhook" endpoint takes
// (discord.com/developers/docs/resources/webhook#execute-webhook; embed
// limits: resources/message#embed-object-embed-limits).
type discordMessage struct {
	Content   string         `json:"content"`
	Username  string         `json:"username,omitempty"`
	AvatarURL string         `json:"avatar_url,omitempty"`
	Embeds    []discordEmbed `json:"embeds"`
}

type discordEmbed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Color       int    `json:"color"`
}

// discordStandIn implements Discord's webhook contract on 127.0.0.1: POST
// /api/webhooks/{id}/{token} with a JSON body holding content or embeds
// within Discord's limits, answered 204 No Content (200 with the message
// when ?wait=true); anything else gets Discord's 400 or 404. Accepted
// messages are kept for the test to read.
type discordStandIn struct {
	mu       sync.Mutex
	messages []discordMessage
	rejected []string
	arrived  chan struct{}
	server   *httptest.Server
	// caFile holds the stand-in's certificate, for clients to trust.
	caFile string
}

var webhookPath = regexp.MustCompile(`^/api/webhooks/[0-9]+/[A-Za-z0-9_.-]+$`)

// startDiscordStandIn serves HTTPS on addr (the program accepts only https://
// webhooks) with httptest's certificate for 127.0.0.1, written to dir.
func startDiscordStandIn(addr, dir string) (*discordStandIn, error) {
	d := &discordStandIn{arrived: make(chan struct{}, 64)}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	d.server = httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	d.server.Listener.Close()
	d.server.Listener = ln
	d.server.StartTLS()
	d.caFile = filepath.Join(dir, "discord-ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.server.Certificate().Raw})
	if err := os.WriteFile(d.caFile, cert, 0o644); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *discordStandIn) reject(w http.ResponseWriter, status int, reason string) {
	d.mu.Lock()
	d.rejected = append(d.rejected, reason)
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message": %q, "code": 50006}`, reason)
}

func (d *discordStandIn) serve(w http.ResponseWriter, r *http.Request) {
	if !webhookPath.MatchString(r.URL.Path) {
		d.reject(w, http.StatusNotFound, "Unknown Webhook: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		d.reject(w, http.StatusMethodNotAllowed, "405: Method Not Allowed")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		d.reject(w, http.StatusBadRequest, "Content-Type must be application/json, got "+ct)
		return
	}
	var msg discordMessage
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil {
		d.reject(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	switch {
	case msg.Content == "" && len(msg.Embeds) == 0:
		d.reject(w, http.StatusBadRequest, "Cannot send an empty message")
		return
	case utf8.RuneCountInString(msg.Content) > 2000:
		d.reject(w, http.StatusBadRequest, "content longer than 2000")
		return
	case len(msg.Embeds) > 10:
		d.reject(w, http.StatusBadRequest, "more than 10 embeds")
		return
	}
	for _, e := range msg.Embeds {
		if utf8.RuneCountInString(e.Title) > 256 || utf8.RuneCountInString(e.Description) > 4096 {
			d.reject(w, http.StatusBadRequest, "embed over Discord's limits")
			return
		}
	}
	d.mu.Lock()
	d.messages = append(d.messages, msg)
	d.mu.Unlock()
	d.arrived <- struct{}{}
	if r.URL.Query().Get("wait") == "true" {
		w.Header().Set("Content-Type", "application/json")
		var b bytes.Buffer
		json.NewEncoder(&b).Encode(msg)
		w.Write(b.Bytes())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// wait returns the next accepted message, or false after timeout.
func (d *discordStandIn) wait(timeout time.Duration) (discordMessage, bool) {
	select {
	case <-d.arrived:
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.messages[len(d.messages)-1], true
	case <-time.After(timeout):
		return discordMessage{}, false
	}
}

func (d *discordStandIn) rejections() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.rejected...)
}
