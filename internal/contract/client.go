package contract

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// FieldManager is the server-side apply field manager of the contract test.
const FieldManager = "datafruits-contract"

// Client talks to one API server with plain HTTP: server-side apply, get,
// list and delete, and discovery to map kinds to resources.
type Client struct {
	server string
	http   *http.Client
	token  string

	mu        sync.Mutex
	resources map[string]apiResource // "apiVersion/Kind" -> resource
}

type apiResource struct {
	Name       string
	Namespaced bool
}

// APIError is an error response of the API server; Message is its own words.
type APIError struct {
	Code    int
	Reason  string
	Message string
}

func (e *APIError) Error() string { return e.Message }

// IsNotFound reports whether err is the API server's 404.
func IsNotFound(err error) bool {
	apiErr, ok := err.(*APIError)
	return ok && apiErr.Code == http.StatusNotFound
}

type kubeconfig struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthority     string `yaml:"certificate-authority"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			ClientCertificate     string `yaml:"client-certificate"`
			ClientCertificateData string `yaml:"client-certificate-data"`
			ClientKey             string `yaml:"client-key"`
			ClientKeyData         string `yaml:"client-key-data"`
			Token                 string `yaml:"token"`
		} `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
}

// NewClientFromKubeconfig reads the current context of a kubeconfig file
// (server, CA, client certificate or token).
func NewClientFromKubeconfig(path string) (*Client, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(raw, &kc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	base := filepath.Dir(path)
	read := func(file, data string) ([]byte, error) {
		if data != "" {
			return base64.StdEncoding.DecodeString(data)
		}
		if file == "" {
			return nil, nil
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(base, file)
		}
		return os.ReadFile(file)
	}
	var clusterName, userName string
	for _, c := range kc.Contexts {
		if c.Name == kc.CurrentContext {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	c := &Client{}
	for _, cl := range kc.Clusters {
		if cl.Name != clusterName {
			continue
		}
		c.server = strings.TrimSuffix(cl.Cluster.Server, "/")
		ca, err := read(cl.Cluster.CertificateAuthority, cl.Cluster.CertificateAuthorityData)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate authority: %w", path, err)
		}
		if ca != nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(ca) {
				return nil, fmt.Errorf("%s: no certificate in the certificate authority", path)
			}
			tlsConfig.RootCAs = pool
		}
	}
	if c.server == "" {
		return nil, fmt.Errorf("%s: no cluster for the current context %q", path, kc.CurrentContext)
	}
	for _, u := range kc.Users {
		if u.Name != userName {
			continue
		}
		c.token = u.User.Token
		certPEM, err := read(u.User.ClientCertificate, u.User.ClientCertificateData)
		if err != nil {
			return nil, fmt.Errorf("%s: client certificate: %w", path, err)
		}
		keyPEM, err := read(u.User.ClientKey, u.User.ClientKeyData)
		if err != nil {
			return nil, fmt.Errorf("%s: client key: %w", path, err)
		}
		if certPEM != nil {
			cert, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				return nil, fmt.Errorf("%s: client certificate: %w", path, err)
			}
			tlsConfig.Certificates = []tls.Certificate{cert}
		}
	}
	c.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 8}}
	return c, nil
}

// Server returns the API server URL.
func (c *Client) Server() string { return c.server }

// Patch sends a PATCH of the given content type to an API path, for writes
// Apply does not cover, such as a status subresource.
func (c *Client) Patch(ctx context.Context, path, contentType string, body []byte) error {
	_, err := c.do(ctx, http.MethodPatch, path, contentType, body)
	return err
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var status struct {
			Message string `json:"message"`
			Reason  string `json:"reason"`
		}
		if json.Unmarshal(data, &status) != nil || status.Message == "" {
			status.Message = strings.TrimSpace(string(data))
		}
		return nil, &APIError{Code: resp.StatusCode, Reason: status.Reason, Message: status.Message}
	}
	return data, nil
}

// getJSON GETs a path and decodes the JSON answer.
func (c *Client) getJSON(ctx context.Context, path string, into any) error {
	data, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

// Discover (re)reads the API server's resources, mapping apiVersion and kind
// to the resource name and scope.
func (c *Client) Discover(ctx context.Context) error {
	resources := map[string]apiResource{}
	add := func(gv string) error {
		var list struct {
			Resources []struct {
				Name       string `json:"name"`
				Kind       string `json:"kind"`
				Namespaced bool   `json:"namespaced"`
			} `json:"resources"`
		}
		path := "/apis/" + gv
		if gv == "v1" {
			path = "/api/v1"
		}
		if err := c.getJSON(ctx, path, &list); err != nil {
			// An aggregated API whose server does not run (metrics-server's
			// APIService, where no container runs) is unavailable, not broken:
			// the API server itself answers 503 for it.
			var apiErr *APIError
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusServiceUnavailable {
				return nil
			}
			return fmt.Errorf("discovery of %s: %w", gv, err)
		}
		for _, r := range list.Resources {
			if strings.Contains(r.Name, "/") {
				continue // subresources
			}
			resources[gv+"/"+r.Kind] = apiResource{Name: r.Name, Namespaced: r.Namespaced}
		}
		return nil
	}
	if err := add("v1"); err != nil {
		return err
	}
	var groups struct {
		Groups []struct {
			Versions []struct {
				GroupVersion string `json:"groupVersion"`
			} `json:"versions"`
		} `json:"groups"`
	}
	if err := c.getJSON(ctx, "/apis", &groups); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			if err := add(v.GroupVersion); err != nil {
				return err
			}
		}
	}
	c.mu.Lock()
	c.resources = resources
	c.mu.Unlock()
	return nil
}

// resourceOf maps an apiVersion and kind to its resource; ok is false when the
// API server does not serve it (for example a custom resource without its CRD).
func (c *Client) resourceOf(apiVersion, kind string) (apiResource, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.resources[apiVersion+"/"+kind]
	return r, ok
}

// Namespaced reports whether a kind is namespaced, and whether the API server knows it.
func (c *Client) Namespaced(apiVersion, kind string) (namespaced, known bool) {
	r, ok := c.resourceOf(apiVersion, kind)
	return r.Namespaced, ok
}

// Path returns the URL path of an object (name empty: of its collection).
func (c *Client) Path(apiVersion, kind, namespace, name string) (string, error) {
	r, ok := c.resourceOf(apiVersion, kind)
	if !ok {
		return "", fmt.Errorf("the API server does not serve %s %s", apiVersion, kind)
	}
	p := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		p = "/api/" + apiVersion
	}
	if r.Namespaced {
		if namespace == "" {
			namespace = "default"
		}
		p += "/namespaces/" + url.PathEscape(namespace)
	}
	p += "/" + r.Name
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p, nil
}

// Apply server-side applies an object with strict field validation, so an
// unknown or duplicate field is an error, not silently dropped.
func (c *Client) Apply(ctx context.Context, o *Object) error {
	p, err := c.Path(o.APIVersion, o.Kind, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	body, err := o.JSON()
	if err != nil {
		return err
	}
	q := url.Values{"fieldManager": {FieldManager}, "fieldValidation": {"Strict"}, "force": {"true"}}
	_, err = c.do(ctx, http.MethodPatch, p+"?"+q.Encode(), "application/apply-patch+yaml", body)
	return err
}

// Get reads one object; IsNotFound(err) tells a missing object.
func (c *Client) Get(ctx context.Context, apiVersion, kind, namespace, name string) (map[string]any, error) {
	p, err := c.Path(apiVersion, kind, namespace, name)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	return obj, c.getJSON(ctx, p, &obj)
}

// List reads the objects of a kind in a namespace ("" for all) matching a label selector.
func (c *Client) List(ctx context.Context, apiVersion, kind, namespace, labelSelector string) ([]map[string]any, error) {
	r, ok := c.resourceOf(apiVersion, kind)
	if !ok {
		return nil, fmt.Errorf("the API server does not serve %s %s", apiVersion, kind)
	}
	p := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		p = "/api/" + apiVersion
	}
	if r.Namespaced && namespace != "" {
		p += "/namespaces/" + url.PathEscape(namespace)
	}
	p += "/" + r.Name
	if labelSelector != "" {
		p += "?labelSelector=" + url.QueryEscape(labelSelector)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	return list.Items, c.getJSON(ctx, p, &list)
}

// Delete deletes an object in the background (dependents are garbage
// collected); a missing object is not an error.
func (c *Client) Delete(ctx context.Context, apiVersion, kind, namespace, name string) error {
	p, err := c.Path(apiVersion, kind, namespace, name)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodDelete, p, "application/json", []byte(`{"propagationPolicy":"Background"}`))
	if IsNotFound(err) {
		return nil
	}
	return err
}

// Create creates an object from a JSON-able value with a plain POST.
func (c *Client) Create(ctx context.Context, apiVersion, kind, namespace string, obj map[string]any) error {
	p, err := c.Path(apiVersion, kind, namespace, "")
	if err != nil {
		return err
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodPost, p, "application/json", body)
	return err
}
