// Command vaultfront serves Vault's own KV version 2 secrets engine
// (github.com/hashicorp/vault-plugin-secrets-kv, the code a Vault server
// mounts at secret/) over a minimal front of Vault's HTTP API, for wsx's
// e2e tests: /v1/MOUNT/... with the X-Vault-Token header checked, reads
// with their query parameters as request data (?version=3), LIST (and
// GET ?list=true), writes and deletes, and POST /v1/auth/approle/login.
// Everything is in memory. What is not Vault's: this front (routing,
// token check, AppRole login), not its engine.
//
//	vaultfront -addr-file F -token T [-approle ROLE:SECRET] [-delay D]
//
// It listens on 127.0.0.1 (a free port), writes its address to F and
// serves until killed. -delay makes every answer wait (a slow server).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/sdk/logical"
)

func main() {
	addrFile := flag.String("addr-file", "", "write the address served to this file")
	token := flag.String("token", "", "the token a request must carry")
	approle := flag.String("approle", "", "ROLE_ID:SECRET_ID an AppRole login accepts")
	delay := flag.Duration("delay", 0, "wait this long before each answer")
	flag.Parse()
	if *token == "" || *addrFile == "" {
		log.Fatal("usage: vaultfront -addr-file F -token T [-approle R:S] [-delay D]")
	}
	ctx := context.Background()
	storage := &logical.InmemStorage{}
	conf := &logical.BackendConfig{
		System:      &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: time.Hour},
		StorageView: storage,
		BackendUUID: "secret",
		Config:      map[string]string{"version": "2"},
	}
	b, err := kv.Factory(ctx, conf)
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Initialize(ctx, &logical.InitializationRequest{Storage: storage}); err != nil {
		log.Fatal(err)
	}
	f := &front{b: b, storage: storage, token: *token, delay: *delay}
	if *approle != "" {
		f.role, f.secret, _ = strings.Cut(*approle, ":")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*addrFile+".tmp", []byte("http://"+ln.Addr().String()), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(*addrFile+".tmp", *addrFile); err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.Serve(ln, f))
}

type front struct {
	b            logical.Backend
	storage      logical.Storage
	token        string
	role, secret string
	delay        time.Duration
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		errorJSON(w, http.StatusNotFound)
		return
	}
	if path == "auth/approle/login" && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		f.login(w, r)
		return
	}
	if r.Header.Get("X-Vault-Token") != f.token {
		errorJSON(w, http.StatusForbidden, "permission denied")
		return
	}
	mount, rest, _ := strings.Cut(path, "/")
	if mount != "secret" {
		errorJSON(w, http.StatusNotFound, "no handler for route \""+path+"\"")
		return
	}
	req := &logical.Request{Path: rest, Storage: f.storage, Data: map[string]any{}}
	switch {
	case r.Method == "LIST" || (r.Method == http.MethodGet && r.URL.Query().Get("list") == "true"):
		req.Operation = logical.ListOperation
	case r.Method == http.MethodGet:
		req.Operation = logical.ReadOperation
		for k, v := range r.URL.Query() {
			req.Data[k] = v[0]
		}
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		req.Operation = logical.UpdateOperation
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil && len(body) > 0 {
			err = json.Unmarshal(body, &req.Data)
		}
		if err != nil {
			errorJSON(w, http.StatusBadRequest, "bad JSON body")
			return
		}
		if exists, found, err := f.b.HandleExistenceCheck(r.Context(), req); err == nil && found && !exists {
			req.Operation = logical.CreateOperation
		}
	case r.Method == http.MethodDelete:
		req.Operation = logical.DeleteOperation
	default:
		errorJSON(w, http.StatusMethodNotAllowed)
		return
	}
	resp, err := f.b.HandleRequest(r.Context(), req)
	switch {
	case err == logical.ErrUnsupportedPath || err == logical.ErrUnsupportedOperation:
		errorJSON(w, http.StatusNotFound, err.Error())
		return
	case err != nil && resp == nil:
		errorJSON(w, http.StatusInternalServerError, err.Error())
		return
	case resp == nil && req.Operation == logical.ReadOperation, resp == nil && req.Operation == logical.ListOperation:
		errorJSON(w, http.StatusNotFound)
		return
	case resp == nil:
		w.WriteHeader(http.StatusNoContent)
		return
	case resp.IsError():
		errorJSON(w, http.StatusBadRequest, resp.Error().Error())
		return
	}
	status := http.StatusOK
	// A deleted or destroyed version reads as 404 with its metadata, as
	// Vault answers.
	if req.Operation == logical.ReadOperation && resp.Data != nil && resp.Data["data"] == nil {
		if _, ok := resp.Data["metadata"]; ok {
			status = http.StatusNotFound
		}
	}
	writeJSON(w, status, map[string]any{
		"request_id": "e2e", "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": resp.Data, "warnings": resp.Warnings, "wrap_info": nil, "auth": nil,
	})
}

func (f *front) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || f.role == "" || in.RoleID != f.role || in.SecretID != f.secret {
		errorJSON(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": "e2e", "data": nil,
		"auth": map[string]any{"client_token": f.token, "accessor": "e2e", "policies": []string{"default"}, "lease_duration": 3600, "renewable": true},
	})
}

func errorJSON(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
