package blobstore_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/datafruits/infra/apps/archiver/internal/blobstore"
	"github.com/datafruits/infra/apps/archiver/internal/testenv"
	"github.com/minio/minio-go/v7"
)

const partSize = 5 << 20

func newStore(t *testing.T, s3 testenv.S3, endpoint, bucket string) *blobstore.Store {
	t.Helper()
	u, _ := url.Parse(endpoint)
	store, err := blobstore.New(blobstore.Options{Endpoint: u, Region: s3.Region, Bucket: bucket,
		AccessKey: s3.Key, SecretKey: s3.Secret, PathStyle: true, PartSize: partSize, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// archive hashes and uploads a file the way the archiver does.
func archive(ctx context.Context, store *blobstore.Store, path, key string) (blobstore.Digest, error) {
	return store.HashAndUpload(ctx, path, key, "audio/mpeg")
}

func writeRandom(t *testing.T, size int) (string, string) {
	t.Helper()
	data := make([]byte, size)
	r := rand.NewChaCha8([32]byte{byte(size), byte(size >> 8), byte(size >> 16)})
	r.Read(data)
	path := filepath.Join(t.TempDir(), "rec.mp3")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return path, hex.EncodeToString(sum[:])
}

func TestUploadStoresExactContentAndVerifies(t *testing.T) {
	s3 := testenv.Server(t)
	bucket := s3.Bucket(t)
	store := newStore(t, s3, s3.Endpoint, bucket)
	client := s3.Client(t, s3.Endpoint)
	ctx := context.Background()
	for _, size := range []int{1, 1000, partSize, partSize + 1, 2*partSize + 12345} {
		path, want := writeRandom(t, size)
		key := "test/" + t.Name() + "/" + string(rune('a'+size%26)) + ".mp3"
		d, err := archive(ctx, store, path, key)
		if err != nil {
			t.Fatalf("upload %d bytes: %v", size, err)
		}
		if d.Size != int64(size) || d.SHA256 != want {
			t.Errorf("upload %d bytes: digest %+v, want size %d sha256 %s", size, d, size, want)
		}
		if err := store.Verify(ctx, key, d); err != nil {
			t.Errorf("verify %d bytes: %v", size, err)
		}
		obj, err := client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, obj)
		info, _ := obj.Stat()
		obj.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("stored object of %d bytes has sha256 %s, want %s", size, got, want)
		}
		if info.ContentType != "audio/mpeg" {
			t.Errorf("stored content type %q, want audio/mpeg", info.ContentType)
		}
	}
}

func TestUploadRefusesAFileThatChangedSinceItWasHashed(t *testing.T) {
	s3 := testenv.Server(t)
	store := newStore(t, s3, s3.Endpoint, s3.Bucket(t))
	path, _ := writeRandom(t, 1000)
	d, _ := store.Hash(context.Background(), path)
	os.WriteFile(path, make([]byte, 2000), 0o644)
	var local *blobstore.LocalError
	if err := store.Upload(context.Background(), path, "k/changed.mp3", "audio/mpeg", d.Size); !errors.As(err, &local) {
		t.Errorf("upload of a changed file = %v, want a LocalError", err)
	}
}

func TestHashIsTheSameForEveryLaneCount(t *testing.T) {
	// 40 parts: more than the 16 MD5 lanes, so lanes are reused; the ETag must match a plain computation.
	data := make([]byte, 40*partSize+7)
	rand.NewChaCha8([32]byte{9}).Read(data)
	path := filepath.Join(t.TempDir(), "big.mp3")
	os.WriteFile(path, data, 0o644)
	var concatenated []byte
	for off := 0; off < len(data); off += partSize {
		sum := md5.Sum(data[off:min(off+partSize, len(data))])
		concatenated = append(concatenated, sum[:]...)
	}
	sum := md5.Sum(concatenated)
	want := hex.EncodeToString(sum[:]) + "-41"
	u, _ := url.Parse("http://127.0.0.1:1")
	store, _ := blobstore.New(blobstore.Options{Endpoint: u, Bucket: "b", PartSize: partSize, Concurrency: 2})
	d, err := store.Hash(context.Background(), path)
	if err != nil || d.ETag != want || d.Size != int64(len(data)) {
		t.Errorf("Hash = %+v, %v; want ETag %s", d, err, want)
	}
}

func TestVerifyRejectsMissingAndDifferentObjects(t *testing.T) {
	s3 := testenv.Server(t)
	store := newStore(t, s3, s3.Endpoint, s3.Bucket(t))
	ctx := context.Background()
	small, _ := writeRandom(t, 100)
	large, _ := writeRandom(t, partSize+100)
	d, err := archive(ctx, store, small, "k/small.mp3")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Verify(ctx, "k/absent.mp3", d); !errors.Is(err, blobstore.ErrMismatch) {
		t.Errorf("verify of a missing object = %v, want ErrMismatch", err)
	}
	other, _ := store.Hash(ctx, large)
	if err := store.Verify(ctx, "k/small.mp3", other); !errors.Is(err, blobstore.ErrMismatch) {
		t.Errorf("verify against another file's digest = %v, want ErrMismatch", err)
	}
	sameSize := d
	sameSize.ETag = "00000000000000000000000000000000"
	if err := store.Verify(ctx, "k/small.mp3", sameSize); !errors.Is(err, blobstore.ErrMismatch) {
		t.Errorf("verify with a wrong checksum = %v, want ErrMismatch", err)
	}
}

func TestUploadToBucketThatRefusesWritesFailsAndLeavesNothing(t *testing.T) {
	s3 := testenv.Server(t)
	bucket := s3.Bucket(t)
	readOnly := newStore(t, s3, s3.ReadOnlyEndpoint, bucket)
	ctx := context.Background()
	for _, size := range []int{100, 2*partSize + 1} {
		path, _ := writeRandom(t, size)
		if _, err := archive(ctx, readOnly, path, "k/refused.mp3"); err == nil {
			t.Fatalf("upload of %d bytes to a read-only bucket succeeded", size)
		}
	}
	if _, _, found, err := newStore(t, s3, s3.Endpoint, bucket).Stat(ctx, "k/refused.mp3"); err != nil || found {
		t.Errorf("after refused uploads: found=%v err=%v, want no object", found, err)
	}
}

func TestAbortIncompleteRemovesLeftoverMultipartUploads(t *testing.T) {
	s3 := testenv.Server(t)
	bucket := s3.Bucket(t)
	store := newStore(t, s3, s3.Endpoint, bucket)
	core := minio.Core{Client: s3.Client(t, s3.Endpoint)}
	ctx := context.Background()
	if _, err := core.NewMultipartUpload(ctx, bucket, "station/x.mp3", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := core.NewMultipartUpload(ctx, bucket, "other/y.mp3", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	n, err := store.AbortIncomplete(ctx, "station/")
	if err != nil || n != 1 {
		t.Fatalf("AbortIncomplete = %d, %v; want 1 (only under the prefix)", n, err)
	}
	left := 0
	for up := range core.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err == nil {
			left++
		}
	}
	if left != 1 {
		t.Errorf("%d incomplete uploads left, want 1 (the one outside the prefix)", left)
	}
}

func TestUploadIsCancelledCleanly(t *testing.T) {
	s3 := testenv.Server(t)
	bucket := s3.Bucket(t)
	store := newStore(t, s3, s3.Endpoint, bucket)
	path, _ := writeRandom(t, 4*partSize)
	d, err := store.Hash(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := store.Upload(ctx, path, "k/cancelled.mp3", "audio/mpeg", d.Size); err == nil {
		t.Fatal("upload with a cancelled context succeeded")
	}
	if _, _, found, _ := store.Stat(context.Background(), "k/cancelled.mp3"); found {
		t.Error("a cancelled upload left an object")
	}
	left := 0
	for up := range store.Client().ListIncompleteUploads(context.Background(), bucket, "k/", true) {
		if up.Err == nil {
			left++
		}
	}
	if left != 0 {
		t.Errorf("a cancelled upload left %d incomplete multipart uploads", left)
	}
}
