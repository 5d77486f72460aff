package icecast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxDocumentBytes bounds the status document; a real one is a few KiB per mount.
const maxDocumentBytes = 1 << 20

// Client fetches status-json.xsl from one Icecast server.
type Client struct {
	statusURL string
	http      *http.Client
}

// NewClient returns a Client for the Icecast server at baseURL (such as
// http://icecast:8000), using httpClient for requests.
func NewClient(baseURL *url.URL, httpClient *http.Client) *Client {
	return &Client{statusURL: baseURL.JoinPath("status-json.xsl").String(), http: httpClient}
}

// StatusURL is the address the client reads.
func (c *Client) StatusURL() string { return c.statusURL }

// UnreachableError reports that Icecast could not be reached or did not answer in time.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "icecast unreachable: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// HTTPStatusError reports that Icecast answered with a status other than 200.
type HTTPStatusError struct{ Code int }

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("icecast answered HTTP %d for status-json.xsl", e.Code)
}

// Fetch reads and parses the status document.
func (c *Client) Fetch(ctx context.Context) (Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.statusURL, nil)
	if err != nil {
		return Status{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Status{}, &UnreachableError{Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Status{}, &HTTPStatusError{Code: resp.StatusCode}
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		// A connection cut mid-body leaves a truncated document.
		return Status{}, &MalformedError{Reason: fmt.Sprintf("body cut off after %d bytes: %v", len(doc), unwrapURLError(err))}
	}
	if len(doc) > maxDocumentBytes {
		return Status{}, &MalformedError{Reason: fmt.Sprintf("document larger than %d bytes", maxDocumentBytes)}
	}
	return Parse(doc)
}

// ErrorReason classifies a Fetch error for the poll error metric:
// "unreachable", "http_status", "malformed" or "other".
func ErrorReason(err error) string {
	var unreachable *UnreachableError
	var httpStatus *HTTPStatusError
	var malformed *MalformedError
	switch {
	case errors.As(err, &unreachable):
		return "unreachable"
	case errors.As(err, &httpStatus):
		return "http_status"
	case errors.As(err, &malformed):
		return "malformed"
	default:
		return "other"
	}
}

// unwrapURLError drops net/http's "Get <url>:" prefix; the cause is what matters.
func unwrapURLError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}
