package blobstore_test

import (
	"context"
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
		d, err := store.Upload(ctx, path, key, "audio/mpeg")
		if err != nil {
			t.Fatalf("upload %d bytes: %v", size, err)
		}
		if d.Size != int64(size) || d.SHA256 != want {
			t.Errorf("upload %d bytes: digest %+v, want size %d sha256 %s", size, d, size, want)
		}
		if err := store.Verify(ctx, key, d); err != nil {
			t.Errorf("verify %d bytes: %v", size, err)
		}
		hashed, err := store.Hash(ctx, path)
		if err != nil || hashed != d {
			t.Errorf("Hash of %d bytes = %+v, %v; Upload said %+v", size, hashed, err, d)
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

func TestVerifyRejectsMissingAndDifferentObjects(t *testing.T) {
	s3 := testenv.Server(t)
	store := newStore(t, s3, s3.Endpoint, s3.Bucket(t))
	ctx := context.Background()
	small, _ := writeRandom(t, 100)
	large, _ := writeRandom(t, partSize+100)
	d, err := store.Upload(ctx, small, "k/small.mp3", "audio/mpeg")
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
		if _, err := readOnly.Upload(ctx, path, "k/refused.mp3", "audio/mpeg"); err == nil {
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
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.Upload(ctx, path, "k/cancelled.mp3", "audio/mpeg"); err == nil {
		t.Fatal("upload with a cancelled context succeeded")
	}
	if _, _, found, _ := store.Stat(context.Background(), "k/cancelled.mp3"); found {
		t.Error("a cancelled upload left an object")
	}
}
