package azurekv

import (
	"context"
	"errors"
	"net/http"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets/fake"

	"github.com/wsxdev/wsx/provider"
)

// The same Fetch against the Azure SDK's own fake server (azsecrets/fake,
// an in-memory transport; no network, no Entra ID): a check that the
// provider reads the SDK's typed answers and errors as Azure's client
// library gives them, independently of e2e/azurekv's reading of the REST
// documentation.
func TestFetchSDKFake(t *testing.T) {
	const current, older = "5f1e2d3c4b5a69788796a5b4c3d2e1f0", "0123456789abcdef0123456789abcdef"
	srv := fake.Server{
		GetSecret: func(_ context.Context, name, version string, _ *azsecrets.GetSecretOptions) (resp azfake.Responder[azsecrets.GetSecretResponse], errResp azfake.ErrorResponder) {
			switch {
			case name == "forbidden":
				errResp.SetResponseError(http.StatusForbidden, "Forbidden")
				return
			case name == "busy":
				errResp.SetResponseError(http.StatusServiceUnavailable, "ServiceUnavailable")
				return
			case name != "db-password" || version != "" && version != current && version != older:
				errResp.SetResponseError(http.StatusNotFound, "SecretNotFound")
				return
			}
			v, val := current, "current-value"
			if version == older {
				v, val = older, "older-value"
			}
			id := azsecrets.ID("https://myvault.vault.azure.net/secrets/" + name + "/" + v)
			resp.SetResponse(http.StatusOK, azsecrets.GetSecretResponse{Secret: azsecrets.Secret{ID: &id, Value: &val}}, nil)
			return
		},
	}
	kv, err := open(provider.Settings{}, creds{})
	if err != nil {
		t.Fatal(err)
	}
	kv.transport = fake.NewServerTransport(&srv)
	kv.cred = &azfake.TokenCredential{}
	ctx := context.Background()

	for _, tc := range []struct{ src, want, version string }{
		{"azure-kv://myvault/db-password", "current-value", current},
		{"azure-kv://myvault/db-password?version=" + older, "older-value", older},
	} {
		res, err := kv.Fetch(ctx, src(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if string(res.Value) != tc.want || res.Version != tc.version {
			t.Errorf("%s = %q version %s, want %q version %s", tc.src, res.Value, res.Version, tc.want, tc.version)
		}
	}
	for s, want := range map[string]error{
		"azure-kv://myvault/missing":                 provider.ErrNotFound,
		"azure-kv://myvault/db-password?version=abc": provider.ErrNotFound,
		"azure-kv://myvault/forbidden":               provider.ErrAuth,
		"azure-kv://myvault/busy":                    provider.ErrUnavailable,
	} {
		if _, err := kv.Fetch(ctx, src(s)); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", s, err, want)
		}
	}
}
