// Command onair watches an Icecast server and tells the station's site, status
// page, Grafana and Discord who is live, how many are listening and when the
// stream drops. Configuration is read from the environment; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datafruits/infra/apps/onair/internal/config"
	"github.com/datafruits/infra/apps/onair/internal/discord"
	"github.com/datafruits/infra/apps/onair/internal/httpapi"
	"github.com/datafruits/infra/apps/onair/internal/icecast"
	"github.com/datafruits/infra/apps/onair/internal/metrics"
	"github.com/datafruits/infra/apps/onair/internal/nowplaying"
	"github.com/datafruits/infra/apps/onair/internal/sse"
	"github.com/datafruits/infra/apps/onair/internal/watch"
)

// shutdownTimeout bounds graceful shutdown; Kubernetes' default grace period is 30s.
const shutdownTimeout = 15 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "onair:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	logger = logger.With("station", cfg.Station)

	httpClient := &http.Client{Timeout: 30 * time.Second}
	icecastClient := icecast.NewClient(cfg.IcecastURL, httpClient)
	tracker := nowplaying.NewTracker(cfg.Station, cfg.ListenURL, cfg.GracePeriod, cfg.Mounts)
	if cfg.LivePrefix != "" {
		tracker.AnnounceLiveTitles(cfg.LivePrefix, cfg.Mounts[0])
	}
	var fetcher watch.Fetcher = icecastClient
	if len(cfg.Relays) > 0 {
		fetcher = icecast.NewFleet(icecastClient, cfg.Relays, httpClient, logger.With("component", "relays"))
	}
	watcher := watch.New(fetcher, tracker, cfg.PollInterval, cfg.IcecastTimeout, logger)
	hub := sse.NewHub("now-playing", cfg.HeartbeatInterval, cfg.MaxStreamClients)
	watcher.Publish = hub.Publish

	registry := prometheus.NewRegistry()
	watcher.Metrics = metrics.New(registry, cfg.Station, watcher.Snapshot, hub.Clients, hub.EventsSent)

	var notifier *discord.Notifier
	if cfg.DiscordWebhookURL != "" {
		notifier = discord.NewNotifier(cfg.DiscordWebhookURL, httpClient, logger.With("component", "discord"), 64)
		notifier.Result = func(kind, result string) {
			watcher.Metrics.DiscordMessages.WithLabelValues(kind, result).Inc()
		}
		watcher.Announce = func(a nowplaying.Announcement) {
			notifier.Notify(discord.Message{Kind: string(a.Kind), Content: a.Message()})
		}
	}

	listener, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listening on ONAIR_LISTEN_ADDR=%s: %w", cfg.ListenAddr, err)
	}
	server := &http.Server{
		Handler:           httpapi.Handler(watcher.Snapshot, hub, registry, cfg.AllowedOrigins),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// The event stream extends its own write deadline per write.
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("onair starting", "addr", listener.Addr().String(), "icecast_status_url", icecastClient.StatusURL(), "config", cfg)

	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var workers sync.WaitGroup
	workers.Go(func() { watcher.Run(workCtx) })
	if notifier != nil {
		workers.Go(func() { notifier.Run(workCtx) })
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	select {
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		logger.Info("shutting down")
	}

	// Event streams never go idle on their own: end them so Shutdown can finish.
	hub.Close()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if shutdownErr := server.Shutdown(shutdownCtx); shutdownErr != nil && !errors.Is(shutdownErr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", shutdownErr))
	}
	stopWork()
	workers.Wait()
	logger.Info("onair stopped")
	return err
}
