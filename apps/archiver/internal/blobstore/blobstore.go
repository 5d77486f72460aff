// Package blobstore uploads recordings to an S3-compatible bucket and proves they arrived.
//
// A file is read once, in order, one part at a time: each part is hashed (SHA-256 of the
// whole file for identity, MD5 of the part for S3's ETag) and handed to a small pool of
// part uploaders. Memory is bounded by (Concurrency+1) × PartSize whatever the file size.
// The stored object is then checked with a HEAD request: its size and its ETag, which the
// server computes from the bytes it received, must equal what was read locally.
package blobstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

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
	// Transport overrides the HTTP transport (tests); nil uses minio-go's default.
	Transport http.RoundTripper
}

// Store is an S3 bucket that recordings are archived into.
type Store struct {
	core        *minio.Core
	bucket      string
	partSize    int64
	concurrency int
	buffers     sync.Pool
}

// Digest is what one sequential read of a file tells about its content.
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
		Transport:    opts.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", opts.Endpoint.Host, err)
	}
	s := &Store{core: client, bucket: opts.Bucket, partSize: opts.PartSize, concurrency: max(1, opts.Concurrency)}
	s.buffers.New = func() any { b := make([]byte, s.partSize); return &b }
	return s, nil
}

// Client returns the underlying minio-go client, so benchmarks can compare with a direct upload.
func (s *Store) Client() *minio.Client { return s.core.Client }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

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

// part is one chunk of the file on its way to the server.
type part struct {
	number int
	buf    *[]byte
	n      int
	md5    []byte
}

// Hash reads the file the way Upload would and returns its digest without sending anything.
func (s *Store) Hash(ctx context.Context, path string) (Digest, error) {
	return s.read(ctx, path, func(part) error { return nil }, func(p part) { s.buffers.Put(p.buf) })
}

// Upload streams the file at path to key and returns its digest. It does not verify the
// stored object: call Verify. On error or cancellation an unfinished multipart upload is aborted.
func (s *Store) Upload(ctx context.Context, path, key, contentType string) (Digest, error) {
	putOpts := minio.PutObjectOptions{ContentType: contentType, CacheControl: "public, max-age=31536000, immutable"}
	info, err := os.Stat(path)
	if err != nil {
		return Digest{}, &LocalError{err}
	}
	if info.Size() <= s.partSize {
		var d Digest
		d, err = s.read(ctx, path, func(p part) error {
			defer s.buffers.Put(p.buf)
			if p.number > 1 {
				return fmt.Errorf("%s grew while it was being uploaded", path)
			}
			_, err := s.core.PutObject(ctx, s.bucket, key, bytes.NewReader((*p.buf)[:p.n]), int64(p.n),
				base64.StdEncoding.EncodeToString(p.md5), "", putOpts)
			return err
		}, nil)
		return d, err
	}

	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, putOpts)
	if err != nil {
		return Digest{}, fmt.Errorf("start multipart upload of %s: %w", key, err)
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
	parts := make(chan part)
	var (
		mu        sync.Mutex
		completed []minio.CompletePart
		firstErr  error
		wg        sync.WaitGroup
	)
	for range s.concurrency {
		wg.Go(func() {
			for p := range parts {
				op, err := s.core.PutObjectPart(uploadCtx, s.bucket, key, uploadID, p.number,
					bytes.NewReader((*p.buf)[:p.n]), int64(p.n),
					minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(p.md5)})
				s.buffers.Put(p.buf)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("upload part %d of %s: %w", p.number, key, err)
					cancel(firstErr)
				}
				if err == nil {
					completed = append(completed, minio.CompletePart{PartNumber: p.number, ETag: op.ETag})
				}
				mu.Unlock()
			}
		})
	}
	d, readErr := s.read(uploadCtx, path, func(p part) error {
		select {
		case parts <- p:
			return nil
		case <-uploadCtx.Done():
			s.buffers.Put(p.buf)
			return context.Cause(uploadCtx)
		}
	}, nil)
	close(parts)
	wg.Wait()
	if firstErr != nil {
		return Digest{}, abort(firstErr)
	}
	if readErr != nil {
		return Digest{}, abort(readErr)
	}
	slices.SortFunc(completed, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, completed, putOpts); err != nil {
		return Digest{}, abort(fmt.Errorf("complete multipart upload of %s: %w", key, err))
	}
	return d, nil
}

// read reads path part by part, hashing as it goes, and hands each part to send.
// If release is set, send's buffer is given back by release instead of by send.
func (s *Store) read(ctx context.Context, path string, send func(part) error, release func(part)) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, &LocalError{err}
	}
	defer f.Close()
	whole := sha256.New()
	var partMD5s []byte
	var size int64
	var partHash hash.Hash = md5.New()
	for number := 1; ; number++ {
		if err := ctx.Err(); err != nil {
			return Digest{}, context.Cause(ctx)
		}
		buf := s.buffers.Get().(*[]byte)
		n, err := io.ReadFull(f, *buf)
		if err == io.EOF && number > 1 {
			s.buffers.Put(buf)
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			s.buffers.Put(buf)
			return Digest{}, &LocalError{fmt.Errorf("read %s: %w", path, err)}
		}
		chunk := (*buf)[:n]
		whole.Write(chunk)
		partHash.Reset()
		partHash.Write(chunk)
		sum := partHash.Sum(nil)
		partMD5s = append(partMD5s, sum...)
		size += int64(n)
		p := part{number: number, buf: buf, n: n, md5: sum}
		if err := send(p); err != nil {
			return Digest{}, err
		}
		if release != nil {
			release(p)
		}
		if n < len(*buf) {
			break
		}
	}
	d := Digest{Size: size, SHA256: hex.EncodeToString(whole.Sum(nil))}
	if parts := len(partMD5s) / md5.Size; parts <= 1 {
		d.ETag = hex.EncodeToString(partMD5s)
	} else {
		sum := md5.Sum(partMD5s)
		d.ETag = fmt.Sprintf("%s-%d", hex.EncodeToString(sum[:]), parts)
	}
	return d, nil
}
