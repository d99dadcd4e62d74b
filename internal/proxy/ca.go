package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"time"
)

// authority is the per-run certificate authority: its key lives in this
// process's memory only and goes with it. Its certificate is name
// constrained to the hosts the secrets are bound to, so a client that
// trusts it trusts it for those hosts alone.
type authority struct {
	cert    *x509.Certificate
	certDER []byte
	key     *ecdsa.PrivateKey
	leafKey *ecdsa.PrivateKey // one key for every leaf of the run

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// caLifetime bounds the CA and its leaves: a run that lasts longer gets
// certificates that expire (the key is gone when the run ends anyway).
const caLifetime = 7 * 24 * time.Hour

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// newAuthority makes a CA for hosts (names or IP addresses, no ports).
func newAuthority(hosts []string, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("proxy CA key: %w", err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("proxy leaf key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "wsx exec proxy, this run only", Organization: []string{"wsx"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	constrain(tmpl, hosts)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("proxy CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, certDER: der, key: key, leafKey: leafKey, leaves: map[string]*tls.Certificate{}}, nil
}

// constrain limits what the CA may sign to hosts: each name and its
// subdomains, each IP address alone. A kind of name none of the hosts is
// gets excluded whole (an empty permitted list would allow every name).
func constrain(c *x509.Certificate, hosts []string) {
	c.PermittedDNSDomainsCritical = true
	for _, h := range hosts {
		if a, err := netip.ParseAddr(h); err == nil {
			bits := a.BitLen()
			c.PermittedIPRanges = append(c.PermittedIPRanges, &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, bits)})
			continue
		}
		c.PermittedDNSDomains = append(c.PermittedDNSDomains, h)
	}
	if len(c.PermittedIPRanges) == 0 {
		c.ExcludedIPRanges = []*net.IPNet{
			{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		}
	}
	if len(c.PermittedDNSDomains) == 0 {
		// "." matches no name a certificate can carry.
		c.ExcludedDNSDomains = []string{""}
	}
}

// PEM returns the CA's certificate.
func (a *authority) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.certDER})
}

var errNoHost = errors.New("no host name")

// leaf returns the certificate for host, made on first use.
func (a *authority) leaf(host string, now time.Time) (*tls.Certificate, error) {
	if host == "" {
		return nil, errNoHost
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.leaves[host]; ok && now.Before(c.Leaf.NotAfter) {
		return c, nil
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     a.cert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		// No common name: OpenSSL checks one that looks like a host name
		// against the DNS constraints, which exclude every name here.
		tmpl.IPAddresses = []net.IP{ip.AsSlice()}
	} else {
		tmpl.Subject = pkix.Name{CommonName: host}
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &a.leafKey.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("proxy certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, a.certDER}, PrivateKey: a.leafKey, Leaf: leaf}
	a.leaves[host] = c
	return c, nil
}
