// Package doapi is a stand-in for the few DigitalOcean API reads a `pulumi
// preview` of staging or prod makes, so that the real engine and the real
// DigitalOcean provider can preview those stacks on a machine that cannot
// reach api.digitalocean.com (the provider takes the address from the
// `digitalocean:apiEndpoint` setting).
//
// It answers exactly two reads, with bodies shaped like the real API's
// (godo's types: KubernetesOptions, LoadBalancer): the Kubernetes versions
// DigitalOcean offers (GetKubernetesVersions) and the load balancers
// (LookupLoadBalancer lists them and picks one by name). Anything else is a
// request the program was not expected to make: it is answered 501 and kept,
// so the test that runs the preview fails naming it. Nothing is ever written.
package doapi

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Version is one Kubernetes version DigitalOcean offers.
type Version struct {
	// Slug is DigitalOcean's name for it, e.g. "1.35.4-do.0".
	Slug string `json:"slug"`
	// KubernetesVersion is the upstream version, e.g. "1.35.4".
	KubernetesVersion string `json:"kubernetes_version"`
	// SupportedFeatures are DOKS features of this version.
	SupportedFeatures []string `json:"supported_features"`
}

// LoadBalancer is the part of a load balancer the program reads.
type LoadBalancer struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	IP     string `json:"ip"`
	Status string `json:"status"`
	Region struct {
		Slug string `json:"slug"`
	} `json:"region"`
}

// Server is the stand-in API on 127.0.0.1.
type Server struct {
	// Versions are offered newest first, as DigitalOcean lists them (the
	// provider takes the first whose slug matches the prefix).
	Versions []Version
	// LoadBalancers are the account's load balancers.
	LoadBalancers []LoadBalancer

	mu         sync.Mutex
	requests   []string
	unexpected []string
	listener   net.Listener
	srv        *http.Server
}

// DefaultVersions are the versions DigitalOcean offered in November 2026,
// newest first (the shape of GET /v2/kubernetes/options).
func DefaultVersions() []Version {
	features := []string{"cluster-autoscaler", "docr-integration", "ha-control-plane", "token-authentication"}
	return []Version{
		{Slug: "1.35.4-do.0", KubernetesVersion: "1.35.4", SupportedFeatures: features},
		{Slug: "1.34.7-do.1", KubernetesVersion: "1.34.7", SupportedFeatures: features},
		{Slug: "1.33.11-do.2", KubernetesVersion: "1.33.11", SupportedFeatures: features},
	}
}

// Start listens on a free port of 127.0.0.1 and serves until Close.
func (s *Server) Start() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.listener = l
	s.srv = &http.Server{Handler: s}
	go s.srv.Serve(l) //nolint:errcheck // ends with Close
	return nil
}

// URL is the address to give as digitalocean:apiEndpoint.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Requests are the requests answered, as "METHOD /path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Unexpected are the requests the stand-in does not implement.
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

// ServeHTTP implements the two reads.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.requests = append(s.requests, call)
	s.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"id": "unauthorized", "message": "Unable to authenticate you"})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v2/kubernetes/options":
		writeJSON(w, http.StatusOK, map[string]any{"options": map[string]any{
			"versions": s.Versions,
			"regions":  []map[string]string{{"name": "New York 3", "slug": "nyc3"}},
			"sizes":    []map[string]string{{"name": "s-2vcpu-4gb", "slug": "s-2vcpu-4gb"}},
		}})
	case r.Method == http.MethodGet && r.URL.Path == "/v2/load_balancers":
		lbs := s.LoadBalancers
		if lbs == nil {
			lbs = []LoadBalancer{}
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"load_balancers": lbs,
			"links":          map[string]any{},
			"meta":           map[string]int{"total": len(lbs)},
		})
	default:
		s.mu.Lock()
		s.unexpected = append(s.unexpected, call)
		s.mu.Unlock()
		writeJSON(w, http.StatusNotImplemented, map[string]string{
			"id":      "not_implemented",
			"message": fmt.Sprintf("the DigitalOcean stand-in does not implement %s: a preview was not expected to make this call", call),
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	// godo reads the rate limit from every response.
	w.Header().Set("Ratelimit-Limit", "5000")
	w.Header().Set("Ratelimit-Remaining", "4999")
	w.Header().Set("Ratelimit-Reset", "0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
