package serve

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// Timeouts bound how long a client may take: a slow client (one that
// sends its headers or body a byte at a time, or stops reading) holds a
// connection only this long.
type Timeouts struct {
	// ReadHeader is the time to read a request's headers.
	ReadHeader time.Duration
	// Read is the time to read a whole request, body included.
	Read time.Duration
	// Write is the time from the end of the headers to the end of the
	// response (event streams extend it at each write instead).
	Write time.Duration
	// Idle is how long a kept-alive connection waits for a next request.
	Idle time.Duration
}

// DefaultTimeouts are fedmeter serve's.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: time.Minute, Write: 5 * time.Minute, Idle: 2 * time.Minute}

// MaxHeaderBytes is the largest request header the server reads.
const MaxHeaderBytes = 64 << 10

// HTTPServer is an http.Server of s with the timeouts t, the header
// limit, s's TLS configuration (mutual TLS) and s.Shutdown registered to
// run on the http.Server's Shutdown, which ends the event streams.
func (s *Server) HTTPServer(t Timeouts) *http.Server {
	hs := &http.Server{Handler: s, TLSConfig: s.TLSConfig(), ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read,
		WriteTimeout: t.Write, IdleTimeout: t.Idle, MaxHeaderBytes: MaxHeaderBytes}
	hs.RegisterOnShutdown(s.Shutdown)
	return hs
}

// bodyError is a failure to read a request's body: a client too slow for
// the read timeout, or a connection lost. It is the client's doing: 408,
// never a 500.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "the request body could not be read: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// bodyReader marks the errors of reading a body as bodyErrors.
type bodyReader struct{ io.ReadCloser }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}

// bodyProblem is the problem of a body that could not be read, or nil.
func bodyProblem(err error) *Problem {
	var be *bodyError
	if !errors.As(err, &be) {
		return nil
	}
	return newProblem(http.StatusRequestTimeout, "timeout",
		"the request body could not be read in time ("+be.err.Error()+")", "send the body at once, or in smaller requests")
}
