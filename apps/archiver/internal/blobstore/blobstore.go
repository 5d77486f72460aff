// Package blobstore uploads recordings to an S3-compatible bucket and proves they arrived.
//
// Archiving a file takes two reads of it, side by side, both streaming with small fixed buffers:
//
//   - Hash computes the whole file's SHA-256 (the recording's identity) and the MD5 of each
//     upload part, from which it derives the ETag an S3 server gives that content. The part
//     MD5s are computed side by side in the lanes of one AVX2 MD5 server, so the file's MD5
//     costs a fraction of a CPU second per GiB instead of a full core.
//   - Upload sends the parts straight from the file (io.SectionReader), several at once.
//
// HashAndUpload runs both at once.
//
// Verify then checks the stored object with a HEAD request: its size and its ETag, which the
// server computes from the bytes it received, must equal the local file's. That end-to-end
// check is the integrity guarantee, so the payload is sent unsigned and without Content-MD5
// (each would make the server hash every byte once more; over TLS, minio-go sends unsigned
// payloads anyway). ETags are MD5-based on Spaces and on most S3-compatible servers; the newer
// x-amz-checksum-* headers are not supported everywhere, so they are not relied on.
package blobstore

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	md5simd "github.com/minio/md5-simd"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options configures a Store.
type Options struct {
	// Endpoint is the S3 API URL; its scheme decides TLS.
	Endpoint *url.URL
	// Region is the bucket's region.
	Region string
	// Bucket is the bucket every object goes to.
	Bucket string
	// AccessKey and SecretKey sign the requests.
	AccessKey, SecretKey string
	// PathStyle addresses the bucket in the URL path.
	PathStyle bool
	// PartSize is the multipart part size; files up to this size are sent in one PUT.
	PartSize int64
	// Concurrency is how many parts are in flight at once.
	Concurrency int
}

// Store is an S3 bucket that recordings are archived into.
type Store struct {
	core        *minio.Core
	bucket      string
	partSize    int64
	concurrency int
	md5Lanes    md5simd.Server
}

// Digest is what reading a file tells about its content.
type Digest struct {
	// Size is the number of bytes read.
	Size int64
	// SHA256 is the hex SHA-256 of the whole content: the recording's identity.
	SHA256 string
	// ETag is the ETag an S3 server computes for this content uploaded with the store's part size.
	ETag string
}

// LocalError is a failure to read the local file, as opposed to a failure of the server.
type LocalError struct{ Err error }

func (e *LocalError) Error() string { return e.Err.Error() }
func (e *LocalError) Unwrap() error { return e.Err }

// ErrMismatch reports a stored object that differs from the local file.
var ErrMismatch = errors.New("stored object differs from the local file")

const (
	// md5Lanes is how many part MD5s are computed at once: the AVX2 server's lane count.
	md5Lanes = 16
	// readBuffer is the size of each read while hashing; lanes+1 of them exist during Hash.
	readBuffer = 256 << 10
)

// New returns a Store for opts.
func New(opts Options) (*Store, error) {
	lookup := minio.BucketLookupDNS
	if opts.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.NewCore(opts.Endpoint.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:       opts.Endpoint.Scheme == "https",
		Region:       opts.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", opts.Endpoint.Host, err)
	}
	return &Store{core: client, bucket: opts.Bucket, partSize: opts.PartSize,
		concurrency: max(1, opts.Concurrency), md5Lanes: md5simd.NewServer()}, nil
}

// Client returns the underlying minio-go client, so benchmarks can compare with a direct upload.
func (s *Store) Client() *minio.Client { return s.core.Client }

// Ping checks that the bucket exists and the credentials can see it.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("bucket %s does not exist", s.bucket)
	}
	return nil
}

// Stat returns the stored object's size and ETag; found is false when there is no such object.
func (s *Store) Stat(ctx context.Context, key string) (size int64, etag string, found bool, err error) {
	info, err := s.core.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return 0, "", false, nil
		}
		return 0, "", false, fmt.Errorf("stat %s: %w", key, err)
	}
	return info.Size, strings.Trim(info.ETag, `"`), true, nil
}

// Verify checks that the object at key holds exactly the content described by d.
func (s *Store) Verify(ctx context.Context, key string, d Digest) error {
	size, etag, found, err := s.Stat(ctx, key)
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("%w: %s is missing", ErrMismatch, key)
	case size != d.Size:
		return fmt.Errorf("%w: %s has %d bytes, the file %d", ErrMismatch, key, size, d.Size)
	case !strings.EqualFold(etag, d.ETag):
		return fmt.Errorf("%w: %s has ETag %s, the file %s", ErrMismatch, key, etag, d.ETag)
	}
	return nil
}

// Remove deletes an object.
func (s *Store) Remove(ctx context.Context, key string) error {
	return s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
}

// AbortIncomplete aborts multipart uploads under prefix that a previous run left behind,
// so a crash mid-upload does not leave parts billed forever. It returns how many it aborted.
func (s *Store) AbortIncomplete(ctx context.Context, prefix string) (int, error) {
	aborted := 0
	for upload := range s.core.ListIncompleteUploads(ctx, s.bucket, prefix, true) {
		if upload.Err != nil {
			return aborted, upload.Err
		}
		if err := s.core.AbortMultipartUpload(ctx, s.bucket, upload.Key, upload.UploadID); err != nil {
			return aborted, err
		}
		aborted++
	}
	return aborted, nil
}

// parts splits size into the store's upload parts: offsets and lengths.
func (s *Store) parts(size int64) (offsets, lengths []int64) {
	for off := int64(0); off < size || off == 0; off += s.partSize {
		offsets = append(offsets, off)
		lengths = append(lengths, min(s.partSize, size-off))
		if size == 0 {
			break
		}
	}
	return offsets, lengths
}

// Hash reads the file at path and returns its digest.
func (s *Store) Hash(ctx context.Context, path string) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, &LocalError{err}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Digest{}, &LocalError{err}
	}
	size := info.Size()
	offsets, lengths := s.parts(size)

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		partMD5s = make([][md5.Size]byte, len(offsets))
		whole    = sha256.New()
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = &LocalError{fmt.Errorf("read %s: %w", path, err)} }) }
	hashRange := func(h io.Writer, off, n int64) {
		buf := make([]byte, readBuffer)
		for done := int64(0); done < n; {
			if ctx.Err() != nil {
				errOnce.Do(func() { firstErr = ctx.Err() })
				return
			}
			m, err := f.ReadAt(buf[:min(int64(len(buf)), n-done)], off+done)
			h.Write(buf[:m])
			done += int64(m)
			if err != nil && done < n {
				fail(err)
				return
			}
		}
	}
	// The SHA-256 must see the bytes in order: one sequential reader.
	wg.Go(func() { hashRange(whole, 0, size) })
	// Part MD5s are independent: up to md5Lanes at once. A single part is faster on the stdlib.
	next := make(chan int)
	for range min(md5Lanes, len(offsets)) {
		wg.Go(func() {
			for i := range next {
				var h md5simd.Hasher
				if len(offsets) == 1 {
					h = md5simd.StdlibHasher()
				} else {
					h = s.md5Lanes.NewHash()
				}
				hashRange(h, offsets[i], lengths[i])
				h.Sum(partMD5s[i][:0])
				h.Close()
			}
		})
	}
	for i := range offsets {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return Digest{}, firstErr
	}
	concatenated := make([]byte, 0, len(partMD5s)*md5.Size)
	for _, sum := range partMD5s {
		concatenated = append(concatenated, sum[:]...)
	}
	return Digest{Size: size, SHA256: hex.EncodeToString(whole.Sum(nil)), ETag: multipartETag(concatenated)}, nil
}

// multipartETag is the ETag S3 gives content from its parts' MD5s, concatenated: the MD5
// itself for one part sent with a single PUT, else MD5 of the MD5s with a "-count" suffix.
func multipartETag(partMD5s []byte) string {
	if parts := len(partMD5s) / md5.Size; parts > 1 {
		sum := md5.Sum(partMD5s)
		return fmt.Sprintf("%s-%d", hex.EncodeToString(sum[:]), parts)
	}
	return hex.EncodeToString(partMD5s)
}

// HashAndUpload hashes the file at path and uploads it to key at the same time (two
// overlapped reads, so hashing and sending share the cores instead of taking turns) and
// returns its digest. It does not verify the stored object: call Verify.
func (s *Store) HashAndUpload(ctx context.Context, path, key, contentType string) (Digest, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Digest{}, &LocalError{err}
	}
	hashCtx, cancelHash := context.WithCancel(ctx)
	defer cancelHash()
	var d Digest
	var hashErr error
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		d, hashErr = s.Hash(hashCtx, path)
	}()
	uploadErr := s.Upload(ctx, path, key, contentType, info.Size())
	if uploadErr != nil {
		cancelHash()
	}
	<-hashed
	switch {
	case uploadErr != nil:
		return Digest{}, uploadErr
	case hashErr != nil:
		return Digest{}, hashErr
	case d.Size != info.Size():
		return Digest{}, &LocalError{fmt.Errorf("%s changed while it was uploaded", path)}
	}
	return d, nil
}

// Upload sends size bytes of the file at path to key. It does not verify the stored
// object: call Verify. On error or cancellation a multipart upload is aborted.
func (s *Store) Upload(ctx context.Context, path, key, contentType string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return &LocalError{err}
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || info.Size() != size {
		return &LocalError{fmt.Errorf("%s changed since it was hashed", path)}
	}
	putOpts := minio.PutObjectOptions{ContentType: contentType, CacheControl: "public, max-age=31536000, immutable",
		DisableContentSha256: true}
	offsets, lengths := s.parts(size)
	if len(offsets) == 1 {
		_, err := s.core.PutObject(ctx, s.bucket, key, io.NewSectionReader(f, 0, size), size, "", "", putOpts)
		return err
	}

	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, putOpts)
	if err != nil {
		return fmt.Errorf("start multipart upload of %s: %w", key, err)
	}
	abort := func(cause error) error {
		// The caller's context may be the cancelled one: give the abort its own short deadline.
		abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.core.AbortMultipartUpload(abortCtx, s.bucket, key, uploadID); err != nil {
			return errors.Join(cause, fmt.Errorf("abort multipart upload: %w", err))
		}
		return cause
	}

	uploadCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		completed = make([]minio.CompletePart, 0, len(offsets))
		firstErr  error
	)
	next := make(chan int)
	for range min(s.concurrency, len(offsets)) {
		wg.Go(func() {
			for i := range next {
				// A SectionReader is a Seeker, so minio-go can rewind it to retry a part.
				op, err := s.core.PutObjectPart(uploadCtx, s.bucket, key, uploadID, i+1,
					io.NewSectionReader(f, offsets[i], lengths[i]), lengths[i],
					minio.PutObjectPartOptions{DisableContentSha256: true})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("upload part %d of %s: %w", i+1, key, err)
					cancel(firstErr)
				}
				if err == nil {
					completed = append(completed, minio.CompletePart{PartNumber: i + 1, ETag: op.ETag})
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i := range offsets {
		select {
		case next <- i:
		case <-uploadCtx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && uploadCtx.Err() != nil {
		firstErr = context.Cause(uploadCtx)
	}
	if firstErr != nil {
		return abort(firstErr)
	}
	slices.SortFunc(completed, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, completed, putOpts); err != nil {
		return abort(fmt.Errorf("complete multipart upload of %s: %w", key, err))
	}
	return nil
}
