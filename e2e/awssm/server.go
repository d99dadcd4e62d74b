// Package awssm is a Secrets Manager server for tests: the GetSecretValue
// operation of the AWS JSON 1.1 protocol, on loopback, with requests
// authenticated by Signature Version 4 as AWS documents it.
//
// What is real: the wire format the AWS SDK speaks (POST /, Content-Type
// application/x-amz-json-1.1, X-Amz-Target secretsmanager.GetSecretValue,
// the request and answer members, errors as {"__type", "message"} with the
// documented exception names); version ids and version stages as Secrets
// Manager keeps them (AWSCURRENT moves to a new version and the old one
// becomes AWSPREVIOUS; a version is asked for by id, by stage, or both);
// and SigV4: the signature is computed again here, independently of the
// SDK's signer, from the canonical request, the credential scope and the
// secret key the test registered, so a wrong secret key fails as
// InvalidSignatureException and an unknown key id as
// UnrecognizedClientException, as AWS answers them. What is not: IAM
// policies, KMS, rotation, every other operation, and TLS (it listens on
// plain HTTP on 127.0.0.1, set as the client's endpoint).
//
// It imports nothing outside the standard library.
package awssm

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Service is the SigV4 signing name of Secrets Manager.
const Service = "secretsmanager"

// Account is the account id in the ARNs the server makes.
const Account = "123456789012"

// Key is an access key the server accepts.
type Key struct {
	ID, Secret string
	Token      string // a session token the request must carry, or ""
}

// Server answers GetSecretValue for the secrets put into it. Its fields
// may be set before it serves; use the methods after.
type Server struct {
	Region string
	Now    func() time.Time // the clock for the request date check; time.Now when nil

	mu      sync.Mutex
	keys    map[string]Key
	secrets map[string]*secret
	delay   time.Duration
	calls   int
}

type secret struct {
	name, arn string
	versions  []*version
}

type version struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

// New returns a server for region.
func New(region string) *Server {
	return &Server{Region: region, keys: map[string]Key{}, secrets: map[string]*secret{}}
}

// AddKey makes the server accept k.
func (s *Server) AddKey(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ID] = k
}

// SetDelay makes every answer wait d first (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Calls is the number of requests that reached the handler.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// PutString adds a version holding a string to the secret name, creating
// the secret, and returns its version id. The version gets the stages
// given, AWSCURRENT when none are: as PutSecretValue does, AWSCURRENT
// moves to it and the version that had it becomes AWSPREVIOUS.
func (s *Server) PutString(name, value string, stages ...string) string {
	return s.put(name, &version{str: &value}, stages)
}

// PutBinary is PutString for a binary value.
func (s *Server) PutBinary(name string, value []byte, stages ...string) string {
	return s.put(name, &version{bin: bytes.Clone(value)}, stages)
}

func (s *Server) put(name string, v *version, stages []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(stages) == 0 {
		stages = []string{"AWSCURRENT"}
	}
	sec := s.secrets[name]
	if sec == nil {
		sec = &secret{name: name, arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.Region, Account, name, randHex(3))}
		s.secrets[name] = sec
	}
	v.id = uuid()
	v.created = time.Now()
	for _, stage := range stages {
		for _, old := range sec.versions {
			if i := indexOf(old.stages, stage); i >= 0 {
				old.stages = append(old.stages[:i], old.stages[i+1:]...)
				if stage == "AWSCURRENT" {
					for _, o := range sec.versions {
						if j := indexOf(o.stages, "AWSPREVIOUS"); j >= 0 {
							o.stages = append(o.stages[:j], o.stages[j+1:]...)
						}
					}
					old.stages = append(old.stages, "AWSPREVIOUS")
				}
			}
		}
	}
	v.stages = append([]string(nil), stages...)
	sec.versions = append(sec.versions, v)
	return v.id
}

// apiError is an error answer of the JSON 1.1 protocol.
type apiError struct {
	status  int
	typ     string
	message string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	delay := s.delay
	s.mu.Unlock()
	// Read the body first: only then does the server notice a client
	// that hung up, and end the wait below.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
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
	out, aerr := s.serve(r, body)
	if aerr != nil {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", aerr.typ)
		w.WriteHeader(aerr.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": aerr.typ, "message": aerr.message})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write(out)
}

func (s *Server) serve(r *http.Request, body []byte) ([]byte, *apiError) {
	if aerr := s.authenticate(r, body); aerr != nil {
		return nil, aerr
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{404, "UnknownOperationException", ""}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return nil, &apiError{400, "SerializationException", "Content-Type must be application/x-amz-json-1.1"}
	}
	switch r.Header.Get("X-Amz-Target") {
	case "secretsmanager.GetSecretValue":
		return s.getSecretValue(body)
	default:
		return nil, &apiError{400, "UnknownOperationException", ""}
	}
}

// getSecretValue is the operation: SecretId (a name or an ARN),
// VersionId, VersionStage (AWSCURRENT when neither is given).
func (s *Server) getSecretValue(body []byte) ([]byte, *apiError) {
	var in struct {
		SecretId     *string
		VersionId    *string
		VersionStage *string
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, &apiError{400, "SerializationException", "Start of structure or map found where not expected."}
	}
	if in.SecretId == nil || *in.SecretId == "" {
		return nil, &apiError{400, "ValidationException", "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[*in.SecretId]
	if sec == nil {
		for _, c := range s.secrets {
			if c.arn == *in.SecretId {
				sec = c
			}
		}
	}
	if sec == nil {
		return nil, &apiError{400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
	}
	var v *version
	for _, c := range sec.versions {
		idOK := in.VersionId == nil || c.id == *in.VersionId
		stageOK := in.VersionStage == nil || indexOf(c.stages, *in.VersionStage) >= 0
		if in.VersionId == nil && in.VersionStage == nil {
			stageOK = indexOf(c.stages, "AWSCURRENT") >= 0
		}
		if idOK && stageOK {
			v = c
		}
	}
	if v == nil {
		what := "the specified secret value for staging label: AWSCURRENT"
		switch {
		case in.VersionId != nil && in.VersionStage != nil:
			what = fmt.Sprintf("the specified secret value for VersionId: %s and staging label: %s", *in.VersionId, *in.VersionStage)
		case in.VersionId != nil:
			what = "the specified secret value for VersionId: " + *in.VersionId
		case in.VersionStage != nil:
			what = "the specified secret value for staging label: " + *in.VersionStage
		}
		return nil, &apiError{400, "ResourceNotFoundException", "Secrets Manager can't find " + what}
	}
	out := map[string]any{
		"ARN":           sec.arn,
		"Name":          sec.name,
		"VersionId":     v.id,
		"VersionStages": v.stages,
		"CreatedDate":   float64(v.created.UnixMilli()) / 1000,
	}
	if v.str != nil {
		out["SecretString"] = *v.str
	} else {
		out["SecretBinary"] = v.bin // base64, as the protocol carries blobs
	}
	b, _ := json.Marshal(out)
	return b, nil
}

// maxSkew is how far the request's date may be from the server's clock,
// as AWS allows.
const maxSkew = 5 * time.Minute

// authenticate checks the request's Signature Version 4 Authorization
// header: the algorithm, the credential scope (date, region, service), the
// access key, the signed headers (host and x-amz-date among them), the
// date, and the signature computed again with the key's secret.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	missing := &apiError{400, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return missing
	}
	alg, rest, ok := strings.Cut(auth, " ")
	if !ok || alg != "AWS4-HMAC-SHA256" {
		return &apiError{400, "IncompleteSignatureException", "Unsupported AWS 'algorithm': '" + alg + "'"}
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return &apiError{400, "IncompleteSignatureException", "Authorization header requires each component to be of the form key=value"}
		}
		fields[k] = v
	}
	cred, signed, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signed == "" || sig == "" {
		return &apiError{400, "IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'"}
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return &apiError{400, "IncompleteSignatureException", "Credential should be scoped to a valid region and service"}
	}
	keyID, day, region, service := scope[0], scope[1], scope[2], scope[3]
	s.mu.Lock()
	key, known := s.keys[keyID]
	s.mu.Unlock()
	if !known {
		return &apiError{400, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if region != s.Region || service != Service {
		return &apiError{400, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region and service: %s/%s", region, service)}
	}
	hdrs := strings.Split(signed, ";")
	if !sort.StringsAreSorted(hdrs) || indexOf(hdrs, "host") < 0 || indexOf(hdrs, "x-amz-date") < 0 {
		return &apiError{400, "InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed, in order"}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, day) {
		return &apiError{400, "IncompleteSignatureException", "X-Amz-Date must be in the ISO8601 basic format and match the credential scope's date"}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if d := now().Sub(at); d > maxSkew || d < -maxSkew {
		return &apiError{400, "InvalidSignatureException", "Signature expired: " + amzDate + " is now earlier or later than the server's clock allows (5 min)"}
	}
	if key.Token != "" && (indexOf(hdrs, "x-amz-security-token") < 0 || r.Header.Get("X-Amz-Security-Token") != key.Token) {
		return &apiError{400, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	want := Signature(key.Secret, day, region, service, amzDate, CanonicalRequest(r, hdrs, body))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return &apiError{400, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

// CanonicalRequest is step 1 of SigV4: the method, the URI path with each
// segment URI-encoded, the query sorted by name and value, the signed
// headers lowercased with their values trimmed and inner spaces
// collapsed, the signed header list, and the hex SHA-256 of the body.
func CanonicalRequest(r *http.Request, signed []string, body []byte) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		raw, err := url.PathUnescape(seg)
		if err != nil {
			raw = seg
		}
		segs[i] = uriEncode(uriEncode(raw)) // all services but S3 encode twice
	}
	b.WriteString(strings.Join(segs, "/") + "\n")
	q := r.URL.Query()
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	sort.Strings(pairs)
	b.WriteString(strings.Join(pairs, "&") + "\n")
	for _, h := range signed {
		var vals []string
		if h == "host" {
			vals = []string{r.Host}
		} else {
			vals = r.Header.Values(h)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(h + ":" + strings.Join(vals, ",") + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n")
	sum := sha256.Sum256(body)
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.String()
}

// Signature is steps 2 to 4 of SigV4: the string to sign over the
// canonical request's hash, and its HMAC under the signing key derived
// from the secret key, the date, the region and the service.
func Signature(secretKey, day, region, service, amzDate, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	scope := day + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	k := hmacSHA256([]byte("AWS4"+secretKey), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// uriEncode encodes every byte but A-Z a-z 0-9 - _ . ~ as %XY.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
