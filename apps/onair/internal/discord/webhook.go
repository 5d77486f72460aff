// Package discord posts messages to a Discord webhook from a queue, retrying
// failures, so a slow or failing Discord never holds up the caller.
package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Message is one message to post.
type Message struct {
	// Kind labels the message in logs and metrics, such as "live".
	Kind string
	// Content is the message text.
	Content string
}

// Notifier posts queued messages to one webhook, in order.
type Notifier struct {
	webhookURL string
	client     *http.Client
	logger     *slog.Logger
	queue      chan Message
	// Attempts is how many times a message is tried before it is given up.
	Attempts int
	// Backoff is the wait before the first retry; it doubles up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// DrainTimeout bounds posting what is still queued at shutdown.
	DrainTimeout time.Duration
	// Result, when set, is called once per message with "sent", "failed" or "dropped".
	Result func(kind, result string)
}

// NewNotifier returns a Notifier for webhookURL (a secret: it is never logged)
// holding up to queueSize waiting messages.
func NewNotifier(webhookURL string, client *http.Client, logger *slog.Logger, queueSize int) *Notifier {
	return &Notifier{
		webhookURL:   webhookURL,
		client:       client,
		logger:       logger,
		queue:        make(chan Message, queueSize),
		Attempts:     5,
		Backoff:      time.Second,
		MaxBackoff:   30 * time.Second,
		DrainTimeout: 5 * time.Second,
	}
}

// Notify queues msg without blocking. When the queue is full the message is
// dropped and logged.
func (n *Notifier) Notify(msg Message) {
	select {
	case n.queue <- msg:
	default:
		n.logger.Error("discord queue full, message dropped", "kind", msg.Kind)
		n.report(msg.Kind, "dropped")
	}
}

// Run posts queued messages until ctx ends, then tries what is still queued
// once each within DrainTimeout.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case msg := <-n.queue:
			n.deliver(ctx, msg, n.Attempts)
		case <-ctx.Done():
			drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.DrainTimeout)
			defer cancel()
			for {
				select {
				case msg := <-n.queue:
					n.deliver(drainCtx, msg, 1)
				default:
					return
				}
			}
		}
	}
}

func (n *Notifier) deliver(ctx context.Context, msg Message, attempts int) {
	wait := n.Backoff
	for attempt := 1; ; attempt++ {
		retryAfter, err := n.post(ctx, msg.Content)
		if err == nil {
			n.logger.Info("discord message sent", "kind", msg.Kind, "attempt", attempt)
			n.report(msg.Kind, "sent")
			return
		}
		var permanent *permanentError
		if attempt >= attempts || errors.As(err, &permanent) || ctx.Err() != nil {
			n.logger.Error("discord message failed, giving up", "kind", msg.Kind, "attempt", attempt, "error", err)
			n.report(msg.Kind, "failed")
			return
		}
		if retryAfter > 0 {
			wait = retryAfter
		}
		n.logger.Warn("discord message failed, will retry", "kind", msg.Kind, "attempt", attempt, "retry_in", wait, "error", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, n.MaxBackoff)
	}
}

// permanentError is a rejection that retrying will not fix, such as a deleted webhook.
type permanentError struct{ code int }

func (e *permanentError) Error() string {
	return fmt.Sprintf("discord rejected the message: HTTP %d", e.code)
}

// post sends one message. On a rate limit it returns how long Discord asked to wait.
func (n *Notifier) post(ctx context.Context, content string) (time.Duration, error) {
	body, err := json.Marshal(map[string]any{
		"content": content,
		// A show title containing "@everyone" must not ping the whole server.
		"allowed_mentions": map[string]any{"parse": []string{}},
	})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("cannot build the webhook request")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		// *url.Error's message contains the webhook URL, whose path is the secret token.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return 0, fmt.Errorf("posting to the webhook: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return retryAfter(resp), fmt.Errorf("discord rate limit: HTTP %d", resp.StatusCode)
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("discord unavailable: HTTP %d", resp.StatusCode)
	default:
		return 0, &permanentError{code: resp.StatusCode}
	}
}

// retryAfter reads Discord's rate-limit wait: the Retry-After header, else the
// JSON body's retry_after, both in seconds.
func retryAfter(resp *http.Response) time.Duration {
	if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	var body struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) == nil && body.RetryAfter > 0 {
		return time.Duration(body.RetryAfter * float64(time.Second))
	}
	return 0
}

func (n *Notifier) report(kind, result string) {
	if n.Result != nil {
		n.Result(kind, result)
	}
}
