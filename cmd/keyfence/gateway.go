package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/gateway"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

const gatewayUsage = `usage: keyfence gateway --keystore KS --policy POLICY --state STATE|postgres://USER@HOST/DB [--state-schema S] --audit LOG --upstream VENUE=URL... [--listen 127.0.0.1:0] [--admin SOCKET]
       keyfence gateway client add --keystore KS --name BOT --credential CRED [--public-key FILE] | --admin SOCKET --name BOT --credential CRED
       keyfence gateway client remove|list --admin SOCKET [--name BOT] | --keystore KS ...
       keyfence gateway killswitch trip|reset|status --admin SOCKET [--reason TEXT]
       keyfence gateway policy reload --admin SOCKET
       keyfence gateway status|reconcile --admin SOCKET`

// gatewayShutdown bounds how long in-flight requests may take to finish
// once the gateway is interrupted.
const gatewayShutdown = 30 * time.Second

func gatewayCmd(ctx context.Context, args []string, e *env) error {
	if len(args) > 0 {
		switch args[0] {
		case "client":
			return gatewayClientCmd(ctx, args[1:], e)
		case "killswitch":
			return gatewayKillCmd(ctx, args[1:], e)
		case "policy":
			if len(args) < 2 || args[1] != "reload" {
				return usagef("%s", gatewayUsage)
			}
			return gatewayAdminCall(ctx, "gateway policy reload", args[2:], e, http.MethodPost, "/v1/policy/reload", nil)
		case "status":
			return gatewayAdminCall(ctx, "gateway status", args[1:], e, http.MethodGet, "/v1/status", nil)
		case "reconcile":
			return gatewayAdminCall(ctx, "gateway reconcile", args[1:], e, http.MethodPost, "/v1/reconcile", nil)
		}
	}
	return gatewayRun(ctx, args, e)
}

func gatewayRun(ctx context.Context, args []string, e *env) error {
	fs := newFlags("gateway", e)
	var sf storeFlags
	sf.register(fs)
	policyFile := fs.String("policy", "", "policy file (required)")
	statePath := fs.String("state", "", "limit state file, or postgres://USER@HOST:PORT/DB: state shared with every gateway and bot on that database and schema (required)")
	schema := stateSchema(fs)
	auditPath := fs.String("audit", "", "audit log (required; durable: a request's record is written before it is signed and on disk before it is answered)")
	clientsPath := fs.String("clients", "", "client registry (default: gateway-clients.json beside the keystore)")
	listen := fs.String("listen", "127.0.0.1:0", "address of the first venue; with a fixed port, further venues take the next ports")
	unixDir := fs.String("unix", "", "serve each venue on the Unix socket DIR/VENUE.sock instead of TCP")
	admin := fs.String("admin", "", "admin API Unix socket (mode 0600; only this user, or --admin-uid, may connect)")
	var upstreams, adminUIDs, pins multiFlag
	fs.Var(&upstreams, "upstream", "VENUE=URL of a venue to front (repeatable): binance, kucoin, coinbase")
	fs.Var(&adminUIDs, "admin-uid", "further uid allowed on the admin socket (repeatable)")
	tlsCert := fs.String("tls-cert", "", "serve TLS with this certificate (PEM)")
	tlsKey := fs.String("tls-key", "", "private key of --tls-cert (PEM)")
	fs.Var(&pins, "client-cert-sha256", "with TLS, accept only client certificates whose DER has this SHA-256 (hex; repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("gateway: unexpected argument %q; %s", fs.Arg(0), gatewayUsage)
	}
	if *policyFile == "" || *statePath == "" || *auditPath == "" || len(upstreams) == 0 {
		return usagef("gateway: --policy, --state, --audit and at least one --upstream are required; %s", gatewayUsage)
	}
	if isPostgresState(*statePath) {
		if err := checkPostgresURL(*statePath); err != nil {
			return err
		}
	}
	ups := map[string]string{}
	for _, u := range upstreams {
		venue, url, ok := strings.Cut(u, "=")
		if !ok || venue == "" || url == "" {
			return usagef("gateway: --upstream %q is not VENUE=URL", u)
		}
		if _, dup := ups[venue]; dup {
			return usagef("gateway: --upstream %s given twice", venue)
		}
		ups[venue] = url
	}
	var uids []int
	for _, s := range adminUIDs {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return usagef("gateway: --admin-uid %q is not a uid", s)
		}
		uids = append(uids, n)
	}
	tlsConf, err := gatewayTLS(*tlsCert, *tlsKey, pins)
	if err != nil {
		return err
	}
	policy, err := limits.LoadPolicy(*policyFile)
	if err != nil {
		return err
	}
	ks, err := openKeys(ctx, &sf, e)
	if err != nil {
		return err
	}
	defer ks.Close()
	if err := ensureRegistryKey(ctx, ks); err != nil {
		return err
	}
	if *clientsPath == "" {
		*clientsPath = defaultClientsPath(sf.path)
	}
	sg := e.signer(ks)
	clients, err := gateway.OpenClients(ctx, *clientsPath, sg, gateway.RegistryKeyName)
	if err != nil {
		return err
	}
	// Durable: the gateway writes each decision record and reservation
	// before signing, fsyncs them while the venue answers (one fsync for
	// every request written meanwhile) and answers no request before they
	// are on disk.
	log, err := audit.Open(ctx, *auditPath, audit.NoSync())
	if err != nil {
		return err
	}
	defer log.Close()
	// A state file syncs in groups like the audit log. PostgreSQL commits
	// each reservation before Reserve returns: it is durable before the
	// request is signed, and the gateway waits on nothing more for it.
	// Gateways on one PostgreSQL schema share its replay record too: a
	// captured request is admitted by one of them only.
	var store limits.Store
	var replays gateway.ReplayGuard
	syncStore := func() error { return nil }
	if isPostgresState(*statePath) {
		ps, err := openPostgresState(ctx, *statePath, *schema, true)
		if err != nil {
			return err
		}
		defer ps.Close()
		store, replays = ps, ps
	} else {
		fstore, err := limits.OpenFileStore(*statePath, limits.DeferSync(), limits.WithAuditLog(log))
		if err != nil {
			return err
		}
		defer fstore.Close()
		store = fstore
		syncStore = func() error { return fstore.SyncThrough(fstore.Appended()) }
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := gateway.New(ctx, gateway.Config{Signer: sg, Policy: policy, Store: store, Audit: log,
		Clients: clients, Upstreams: ups, Logger: logger, Replays: replays})
	if err != nil {
		return err
	}
	defer gw.Close()

	type served struct {
		venue string
		srv   *http.Server
		l     net.Listener
		url   string
	}
	var servers []served
	closeAll := func() {
		for _, s := range servers {
			_ = s.l.Close()
		}
	}
	host, portStr, err := net.SplitHostPort(*listen)
	if err != nil {
		return usagef("gateway: --listen %q: %v", *listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return usagef("gateway: --listen %q: bad port", *listen)
	}
	for i, venue := range gw.Venues() {
		h, _ := gw.Handler(venue)
		var l net.Listener
		var url string
		if *unixDir != "" {
			path := filepath.Join(*unixDir, venue+".sock")
			_ = os.Remove(path)
			if l, err = net.Listen("unix", path); err == nil {
				err = os.Chmod(path, 0o660)
			}
			url = "unix:" + path
		} else {
			p := port
			if port != 0 {
				p = port + i
			}
			l, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err == nil {
				url = "http://" + l.Addr().String()
			}
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("gateway: %s: %w", venue, err)
		}
		if tlsConf != nil {
			l = tls.NewListener(l, tlsConf)
			url = strings.Replace(url, "http://", "https://", 1)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		servers = append(servers, served{venue, srv, l, url})
	}
	var adminSrv *http.Server
	var adminL net.Listener
	if *admin != "" {
		if adminL, err = gateway.ListenAdmin(*admin, uids...); err != nil {
			closeAll()
			return fmt.Errorf("gateway: admin socket: %w", err)
		}
		adminSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: gw.AdminHandler(gateway.AdminConfig{
			LoadPolicy: func() (*limits.Policy, error) { return limits.LoadPolicy(*policyFile) },
			CredentialVenue: func(ctx context.Context, cred string) (string, error) {
				info, err := sg.Info(ctx, cred)
				if err != nil {
					return "", err
				}
				return info.Venue, nil
			},
		})}
		go func() { _ = adminSrv.Serve(adminL) }()
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			if err := s.srv.Serve(s.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("gateway: %s: %w", s.venue, err)
			}
		}()
	}
	for _, s := range servers {
		fmt.Fprintf(e.stdout, "%s %s\n", s.venue, s.url)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	// Graceful shutdown: new connections are refused, requests in flight
	// finish, then the audit log and the state close (deferred above).
	gw.Drain()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), gatewayShutdown)
	defer cancel()
	for _, s := range servers {
		if err := s.srv.Shutdown(sctx); err != nil && runErr == nil {
			runErr = fmt.Errorf("gateway: %s: shutting down: %w", s.venue, err)
		}
	}
	if adminSrv != nil {
		_ = adminSrv.Shutdown(sctx)
		_ = os.Remove(*admin)
	}
	if err := errors.Join(log.Sync(), syncStore()); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// gatewayTLS returns the TLS configuration of --tls-cert, --tls-key and
// the client certificate pins, or nil without TLS.
func gatewayTLS(certFile, keyFile string, pins []string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		if len(pins) > 0 {
			return nil, usagef("gateway: --client-cert-sha256 needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, usagef("gateway: TLS needs both --tls-cert and --tls-key")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("gateway: TLS certificate: %w", err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if len(pins) > 0 {
		want := map[string]bool{}
		for _, p := range pins {
			p = strings.ToLower(strings.ReplaceAll(p, ":", ""))
			if b, err := hex.DecodeString(p); err != nil || len(b) != sha256.Size {
				return nil, usagef("gateway: --client-cert-sha256 %q is not a SHA-256 in hex", p)
			}
			want[p] = true
		}
		conf.ClientAuth = tls.RequireAnyClientCert
		conf.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no client certificate")
			}
			sum := sha256.Sum256(raw[0])
			if !want[hex.EncodeToString(sum[:])] {
				return errors.New("client certificate is not pinned")
			}
			return nil
		}
	}
	return conf, nil
}

// defaultClientsPath is the client registry beside the keystore.
func defaultClientsPath(keystorePath string) string {
	return filepath.Join(filepath.Dir(keystorePath), "gateway-clients.json")
}

// ensureRegistryKey adds the key that seals the client registry to the
// keystore when it has none.
func ensureRegistryKey(ctx context.Context, ks *keystore.Keystore) error {
	for _, en := range ks.Entries() {
		if en.Name == gateway.RegistryKeyName {
			return nil
		}
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	defer signer.Wipe(secret)
	return ks.Add(ctx, keystore.Entry{Name: gateway.RegistryKeyName, Venue: "gateway", APIKey: "client-registry", Type: signer.KeyHMAC}, secret, nil)
}

func gatewayClientCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || !slices.Contains([]string{"add", "remove", "list"}, args[0]) {
		return usagef("%s", gatewayUsage)
	}
	op := args[0]
	fs := newFlags("gateway client "+op, e)
	var sf storeFlags
	sf.register(fs)
	admin := fs.String("admin", "", "admin socket of a running gateway")
	name := fs.String("name", "", "client name")
	cred := fs.String("credential", "", "venue credential (keystore key) the client's requests are signed with (add)")
	pubFile := fs.String("public-key", "", "Binance: the bot's Ed25519 public key (PEM) to register instead of issuing an HMAC secret (add)")
	clientsPath := fs.String("clients", "", "client registry (default: gateway-clients.json beside the keystore)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("gateway client %s: unexpected argument %q", op, fs.Arg(0))
	}
	if op != "list" && *name == "" {
		return usagef("gateway client %s: --name is required", op)
	}
	if op == "add" && *cred == "" {
		return usagef("gateway client add: --credential is required")
	}
	var pub []byte
	if *pubFile != "" {
		var err error
		if pub, err = os.ReadFile(*pubFile); err != nil {
			return fmt.Errorf("gateway client add: --public-key: %w", err)
		}
	}
	if *admin != "" {
		switch op {
		case "add":
			body, _ := json.Marshal(map[string]string{"name": *name, "credential": *cred, "public_key": string(pub)})
			return adminDo(ctx, e, *admin, http.MethodPost, "/v1/clients", body)
		case "remove":
			return adminDo(ctx, e, *admin, http.MethodDelete, "/v1/clients/"+urlPathEscape(*name), nil)
		default:
			return adminDo(ctx, e, *admin, http.MethodGet, "/v1/clients", nil)
		}
	}
	ks, err := openKeys(ctx, &sf, e)
	if err != nil {
		return err
	}
	defer ks.Close()
	if err := ensureRegistryKey(ctx, ks); err != nil {
		return err
	}
	if *clientsPath == "" {
		*clientsPath = defaultClientsPath(sf.path)
	}
	sg := e.signer(ks)
	clients, err := gateway.OpenClients(ctx, *clientsPath, sg, gateway.RegistryKeyName)
	if err != nil {
		return err
	}
	switch op {
	case "remove":
		if err := clients.Remove(*name); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed client %s (a running gateway refuses it from its next request)\n", *name)
		return nil
	case "list":
		return printJSON(e.stdout, clients.List())
	}
	info, err := sg.Info(ctx, *cred)
	if err != nil {
		return err
	}
	cl, out, err := gateway.NewClient(*name, info.Venue, *cred, gateway.IssueOptions{PublicKey: pub})
	if err != nil {
		return err
	}
	if err := clients.Add(cl); err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}

func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func gatewayKillCmd(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || !slices.Contains([]string{"trip", "reset", "status"}, args[0]) {
		return usagef("%s", gatewayUsage)
	}
	op := args[0]
	fs := newFlags("gateway killswitch "+op, e)
	admin := fs.String("admin", "", "admin socket of the running gateway (required)")
	reason := fs.String("reason", "", "why the switch is tripped (trip)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *admin == "" || fs.NArg() > 0 {
		return usagef("gateway killswitch %s: --admin SOCKET is required", op)
	}
	switch op {
	case "trip":
		body, _ := json.Marshal(map[string]string{"reason": *reason})
		return adminDo(ctx, e, *admin, http.MethodPost, "/v1/killswitch/trip", body)
	case "reset":
		return adminDo(ctx, e, *admin, http.MethodPost, "/v1/killswitch/reset", nil)
	}
	return adminDo(ctx, e, *admin, http.MethodGet, "/v1/killswitch", nil)
}

// gatewayAdminCall parses --admin and makes one admin call.
func gatewayAdminCall(ctx context.Context, name string, args []string, e *env, method, path string, body []byte) error {
	fs := newFlags(name, e)
	admin := fs.String("admin", "", "admin socket of the running gateway (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *admin == "" || fs.NArg() > 0 {
		return usagef("%s: --admin SOCKET is required", name)
	}
	return adminDo(ctx, e, *admin, method, path, body)
}

// adminDo makes one call to the admin API on socket and prints its JSON
// answer; an error answer is returned as an error.
func adminDo(ctx context.Context, e *env, socket, method, path string, body []byte) error {
	var in any
	if body != nil {
		in = json.RawMessage(body)
	}
	var out json.RawMessage
	if err := adminCall(ctx, socket, method, path, in, &out); err != nil {
		return err
	}
	b := []byte(out)
	var compact bytes.Buffer
	if json.Compact(&compact, b) == nil {
		b = compact.Bytes()
	}
	_, err := e.stdout.Write(append(b, '\n'))
	return err
}

func urlPathEscape(s string) string { return neturl.PathEscape(s) }
