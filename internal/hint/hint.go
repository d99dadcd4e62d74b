// Package hint carries what the command line shows beside an error: the
// fix to try (Error), a mistake in how wsx was invoked (Usage) and an exit
// code a flow chose itself (Exit). Flows return them; cmd alone maps them
// to the exit code table and prints them.
package hint

import (
	"errors"
	"fmt"
	"strconv"
)

// Error adds a fix to an error, after the message that names what went
// wrong.
type Error struct {
	Err  error
	Hint string
}

func (e Error) Error() string { return e.Err.Error() }
func (e Error) Unwrap() error { return e.Err }

// With returns err with the fix the format describes; nil stays nil.
func With(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return Error{err, fmt.Sprintf(format, args...)}
}

// Of returns the fix err carries, or "".
func Of(err error) string {
	var he Error
	if errors.As(err, &he) {
		return he.Hint
	}
	return ""
}

// Usage marks an error in how wsx was invoked.
type Usage struct{ Msg string }

func (e Usage) Error() string { return e.Msg }

// Usagef returns a Usage error.
func Usagef(format string, args ...any) error {
	return Usage{fmt.Sprintf(format, args...)}
}

// Exit carries an exit code chosen by a flow itself, such as the status
// of a child process or a failed verification.
type Exit struct {
	Code int
	Err  error // nil when the flow already said everything
}

func (e Exit) Error() string {
	if e.Err == nil {
		return "exit status " + strconv.Itoa(e.Code)
	}
	return e.Err.Error()
}

func (e Exit) Unwrap() error { return e.Err }

// Said marks an error the flow has reported already: cmd prints nothing
// more and exits with the code of Err.
type Said struct{ Err error }

func (e Said) Error() string { return e.Err.Error() }
func (e Said) Unwrap() error { return e.Err }
