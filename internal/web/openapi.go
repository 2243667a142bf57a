package web

import (
	"net/http"
	"regexp"
	"strings"
)

// routesOpenAPI registers the OpenAPI document of every route registered with s.api.
func (s *Server) routesOpenAPI() {
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.openapi)
}

// openapi describes every API route registered with s.api.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	paths := map[string]map[string]any{}
	params := regexp.MustCompile(`\{([a-z_]+)\}`)
	for _, rt := range s.routes {
		op := map[string]any{
			"summary": rt.Summary,
			"responses": map[string]any{
				"200": map[string]any{"description": "OK"},
				"4XX": map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		var ps []map[string]any
		for _, m := range params.FindAllStringSubmatch(rt.Path, -1) {
			ps = append(ps, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		if ps != nil {
			op["parameters"] = ps
		}
		if rt.Auth {
			op["security"] = []map[string][]string{{"bearer": {}}, {"cookie": {}}}
		}
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]string{"title": "anticovid API", "version": "1"},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]string{"type": "http", "scheme": "bearer"},
				"cookie": map[string]string{"type": "apiKey", "in": "cookie", "name": sessionCookie},
			},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"error": map[string]any{"type": "object", "properties": map[string]any{
					"code": map[string]string{"type": "string"}, "message": map[string]string{"type": "string"},
					"fields": map[string]any{"type": "object", "additionalProperties": map[string]string{"type": "string"}},
				}},
			}}},
		},
	})
}
