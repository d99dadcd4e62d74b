package awssm

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/wsxdev/wsx/provider"
)

// TestKumo runs the provider against kumo (github.com/sivchari/kumo), an
// AWS emulator written apart from both the SDK and e2e/awssm, serving on
// 127.0.0.1: the same wire protocol read by another implementation, with
// secrets, versions and stages made through its own API. kumo does not
// check signatures; e2e/awssm's tests do. Building kumo takes many
// minutes, so it runs only with WSX_KUMO=1 (`make test-kumo`, which builds
// it once through scripts/deps.sh).
func TestKumo(t *testing.T) {
	if os.Getenv("WSX_KUMO") != "1" {
		t.Skip("WSX_KUMO=1 (make test-kumo) runs the provider against kumo")
	}
	bin, err := exec.LookPath("kumo")
	if err != nil {
		// scripts/deps.sh installs it where `go install` does.
		bin = filepath.Join(build.Default.GOPATH, "bin", "kumo")
		if gobin := os.Getenv("GOBIN"); gobin != "" {
			bin = filepath.Join(gobin, "kumo")
		}
		_, err = os.Stat(bin)
	}
	if err != nil {
		t.Fatal("kumo is missing; `make test-kumo` installs it (scripts/deps.sh with WSX_KUMO=1)")
	}
	url := startKumo(t, bin)
	ctx := context.Background()

	// Make the secrets through kumo's API, as an administrator would.
	admin := secretsmanager.New(secretsmanager.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secretKey}, nil
		}),
		Retryer: aws.NopRetryer{},
	})
	if _, err := admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/db"), SecretString: aws.String(`{"username":"app","password":"first-pw"}`)}); err != nil {
		t.Fatal(err)
	}
	put, err := admin.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("prod/db"), SecretString: aws.String(`{"username":"app","password":"second-pw"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("odd"), SecretString: aws.String("line1\nline2\x00end")}); err != nil {
		t.Fatal(err)
	}

	p := openSM(t, url, goodCreds(), nil)
	for _, tc := range []struct{ src, want string }{
		{"aws-sm://prod/db#password", "second-pw"},
		{"aws-sm://prod/db?stage=AWSPREVIOUS#password", "first-pw"},
		{"aws-sm://prod/db?version=" + *put.VersionId + "#password", "second-pw"},
		{"aws-sm://odd", "line1\nline2\x00end"},
	} {
		res, err := p.Fetch(ctx, parse(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if string(res.Value) != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, res.Value, tc.want)
		}
	}
	if res, _ := p.Fetch(ctx, parse("aws-sm://prod/db#password")); res.Version != *put.VersionId {
		t.Errorf("version %q, want %q", res.Version, *put.VersionId)
	}
	for _, s := range []string{"aws-sm://prod/missing", "aws-sm://prod/db?stage=NOSUCHSTAGE", "aws-sm://prod/db#user"} {
		if _, err := p.Fetch(ctx, parse(s)); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", s, err)
		}
	}
}

// startKumo runs `kumo serve` on a free loopback port until the test ends.
func startKumo(t *testing.T, bin string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + cmd.Dir, "PATH=" + os.Getenv("PATH"), "KUMO_LOG_LEVEL=error"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
	}
	t.Fatal("kumo did not answer /health within 20s")
	return ""
}
