package awssm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wsxdev/wsx/e2e/awssm"
)

// The examples AWS publishes for Signature Version 4: the example request
// of "Create a signed AWS API request" (IAM ListUsers) and two requests of
// the SigV4 test suite (get-vanilla, post-vanilla), all signed at
// 20150830T123600Z with the documented example key. The signatures are the
// documented ones; neither the SDK's signer nor the test server's
// verifier (e2e/awssm, written apart from the SDK) may differ from them.
var sigv4Examples = []struct {
	name, method, url, contentType, region, service string
	signed                                          []string
	want                                            string
}{
	{
		name: "iam ListUsers", method: "GET",
		url:         "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
		contentType: "application/x-www-form-urlencoded; charset=utf-8",
		region:      "us-east-1", service: "iam",
		signed: []string{"content-type", "host", "x-amz-date"},
		want:   "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
	},
	{
		name: "get-vanilla", method: "GET", url: "https://example.amazonaws.com/",
		region: "us-east-1", service: "service",
		signed: []string{"host", "x-amz-date"},
		want:   "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		name: "post-vanilla", method: "POST", url: "https://example.amazonaws.com/",
		region: "us-east-1", service: "service",
		signed: []string{"host", "x-amz-date"},
		want:   "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
}

const (
	exampleKeyID  = "AKIDEXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var exampleTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func exampleRequest(t *testing.T, method, url, contentType string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestSigV4DocumentedExamples(t *testing.T) {
	empty := sha256.Sum256(nil)
	for _, ex := range sigv4Examples {
		t.Run(ex.name, func(t *testing.T) {
			r := exampleRequest(t, ex.method, ex.url, ex.contentType)
			creds := aws.Credentials{AccessKeyID: exampleKeyID, SecretAccessKey: exampleSecret}
			err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(empty[:]), ex.service, ex.region, exampleTime)
			if err != nil {
				t.Fatal(err)
			}
			auth := r.Header.Get("Authorization")
			wantAuth := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/" + ex.region + "/" + ex.service + "/aws4_request, SignedHeaders=" + strings.Join(ex.signed, ";") + ", Signature=" + ex.want
			if auth != wantAuth {
				t.Errorf("the SDK's signer wrote\n%s\nwant the documented\n%s", auth, wantAuth)
			}

			// The test server's own computation, from the same request.
			plain := exampleRequest(t, ex.method, ex.url, ex.contentType)
			plain.Header.Set("X-Amz-Date", "20150830T123600Z")
			got := awssm.Signature(exampleSecret, "20150830", ex.region, ex.service, "20150830T123600Z", awssm.CanonicalRequest(plain, ex.signed, nil))
			if got != ex.want {
				t.Errorf("the test server computes %s, want the documented %s", got, ex.want)
			}
		})
	}
}

// A one-character change of the secret key changes the signature: the
// comparison above can fail.
func TestSigV4OtherKeyDiffers(t *testing.T) {
	ex := sigv4Examples[1]
	r := exampleRequest(t, ex.method, ex.url, "")
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	got := awssm.Signature(exampleSecret[:len(exampleSecret)-1]+"X", "20150830", ex.region, ex.service, "20150830T123600Z", awssm.CanonicalRequest(r, ex.signed, nil))
	if got == ex.want {
		t.Fatal("another secret key gave the documented signature")
	}
}
