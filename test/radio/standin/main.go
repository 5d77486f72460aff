// Command standin plays the two parties of the audio path that cannot run here: the API
// (streampusher-api's endpoints Liquidsoap and nginx-rtmp call, with the contract read from
// its controllers, docs/radio-upstream.md) and Discord's webhook. It records every call so
// the radio suite can assert on them (GET /_calls on either port).
//
//	STANDIN_API_ADDR, STANDIN_DISCORD_ADDR  listen addresses (127.0.0.1:port)
//	STANDIN_RADIO                           the radio's container_name, picked by the Host's subdomain
//	STANDIN_LIQ_SECRET_FILE                 file holding the API's LIQ_SECRET
//	STANDIN_DJS                             login:password,... of users with the dj role
//	STANDIN_STREAM_KEYS                     stream keys of DJs allowed to publish video
//	STANDIN_MEDIA_DIR                       files served under /media/ (the backup playlist's tracks)
//	STANDIN_NEXT_TRACK                      what GET /next answers as the next track's URL ("" = no tracks)
package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type call struct {
	At        time.Time `json:"at"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Host      string    `json:"host"`
	Status    int       `json:"status"`
	LiqSecret string    `json:"liq_secret"` // "ok", "wrong" or "missing"; never the value
	Body      string    `json:"body"`
}

type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) add(c call) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *recorder) serve(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(r.calls)
}

func main() {
	secretBytes, err := os.ReadFile(os.Getenv("STANDIN_LIQ_SECRET_FILE"))
	liqSecret := strings.TrimSpace(string(secretBytes))
	if err != nil || liqSecret == "" {
		log.Fatalf("STANDIN_LIQ_SECRET_FILE must name a file holding the API's LIQ_SECRET: %v", err)
	}
	radio := os.Getenv("STANDIN_RADIO")
	djs := map[string]string{}
	for _, pair := range strings.Split(os.Getenv("STANDIN_DJS"), ",") {
		if login, password, ok := strings.Cut(pair, ":"); ok {
			djs[strings.ToLower(login)] = password
		}
	}
	keys := map[string]bool{}
	for _, k := range strings.Split(os.Getenv("STANDIN_STREAM_KEYS"), ",") {
		if k != "" {
			keys[k] = true
		}
	}

	api := &recorder{}
	apiMux := http.NewServeMux()
	apiMux.HandleFunc("GET /_calls", api.serve)
	apiMux.Handle("GET /media/", http.StripPrefix("/media/", http.FileServer(http.Dir(os.Getenv("STANDIN_MEDIA_DIR")))))
	apiMux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		c := call{At: time.Now(), Method: r.Method, Path: r.URL.Path, Host: r.Host, Body: string(body), LiqSecret: "missing"}
		if got := r.Header.Get("liq-secret"); got == liqSecret {
			c.LiqSecret = "ok"
		} else if got != "" {
			c.LiqSecret = "wrong"
		}
		// config.force_ssl (production.rb): ActionDispatch::SSL redirects a request that
		// did not come over TLS (Rack's ssl?: X-Forwarded-Proto https) to https, 301 for
		// GET and HEAD, 307 otherwise; the controllers never see it.
		if r.Header.Get("X-Forwarded-Proto") != "https" {
			c.Status = http.StatusTemporaryRedirect
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				c.Status = http.StatusMovedPermanently
			}
			api.add(c)
			http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), c.Status)
			return
		}
		path := strings.TrimSuffix(r.URL.Path, ".json")
		// ApplicationController#current_radio: the radio whose container_name is the Host's
		// subdomain (Rails' tld_length 1: the first label of a three-label host).
		host, _, _ := strings.Cut(r.Host, ":")
		labels := strings.Split(host, ".")
		currentRadio := len(labels) >= 3 && strings.EqualFold(labels[0], radio)
		status := http.StatusNotFound
		var answer any
		switch {
		case r.Method == http.MethodPost && path == "/dj_login":
			status, answer = djLogin(r, body, djs, keys)
		case r.Method == http.MethodGet && path == "/next":
			status = http.StatusOK
			if track := os.Getenv("STANDIN_NEXT_TRACK"); track != "" {
				answer = map[string]string{"cue_out": "0", "cue_in": "0", "fade_out": "0", "fade_in": "0", "track": track}
			} else {
				answer = map[string]string{"error": "No tracks!"}
			}
		case r.Method == http.MethodPost && (path == "/publish_metadata" || path == "/live_notification" || path == "/on_disconnect"):
			// before_action :current_radio_required raises RecordNotFound (404); then
			// liq_authorized? compares the liq-secret header with LIQ_SECRET (401 "not permitted").
			switch {
			case !currentRadio:
				status = http.StatusNotFound
			case c.LiqSecret != "ok":
				status, answer = http.StatusUnauthorized, "not permitted"
			default:
				status = http.StatusOK
			}
		}
		c.Status = status
		api.add(c)
		if answer != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(answer)
			return
		}
		w.WriteHeader(status)
	})

	discord := &recorder{}
	discordMux := http.NewServeMux()
	discordMux.HandleFunc("GET /_calls", discord.serve)
	discordMux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		var msg struct {
			Content string `json:"content"`
		}
		status := http.StatusNoContent
		if json.Unmarshal(body, &msg) != nil || msg.Content == "" {
			status = http.StatusBadRequest // Discord: "Cannot send an empty message"
		}
		discord.add(call{At: time.Now(), Method: r.Method, Path: r.URL.Path, Status: status, Body: string(body)})
		w.WriteHeader(status)
	})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	for _, s := range []struct {
		addr string
		h    http.Handler
	}{{os.Getenv("STANDIN_API_ADDR"), apiMux}, {os.Getenv("STANDIN_DISCORD_ADDR"), discordMux}} {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			log.Fatalf("listen %s: %v", s.addr, err)
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		go func() { <-ctx.Done(); _ = srv.Close() }()
	}
	log.Printf("standin: API on %s, Discord on %s", os.Getenv("STANDIN_API_ADDR"), os.Getenv("STANDIN_DISCORD_ADDR"))
	<-ctx.Done()
}

// djLogin answers as DjSessionsController#create: JSON user[login]/user[password] through
// Devise, or nginx-rtmp's on_publish form (call=publish, name=<stream key>).
func djLogin(r *http.Request, body []byte, djs map[string]string, keys map[string]bool) (int, any) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if err := r.ParseForm(); err == nil && r.PostForm.Get("call") == "publish" {
			if !keys[r.PostForm.Get("name")] {
				return http.StatusUnauthorized, map[string]any{"success": false, "error": "Invalid stream key"}
			}
			return http.StatusOK, map[string]any{"success": true}
		}
	}
	var req struct {
		User struct {
			Login    string `json:"login"`
			Password string `json:"password"`
		} `json:"user"`
	}
	if json.Unmarshal(body, &req) != nil {
		return http.StatusUnauthorized, map[string]any{"success": false, "error": "Invalid login or password"}
	}
	want, ok := djs[strings.ToLower(req.User.Login)]
	if !ok || want != req.User.Password {
		return http.StatusUnauthorized, map[string]any{"success": false, "error": "Invalid login or password"}
	}
	return http.StatusOK, map[string]any{"success": true, "login": req.User.Login}
}
