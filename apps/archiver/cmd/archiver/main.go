// Command archiver is the Liquidsoap sidecar that moves finished recordings into the
// media bucket and the database, and announces them on Discord. See ../../README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/announce"
	"github.com/datafruits/infra/apps/archiver/internal/apidb"
	"github.com/datafruits/infra/apps/archiver/internal/archiver"
	"github.com/datafruits/infra/apps/archiver/internal/blobstore"
	"github.com/datafruits/infra/apps/archiver/internal/catalog"
	"github.com/datafruits/infra/apps/archiver/internal/config"
	"github.com/datafruits/infra/apps/archiver/internal/metrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("archiver stopped", "error", err.Error())
		os.Exit(1)
	}
}

// run starts the archiver, the announcer and the HTTP server, and stops them when ctx ends.
func run(ctx context.Context, getenv func(string) string) error {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if info, err := os.Stat(cfg.WatchDir); err != nil || !info.IsDir() {
		return fmt.Errorf("configuration: ARCHIVER_WATCH_DIR=%q is not a readable directory", cfg.WatchDir)
	}

	db, err := catalog.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := blobstore.New(blobstore.Options{
		Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket,
		AccessKey: cfg.S3Key, SecretKey: cfg.S3Secret, PathStyle: cfg.S3ForcePathStyle,
		PartSize: cfg.PartSize, Concurrency: cfg.UploadConcurrency,
	})
	if err != nil {
		return err
	}

	var api *apidb.DB
	if cfg.APIDatabaseURL != "" {
		// One connection: registrations are one short transaction per set.
		if api, err = apidb.Open(ctx, cfg.APIDatabaseURL, 1); err != nil {
			return err
		}
		defer api.Close()
	}

	reg := metrics.NewRegistry()
	archiver.DeclareMetrics(reg)
	announce.DeclareMetrics(reg)
	reg.Gauge("archiver_ready", "1 when the database and the bucket answered the last readiness check.")

	var announcer *announce.Announcer
	if cfg.DiscordWebhookURL != "" {
		announcer = announce.New(db, cfg.DiscordWebhookURL, log, reg)
	}
	arc := archiver.New(archiver.Options{
		Station: cfg.Station, WatchDir: cfg.WatchDir, QuietPeriod: cfg.QuietPeriod, Retention: cfg.Retention,
		ScanInterval: cfg.ScanInterval, ShutdownTimeout: cfg.ShutdownTimeout, PublicURL: cfg.PublicURL,
		Announce: announcer != nil, Register: register(api), Archived: func() {
			if announcer != nil {
				announcer.Wake()
			}
		},
	}, store, db, log, reg)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		checkCtx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		var problems []error
		if err := db.Ping(checkCtx); err != nil {
			problems = append(problems, fmt.Errorf("database: %w", err))
		}
		if api != nil {
			if err := api.Ping(checkCtx); err != nil {
				problems = append(problems, fmt.Errorf("API database: %w", err))
			}
		}
		if err := store.Ping(checkCtx); err != nil {
			problems = append(problems, fmt.Errorf("bucket: %w", err))
		}
		if !arc.Ready() {
			problems = append(problems, errors.New("start-up (schema migration) not finished"))
		}
		if err := errors.Join(problems...); err != nil {
			reg.Set("archiver_ready", 0)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		reg.Set("archiver_ready", 1)
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", reg.Handler())
	server := &http.Server{
		Addr: cfg.ListenAddr, Handler: mux,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() {
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
		close(serveErr)
	}()
	log.Info("archiver starting", "station", cfg.Station, "watch_dir", cfg.WatchDir, "bucket", cfg.S3Bucket,
		"endpoint", cfg.S3Endpoint.String(), "listen_addr", cfg.ListenAddr, "discord", announcer != nil, "registers_in_api", api != nil,
		"quiet_period", cfg.QuietPeriod.String(), "retention", cfg.Retention.String())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var archiveErr error
	wg.Go(func() {
		archiveErr = arc.Run(runCtx)
		cancel()
	})
	if announcer != nil {
		wg.Go(func() { announcer.Run(runCtx, arc.Ready) })
	}
	select {
	case <-runCtx.Done():
	case err := <-serveErr:
		cancel()
		wg.Wait()
		return fmt.Errorf("http server on %s: %w", cfg.ListenAddr, err)
	}
	log.Info("shutting down")
	wg.Wait()
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	log.Info("stopped")
	return archiveErr
}

// register is Options.Register for the API's database, nil without one.
func register(api *apidb.DB) func(context.Context, apidb.Set) (bool, error) {
	if api == nil {
		return nil
	}
	return func(ctx context.Context, s apidb.Set) (bool, error) {
		_, created, err := api.Register(ctx, s)
		return created, err
	}
}
