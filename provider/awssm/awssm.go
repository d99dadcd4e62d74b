// Package awssm fetches values from AWS Secrets Manager through the AWS
// SDK's own client (github.com/aws/aws-sdk-go-v2/service/secretsmanager).
//
// A source "aws-sm://prod/db#password" reads the secret prod/db (a name or
// an ARN's resource part) in its current version (stage AWSCURRENT) and,
// since it names a key, parses the secret string as a JSON object and takes
// the field password; without #KEY the whole secret string, or the binary
// value, is taken. ?version=ID pins a version id, ?stage=AWSPREVIOUS (or
// any custom stage) a version stage.
//
// Settings ([provider.aws-sm]): region (required), endpoint (an https URL,
// for a VPC endpoint, or http on loopback for a test server: a signature
// covers the endpoint's host and never carries the secret key, so a
// request sent elsewhere cannot be replayed to AWS), access_key_id_secret,
// secret_access_key_secret and session_token_secret: the names of the wsx
// secrets holding the keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; no
// session token unless named), and the common timeout. The client is
// built from these alone: the SDK's default chain (environment variables,
// ~/.aws files, the instance metadata service) is never consulted.
//
// A Fetch is one try, bounded by the timeout; trying again with backoff
// is the caller's (the common retries setting), so the SDK's own retryer
// is off.
package awssm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/wsxdev/wsx/provider"
)

// table is the provider's manifest table, [provider.aws-sm]: a source's scheme.
const table = "aws-sm"

// Defaults of the settings.
const (
	DefaultAccessKeyIDSecret     = "AWS_ACCESS_KEY_ID"
	DefaultSecretAccessKeySecret = "AWS_SECRET_ACCESS_KEY"
)

// SM fetches from Secrets Manager in one region.
type SM struct {
	region, endpoint       string
	keyIDSecret, keySecret string // the names of the wsx secrets holding the keys
	tokenSecret            string
	timeout                time.Duration
	creds                  provider.Creds

	mu sync.Mutex
	c  *secretsmanager.Client // built by the first Fetch that could read the keys
}

// Open checks s and returns a provider for the region it names. It does
// no I/O and reads no credential yet.
func Open(s provider.Settings, creds provider.Creds) (provider.Provider, error) {
	return open(s, creds)
}

func open(s provider.Settings, creds provider.Creds) (*SM, error) {
	if err := s.Check(table, "region", "endpoint", "access_key_id_secret", "secret_access_key_secret", "session_token_secret"); err != nil {
		return nil, err
	}
	sm := &SM{creds: creds}
	str := s.Strings(table)
	sm.region = str.Get("region", "")
	sm.endpoint = str.Get("endpoint", "")
	sm.keyIDSecret = str.Get("access_key_id_secret", DefaultAccessKeyIDSecret)
	sm.keySecret = str.Get("secret_access_key_secret", DefaultSecretAccessKeySecret)
	sm.tokenSecret = str.Get("session_token_secret", "")
	if str.Err != nil {
		return nil, str.Err
	}
	var err error
	if sm.timeout, err = s.Timeout(table); err != nil {
		return nil, err
	}
	if sm.region == "" {
		return nil, fmt.Errorf("[provider.%s]: region is missing, e.g. region = \"eu-west-1\"", table)
	}
	if sm.endpoint != "" {
		// Values come back from there: plain http only on loopback.
		u, err := url.Parse(sm.endpoint)
		if err != nil || u.Host == "" || u.User != nil || u.Scheme != "https" && (u.Scheme != "http" || !loopback(u.Hostname())) {
			return nil, fmt.Errorf("[provider.%s]: endpoint %q: want an https URL (http only on loopback)", table, sm.endpoint)
		}
	}
	if sm.keyIDSecret == "" || sm.keySecret == "" {
		return nil, fmt.Errorf("[provider.%s]: access_key_id_secret and secret_access_key_secret name the wsx secrets holding the keys; leave them out for %s and %s", table, DefaultAccessKeyIDSecret, DefaultSecretAccessKeySecret)
	}
	return sm, nil
}

// client returns the Secrets Manager client, built from the settings and
// the credentials read from the store, and nothing else. The keys are read
// once per provider, not once per secret.
func (sm *SM) client(ctx context.Context) (*secretsmanager.Client, error) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.c != nil {
		return sm.c, nil
	}
	id, err := sm.creds.Secret(ctx, sm.keyIDSecret)
	if err != nil {
		return nil, err
	}
	key, err := sm.creds.Secret(ctx, sm.keySecret)
	if err != nil {
		return nil, err
	}
	cred := aws.Credentials{AccessKeyID: string(id), SecretAccessKey: string(key), Source: "wsx"}
	if sm.tokenSecret != "" {
		tok, err := sm.creds.Secret(ctx, sm.tokenSecret)
		if err != nil {
			return nil, err
		}
		cred.SessionToken = string(tok)
	}
	// HTTPS_PROXY and NO_PROXY are honoured, as by AWS's own tools.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	opts := secretsmanager.Options{
		Region: sm.region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return cred, nil
		}),
		HTTPClient: &http.Client{Transport: tr, Timeout: sm.timeout},
		Retryer:    aws.NopRetryer{},
	}
	if sm.endpoint != "" {
		opts.BaseEndpoint = aws.String(sm.endpoint)
	}
	sm.c = secretsmanager.New(opts)
	return sm.c, nil
}

// Fetch reads src: the secret named by its location, in the version
// src.Version or the stage src.Stage (AWSCURRENT when neither is given),
// and the JSON field src.Key of it when one is named.
func (sm *SM) Fetch(ctx context.Context, src provider.Source) (provider.Result, error) {
	name := "aws-sm " + src.Location
	if src.Location == "" {
		return provider.Result{}, fmt.Errorf("%s: no secret named; want aws-sm://NAME[#KEY]", src.Raw)
	}
	ctx, cancel := context.WithTimeout(ctx, sm.timeout)
	defer cancel()
	c, err := sm.client(ctx)
	if err != nil {
		return provider.Result{}, err
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(src.Location)}
	if src.Version != "" {
		in.VersionId = aws.String(src.Version)
	}
	if src.Stage != "" {
		in.VersionStage = aws.String(src.Stage)
	}
	out, err := c.GetSecretValue(ctx, in)
	if err != nil {
		return provider.Result{}, sm.classify(name, src, err)
	}
	var val []byte
	switch {
	case out.SecretString != nil:
		val = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		if src.Key != "" {
			return provider.Result{}, fmt.Errorf("%s holds a binary value, which has no keys: drop #%s from %s", name, src.Key, src.Raw)
		}
		val = out.SecretBinary
	default:
		return provider.Result{}, fmt.Errorf("%s: the answer holds no value: %w", name, provider.ErrNotFound)
	}
	if src.Key != "" {
		if val, err = field(name, src, val); err != nil {
			return provider.Result{}, err
		}
	}
	res := provider.Result{Value: val, Detail: name}
	if out.VersionId != nil {
		res.Version = *out.VersionId
		res.Detail += " " + res.Version
	}
	if src.Stage != "" {
		res.Detail += " " + src.Stage
	}
	return res, nil
}

// classify wraps an error from the client in the provider error it is,
// naming the secret and what to do.
func (sm *SM) classify(name string, src provider.Source, err error) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		what := "no such secret in " + sm.region
		if src.Version != "" || src.Stage != "" {
			what = "no such secret or version in " + sm.region
		}
		return fmt.Errorf("%s: %s: %w", name, what, provider.ErrNotFound)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := ae.ErrorCode(); code {
		case "UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
			"AccessDenied", "IncompleteSignature", "InvalidClientTokenId", "ExpiredTokenException",
			"SignatureDoesNotMatch", "MissingAuthenticationToken":
			return fmt.Errorf("%s: AWS refused the keys in %s and %s (%s): %w", name, sm.keyIDSecret, sm.keySecret, code, provider.ErrAuth)
		case "DecryptionFailure":
			return fmt.Errorf("%s: AWS cannot decrypt it with its KMS key (%s): %w", name, code, provider.ErrAuth)
		case "InternalServiceError", "InternalFailure", "ServiceUnavailable", "ThrottlingException", "RequestTimeout":
			return fmt.Errorf("%s: AWS answered %s: %w", name, code, provider.ErrUnavailable)
		case "InvalidRequestException":
			// Asked for a secret marked for deletion, among others.
			return fmt.Errorf("%s: AWS refused the request (%s: %s)", name, code, ae.ErrorMessage())
		default:
			return fmt.Errorf("%s: AWS answered %s", name, code)
		}
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return fmt.Errorf("%s: AWS answered %d: %w", name, re.HTTPStatusCode(), provider.ErrUnavailable)
	}
	if nerr := provider.NetError(name, sm.timeout, err); nerr != nil {
		return nerr
	}
	return fmt.Errorf("%s: %w", name, err)
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// field picks src.Key from a secret string that holds a JSON object. A
// string field is taken as it is, any other as its JSON text.
func field(name string, src provider.Source, val []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(val, &obj); err != nil || obj == nil {
		// The parser's message may quote the value: leave it out.
		return nil, fmt.Errorf("%s is not a JSON object, so it has no key %q: drop #%s from %s to take it whole", name, src.Key, src.Key, src.Raw)
	}
	raw, ok := obj[src.Key]
	if !ok || string(raw) == "null" {
		ks := make([]string, 0, len(obj))
		for k := range obj {
			ks = append(ks, fmt.Sprintf("%q", k))
		}
		sort.Strings(ks)
		return nil, fmt.Errorf("%s has no key %q (it has %s): %w", name, src.Key, strings.Join(ks, ", "), provider.ErrNotFound)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []byte(s), nil
	}
	return []byte(raw), nil
}
