// Package testenv gives tests a fresh database and bucket on the real servers that
// scripts/test/apps-archiver.sh starts. Without the servers' environment a test fails
// under CI=true and is skipped elsewhere, with one line naming it.
package testenv

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Variables the test script sets.
const (
	EnvDatabaseURL    = "ARCHIVER_TEST_DATABASE_URL"
	EnvS3Endpoint     = "ARCHIVER_TEST_S3_ENDPOINT"
	EnvS3ReadOnly     = "ARCHIVER_TEST_S3_READONLY_ENDPOINT"
	EnvS3Key          = "ARCHIVER_TEST_S3_KEY"
	EnvS3Secret       = "ARCHIVER_TEST_S3_SECRET"
	defaultS3Region   = "us-east-1"
	scriptThatSetsEnv = "scripts/test/apps-archiver.sh"
)

// Require fails (under CI=true) or skips the test unless every named variable is set.
func Require(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := t.Name() + " needs the real test servers: " + strings.Join(missing, ", ") + " not set (" + scriptThatSetsEnv + " sets them)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Suffix returns a short random name part.
func Suffix() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Database creates a fresh database for the test, drops it afterwards, and returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	Require(t, EnvDatabaseURL)
	admin := os.Getenv(EnvDatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to the test database server: %v", err)
	}
	defer conn.Close(ctx)
	name := "archiver_test_" + Suffix()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// APISchema is the part of the API's schema the archiver writes to.
//
//go:embed api-schema.sql
var APISchema string

// APIDatabase is Database holding the API's tables (APISchema), one radio
// named station and a user per DJ username.
func APIDatabase(t testing.TB, station string, djs ...string) string {
	t.Helper()
	u := Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, APISchema); err != nil {
		t.Fatalf("load the API schema: %v", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO radios (name) VALUES ($1)`, station); err != nil {
		t.Fatal(err)
	}
	for _, dj := range djs {
		if _, err := conn.Exec(ctx, `INSERT INTO users (username, email) VALUES ($1::text, $1::text || '@example.invalid')`, dj); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// S3 describes the test S3 server.
type S3 struct {
	Endpoint, ReadOnlyEndpoint, Key, Secret, Region string
}

// Server returns the test S3 server's settings.
func Server(t testing.TB) S3 {
	t.Helper()
	Require(t, EnvS3Endpoint, EnvS3ReadOnly, EnvS3Key, EnvS3Secret)
	return S3{os.Getenv(EnvS3Endpoint), os.Getenv(EnvS3ReadOnly), os.Getenv(EnvS3Key), os.Getenv(EnvS3Secret), defaultS3Region}
}

// Client returns a minio client for endpoint.
func (s S3) Client(t testing.TB, endpoint string) *minio.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(s.Key, s.Secret, ""), Secure: u.Scheme == "https",
		Region: s.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bucket creates a fresh bucket, empties and removes it afterwards, and returns its name.
func (s S3) Bucket(t testing.TB) string {
	t.Helper()
	client := s.Client(t, s.Endpoint)
	name := "archiver-test-" + Suffix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for obj := range client.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				client.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		for up := range client.ListIncompleteUploads(ctx, name, "", true) {
			if up.Err == nil {
				client.RemoveIncompleteUpload(ctx, name, up.Key)
			}
		}
		client.RemoveBucket(ctx, name)
	})
	return name
}
