package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/invopop/jsonschema"

	"anticovid/internal/dashboard"
	"anticovid/internal/msg"
)

// routesOpenAPI serves the OpenAPI document of every route registered with s.api.
func (s *Server) routesOpenAPI() {
	var once sync.Once
	var doc []byte
	s.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { doc = s.openAPIDocument() })
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(doc)
	})
}

// openAPIDocument is the OpenAPI 3.1 document of the registered routes, as
// indented JSON. Schemas come from the Go types of the route table through
// invopop/jsonschema: there is no schema written by hand that could drift.
func (s *Server) openAPIDocument() []byte {
	g := newSchemaGen()
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = g.operation(rt)
	}
	errRef := g.response(reflect.TypeFor[apiError]())
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "anticovid API",
			"version":     "1",
			"summary":     msg.T("vi", "api.info.summary"),
			"description": msg.T("vi", "api.info.description") + "\n\n" + msg.T("en", "api.info.description"),
		},
		"servers": []map[string]string{{"url": "/"}},
		"tags":    g.tags(),
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]string{"type": "http", "scheme": "bearer", "description": msg.T("en", "api.security.bearer")},
				"cookie": map[string]string{"type": "apiKey", "in": "cookie", "name": sessionCookie, "description": msg.T("en", "api.security.cookie")},
			},
			"schemas": g.defs,
			"responses": map[string]any{
				"Error": map[string]any{"description": msg.T("en", "api.error.description"),
					"content": map[string]any{"application/json": map[string]any{"schema": errRef}}},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // only maps of plain values
	}
	return b
}

// schemaGen turns Go types into JSON Schemas under components/schemas: one
// reflector for answers (every field the encoder always writes is required,
// no other field allowed) and one for requests (nothing required that the
// handler does not check itself; unknown fields allowed where the decoder
// ignores them).
type schemaGen struct {
	defs    map[string]any  // components/schemas
	raw     map[string]any  // each as reflected, before nullable: two types of one name differ here
	done    map[string]bool // defs nullable has been through
	tagSeen map[string]bool
	tagList []string
}

func newSchemaGen() *schemaGen {
	return &schemaGen{defs: map[string]any{}, raw: map[string]any{}, done: map[string]bool{}, tagSeen: map[string]bool{}}
}

func (g *schemaGen) tags() []map[string]string {
	var out []map[string]string
	for _, t := range g.tagList {
		out = append(out, map[string]string{"name": t, "description": msg.T("vi", "api.tag."+t) + " — " + msg.T("en", "api.tag."+t)})
	}
	return out
}

func (g *schemaGen) operation(rt route) map[string]any {
	op := rt.Op
	if !g.tagSeen[op.Tag] {
		g.tagSeen[op.Tag] = true
		g.tagList = append(g.tagList, op.Tag)
	}
	out := map[string]any{
		"operationId": op.ID,
		"tags":        []string{op.Tag},
		"summary":     msg.T("vi", "api.op."+op.ID),
		"description": msg.T("en", "api.op."+op.ID),
		"x-role":      op.Role,
	}
	if op.Role == rolePublic {
		out["security"] = []any{}
	} else {
		out["security"] = []map[string][]string{{"bearer": {}}, {"cookie": {}}}
	}
	var params []map[string]any
	for _, m := range pathParamNames.FindAllStringSubmatch(rt.Path, -1) {
		typ := "string"
		if pathIntegers[m[1]] {
			typ = "integer"
		}
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": paramSchema(typ)})
	}
	for _, p := range op.Query {
		params = append(params, map[string]any{"name": p.Name, "in": "query", "required": p.Required, "schema": paramSchema(p.Type)})
	}
	for _, p := range op.Headers {
		params = append(params, map[string]any{"name": p.Name, "in": "header", "required": p.Required, "schema": paramSchema(p.Type)})
	}
	if params != nil {
		out["parameters"] = params
	}
	if op.Body != nil {
		content := g.requestContent(op)
		if ex, ok := apiExamples[op.ID]; ok {
			content["application/json"].(map[string]any)["example"] = ex()
		}
		out["requestBody"] = map[string]any{"required": !op.OptionalBody, "content": content}
	}
	responses := map[string]any{}
	for status, v := range op.Resp {
		responses[strconv.Itoa(status)] = g.answer(status, v)
	}
	for _, status := range errorStatuses(rt) {
		if _, own := responses[strconv.Itoa(status)]; !own { // an error with more than the one shape (venue import)
			responses[strconv.Itoa(status)] = map[string]any{"$ref": "#/components/responses/Error"}
		}
	}
	out["responses"] = responses
	return out
}

// pathIntegers are the path parameters that are record ids.
var pathIntegers = map[string]bool{"id": true, "use": true, "user": true}

func paramSchema(typ string) map[string]any {
	if typ == "date" {
		return map[string]any{"type": "string", "format": "date"}
	}
	return map[string]any{"type": typ}
}

// errorStatuses are the error answers an operation can give: 500 always,
// and 503 (with Retry-After) while the database is out of reach;
// 400 when it reads a body, a query or a path; 404 when the path or the
// body names a record;
// 413 with a body (the body limit); 401 and 403 when it needs a login; 403
// for every write (cross-origin protection); and the operation's own.
func errorStatuses(rt route) []int {
	op := rt.Op
	set := map[int]bool{http.StatusInternalServerError: true, http.StatusServiceUnavailable: true}
	hasPath := strings.Contains(rt.Path, "{")
	if op.Body != nil || len(op.Query) > 0 || hasPath {
		set[http.StatusBadRequest] = true
	}
	if hasPath || op.Body != nil { // the path or the body names a record
		set[http.StatusNotFound] = true
	}
	if op.Body != nil {
		set[http.StatusRequestEntityTooLarge] = true
	}
	if op.Role != rolePublic {
		set[http.StatusUnauthorized], set[http.StatusForbidden] = true, true
	}
	if rt.Method != http.MethodGet {
		set[http.StatusForbidden] = true
	}
	for _, s := range op.Errs {
		set[s] = true
	}
	var out []int
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

func (g *schemaGen) requestContent(op apiOp) map[string]any {
	switch b := op.Body.(type) {
	case either:
		c := map[string]any{}
		for _, alt := range b {
			o := op
			o.Body = alt
			for k, v := range g.requestContent(o) {
				c[k] = v
			}
		}
		return c
	case form:
		props := map[string]any{}
		for _, p := range b {
			props[p] = map[string]any{"type": "string"}
		}
		return map[string]any{"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object", "properties": props}}}
	case files:
		c := map[string]any{}
		for _, m := range b {
			c[string(m)] = fileContent(m)[string(m)]
		}
		return c
	case media:
		return fileContent(b)
	}
	return map[string]any{"application/json": map[string]any{"schema": g.request(reflect.TypeOf(op.Body), op.Strict)}}
}

func fileContent(m media) map[string]any {
	return map[string]any{string(m): map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": string(m)}}}
}

func (g *schemaGen) answer(status int, v any) map[string]any {
	out := map[string]any{"description": http.StatusText(status)}
	switch b := v.(type) {
	case nil:
	case media:
		out["content"] = fileContent(b)
	case files:
		c := map[string]any{}
		for _, m := range b {
			c[string(m)] = fileContent(m)[string(m)]
		}
		out["content"] = c
	default:
		out["content"] = map[string]any{"application/json": map[string]any{"schema": g.response(reflect.TypeOf(v))}}
	}
	return out
}

// response is the schema of an answer of type t.
func (g *schemaGen) response(t reflect.Type) map[string]any {
	r := &jsonschema.Reflector{Namer: schemaName(""), Anonymous: true, Mapper: marshalerSchema}
	return g.reflect(r, t, "")
}

// request is the schema of a request body of type t: nothing is required
// (the handler checks what it needs and says which field is wrong), and
// unknown fields pass unless the handler decodes strictly.
func (g *schemaGen) request(t reflect.Type, strict bool) map[string]any {
	suffix := "Request"
	if strict {
		suffix = "StrictRequest"
	}
	r := &jsonschema.Reflector{Namer: schemaName(suffix), Anonymous: true, RequiredFromJSONSchemaTags: true, AllowAdditionalProperties: !strict, Mapper: marshalerSchema}
	return g.reflect(r, t, suffix)
}

func (g *schemaGen) reflect(r *jsonschema.Reflector, t reflect.Type, suffix string) map[string]any {
	s := r.ReflectFromType(t)
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	b = []byte(strings.ReplaceAll(string(b), `"#/$defs/`, `"#/components/schemas/`))
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		panic(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	delete(root, "$defs")
	delete(root, "$schema")
	delete(root, "$id")
	for name, d := range defs {
		raw, _ := json.Marshal(d)
		if old, ok := g.raw[name]; ok {
			if old != string(raw) {
				panic(fmt.Sprintf("web: two Go types are both schema %s", name))
			}
			continue
		}
		g.raw[name], g.defs[name] = string(raw), d
	}
	g.nullable(t, root)
	return root
}

// marshalerSchema is the schema of the types that encode themselves
// (json.Marshaler), which reflection cannot see through.
func marshalerSchema(t reflect.Type) *jsonschema.Schema {
	if t == reflect.TypeFor[dashboard.Shown]() { // a count, or null when hidden
		return &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "integer"}, {Type: "null"}}}
	}
	return nil
}

// schemaName names the schema of a named Go type: its name, after its
// package's when the name alone would not say what it is (venue.Input is
// VenueInput; venue.Venue stays Venue), with suffix for request schemas.
func schemaName(suffix string) func(reflect.Type) string {
	return func(t reflect.Type) string {
		name := t.Name()
		if name == "" { // an anonymous struct: inline
			return ""
		}
		if i := strings.IndexByte(name, '['); i >= 0 { // a generic type's arguments
			name = name[:i]
		}
		pkg := t.PkgPath()[strings.LastIndexByte(t.PkgPath(), '/')+1:]
		if pkg != "web" && !strings.HasPrefix(strings.ToLower(name), strings.TrimSuffix(pkg, "s")) {
			name = upperFirst(pkg) + upperFirst(name)
		}
		if strings.HasSuffix(name, "Request") {
			return upperFirst(name) // a request type already; were it also an answer, the two would collide and panic
		}
		return upperFirst(name) + suffix
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// nullable lets null stand where encoding/json writes it: a nil pointer,
// slice or map in a field without omitempty. The reflector knows nothing of
// this, so the walk follows the Go type and its schema side by side.
func (g *schemaGen) nullable(t reflect.Type, node map[string]any) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if ref, ok := node["$ref"].(string); ok {
		def := strings.TrimPrefix(ref, "#/components/schemas/")
		if g.done[def] {
			return
		}
		g.done[def] = true
		node, _ = g.defs[def].(map[string]any)
		if node == nil {
			return
		}
	}
	if t == reflect.TypeFor[time.Time]() || t.Implements(reflect.TypeFor[json.Marshaler]()) {
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if items, ok := node["items"].(map[string]any); ok {
			g.nullable(t.Elem(), items)
		}
	case reflect.Map:
		if items, ok := node["additionalProperties"].(map[string]any); ok {
			g.nullable(t.Elem(), items)
		}
	case reflect.Struct:
		props, _ := node["properties"].(map[string]any)
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			key, opts, _ := strings.Cut(tag, ",")
			if tag == "-" || !f.IsExported() && !f.Anonymous {
				continue
			}
			if f.Anonymous && key == "" {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					g.nullable(ft, node)
					continue
				}
			}
			if key == "" {
				key = f.Name
			}
			p, ok := props[key].(map[string]any)
			if !ok {
				continue
			}
			g.nullable(f.Type, p)
			omit := slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
			switch f.Type.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map:
				if !omit && f.Type != reflect.TypeFor[json.RawMessage]() {
					props[key] = orNull(p)
				}
			}
		}
	}
}

// orNull is schema p that also allows null.
func orNull(p map[string]any) map[string]any {
	if typ, ok := p["type"].(string); ok {
		q := map[string]any{}
		for k, v := range p {
			q[k] = v
		}
		q["type"] = []string{typ, "null"}
		return q
	}
	return map[string]any{"anyOf": []any{p, map[string]any{"type": "null"}}}
}
