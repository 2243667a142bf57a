package web

import (
	"fmt"
	"net/http"
	"regexp"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
)

// apiOp is the contract of one API operation. The route table (api_ops*.go)
// is the only place it is written: s.api refuses to register a route the
// table does not hold, and the OpenAPI document (openapi.go) is generated
// from the table and from the very Go types the handlers decode and encode,
// so the document and the handlers cannot say different things unnoticed
// (the web tests also check every answer against the document).
type apiOp struct {
	ID  string // operationId; the catalog holds its summary as "api.op.<ID>"
	Tag string // the feature, as the document groups operations
	// Role says who may call: rolePublic needs no credentials (security []),
	// anything else is signed in with a bearer token or the session cookie
	// and names the roles the service lets through (x-role).
	Role  string
	Query []param
	// Body is the request: a value of the Go type the handler decodes, a
	// media (file upload), or nil when the operation takes none.
	Body any
	// OptionalBody: the handler reads a body only when one is sent.
	OptionalBody bool
	// Strict marks bodies decoded with decodeStrict: unknown fields refused.
	Strict bool
	// Resp maps each success status to a value of the Go type the handler
	// encodes, a media (a file), or nil (no body).
	Resp map[int]any
	// Errs are error statuses beyond those every operation of its kind can
	// answer (see errorStatuses).
	Errs []int
	// Headers the request may carry beyond authentication.
	Headers []param
}

// rolePublic marks an operation that needs no credentials.
const rolePublic = "public"

// param is one query or header parameter: its name, JSON schema type and
// whether it is required.
type param struct {
	Name, Type string
	Required   bool
}

// q is an optional query parameter of type typ ("string", "integer", "boolean").
func q(name, typ string) param { return param{Name: name, Type: typ} }

// paging are the ?limit= and ?offset= of every list that pages.
var paging = []param{q("limit", "integer"), q("offset", "integer")}

// media is a request or answer that is a file of this media type rather than
// JSON.
type media string

// Media types of the files the API takes and gives.
const (
	mediaPDF  media = "application/pdf"
	mediaXLSX media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mediaCSV  media = "text/csv"
	mediaPNG  media = "image/png"
	mediaSVG  media = "image/svg+xml"
	mediaZIP  media = "application/zip"
	mediaSSE  media = "text/event-stream"
	mediaGeo  media = "application/geo+json"
)

// files is a body that is one of several files (the request chooses).
type files []media

// either is a request body of any of several kinds (form, media).
type either []any

// form is a multipart/form-data request body: the names of its parts.
type form []string

// route is one registered API operation, in registration order.
type route struct {
	Method, Path string
	Op           apiOp
}

// pathParamNames finds the {names} of a route pattern.
var pathParamNames = regexp.MustCompile(`\{([a-z_]+)\}`)

// api registers a JSON API route. Its contract must be in the route table:
// a route without one panics at start (and so fails every test), since an
// undocumented operation is one integrators cannot build on.
func (s *Server) api(method, path string, h func(w http.ResponseWriter, r *http.Request) error) {
	op, ok := apiOps[method+" "+path]
	if !ok {
		panic(fmt.Sprintf("web: API route %s %s has no entry in the route table (api_ops*.go)", method, path))
	}
	s.routes = append(s.routes, route{method, path, op})
	needsAuth := op.Role != rolePublic
	s.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		if needsAuth && auth.From(r.Context()) == nil {
			s.apiFail(w, r, errs.ErrUnauthorized)
			return
		}
		if err := h(w, r); err != nil {
			s.apiFail(w, r, err)
		}
	})
}
