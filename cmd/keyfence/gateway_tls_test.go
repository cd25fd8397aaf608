package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// selfSigned returns a certificate and its key for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: nil, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestGatewayTLSPinning serves with gatewayTLS: a client presenting the
// pinned certificate is served, one presenting another certificate or
// none is refused in the handshake.
func TestGatewayTLSPinning(t *testing.T) {
	dir := t.TempDir()
	server := selfSigned(t)
	kd, err := x509.MarshalECPrivateKey(server.PrivateKey.(*ecdsa.PrivateKey))
	require.NoError(t, err)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate[0]}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600))
	pinned, other := selfSigned(t), selfSigned(t)
	sum := sha256.Sum256(pinned.Certificate[0])
	conf, err := gatewayTLS(certFile, keyFile, []string{hex.EncodeToString(sum[:])})
	require.NoError(t, err)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = conf
	srv.StartTLS()
	defer srv.Close()
	get := func(certs ...tls.Certificate) error {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, Certificates: certs}}} // the test pins the client side only
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	require.NoError(t, get(pinned), "the pinned client certificate")
	require.Error(t, get(other), "a certificate that is not pinned")
	require.Error(t, get(), "no client certificate")

	_, err = gatewayTLS("", "", []string{"ab"})
	require.Error(t, err, "pins without a certificate")
	_, err = gatewayTLS(certFile, keyFile, []string{"not-hex"})
	require.Error(t, err, "a pin that is not a SHA-256")
}
