// Package localapi is what the wsx agent's local API shares with its
// leanest client, git-credential-wsx: the socket's name, the credential
// request's wire types, and Credential, that request made without
// net/http. It links nothing heavy: every package it imports is paid for
// at each start of the helper git runs.
package localapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wsxdev/wsx/internal/remind"
)

// APISocketName is the local API's socket in the agent's run directory.
const APISocketName = "api.sock"

// MaxCredentialInput bounds what git may send the helper through the
// agent; the protocol's own limits (credhelper.Parse) are the same.
const MaxCredentialInput = 1 << 20

// CredentialRequest is the body of POST /v1/credential/{op}: what git sent
// the helper, for the store the client means.
type CredentialRequest struct {
	Home  string `json:"home"`
	Input []byte `json:"input"`
}

// CredentialResponse is what the helper prints: the protocol lines for
// git, and a note for the user.
type CredentialResponse struct {
	Output []byte `json:"output,omitempty"`
	Note   string `json:"note,omitempty"`
	// Remind holds the named secrets sent, for the client's reminder of
	// an overdue rotation.
	Remind []remind.Secret `json:"remind,omitempty"`
}

// Timeout bounds one request to the agent.
const Timeout = 60 * time.Second

// maxAnswer bounds what Credential reads of an answer.
const maxAnswer = 4 << 20

// Credential makes git's credential request op (get, store, erase) on
// conn, a connection to the API socket the caller checked (unixsock.Dial),
// for the store in home, and returns the agent's answer. It speaks
// HTTP/1.0, so the answer ends where the connection does. The caller
// clears the answer's Output once written.
func Credential(conn net.Conn, home, op string, input []byte) (CredentialResponse, error) {
	if op == "" || strings.Trim(op, "abcdefghijklmnopqrstuvwxyz") != "" {
		return CredentialResponse{}, fmt.Errorf("credential operation %q", op)
	}
	body, err := json.Marshal(CredentialRequest{Home: home, Input: input})
	if err != nil {
		return CredentialResponse{}, err
	}
	req := fmt.Appendf(nil, "POST /v1/credential/%s HTTP/1.0\r\nHost: wsx\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", op, len(body), body)
	clear(body)
	defer clear(req)
	conn.SetDeadline(time.Now().Add(Timeout))
	if _, err := conn.Write(req); err != nil {
		return CredentialResponse{}, err
	}
	ans, err := io.ReadAll(io.LimitReader(conn, maxAnswer+1))
	defer clear(ans)
	if err != nil {
		return CredentialResponse{}, err
	}
	if len(ans) > maxAnswer {
		return CredentialResponse{}, fmt.Errorf("the agent's answer is larger than %d bytes", maxAnswer)
	}
	payload, err := answerBody(ans)
	if err != nil {
		return CredentialResponse{}, err
	}
	var resp CredentialResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return CredentialResponse{}, fmt.Errorf("decode the agent's answer: %w", err)
	}
	return resp, nil
}

// answerBody returns the body of HTTP answer ans when its status is 200
// and it is whole (as long as its Content-Length says, when it says).
func answerBody(ans []byte) ([]byte, error) {
	head, body, ok := bytes.Cut(ans, []byte("\r\n\r\n"))
	if !ok {
		return nil, errors.New("the agent's answer ends in its header")
	}
	lines := bytes.Split(head, []byte("\r\n"))
	status := bytes.Fields(lines[0])
	if len(status) < 2 || !bytes.HasPrefix(status[0], []byte("HTTP/1.")) {
		return nil, errors.New("the agent's answer is not HTTP")
	}
	if string(status[1]) != "200" {
		// Locked, another store, an error: a client that tells these
		// apart (daemon.Client) makes the request again.
		return nil, fmt.Errorf("the agent answered status %s", status[1])
	}
	for _, l := range lines[1:] {
		k, v, _ := bytes.Cut(l, []byte(":"))
		if bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || n != len(body) {
				return nil, errors.New("the agent's answer was cut short")
			}
		}
	}
	return body, nil
}
