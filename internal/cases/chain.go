package cases

import (
	"context"
	"fmt"
	"slices"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/sqldb"
)

// ChainNode is one case in a transmission chain. Cases outside the viewer's
// jurisdiction appear with their status only (Hidden).
type ChainNode struct {
	CaseID      int64     `json:"case_id"`
	SourceID    int64     `json:"source_case_id,omitempty"`
	Status      string    `json:"status"`
	CommuneCode string    `json:"commune_code,omitempty"`
	SampleDate  string    `json:"sample_date,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	Depth       int       `json:"depth"`
	Hidden      bool      `json:"hidden,omitempty"`
}

// Chain is a case's transmission chain: its ancestors up to the first known
// source, and everything that descends from that root, breadth first.
type Chain struct {
	Focus     int64       `json:"focus"`
	Root      int64       `json:"root"`
	Nodes     []ChainNode `json:"nodes"`
	Truncated bool        `json:"truncated,omitempty"`
}

// Bounds of a chain: deep chains exist (a market cluster), but a page
// cannot draw thousands of nodes.
const (
	maxChainUp    = 50
	maxChainNodes = 300
)

// Chain returns the chain a case belongs to.
func (s *Service) Chain(ctx context.Context, p *auth.Principal, caseID int64) (Chain, error) {
	c, err := s.Get(ctx, p, caseID)
	if err != nil {
		return Chain{}, err
	}
	root := c
	for i := 0; i < maxChainUp && root.SourceCaseID != nil; i++ {
		up, err := s.lookup(ctx, s.DB.R, *root.SourceCaseID)
		if err != nil {
			return Chain{}, fmt.Errorf("chain: %w", err)
		}
		root = up
	}
	ch := Chain{Focus: c.ID, Root: root.ID}
	add := func(k Case, depth int) {
		n := ChainNode{CaseID: k.ID, Status: k.Status, CreatedAt: k.CreatedAt, Depth: depth}
		if k.SourceCaseID != nil {
			n.SourceID = *k.SourceCaseID
		}
		if p.InJurisdiction(k.CommuneCode) {
			n.CommuneCode, n.SampleDate = k.CommuneCode, k.SampleDate
		} else {
			n.Hidden = true
		}
		ch.Nodes = append(ch.Nodes, n)
	}
	add(root, 0)
	level := []int64{root.ID}
	seen := map[int64]bool{root.ID: true}
	for depth := 1; len(level) > 0 && !ch.Truncated; depth++ {
		var next []int64
		err := sqldb.Chunks(level, nil, func(in string, args []any) error {
			rows, err := s.DB.R.QueryContext(ctx, "SELECT "+caseCols+" FROM cases WHERE source_case_id IN ("+in+") ORDER BY id", args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				k, err := scanCase(rows)
				if err != nil {
					rows.Close()
					return err
				}
				if seen[k.ID] {
					continue
				}
				if len(ch.Nodes) >= maxChainNodes {
					ch.Truncated = true
					break
				}
				seen[k.ID] = true
				add(k, depth)
				next = append(next, k.ID)
			}
			rows.Close()
			return rows.Err()
		})
		if err != nil {
			return Chain{}, fmt.Errorf("chain: %w", err)
		}
		level = next
	}
	slices.SortStableFunc(ch.Nodes, func(a, b ChainNode) int { return a.Depth - b.Depth })
	return ch, nil
}
