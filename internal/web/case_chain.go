package web

import (
	"net/http"

	"anticovid/internal/cases"
)

// routesCaseChain registers the transmission chain of a case.
func (s *Server) routesCaseChain() {
	s.page("GET /cases/{id}/chain", true, s.chainPage)
	s.api("GET", "/api/v1/cases/{id}/chain", s.apiChain)
}

type chainNode struct {
	cases.ChainNode
	X, Y  int
	Focus bool
}

type chainEdge struct{ X1, Y1, X2, Y2 int }

const (
	chainColW = 120
	chainRowH = 110
	chainPad  = 60
)

func (s *Server) chainPage(w http.ResponseWriter, r *http.Request) error {
	ch, err := byID(r, s.Cases.Chain)
	if err != nil {
		return err
	}
	rows := map[int][]cases.ChainNode{}
	depth := 0
	for _, n := range ch.Nodes {
		rows[n.Depth] = append(rows[n.Depth], n)
		depth = max(depth, n.Depth)
	}
	widest := 1
	for _, row := range rows {
		widest = max(widest, len(row))
	}
	width := widest*chainColW + 2*chainPad
	pos := map[int64][2]int{}
	var nodes []chainNode
	for d := 0; d <= depth; d++ {
		row := rows[d]
		for i, n := range row {
			x := width/2 + (2*i-len(row)+1)*chainColW/2
			y := chainPad + d*chainRowH
			pos[n.CaseID] = [2]int{x, y}
			nodes = append(nodes, chainNode{ChainNode: n, X: x, Y: y, Focus: n.CaseID == ch.Focus})
		}
	}
	var edges []chainEdge
	for _, n := range nodes {
		if from, ok := pos[n.SourceID]; ok && n.SourceID != 0 {
			edges = append(edges, chainEdge{from[0], from[1] + 26, n.X, n.Y - 26})
		}
	}
	s.render(w, r, http.StatusOK, "chain", map[string]any{"Chain": ch, "Nodes": nodes, "Edges": edges,
		"Width": width, "Height": depth*chainRowH + 2*chainPad, "Focus": ch.Focus})
	return nil
}

func (s *Server) apiChain(w http.ResponseWriter, r *http.Request) error {
	ch, err := byID(r, s.Cases.Chain)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}
