package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"

	"github.com/wsxdev/wsx/internal/access"
)

// sharingData is what the Sharing page shows.
type sharingData struct {
	Grants   access.Grants
	Roles    []string
	GuestEnv string
	// Subject and Role fill the form again after a refused change.
	Subject, Role string
}

// sharingRoles are the roles the form offers, least first.
var sharingRoles = []string{access.View.String(), access.Edit.String(), access.Admin.String()}

func (s *Server) sharingPage(w http.ResponseWriter, r *http.Request) {
	s.renderSharing(w, r, http.StatusOK, sharingData{Role: access.View.String()}, nil)
}

// renderSharing shows the grants, the share form (with d's subject and
// role) and what guests need, and err when a change was refused.
func (s *Server) renderSharing(w http.ResponseWriter, r *http.Request, code int, d sharingData, err error) {
	sh, ok := s.opts.Backend.(Sharing)
	if !ok {
		http.NotFound(w, r)
		return
	}
	v := view{Title: "Sharing", Nav: "sharing", Flash: sharingFlash(r)}
	if err != nil {
		v.Error = err.Error()
	}
	gs, gerr := sh.Grants()
	if gerr != nil {
		v.Error = joinErr(v.Error, gerr.Error())
	}
	d.Grants, d.Roles, d.GuestEnv = gs, sharingRoles, sh.GuestEnv()
	v.Data = d
	s.render(w, code, "sharing", v)
}

// share is the share form: `wsx share SUBJECT ROLE`.
func (s *Server) share(w http.ResponseWriter, r *http.Request) {
	req := access.Request{Subject: r.PostFormValue("subject"), Role: r.PostFormValue("role")}
	s.changeGrant(w, r, req)
}

// unshare is a grant's Revoke button: `wsx unshare SUBJECT`.
func (s *Server) unshare(w http.ResponseWriter, r *http.Request) {
	s.changeGrant(w, r, access.Request{Subject: r.PostFormValue("subject"), Revoke: true})
}

func (s *Server) changeGrant(w http.ResponseWriter, r *http.Request, req access.Request) {
	sh, ok := s.opts.Backend.(Sharing)
	if !ok {
		http.NotFound(w, r)
		return
	}
	g, err := sh.Share(req)
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, access.ErrDenied):
			code = http.StatusForbidden
		case errors.Is(err, access.ErrInvalidGrant), errors.Is(err, access.ErrNotGranted):
			code = http.StatusBadRequest
		}
		d := sharingData{Subject: req.Subject, Role: req.Role}
		if req.Revoke {
			d = sharingData{Role: access.View.String()}
		}
		s.renderSharing(w, r, code, d, err)
		return
	}
	done := "shared"
	if req.Revoke {
		done = "unshared"
	}
	q := url.Values{"done": {done}, "subject": {g.Subject()}, "role": {g.Role}}
	http.Redirect(w, r, "/sharing?"+q.Encode(), http.StatusSeeOther)
}

// flashSubject is a user or group name as useradd and groupadd allow it.
// Compiled on first use: its 32-fold repetition costs some 500
// allocations, which every wsx process (this package is linked for the
// agent) would otherwise pay before main.
var flashSubject = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^@?[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$`)
})

// sharingFlash says what the last change did, from the redirect's
// parameters, when they name a subject and a role.
func sharingFlash(r *http.Request) string {
	q := r.URL.Query()
	subject, role := q.Get("subject"), q.Get("role")
	if !flashSubject().MatchString(subject) {
		return ""
	}
	if _, err := access.ParseRole(role); err != nil {
		return ""
	}
	switch q.Get("done") {
	case "shared":
		return fmt.Sprintf("Shared with %s: %s.", subject, role)
	case "unshared":
		return fmt.Sprintf("Unshared: %s had %s.", subject, role)
	}
	return ""
}
