package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/wsxdev/wsx/e2e/awssm"
	"github.com/wsxdev/wsx/e2e/azurekv"
)

// TestCloudProviders runs the AWS Secrets Manager and Azure Key Vault
// scenarios (testdata/cloud/*.txtar): wsx sync, exec and agent fetching
// through the AWS and Azure SDKs from the test servers in e2e/awssm (the
// JSON 1.1 protocol, every request's SigV4 signature checked) and
// e2e/azurekv (Key Vault's REST shape and Entra ID's token endpoint over
// loopback HTTPS), each scenario ending with the canary scan.
func TestCloudProviders(t *testing.T) {
	if err := exec.Command(filepath.Join(binDir, "wsx"), "sync", "--help").Run(); err != nil {
		t.Skip("this wsx has no sync command")
	}
	kumo := findKumo()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "cloud"),
		RequireUniqueNames:  true,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Values[awssmKey{}] = &awssmHolder{}
			env.Values[azurekvKey{}] = &azurekvHolder{}
			if err := setup(env); err != nil {
				return err
			}
			env.Values[kumoKey{}] = &kumoHolder{bin: kumo}
			return nil
		},
		// [kumo]: WSX_KUMO=1 asks for the kumo scenario (`make
		// test-kumo`, which builds kumo once), and kumo is installed.
		Condition: func(cond string) (bool, error) {
			if cond != "kumo" {
				return condition(cond)
			}
			if os.Getenv("WSX_KUMO") != "1" {
				return false, nil
			}
			if kumo == "" {
				return false, fmt.Errorf("kumo is missing; `make test-kumo` installs it (scripts/deps.sh with WSX_KUMO=1)")
			}
			return true, nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"wsx":     cmdWSX,
			"run":     cmdRun,
			"status":  cmdStatus,
			"canary":  cmdCanary,
			"awssm":   cmdAWSSM,
			"azurekv": cmdAzureKV,
			"kumo":    cmdKumo,
			"subst":   cmdSubst,
		},
	})
}

// The AWS key the script's server accepts, written to $WORK/aws-key-id
// and $WORK/aws-secret-key by `awssm start`.
const (
	e2eAWSKeyID  = "AKIAWSXE2E0000000001"
	e2eAWSSecret = "wsxE2ESecretAccessKey/000000000000000000"
	e2eAWSRegion = "eu-west-1"
)

type awssmKey struct{}

// awssmHolder is the script's Secrets Manager server and its address,
// kept across a stop so that a start listens there again.
type awssmHolder struct {
	srv  *awssm.Server
	http *httptest.Server
	addr string
}

// cmdAWSSM drives the Secrets Manager server (e2e/awssm):
//
//	awssm start                       start it; $AWSSM_URL is its endpoint
//	awssm stop                        stop it (the address then refuses)
//	awssm slow DURATION               answer only after DURATION
//	awssm put [-key K] NAME FILE [STAGE...]
//	                                  put FILE's content (or {"K": content})
//	                                  as a new version; $AWSSM_VERSION is its id
func cmdAWSSM(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: awssm start|stop|slow|put ...")
	}
	h := ts.Value(awssmKey{}).(*awssmHolder)
	if h.srv == nil && args[0] != "start" {
		ts.Fatalf("awssm %s: not started", args[0])
	}
	switch args[0] {
	case "start":
		if h.srv == nil {
			h.srv = awssm.New(e2eAWSRegion)
			h.srv.AddKey(awssm.Key{ID: e2eAWSKeyID, Secret: e2eAWSSecret})
		} else if h.http != nil {
			ts.Fatalf("awssm start: already running")
		}
		h.http = serveOn(ts, h.addr, h.srv, false)
		h.addr = h.http.Listener.Addr().String()
		hs := h.http
		ts.Defer(hs.Close)
		ts.Setenv("AWSSM_URL", hs.URL)
		ts.Check(os.WriteFile(ts.MkAbs("aws-key-id"), []byte(e2eAWSKeyID), 0o600))
		ts.Check(os.WriteFile(ts.MkAbs("aws-secret-key"), []byte(e2eAWSSecret), 0o600))
	case "stop":
		if h.http == nil {
			ts.Fatalf("awssm stop: not running")
		}
		h.http.CloseClientConnections()
		h.http.Close()
		h.http = nil
	case "slow":
		if len(args) != 2 {
			ts.Fatalf("usage: awssm slow DURATION")
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		h.srv.SetDelay(d)
	case "put":
		args = args[1:]
		key := ""
		if len(args) > 1 && args[0] == "-key" {
			key, args = args[1], args[2:]
		}
		if len(args) < 2 {
			ts.Fatalf("usage: awssm put [-key K] NAME FILE [STAGE...]")
		}
		val := strings.TrimSuffix(ts.ReadFile(args[1]), "\n")
		if key != "" {
			b, err := json.Marshal(map[string]string{key: val})
			ts.Check(err)
			val = string(b)
		}
		ts.Setenv("AWSSM_VERSION", h.srv.PutString(args[0], val, args[2:]...))
	default:
		ts.Fatalf("usage: awssm start|stop|slow|put ...")
	}
}

// The Entra ID service principal the script's Key Vault accepts, written
// to $WORK/azure-tenant, azure-client-id and azure-client-secret by
// `azurekv start`.
const (
	e2eAzureTenant = "3c1f9a52-7b2d-4e8f-a1c3-5d7e9f0b2a4c"
	e2eAzureClient = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
	e2eAzureSecret = "wsx~E2EClientSecret.00000000000000000000"
)

type azurekvKey struct{}

type azurekvHolder struct {
	srv  *azurekv.Server
	http *httptest.Server
	addr string
}

// cmdAzureKV drives the Key Vault and token endpoint (e2e/azurekv) on
// loopback HTTPS; SSL_CERT_FILE makes wsx trust its certificate:
//
//	azurekv start              start it; $AZURE_KV_URL is its URL
//	azurekv stop               stop it (the address then refuses)
//	azurekv slow DURATION      answer only after DURATION
//	azurekv forbid             refuse the principal with 403
//	azurekv put NAME FILE      put FILE's content as the new current
//	                           version; $AZURE_KV_VERSION is its id
func cmdAzureKV(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: azurekv start|stop|slow|forbid|put ...")
	}
	h := ts.Value(azurekvKey{}).(*azurekvHolder)
	if h.srv == nil && args[0] != "start" {
		ts.Fatalf("azurekv %s: not started", args[0])
	}
	switch args[0] {
	case "start":
		if h.srv == nil {
			h.srv = azurekv.New(e2eAzureTenant, e2eAzureClient, e2eAzureSecret)
		} else if h.http != nil {
			ts.Fatalf("azurekv start: already running")
		}
		h.http = serveOn(ts, h.addr, h.srv, true)
		h.addr = h.http.Listener.Addr().String()
		hs := h.http
		ts.Defer(hs.Close)
		h.srv.URL = hs.URL
		ts.Setenv("AZURE_KV_URL", hs.URL)
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
		ts.Check(os.WriteFile(ts.MkAbs("azure-ca.pem"), ca, 0o600))
		ts.Setenv("SSL_CERT_FILE", ts.MkAbs("azure-ca.pem"))
		ts.Check(os.WriteFile(ts.MkAbs("azure-tenant"), []byte(e2eAzureTenant), 0o600))
		ts.Check(os.WriteFile(ts.MkAbs("azure-client-id"), []byte(e2eAzureClient), 0o600))
		ts.Check(os.WriteFile(ts.MkAbs("azure-client-secret"), []byte(e2eAzureSecret), 0o600))
	case "stop":
		if h.http == nil {
			ts.Fatalf("azurekv stop: not running")
		}
		h.http.CloseClientConnections()
		h.http.Close()
		h.http = nil
	case "slow":
		if len(args) != 2 {
			ts.Fatalf("usage: azurekv slow DURATION")
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		h.srv.SetDelay(d)
	case "forbid":
		h.srv.SetForbidden(true)
	case "put":
		if len(args) != 3 {
			ts.Fatalf("usage: azurekv put NAME FILE")
		}
		ts.Setenv("AZURE_KV_VERSION", h.srv.Put(args[1], strings.TrimSuffix(ts.ReadFile(args[2]), "\n")))
	default:
		ts.Fatalf("usage: azurekv start|stop|slow|forbid|put ...")
	}
}

type kumoKey struct{}

// findKumo is kumo's path, on PATH or where scripts/deps.sh's `go
// install` put it, or "".
func findKumo() string {
	if bin, err := exec.LookPath("kumo"); err == nil {
		return bin
	}
	dir := filepath.Join(build.Default.GOPATH, "bin")
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dir = gobin
	}
	if _, err := os.Stat(filepath.Join(dir, "kumo")); err != nil {
		return ""
	}
	return filepath.Join(dir, "kumo")
}

type kumoHolder struct{ bin, url string }

// cmdKumo drives kumo (github.com/sivchari/kumo), an AWS emulator written
// apart from wsx and the SDK, which scripts/deps.sh installs with
// WSX_KUMO=1; scripts guard it with [kumo]. It checks no signature: e2e/awssm does.
//
//	kumo start                       serve on loopback; $KUMO_URL is its endpoint
//	kumo put [-key K] NAME FILE      create NAME, or put a new current version,
//	                                 through kumo's API; $KUMO_VERSION is its id
func cmdKumo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: kumo start|put ...")
	}
	h := ts.Value(kumoKey{}).(*kumoHolder)
	switch args[0] {
	case "start":
		if h.bin == "" {
			ts.Fatalf("kumo start: kumo is missing; guard the script with [!kumo] skip")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(h.bin, "serve", "--host", "127.0.0.1", "--port", fmt.Sprint(port))
		cmd.Dir = ts.MkAbs("tmp")
		cmd.Env = []string{"HOME=" + cmd.Dir, "PATH=" + os.Getenv("PATH"), "KUMO_LOG_LEVEL=error"}
		ts.Check(cmd.Start())
		ts.Defer(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		h.url = fmt.Sprintf("http://127.0.0.1:%d", port)
		for i := 0; ; i++ {
			resp, err := http.Get(h.url + "/health")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if i == 400 {
				ts.Fatalf("kumo did not answer /health within 20s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		ts.Setenv("KUMO_URL", h.url)
	case "put":
		args = args[1:]
		key := ""
		if len(args) > 1 && args[0] == "-key" {
			key, args = args[1], args[2:]
		}
		if h.url == "" || len(args) != 2 {
			ts.Fatalf("usage: kumo put [-key K] NAME FILE, after kumo start")
		}
		val := strings.TrimSuffix(ts.ReadFile(args[1]), "\n")
		if key != "" {
			b, err := json.Marshal(map[string]string{key: val})
			ts.Check(err)
			val = string(b)
		}
		c := secretsmanager.New(secretsmanager.Options{
			Region:       e2eAWSRegion,
			BaseEndpoint: aws.String(h.url),
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: e2eAWSKeyID, SecretAccessKey: e2eAWSSecret}, nil
			}),
			Retryer: aws.NopRetryer{},
		})
		ctx := context.Background()
		put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(args[0]), SecretString: aws.String(val)})
		if err == nil {
			ts.Setenv("KUMO_VERSION", *put.VersionId)
			return
		}
		made, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(args[0]), SecretString: aws.String(val)})
		ts.Check(err)
		ts.Setenv("KUMO_VERSION", *made.VersionId)
	default:
		ts.Fatalf("usage: kumo start|put ...")
	}
}

// serveOn serves h on addr (a fresh loopback port when empty), with TLS
// when asked: a stopped server starts again where the manifest points.
func serveOn(ts *testscript.TestScript, addr string, h http.Handler, tls bool) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	if addr != "" {
		s.Listener.Close()
		var err error
		for i := 0; ; i++ {
			if s.Listener, err = net.Listen("tcp", addr); err == nil || i == 50 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		ts.Check(err)
	}
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	return s
}
