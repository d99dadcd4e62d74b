// Package azurekv fetches values from Azure Key Vault through Azure's own
// clients: azsecrets for the vault and azidentity's client secret
// credential for Microsoft Entra ID.
//
// A source "azure-kv://myvault/db-password" reads the secret db-password
// of the vault myvault (https://myvault.vault.azure.net), in its current
// version; ?version=ID pins a version. A Key Vault secret is one string,
// so a source names no #KEY.
//
// Settings ([provider.azure-kv]): tenant_id_secret, client_id_secret and
// client_secret_secret, the names of the wsx secrets holding the service
// principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET);
// vault_url, the vault's URL with {vault} standing for the vault's name
// (default "https://{vault}.vault.azure.net"); authority_host, Entra ID's
// host (default https://login.microsoftonline.com/); and the common
// timeout. The client secret is sent to the authority host, so a manifest
// may name only Microsoft's hosts there (or a loopback one, for a test
// server): a wsx.toml cannot send the secret elsewhere. The vault's
// answer to an unauthenticated request names the resource a token is asked
// for, and the client checks that it belongs to the vault's domain.
// Of the AZURE_* environment variables azidentity reads only
// AZURE_REGIONAL_AUTHORITY_NAME (a regional Microsoft login host) here,
// and wsx-provider, which runs this provider, is started without it.
//
// A Fetch is one try, bounded by the timeout; trying again with backoff is
// the caller's (the common retries setting), so the SDK's retry policy is
// off.
package azurekv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/wsxdev/wsx/provider"
)

// table is the provider's manifest table, [provider.azure-kv]: a source's scheme.
const table = "azure-kv"

// Defaults of the settings.
const (
	DefaultTenantIDSecret     = "AZURE_TENANT_ID"
	DefaultClientIDSecret     = "AZURE_CLIENT_ID"
	DefaultClientSecretSecret = "AZURE_CLIENT_SECRET"
	DefaultVaultURL           = "https://{vault}.vault.azure.net"
)

// authorityHosts are the Entra ID hosts of Azure's clouds: the only ones
// a manifest may send the client secret to, besides loopback.
var authorityHosts = []string{
	"login.microsoftonline.com", // AzurePublic
	"login.chinacloudapi.cn",    // AzureChina
	"login.microsoftonline.us",  // AzureGovernment
}

// KV fetches from Key Vault.
type KV struct {
	tenantSecret, clientSecret, passwordSecret string
	vaultURL, authority                        string
	timeout                                    time.Duration
	creds                                      provider.Creds
	transport                                  policy.Transporter // nil: an http.Client of its own

	mu      sync.Mutex
	cred    azcore.TokenCredential // made by the first Fetch that could read the service principal
	clients map[string]*azsecrets.Client
}

// Open checks s and returns a Key Vault provider. It does no I/O and reads
// no credential yet.
func Open(s provider.Settings, creds provider.Creds) (provider.Provider, error) {
	return open(s, creds)
}

func open(s provider.Settings, creds provider.Creds) (*KV, error) {
	if err := s.Check(table, "tenant_id_secret", "client_id_secret", "client_secret_secret", "vault_url", "authority_host"); err != nil {
		return nil, err
	}
	kv := &KV{creds: creds, clients: map[string]*azsecrets.Client{}}
	str := s.Strings(table)
	kv.tenantSecret = str.Get("tenant_id_secret", DefaultTenantIDSecret)
	kv.clientSecret = str.Get("client_id_secret", DefaultClientIDSecret)
	kv.passwordSecret = str.Get("client_secret_secret", DefaultClientSecretSecret)
	kv.vaultURL = str.Get("vault_url", DefaultVaultURL)
	kv.authority = str.Get("authority_host", cloud.AzurePublic.ActiveDirectoryAuthorityHost)
	if str.Err != nil {
		return nil, str.Err
	}
	var err error
	if kv.timeout, err = s.Timeout(table); err != nil {
		return nil, err
	}
	if kv.tenantSecret == "" || kv.clientSecret == "" || kv.passwordSecret == "" {
		return nil, fmt.Errorf("[provider.%s]: tenant_id_secret, client_id_secret and client_secret_secret name wsx secrets; leave them out for %s, %s and %s", table, DefaultTenantIDSecret, DefaultClientIDSecret, DefaultClientSecretSecret)
	}
	if u, err := url.Parse(strings.ReplaceAll(kv.vaultURL, "{vault}", "v")); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("[provider.%s]: vault_url %q is not an https URL, e.g. %q", table, kv.vaultURL, DefaultVaultURL)
	}
	u, err := url.Parse(kv.authority)
	if err != nil || u.Scheme != "https" || u.User != nil || (!slices.Contains(authorityHosts, u.Hostname()) && !loopback(u.Hostname())) {
		return nil, fmt.Errorf("[provider.%s]: authority_host %q: the client secret goes there, so it must be https on one of %s", table, kv.authority, strings.Join(authorityHosts, ", "))
	}
	return kv, nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// clientOptions are the SDK's options for both clients: one try, the
// transport, and the cloud given by the settings rather than AZURE_*
// variables.
func (kv *KV) clientOptions() azcore.ClientOptions {
	tr := kv.transport
	if tr == nil {
		// HTTPS_PROXY and NO_PROXY are honoured, as by Azure's own tools.
		tr = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: kv.timeout}
	}
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: kv.authority},
		Retry:     policy.RetryOptions{MaxRetries: -1, TryTimeout: kv.timeout},
		Transport: tr,
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}
}

// client returns the client of vault, made from the settings and the
// service principal read from the store. The principal is read once per
// provider, not once per secret.
func (kv *KV) client(ctx context.Context, vault string) (*azsecrets.Client, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if c := kv.clients[vault]; c != nil {
		return c, nil
	}
	if kv.cred == nil {
		tenant, err := kv.creds.Secret(ctx, kv.tenantSecret)
		if err != nil {
			return nil, err
		}
		id, err := kv.creds.Secret(ctx, kv.clientSecret)
		if err != nil {
			return nil, err
		}
		password, err := kv.creds.Secret(ctx, kv.passwordSecret)
		if err != nil {
			return nil, err
		}
		cred, err := azidentity.NewClientSecretCredential(string(tenant), string(id), string(password), &azidentity.ClientSecretCredentialOptions{
			ClientOptions: kv.clientOptions(),
			// Instance discovery asks Microsoft whether the authority is
			// one of theirs: the settings already decide that.
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			// Its message names the tenant or client id at most.
			return nil, fmt.Errorf("azure credential from %s, %s and %s: %v: %w", kv.tenantSecret, kv.clientSecret, kv.passwordSecret, err, provider.ErrAuth)
		}
		kv.cred = cred
	}
	c, err := azsecrets.NewClient(strings.ReplaceAll(kv.vaultURL, "{vault}", vault), kv.cred, &azsecrets.ClientOptions{ClientOptions: kv.clientOptions()})
	if err != nil {
		return nil, fmt.Errorf("azure-kv %s: %w", vault, err)
	}
	kv.clients[vault] = c
	return c, nil
}

// Fetch reads src: the secret NAME of the vault VAULT for a location
// VAULT/NAME, in the version src.Version or the current one.
func (kv *KV) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	name := "azure-kv " + src.Location
	vault, secret, ok := strings.Cut(src.Location, "/")
	if !ok || !vaultName(vault) || !secretName(secret) {
		return provider.Result{}, fmt.Errorf("%s: want azure-kv://VAULT/NAME: a vault name of 3 to 24 letters, digits and '-', and a secret name of letters, digits and '-'", src.Raw)
	}
	if src.Key != "" {
		return provider.Result{}, fmt.Errorf("%s: a Key Vault secret is one string with no keys: drop #%s", src.Raw, src.Key)
	}
	if src.Stage != "" {
		return provider.Result{}, fmt.Errorf("%s: stage is for aws-sm sources; Key Vault pins with ?version=ID", src.Raw)
	}
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	c, err := kv.client(ctx, vault)
	if err != nil {
		return provider.Result{}, err
	}
	resp, err := c.GetSecret(ctx, secret, src.Version, nil)
	if err != nil {
		return provider.Result{}, kv.classify(name, src, err)
	}
	if resp.Value == nil {
		return provider.Result{}, fmt.Errorf("%s: the answer holds no value: %w", name, provider.ErrNotFound)
	}
	res := provider.Result{Value: []byte(*resp.Value), Detail: name}
	if resp.ID != nil {
		res.Version = resp.ID.Version()
		res.Detail += " " + res.Version
	}
	return res, nil
}

// classify wraps an error from the clients in the provider error it is,
// naming the secret and what to do. The SDK's own messages, which quote
// whole answers, are left out.
func (kv *KV) classify(name string, src provider.Source, err error) error {
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		if af.RawResponse == nil {
			return fmt.Errorf("%s: Entra ID at %s: %w", name, kv.authority, provider.ErrUnavailable)
		}
		st := af.RawResponse.StatusCode
		if st == http.StatusTooManyRequests || st >= 500 {
			return fmt.Errorf("%s: Entra ID answered %d: %w", name, st, provider.ErrUnavailable)
		}
		return fmt.Errorf("%s: Entra ID refused the service principal in %s, %s and %s (%d): %w", name, kv.tenantSecret, kv.clientSecret, kv.passwordSecret, st, provider.ErrAuth)
	}
	if strings.Contains(err.Error(), "isn't configured to acquire tokens for tenant") {
		// The vault's challenge named another tenant than the principal's.
		return fmt.Errorf("%s: the vault belongs to another tenant than the one in %s: %w", name, kv.tenantSecret, provider.ErrAuth)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch st := re.StatusCode; {
		case st == http.StatusNotFound:
			what := "no such secret"
			if src.Version != "" {
				what = "no such secret or version"
			}
			return fmt.Errorf("%s: %s (%s): %w", name, what, re.ErrorCode, provider.ErrNotFound)
		case st == http.StatusUnauthorized:
			return fmt.Errorf("%s: Key Vault refused the token for %s (%s): %w", name, kv.clientSecret, re.ErrorCode, provider.ErrAuth)
		case st == http.StatusForbidden:
			return fmt.Errorf("%s: the service principal in %s may not read it; grant it get on secrets (%s): %w", name, kv.clientSecret, re.ErrorCode, provider.ErrAuth)
		case st == http.StatusTooManyRequests || st >= 500:
			return fmt.Errorf("%s: Key Vault answered %d: %w", name, st, provider.ErrUnavailable)
		default:
			return fmt.Errorf("%s: Key Vault answered %d (%s)", name, st, re.ErrorCode)
		}
	}
	if nerr := provider.NetError(name, kv.timeout, err); nerr != nil {
		return nerr
	}
	return fmt.Errorf("%s: %w", name, err)
}

// vaultName reports whether s is a Key Vault name: 3 to 24 letters,
// digits and '-', starting with a letter.
func vaultName(s string) bool {
	if len(s) < 3 || len(s) > 24 || !isLetter(s[0]) {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
}

// secretName reports whether s is a Key Vault secret name: 1 to 127
// letters, digits and '-'.
func secretName(s string) bool {
	return len(s) >= 1 && len(s) <= 127 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
