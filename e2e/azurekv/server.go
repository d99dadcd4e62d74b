// Package azurekv is a Key Vault server for tests, with the Microsoft
// Entra ID token endpoint beside it, on one loopback HTTPS listener.
//
// No Key Vault emulator can be had here, so this one follows the REST
// shapes Azure documents, as far as Get Secret needs them: the vault's
// 401 answer to an unauthenticated request, whose WWW-Authenticate
// challenge names the tenant's authority and the resource (azsecrets
// answers it; like the SDK's own fake it names the resource by the last
// three labels of the host, so "127.0.0.1:PORT" is challenged for
// "0.0.1:PORT"); the tenant's OpenID configuration and its token
// endpoint, which takes the client credentials grant with a client id and
// secret and answers invalid_client (401) to wrong ones; GET
// /secrets/NAME[/VERSION]?api-version=V with a bearer token issued for
// the vault's resource; and the JSON bodies of a secret and of the
// errors (SecretNotFound 404, Unauthorized 401, Forbidden 403). What is
// not real: access policies or RBAC beyond one switch, tokens (random
// strings, not signed JWTs), soft delete, and every other operation.
//
// It imports nothing outside the standard library.
package azurekv

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is the vault and the token endpoint. Set its fields before it
// serves; use the methods after. URL is the base URL it is served at
// (https://127.0.0.1:PORT), used in the challenge, the OpenID
// configuration and the ids of secrets.
type Server struct {
	URL                              string
	TenantID, ClientID, ClientSecret string

	mu        sync.Mutex
	secrets   map[string][]version // oldest first; the last is current
	tokens    map[string]string    // issued token -> scope
	delay     time.Duration
	forbidden bool
	calls     int
}

type version struct{ id, value string }

// New returns a server that accepts the service principal given.
func New(tenantID, clientID, clientSecret string) *Server {
	return &Server{TenantID: tenantID, ClientID: clientID, ClientSecret: clientSecret,
		secrets: map[string][]version{}, tokens: map[string]string{}}
}

// Put adds a version of the secret name, which becomes its current
// version, and returns its version id.
func (s *Server) Put(name, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := randHex(16)
	s.secrets[name] = append(s.secrets[name], version{id, value})
	return id
}

// SetDelay makes every answer wait d first (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetForbidden makes the vault refuse valid tokens with 403, as it does a
// principal without get permission on secrets.
func (s *Server) SetForbidden(f bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden = f
}

// Calls is the number of requests that reached the handler.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// resource is the vault's resource in the challenge: the last three labels
// of the host, as the SDK's own fake names it.
func resource(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) > 3 {
		labels = labels[len(labels)-3:]
	}
	return "https://" + strings.Join(labels, ".")
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	delay := s.delay
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil { // reads the body: a hung-up client now ends the wait
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/v2.0/.well-known/openid-configuration"):
		s.openID(w, r, strings.Trim(strings.TrimSuffix(path, "/v2.0/.well-known/openid-configuration"), "/"))
	case strings.HasSuffix(path, "/oauth2/v2.0/token"):
		s.token(w, r, strings.Trim(strings.TrimSuffix(path, "/oauth2/v2.0/token"), "/"))
	case strings.HasPrefix(path, "/secrets/"):
		s.getSecret(w, r, strings.TrimPrefix(path, "/secrets/"))
	default:
		kvError(w, http.StatusNotFound, "NotFound", "no such operation")
	}
}

func (s *Server) openID(w http.ResponseWriter, r *http.Request, tenant string) {
	if tenant != s.TenantID {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant '" + tenant + "' not found."})
		return
	}
	base := s.URL + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
	})
}

// token is the client credentials grant of the v2.0 token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	f := r.PostForm
	// MSAL adds OpenID Connect's own scopes to the resource's.
	var scope string
	for sc := range strings.FieldsSeq(f.Get("scope")) {
		if strings.HasSuffix(sc, "/.default") {
			scope = strings.TrimSuffix(sc, "/.default")
		}
	}
	switch {
	case r.Method != http.MethodPost:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "invalid_request"})
	case tenant != s.TenantID:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})
	case f.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
	case f.Get("client_id") != s.ClientID:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found in the directory."})
	case f.Get("client_secret") != s.ClientSecret:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
	case scope == "":
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_scope"})
	default:
		tok := randHex(24)
		s.mu.Lock()
		s.tokens[tok] = scope
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet || r.URL.Query().Get("api-version") == "" {
		kvError(w, http.StatusBadRequest, "BadParameter", "GET with an api-version")
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="`+s.URL+"/"+s.TenantID+`", resource="`+resource(r.Host)+`"`)
		kvError(w, http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	s.mu.Lock()
	scope, issued := s.tokens[tok]
	forbidden := s.forbidden
	s.mu.Unlock()
	if !ok || !issued || scope != resource(r.Host) {
		kvError(w, http.StatusUnauthorized, "Unauthorized", "AKV10022: Invalid audience.")
		return
	}
	if forbidden {
		kvError(w, http.StatusForbidden, "Forbidden", "The user, group or application does not have secrets get permission on key vault.")
		return
	}
	name, ver, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	s.mu.Lock()
	versions := s.secrets[name]
	s.mu.Unlock()
	var v *version
	for i := range versions {
		if ver == "" && i == len(versions)-1 || ver != "" && versions[i].id == ver {
			v = &versions[i]
		}
	}
	if v == nil {
		msg := "A secret with (name/id) " + name + " was not found in this key vault."
		if ver != "" {
			msg = "A secret with (name/id) " + name + "/" + ver + " was not found in this key vault."
		}
		kvError(w, http.StatusNotFound, "SecretNotFound", msg)
		return
	}
	now := time.Now().Unix()
	writeJSON(w, http.StatusOK, map[string]any{
		"value": v.value,
		"id":    s.URL + "/secrets/" + name + "/" + v.id,
		"attributes": map[string]any{
			"enabled": true, "created": now, "updated": now,
			"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90,
		},
	})
}

func kvError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
