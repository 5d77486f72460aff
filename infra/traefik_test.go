//go:build edge

package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"gopkg.in/yaml.v3"
)

// The edge suite (scripts/test/edge.sh) runs the real Traefik, at the chart's
// app version, with the entrypoint flags the program gives the chart, and
// checks what a listener, a DJ and Let's Encrypt see. Only addresses change:
// every entrypoint listens on a free loopback port, the load balancer's
// network (the PROXY protocol trustedIPs) becomes the loopback address
// loadBalancerIP, and the routes come from the file provider instead of the
// Kubernetes providers, built from the Ingresses, IngressRouteTCPs and
// ServersTransports the program declares.

// loadBalancerIP stands in for the DigitalOcean load balancer: connections
// from it are trusted to carry a PROXY header. Linux answers on all of
// 127.0.0.0/8, so clients bind to it without any set-up.
var loadBalancerIP = netip.MustParseAddr("127.0.0.2")

// acmeToken and acmeKeyAuthorization are what the stand-in solver serves, as
// cert-manager's acmesolver serves the key authorization of one challenge.
const (
	acmeToken            = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	acmeKeyAuthorization = acmeToken + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
)

// edgeStacks are the committed stacks that install Traefik.
var edgeStacks = []string{"local", "prod", "staging"}

// TestEdge starts one Traefik per stack and checks the public paths through it.
func TestEdge(t *testing.T) {
	bin := os.Getenv("EDGE_TRAEFIK_BIN")
	if bin == "" {
		t.Fatal("EDGE_TRAEFIK_BIN is not set: run scripts/test/edge.sh, which builds Traefik")
	}
	streamFor := 70 * time.Second
	if s := os.Getenv("EDGE_STREAM_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("EDGE_STREAM_SECONDS=%q: want whole seconds", s)
		}
		streamFor = time.Duration(n) * time.Second
	}
	for _, stack := range edgeStacks {
		t.Run(stack, func(t *testing.T) {
			t.Parallel()
			mocks, err := pulumitest.RunStack(stack, run, nil)
			if err != nil {
				t.Fatalf("stack %s: the program fails under mocks: %v", stack, err)
			}
			e := startEdge(t, bin, stack, mocks)
			t.Run("HTTPRedirectsToHTTPSOn443", e.testRedirect)
			t.Run("LetsEncryptReachesTheSolver", e.testACMEChallenge)
			t.Run("TCPEntrypointsPassBytesBothWays", e.testTCPEcho)
			t.Run("ProxyProtocolFromTheLoadBalancer", e.testProxyProtocol)
			t.Run("LongLivedConnections", func(t *testing.T) { e.testLongLived(t, streamFor) })
		})
	}
}

// traefikEdge is one running Traefik and the backends behind it.
type traefikEdge struct {
	stack  string
	domain string
	// streamHost is a host whose route has the long-lived ServersTransport.
	streamHost string
	// ports maps an entrypoint name to its loopback port.
	ports map[string]int
	// tcpEntrypoints are the entrypoints with TCP routes.
	tcpEntrypoints []string
	// proxyProtocol maps entrypoints to the trustedIPs the program gives them.
	proxyProtocol map[string]string
	// apiURL is Traefik's API (test instrumentation, not in the program).
	apiURL string
}

// traefikRelease returns the Traefik release's values.
func traefikRelease(t *testing.T, mocks *pulumitest.Mocks) resource.PropertyMap {
	t.Helper()
	rel, ok := mocks.Find("kubernetes:helm.sh/v3:Release", "ingress-traefik")
	if !ok {
		t.Fatal("the program declares no Traefik release")
	}
	v := pulumitest.Get(rel.Inputs, "values")
	if !v.IsObject() {
		t.Fatal("the Traefik release has no values")
	}
	return v.ObjectValue()
}

func startEdge(t *testing.T, bin, stack string, mocks *pulumitest.Mocks) *traefikEdge {
	values := traefikRelease(t, mocks)
	e := &traefikEdge{stack: stack, ports: map[string]int{}, proxyProtocol: map[string]string{}}
	for _, r := range mocks.ByType("kubernetes:networking.k8s.io/v1:Ingress") {
		host := pulumitest.GetString(r.Inputs, "spec.rules[0].host")
		if e.domain == "" || len(host) < len(e.domain) {
			e.domain = host
		}
	}

	// The chart's own entrypoints (values.yaml: web 8000, websecure 8443)
	// and those the program adds in values.ports.
	entrypoints := []string{"web", "websecure"}
	for name, p := range pulumitest.Get(values, "ports").ObjectValue() {
		if proto := pulumitest.GetString(p.ObjectValue(), "protocol"); proto != "TCP" {
			t.Fatalf("values.ports.%s.protocol = %q: the suite knows TCP entrypoints only", name, proto)
		}
		entrypoints = append(entrypoints, string(name))
	}
	slices.Sort(entrypoints)
	e.ports = freePorts(t, append(slices.Clone(entrypoints), "traefik"))

	args := []string{
		// Test instrumentation: the API shows the running configuration.
		"--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
		fmt.Sprintf("--entryPoints.traefik.address=127.0.0.1:%d/tcp", e.ports["traefik"]),
		"--api.insecure=true", "--log.level=DEBUG", "--ping=true",
		// What the chart renders for its websecure defaults (values.yaml
		// ports.websecure.http.tls.enabled: true; _podtemplate.tpl).
		"--entryPoints.websecure.http.tls=true",
	}
	for _, name := range entrypoints {
		args = append(args, fmt.Sprintf("--entryPoints.%s.address=127.0.0.1:%d/tcp", name, e.ports[name]))
	}
	vpcRanges := []string{}
	for _, v := range mocks.ByType("digitalocean:index/vpc:Vpc") {
		vpcRanges = append(vpcRanges, pulumitest.GetString(v.Inputs, "ipRange"))
	}
	for _, a := range pulumitest.Array(values, "additionalArguments") {
		flag := a.StringValue()
		name, value, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
		if ep, ok := strings.CutSuffix(name, ".proxyProtocol.trustedIPs"); ok {
			ep = strings.TrimPrefix(ep, "entryPoints.")
			e.proxyProtocol[ep] = value
			// The load balancer and the nodes that forward its connections
			// sit in the VPC: the trusted range must cover it.
			for _, vpc := range vpcRanges {
				if !covers(t, value, vpc) {
					t.Errorf("entrypoint %s trusts PROXY headers from %s, which does not cover the VPC %s", ep, value, vpc)
				}
			}
			flag = fmt.Sprintf("--%s=%s/32", name, loadBalancerIP)
		}
		args = append(args, flag)
	}

	dir := t.TempDir()
	e.writeRoutes(t, mocks, filepath.Join(dir, "routes.yaml"), startBackends(t))
	args = append(args, "--providers.file.filename="+filepath.Join(dir, "routes.yaml"))
	t.Logf("stack %s: traefik %s", stack, strings.Join(args, " "))

	logPath := filepath.Join(os.Getenv("EDGE_STATE"), "traefik-"+stack+".log")
	if os.Getenv("EDGE_STATE") == "" {
		logPath = filepath.Join(dir, "traefik.log")
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start traefik: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	e.apiURL = fmt.Sprintf("http://127.0.0.1:%d", e.ports["traefik"])
	e.waitReady(t, logPath)
	return e
}

// writeRoutes renders the program's routes for the file provider, every
// service pointing at this test's backends.
func (e *traefikEdge) writeRoutes(t *testing.T, mocks *pulumitest.Mocks, path string, b *backends) {
	httpRouters, tcpRouters := map[string]any{}, map[string]any{}
	transports := map[string]any{}
	services := map[string]any{
		"app":    map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": b.appURL}}}},
		"solver": map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": b.solverURL}}}},
	}
	// ServersTransports by the name a Service annotation gives them.
	for _, st := range mocks.ByType("kubernetes:traefik.io/v1alpha1:ServersTransport") {
		name := pulumitest.GetString(st.Inputs, "metadata.namespace") + "-" + pulumitest.GetString(st.Inputs, "metadata.name") + "@kubernetescrd"
		timeouts := map[string]any{}
		for k, v := range pulumitest.Get(st.Inputs, "spec.forwardingTimeouts").ObjectValue() {
			timeouts[string(k)] = v.StringValue()
		}
		transports[sanitize(name)] = map[string]any{"forwardingTimeouts": timeouts}
	}
	transportOf := map[string]string{}
	for _, svc := range mocks.ByType("kubernetes:core/v1:Service") {
		if st := unwrapMap(pulumitest.Get(svc.Inputs, "metadata.annotations"))["traefik.ingress.kubernetes.io/service.serverstransport"]; st != "" {
			transportOf[pulumitest.GetString(svc.Outputs, "metadata.name")] = sanitize(st)
		}
	}
	for _, ing := range mocks.ByType("kubernetes:networking.k8s.io/v1:Ingress") {
		rule := pulumitest.Get(ing.Inputs, "spec.rules[0]").ObjectValue()
		host := pulumitest.GetString(rule, "host")
		path := pulumitest.GetString(rule, "http.paths[0].path")
		router := map[string]any{"rule": fmt.Sprintf("Host(`%s`) && PathPrefix(`%s`)", host, cmp.Or(path, "/")), "service": "app"}
		annotations := unwrapMap(pulumitest.Get(ing.Inputs, "metadata.annotations"))
		if eps := annotations["traefik.ingress.kubernetes.io/router.entrypoints"]; eps != "" {
			router["entryPoints"] = strings.Split(eps, ",")
		}
		if annotations["traefik.ingress.kubernetes.io/router.tls"] == "true" {
			router["tls"] = map[string]any{}
		}
		backend := pulumitest.GetString(rule, "http.paths[0].backend.service.name")
		if st, ok := transportOf[backend]; ok {
			if _, ok := transports[st]; !ok {
				t.Fatalf("Service %s names ServersTransport %s, which the program does not declare", backend, st)
			}
			svcName := "app-" + st
			services[svcName] = map[string]any{"loadBalancer": map[string]any{
				"servers": []any{map[string]any{"url": b.appURL}}, "serversTransport": st,
			}}
			router["service"] = svcName
			if e.streamHost == "" || strings.HasPrefix(host, "stream.") {
				e.streamHost = host
			}
		}
		httpRouters[sanitize(ing.Name)] = router
	}
	// cert-manager's solver Ingress (ingressClassName traefik, no Traefik
	// annotations): a plain HTTP route on every entrypoint, exact path.
	httpRouters["cm-acme-http-solver"] = map[string]any{
		"rule":    fmt.Sprintf("Host(`%s`) && Path(`/.well-known/acme-challenge/%s`)", e.domain, acmeToken),
		"service": "solver",
	}
	for _, r := range mocks.ByType("kubernetes:traefik.io/v1alpha1:IngressRouteTCP") {
		eps := stringsOf(pulumitest.Get(r.Inputs, "spec.entryPoints"))
		match := pulumitest.GetString(r.Inputs, "spec.routes[0].match")
		tcpRouters[sanitize(r.Name)] = map[string]any{"entryPoints": eps, "rule": match, "service": "echo"}
		e.tcpEntrypoints = append(e.tcpEntrypoints, eps...)
	}
	slices.Sort(e.tcpEntrypoints)
	e.tcpEntrypoints = slices.Compact(e.tcpEntrypoints)
	if len(e.tcpEntrypoints) == 0 {
		t.Fatal("the program declares no TCP routes")
	}
	if e.streamHost == "" {
		t.Fatal("the program declares no route with a long-lived ServersTransport (listener streams)")
	}
	doc := map[string]any{
		"http": map[string]any{"routers": httpRouters, "services": services, "serversTransports": transports},
		"tcp": map[string]any{"routers": tcpRouters, "services": map[string]any{
			"echo": map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"address": b.echoAddr}}}},
		}},
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits until Traefik serves every entrypoint and has loaded the routes.
func (e *traefikEdge) waitReady(t *testing.T, logPath string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var routers []struct {
			Name string `json:"name"`
		}
		if err := getJSON(e.apiURL+"/api/tcp/routers", &routers); err == nil && len(routers) > 0 {
			ok := true
			for _, p := range e.ports {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err != nil {
					ok = false
				} else {
					c.Close()
				}
			}
			if ok {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := os.ReadFile(logPath)
	t.Fatalf("stack %s: Traefik did not come up within 30 s; its log:\n%s", e.stack, tail(string(logs), 40))
}

// publicClient is an HTTP client that reaches host:80 and host:443 through
// Traefik's web and websecure entrypoints, as through the load balancer,
// and refuses any other port. With proxyHeader it dials from the load
// balancer's address and sends that header first, as the load balancer does.
func (e *traefikEdge) publicClient(proxyHeader func(dst *net.TCPAddr) []byte) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		ep := map[string]string{"80": "web", "443": "websecure"}[port]
		if ep == "" {
			return nil, fmt.Errorf("the load balancer listens on 80 and 443 only, not %s (Let's Encrypt follows redirects to 80 and 443 only)", addr)
		}
		return e.dial(ctx, ep, proxyHeader)
	}
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DialContext: dial,
			// Traefik serves its default certificate here: there is no
			// cert-manager. Let's Encrypt does not verify it either when it
			// follows an HTTP-01 redirect to HTTPS.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dial connects to an entrypoint, from the load balancer with a PROXY header
// when proxyHeader is set (the address in the header is the client's).
func (e *traefikEdge) dial(ctx context.Context, ep string, proxyHeader func(dst *net.TCPAddr) []byte) (net.Conn, error) {
	dst := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: e.ports[ep]}
	d := net.Dialer{Timeout: 5 * time.Second}
	if proxyHeader != nil {
		d.LocalAddr = &net.TCPAddr{IP: loadBalancerIP.AsSlice()}
	}
	c, err := d.DialContext(ctx, "tcp", dst.String())
	if err != nil || proxyHeader == nil {
		return c, err
	}
	if _, err := c.Write(proxyHeader(dst)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// viaLoadBalancer is the PROXY header the load balancer would send for a
// client at 198.51.100.23, or nil on a stack without a load balancer.
func (e *traefikEdge) viaLoadBalancer() func(*net.TCPAddr) []byte {
	if len(e.proxyProtocol) == 0 {
		return nil
	}
	return func(dst *net.TCPAddr) []byte { return proxyV1(netip.MustParseAddrPort("198.51.100.23:40000"), dst) }
}

// testRedirect: http://host/any answers a permanent redirect to https://host/any.
func (e *traefikEdge) testRedirect(t *testing.T) {
	c := e.publicClient(e.viaLoadBalancer())
	for _, path := range []string{"/", "/any/path?with=query"} {
		resp, err := c.Get("http://" + e.domain + path)
		if err != nil {
			t.Fatalf("GET http://%s%s: %v", e.domain, path, err)
		}
		resp.Body.Close()
		want := "https://" + e.domain + path
		if resp.StatusCode != http.StatusMovedPermanently && resp.StatusCode != http.StatusPermanentRedirect {
			t.Errorf("GET http://%s%s: status %d, want a permanent redirect", e.domain, path, resp.StatusCode)
		}
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("GET http://%s%s: Location %q, want %q (port 443, the load balancer's)", e.domain, path, got, want)
		}
	}
}

// testACMEChallenge: Let's Encrypt asks http://host/.well-known/acme-challenge/<token>
// on port 80. The entrypoint redirect (priority MaxInt-1) wins over the
// solver's route on web, so the answer is a redirect to HTTPS; Let's Encrypt
// follows redirects to http or https on ports 80 and 443 only, without
// verifying the certificate, and up to 10 times. The solver's route also
// serves websecure (it names no entrypoint), where the answer must come.
func (e *traefikEdge) testACMEChallenge(t *testing.T) {
	c := e.publicClient(e.viaLoadBalancer())
	next := "http://" + e.domain + "/.well-known/acme-challenge/" + acmeToken
	for hop := 0; hop <= 10; hop++ {
		resp, err := c.Get(next)
		if err != nil {
			t.Fatalf("hop %d, GET %s: %v", hop, next, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				t.Fatalf("hop %d: redirect without a Location: %v", hop, err)
			}
			if p := loc.Port(); p != "" && p != "80" && p != "443" {
				t.Fatalf("hop %d: redirect to %s: Let's Encrypt refuses ports other than 80 and 443", hop, loc)
			}
			t.Logf("hop %d: %d → %s", hop, resp.StatusCode, loc)
			next = loc.String()
		case resp.StatusCode == http.StatusOK:
			if string(body) != acmeKeyAuthorization {
				t.Fatalf("hop %d, %s: body %q, want the key authorization", hop, next, body)
			}
			t.Logf("the solver answered after %d redirect(s) at %s", hop, next)
			return
		default:
			t.Fatalf("hop %d, GET %s: status %d: %s", hop, next, resp.StatusCode, body)
		}
	}
	t.Fatal("more than 10 redirects: Let's Encrypt gives up")
}

// testTCPEcho: every TCP entrypoint with a route carries bytes both ways.
func (e *traefikEdge) testTCPEcho(t *testing.T) {
	for _, ep := range e.tcpEntrypoints {
		payload := make([]byte, 256<<10)
		_, _ = rand.Read(payload)
		var header func(*net.TCPAddr) []byte
		if _, ok := e.proxyProtocol[ep]; ok {
			header = func(dst *net.TCPAddr) []byte {
				return proxyV2(netip.MustParseAddrPort("[2001:db8::7]:40001"), dst)
			}
		}
		got, err := e.echo(ep, header, payload)
		if err != nil {
			t.Errorf("entrypoint %s: %v", ep, err)
			continue
		}
		if !bytes.Equal(got, payload) {
			t.Errorf("entrypoint %s: %d bytes sent, %d came back different (a PROXY header not stripped?)", ep, len(payload), len(got))
		}
	}
}

// echo sends payload through an entrypoint and reads as many bytes back.
func (e *traefikEdge) echo(ep string, header func(*net.TCPAddr) []byte, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := e.dial(ctx, ep, header)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	errc := make(chan error, 1)
	go func() { _, err := c.Write(payload); errc <- err }()
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(c, got); err != nil {
		return got, fmt.Errorf("read back: %w", err)
	}
	return got, <-errc
}

// testProxyProtocol: the load balancer's PROXY header (v1 or v2) is honoured
// on every entrypoint the program enables it on, so Traefik and the apps see
// the listener's address; a header from anyone else is not.
func (e *traefikEdge) testProxyProtocol(t *testing.T) {
	if len(e.proxyProtocol) == 0 {
		t.Skipf("stack %s has no load balancer: no PROXY protocol", e.stack)
	}
	for _, ep := range append([]string{"web", "websecure"}, e.tcpEntrypoints...) {
		if _, ok := e.proxyProtocol[ep]; !ok {
			t.Errorf("entrypoint %s behind the load balancer does not accept PROXY headers: its first bytes would be garbage", ep)
		}
	}
	for _, tc := range []struct {
		name   string
		client netip.AddrPort
		header func(netip.AddrPort, *net.TCPAddr) []byte
	}{
		{"v1 IPv4", netip.MustParseAddrPort("203.0.113.7:51000"), proxyV1},
		{"v2 IPv4", netip.MustParseAddrPort("192.0.2.44:51001"), proxyV2},
		{"v2 IPv6", netip.MustParseAddrPort("[2001:db8::9]:51002"), proxyV2},
	} {
		c := e.publicClient(func(dst *net.TCPAddr) []byte { return tc.header(tc.client, dst) })
		seen, err := whoAmI(c, "https://"+e.domain+"/")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if seen != tc.client.Addr().String() {
			t.Errorf("%s from the load balancer: the app saw X-Real-Ip %q, want the client's %s", tc.name, seen, tc.client.Addr())
		}
	}
	// Anyone else: the header is stripped but not believed.
	untrusted := e.publicClient(nil)
	untrusted.Transport.(*http.Transport).DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", e.ports["websecure"]))
		if err == nil {
			_, err = c.Write(proxyV1(netip.MustParseAddrPort("203.0.113.66:1234"), c.RemoteAddr().(*net.TCPAddr)))
		}
		return c, err
	}
	seen, err := whoAmI(untrusted, "https://"+e.domain+"/")
	if err != nil {
		t.Fatalf("PROXY header from an untrusted address: %v", err)
	}
	if seen != "127.0.0.1" {
		t.Errorf("a PROXY header from 127.0.0.1 (not the load balancer) was believed: the app saw %q", seen)
	}
}

// whoAmI asks the app backend which client address Traefik reported.
func whoAmI(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var seen struct {
		RealIP string `json:"realIP"`
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("GET %s: status %d: %s", u, resp.StatusCode, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil {
		return "", err
	}
	return seen.RealIP, nil
}

// testLongLived: listener streams, websockets and encoders hold one
// connection for hours. The running Traefik's own configuration must have no
// read or write deadline on websecure and on every TCP entrypoint (Traefik v3
// defaults readTimeout to 60 s and, on TCP entrypoints, sets it once per
// connection: encoders would be cut every minute). Then one listener stream
// and one DJ connection run for streamFor, longer than that default.
func (e *traefikEdge) testLongLived(t *testing.T, streamFor time.Duration) {
	var eps []struct {
		Name      string `json:"name"`
		Transport struct {
			RespondingTimeouts struct {
				ReadTimeout  string `json:"readTimeout"`
				WriteTimeout string `json:"writeTimeout"`
				IdleTimeout  string `json:"idleTimeout"`
			} `json:"respondingTimeouts"`
		} `json:"transport"`
	}
	if err := getJSON(e.apiURL+"/api/entrypoints", &eps); err != nil {
		t.Fatalf("Traefik's API: %v", err)
	}
	checked := 0
	for _, ep := range eps {
		if ep.Name != "websecure" && !slices.Contains(e.tcpEntrypoints, ep.Name) {
			continue
		}
		checked++
		rt := ep.Transport.RespondingTimeouts
		// The API leaves zero durations out.
		for field, v := range map[string]string{"readTimeout": rt.ReadTimeout, "writeTimeout": rt.WriteTimeout} {
			if d := duration(t, v); d != 0 {
				t.Errorf("entrypoint %s: running with respondingTimeouts.%s=%s: long-lived connections are cut after it", ep.Name, field, d)
			}
		}
		t.Logf("entrypoint %s: readTimeout %s, writeTimeout %s, idleTimeout %s (from the running Traefik)", ep.Name,
			cmp.Or(rt.ReadTimeout, "0s"), cmp.Or(rt.WriteTimeout, "0s"), cmp.Or(rt.IdleTimeout, "0s"))
	}
	if checked != 1+len(e.tcpEntrypoints) {
		t.Errorf("the API listed %d of websecure and the TCP entrypoints %v", checked, e.tcpEntrypoints)
	}

	var wg sync.WaitGroup
	wg.Add(1 + len(e.tcpEntrypoints))
	go func() {
		defer wg.Done()
		c := e.publicClient(e.viaLoadBalancer())
		c.Timeout = 0
		u := url.URL{Scheme: "https", Host: e.streamHost, Path: "/listen", RawQuery: "seconds=" + strconv.Itoa(int(streamFor.Seconds()))}
		start := time.Now()
		resp, err := c.Get(u.String())
		if err != nil {
			t.Errorf("listener stream %s: %v", u.String(), err)
			return
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		took := time.Since(start)
		if err != nil || took < streamFor || n != int64(streamFor.Seconds())*streamChunk {
			t.Errorf("listener stream %s cut after %s and %d bytes (want %s, %d bytes): %v", u.String(), took.Round(time.Second), n, streamFor, int64(streamFor.Seconds())*streamChunk, err)
			return
		}
		t.Logf("listener stream through websecure: %d bytes over %s, not cut", n, took.Round(time.Second))
	}()
	for _, ep := range e.tcpEntrypoints {
		go e.streamTCP(t, ep, streamFor, wg.Done)
	}
	wg.Wait()
}

// streamTCP holds one connection through a TCP entrypoint for streamFor,
// sending a chunk each second and reading it back, as an encoder would send.
func (e *traefikEdge) streamTCP(t *testing.T, ep string, streamFor time.Duration, done func()) {
	defer done()
	var header func(*net.TCPAddr) []byte
	if _, ok := e.proxyProtocol[ep]; ok {
		header = func(dst *net.TCPAddr) []byte { return proxyV1(netip.MustParseAddrPort("198.51.100.99:40002"), dst) }
	}
	c, err := e.dial(context.Background(), ep, header)
	if err != nil {
		t.Errorf("encoder connection to %s: %v", ep, err)
		return
	}
	defer c.Close()
	start := time.Now()
	chunk := make([]byte, streamChunk)
	back := make([]byte, streamChunk)
	for time.Since(start) < streamFor {
		_, _ = rand.Read(chunk)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(chunk); err != nil {
			t.Errorf("encoder connection to %s cut after %s: %v", ep, time.Since(start).Round(time.Second), err)
			return
		}
		if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, chunk) {
			t.Errorf("encoder connection to %s cut after %s: %v", ep, time.Since(start).Round(time.Second), err)
			return
		}
		time.Sleep(time.Second)
	}
	t.Logf("encoder connection through %s: bytes both ways every second for %s, not cut", ep, time.Since(start).Round(time.Second))
}

// streamChunk is what the stand-in Icecast sends each second, and a DJ too.
const streamChunk = 16 << 10

// backends are the stand-ins behind Traefik: the apps (one handler reports
// the client address Traefik passed on, /listen streams like Icecast), the
// ACME solver and a TCP echo server for RTMP and DJ input.
type backends struct {
	appURL, solverURL, echoAddr string
}

func startBackends(t *testing.T) *backends {
	app := http.NewServeMux()
	app.HandleFunc("/listen", func(w http.ResponseWriter, r *http.Request) {
		seconds, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
		chunk := bytes.Repeat([]byte{0x55}, streamChunk)
		for i := 0; i < seconds; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"realIP": r.Header.Get("X-Real-Ip"), "forwardedFor": r.Header.Get("X-Forwarded-For")})
	})
	solver := http.NewServeMux()
	solver.HandleFunc("/.well-known/acme-challenge/"+acmeToken, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, acmeKeyAuthorization)
	})
	b := &backends{appURL: serveHTTP(t, app), solverURL: serveHTTP(t, solver)}
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	b.echoAddr = echo.Addr().String()
	return b
}

func serveHTTP(t *testing.T, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// proxyV1 is a PROXY protocol v1 header (haproxy's proxy-protocol.txt, 2.1).
func proxyV1(src netip.AddrPort, dst *net.TCPAddr) []byte {
	family, dstIP := "TCP4", dst.IP.String()
	if src.Addr().Is6() {
		family, dstIP = "TCP6", "::1"
	}
	return fmt.Appendf(nil, "PROXY %s %s %s %d %d\r\n", family, src.Addr(), dstIP, src.Port(), dst.Port)
}

// proxyV2 is a PROXY protocol v2 header for a proxied TCP connection
// (proxy-protocol.txt, 2.2): signature, version 2 + PROXY, family, length,
// addresses, ports.
func proxyV2(src netip.AddrPort, dst *net.TCPAddr) []byte {
	h := []byte("\r\n\r\n\x00\r\nQUIT\n")
	h = append(h, 0x21)
	var addrs []byte
	if src.Addr().Is6() {
		h = append(h, 0x21)
		s, d := src.Addr().As16(), netip.IPv6Loopback().As16()
		addrs = append(append(addrs, s[:]...), d[:]...)
	} else {
		h = append(h, 0x11)
		s, d := src.Addr().As4(), [4]byte(dst.IP.To4())
		addrs = append(append(addrs, s[:]...), d[:]...)
	}
	addrs = append(addrs, byte(src.Port()>>8), byte(src.Port()), byte(dst.Port>>8), byte(dst.Port))
	h = append(h, byte(len(addrs)>>8), byte(len(addrs)))
	return append(h, addrs...)
}

// freePorts finds a free loopback port per name, holding each until all are
// found so that no two names get the same one.
func freePorts(t *testing.T, names []string) map[string]int {
	ports := map[string]int{}
	for _, name := range names {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[name] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

func getJSON(u string, v any) error {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// covers reports whether CIDR outer contains all of inner.
func covers(t *testing.T, outer, inner string) bool {
	o, err := netip.ParsePrefix(outer)
	if err != nil {
		t.Fatalf("trustedIPs %q: %v", outer, err)
	}
	i, err := netip.ParsePrefix(inner)
	if err != nil {
		t.Fatalf("VPC range %q: %v", inner, err)
	}
	return o.Bits() <= i.Bits() && o.Contains(i.Addr())
}

func duration(t *testing.T, s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

// sanitize makes a name usable as a file-provider key.
func sanitize(s string) string {
	return strings.NewReplacer("@", "-", "/", "-", ".", "-").Replace(s)
}
