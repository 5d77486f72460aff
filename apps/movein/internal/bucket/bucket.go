// Package bucket reads and writes S3-compatible buckets (DigitalOcean Spaces,
// versitygw, AWS) given as URLs, and copies one into another resumably with
// a checksum manifest.
//
// A bucket URL is the endpoint with the bucket, and optionally a key prefix,
// as its path: https://fra1.digitaloceanspaces.com/datafruits-media or
// http://127.0.0.1:27000/assets/uploads. Requests are path-style (Spaces
// requires it for buckets with dots; TF #993). ?region= sets the signing
// region (default us-east-1, which Spaces accepts). Keys never go in the URL:
// they come from the environment variables the caller names.
package bucket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/datafruits/infra/apps/movein/internal/redact"
)

// Location is a bucket, or a prefix in one, with the keys that open it.
type Location struct {
	Endpoint *url.URL
	Bucket   string
	// Prefix is the key prefix, without a trailing slash ("" for the whole bucket).
	Prefix string
	Region string
	client *minio.Client
}

// Parse reads a bucket URL; accessKey and secretKey open it.
func Parse(raw, accessKey, secretKey string) (*Location, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a bucket URL: want http(s)://endpoint/bucket[/prefix]", redact.URL(raw))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: keys do not belong in the URL (they would show in logs and shell history): give them in the environment", redact.URL(raw))
	}
	path := strings.Trim(u.Path, "/")
	if path == "" {
		return nil, fmt.Errorf("%s: no bucket in the URL path: want http(s)://endpoint/bucket[/prefix]", raw)
	}
	bucketName, prefix, _ := strings.Cut(path, "/")
	if accessKey == "" || secretKey == "" {
		return nil, fmt.Errorf("%s: the access key and secret key are not set", raw)
	}
	l := &Location{Endpoint: &url.URL{Scheme: u.Scheme, Host: u.Host}, Bucket: bucketName, Prefix: prefix, Region: u.Query().Get("region")}
	if l.Region == "" {
		l.Region = "us-east-1"
	}
	l.client, err = minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Secure: u.Scheme == "https",
		Region: l.Region, BucketLookup: minio.BucketLookupPath,
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 2 * time.Minute, MaxIdleConnsPerHost: 16},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", raw, err)
	}
	return l, nil
}

// String is the location's URL (it never holds keys).
func (l *Location) String() string {
	s := l.Endpoint.String() + "/" + l.Bucket
	if l.Prefix != "" {
		s += "/" + l.Prefix
	}
	return s
}

// Sub is the location of a deeper prefix in the same bucket.
func (l *Location) Sub(prefix string) *Location {
	c := *l
	c.Prefix = l.key(prefix)
	return &c
}

// key is the full object key of rel.
func (l *Location) key(rel string) string {
	if l.Prefix == "" {
		return rel
	}
	return l.Prefix + "/" + rel
}

// Object is one stored object; Key is relative to the location's prefix.
type Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
}

// List lists every object under the location, keys relative to its prefix.
func (l *Location) List(ctx context.Context) ([]Object, error) {
	prefix := ""
	if l.Prefix != "" {
		prefix = l.Prefix + "/"
	}
	var out []Object
	for o := range l.client.ListObjects(ctx, l.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, l.explain("cannot list", o.Err)
		}
		out = append(out, Object{Key: strings.TrimPrefix(o.Key, prefix), Size: o.Size, ETag: strings.Trim(o.ETag, `"`), LastModified: o.LastModified})
	}
	return out, nil
}

// CheckReadable lists one key and reads one object, so that a bucket the keys
// cannot read fails before anything is written anywhere.
func (l *Location) CheckReadable(ctx context.Context) error {
	prefix := ""
	if l.Prefix != "" {
		prefix = l.Prefix + "/"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for o := range l.client.ListObjects(ctx, l.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, MaxKeys: 1}) {
		if o.Err != nil {
			return l.explain("cannot list", o.Err)
		}
		r, err := l.client.GetObject(ctx, l.Bucket, o.Key, minio.GetObjectOptions{})
		if err == nil {
			_, err = r.Read(make([]byte, 1))
			r.Close()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return l.explain("cannot read "+o.Key, err)
		}
		break
	}
	return nil
}

// CheckBucket fails unless the bucket exists and the keys may list it.
func (l *Location) CheckBucket(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for o := range l.client.ListObjects(ctx, l.Bucket, minio.ListObjectsOptions{MaxKeys: 1}) {
		if o.Err != nil {
			return l.explain("cannot list", o.Err)
		}
		break
	}
	return nil
}

func (l *Location) explain(what string, err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code != "" {
		return fmt.Errorf("bucket %s: %s: %s (%s)", l, what, resp.Code, resp.Message)
	}
	return fmt.Errorf("bucket %s: %s: %v", l, what, err)
}

// Stat returns an object's size and user metadata (keys lower-cased), or
// ok=false when it does not exist.
func (l *Location) Stat(ctx context.Context, rel string) (size int64, meta map[string]string, ok bool, err error) {
	info, err := l.client.StatObject(ctx, l.Bucket, l.key(rel), minio.StatObjectOptions{})
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return 0, nil, false, nil
		}
		return 0, nil, false, l.explain("cannot stat "+rel, err)
	}
	meta = map[string]string{}
	for k, v := range info.UserMetadata {
		meta[strings.ToLower(k)] = v
	}
	return info.Size, meta, true, nil
}

// Fetched is an object read into a local temporary file.
type Fetched struct {
	File        *os.File
	Size        int64
	SHA256      string
	ContentType string
}

// Close removes the temporary file.
func (f *Fetched) Close() {
	f.File.Close()
	os.Remove(f.File.Name())
}

// Fetch reads an object into a temporary file in dir, hashing it on the way.
func (l *Location) Fetch(ctx context.Context, rel, dir string) (*Fetched, error) {
	obj, err := l.client.GetObject(ctx, l.Bucket, l.key(rel), minio.GetObjectOptions{})
	if err != nil {
		return nil, l.explain("cannot read "+rel, err)
	}
	defer obj.Close()
	f, err := os.CreateTemp(dir, "movein-object-*")
	if err != nil {
		return nil, err
	}
	out := &Fetched{File: f}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), obj)
	if err != nil {
		out.Close()
		return nil, l.explain("cannot read "+rel, err)
	}
	if info, err := obj.Stat(); err == nil {
		out.ContentType = info.ContentType
	}
	out.Size, out.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// Put stores a local file (from its start) under rel with user metadata.
func (l *Location) Put(ctx context.Context, rel string, f *os.File, size int64, contentType string, meta map[string]string) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := l.client.PutObject(ctx, l.Bucket, l.key(rel), f, size, minio.PutObjectOptions{ContentType: contentType, UserMetadata: meta})
	if err != nil {
		return l.explain("cannot write "+rel, err)
	}
	return nil
}

// PutBytes stores small content under rel.
func (l *Location) PutBytes(ctx context.Context, rel string, b []byte, contentType string) error {
	_, err := l.client.PutObject(ctx, l.Bucket, l.key(rel), strings.NewReader(string(b)), int64(len(b)), minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return l.explain("cannot write "+rel, err)
	}
	return nil
}

// Read returns a small object's content.
func (l *Location) Read(ctx context.Context, rel string) ([]byte, error) {
	obj, err := l.client.GetObject(ctx, l.Bucket, l.key(rel), minio.GetObjectOptions{})
	if err != nil {
		return nil, l.explain("cannot read "+rel, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return nil, l.explain("cannot read "+rel, err)
	}
	return b, nil
}

// Remove deletes an object.
func (l *Location) Remove(ctx context.Context, rel string) error {
	if err := l.client.RemoveObject(ctx, l.Bucket, l.key(rel), minio.RemoveObjectOptions{}); err != nil {
		return l.explain("cannot delete "+rel, err)
	}
	return nil
}
