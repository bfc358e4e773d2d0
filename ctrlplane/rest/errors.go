package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"lbx/ctrlplane/config"
)

// apiError is an answer other than success: its HTTP status and message,
// as F5's error JSON carries them.
type apiError struct {
	code      int
	msg       string
	challenge bool // a 401 that asks for Basic credentials
}

func (e *apiError) Error() string { return e.msg }

func errf(code int, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errorBody is F5's error JSON.
type errorBody struct {
	Code       int      `json:"code"`
	Message    string   `json:"message"`
	ErrorStack []string `json:"errorStack"`
	APIError   int      `json:"apiError"`
}

// classify maps an error to its HTTP status and message: the config
// package's typed errors as BIG-IP answers them (not found 404, exists
// 409, validation, references, in use and built-ins 400, access denied
// 401), the API's own errors as they say.
func classify(err error) (int, string) {
	var ae *apiError
	var denied *config.AccessDeniedError
	var coded interface{ HTTPStatus() int } // package filexfer's
	switch {
	case errors.As(err, &ae):
		return ae.code, ae.msg
	case errors.As(err, &coded):
		return coded.HTTPStatus(), message(err)
	case errors.As(err, &denied):
		return http.StatusUnauthorized, denied.Error()
	case errors.Is(err, config.ErrNotFound):
		return http.StatusNotFound, message(err)
	case errors.Is(err, config.ErrExists), errors.Is(err, config.ErrConflict):
		return http.StatusConflict, message(err)
	}
	// Validation (references, values), objects in use, built-ins and any
	// other refusal of the change: the request is what is wrong.
	return http.StatusBadRequest, message(err)
}

// message is an error's text on one line: validation joins its problems
// with newlines.
func message(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// writeError answers err as F5's error JSON, with a Basic challenge when
// it is a 401 asking for credentials.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	code, msg := classify(err)
	var ae *apiError
	if errors.As(err, &ae) && ae.challenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="Enterprise Manager"`)
	}
	if code >= 500 {
		s.log.Error("rest: request failed", "err", err)
	}
	api := 3
	if code == 401 || code == 413 || code == 404 && !errors.Is(err, config.ErrNotFound) {
		api = 1
	}
	writeJSON(w, code, errorBody{Code: code, Message: msg, ErrorStack: []string{}, APIError: api})
}

// writeJSON writes body as JSON; a nil body (a DELETE's) writes the
// status alone, as BIG-IP does.
func writeJSON(w http.ResponseWriter, code int, body any) {
	if body == nil {
		w.WriteHeader(code)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Code: code, Message: "encoding the answer: " + err.Error(), ErrorStack: []string{}, APIError: 1})
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
