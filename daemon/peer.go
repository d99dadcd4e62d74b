package daemon

import (
	"errors"
	"net"
	"sync"

	"github.com/wsxdev/wsx/audit"
	"github.com/wsxdev/wsx/internal/access"
	"github.com/wsxdev/wsx/internal/caller"
	"github.com/wsxdev/wsx/internal/unixsock"
	"github.com/wsxdev/wsx/sshagent"
	"github.com/wsxdev/wsx/store"
)

// peerInfo is what the audit log says about an agent client: read once
// per connection, on its first signature.
type peerInfo struct {
	proc *audit.Process // nil when the process could not be read
	ctx  audit.Context  // Command, Dest and the git repository of its parent
}

// peerCache keeps peerInfo per agent connection, until it closes.
type peerCache struct {
	d     *Daemon
	mu    sync.Mutex
	conns map[uint64]*peerInfo
}

func newPeerCache(d *Daemon) *peerCache {
	return &peerCache{d: d, conns: map[uint64]*peerInfo{}}
}

func (c *peerCache) get(p sshagent.Peer) *peerInfo {
	c.mu.Lock()
	pi, ok := c.conns[p.Conn]
	c.mu.Unlock()
	if ok && p.Conn != 0 {
		return pi
	}
	pi = c.d.describe(p.PID)
	if p.Conn != 0 {
		c.mu.Lock()
		c.conns[p.Conn] = pi
		c.mu.Unlock()
	}
	return pi
}

func (c *peerCache) forget(p sshagent.Peer) {
	c.mu.Lock()
	delete(c.conns, p.Conn)
	c.mu.Unlock()
}

// describe reads process pid: when it is ssh, the destination of its
// command line and the git repository of the git command that runs it.
func (d *Daemon) describe(pid int) *peerInfo {
	proc, ctx := caller.Describe(pid, audit.ViaAgent)
	return &peerInfo{proc: proc, ctx: ctx}
}

// onSign is the agent's OnSign: the `used` record, before the signature.
func (d *Daemon) onSign(p sshagent.Peer, key, bindDest string) error {
	d.touch()
	pi := d.peers.get(p)
	actor := d.actor(p.UID)
	if p.UID != d.owner && p.UID != 0 {
		role, err := d.authorize(p, access.Sign)
		if err != nil {
			return err
		}
		actor = d.actorAs(p.UID, role)
	}
	ctx := pi.ctx
	detail := ""
	if bindDest != "" {
		if ctx.Dest == "" {
			ctx.Dest = bindDest
		} else {
			detail = "session-bind " + bindDest
		}
	}
	r, err := d.appendRecord(audit.Record{
		Event: audit.EventUsed, Secret: key, Via: audit.ViaAgent, Result: audit.ResultOK, Detail: detail,
		Actor: actor, Process: pi.proc, Context: &ctx,
	})
	if err != nil {
		d.logf("refused a signature with %s to pid %d: %v", key, p.PID, err)
		return err
	}
	d.debugf("signed with %s for pid %d (%s), record %d", key, p.PID, ctx.Command, r.Seq)
	return nil
}

// denied records a refused connection, when the log is open. Its argv is
// masked as every record is.
func (d *Daemon) denied(p sshagent.Peer, via string, err error) {
	d.logf("refused a request on the %s socket: %v", via, err)
	if _, lerr := d.released(); lerr != nil {
		return // locked: nothing is recorded
	}
	r := audit.Record{Event: audit.EventDenied, Via: via, Result: audit.ResultDenied,
		Actor: audit.Actor{UID: p.UID}, Detail: err.Error()}
	if p.UID >= 0 {
		r.Actor.User = d.userName(p.UID)
	}
	if p.PID > 0 {
		if proc, _ := caller.Describe(p.PID, ""); proc != nil {
			r.Process = proc
			r.Context = &audit.Context{Command: caller.Command(proc.Argv)}
		} else {
			r.Process = &audit.Process{PID: p.PID}
		}
	}
	if _, aerr := d.appendRecord(r); aerr != nil && !errors.Is(aerr, store.ErrLocked) {
		d.logf("audit: %v", aerr)
	}
}

// peerListener admits API connections of authorized peers only, before
// anything is read from them, and caps their number (MaxAPIConns), the
// connection idle for longest making room for a new one.
type peerListener struct {
	net.Listener
	d *Daemon
}

// MaxAPIConns caps the local API's concurrent connections.
const MaxAPIConns = 64

type peerConn struct {
	net.Conn
	peer  sshagent.Peer
	facts *caller.Conn // the peer's process, read once per connection
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p, err := unixsock.PeerOf(c)
		if err == nil {
			_, err = l.d.authorize(p, access.Connect)
		}
		if err != nil {
			c.Close()
			l.d.denied(p, audit.ViaAPI, err)
			continue
		}
		pc := &peerConn{Conn: c, peer: p, facts: caller.NewConn(p.PID)}
		if !l.d.apiConns.admit(pc, MaxAPIConns) {
			l.d.logf("api: %d requests running, refusing pid %d", MaxAPIConns, p.PID)
			c.Close()
			continue
		}
		return pc, nil
	}
}
