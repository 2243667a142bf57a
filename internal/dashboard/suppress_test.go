package dashboard

import (
	"fmt"
	"math"
	"testing"
)

// testTree is a province P with districts D1..D3 and three communes each
// (D1 has C11, C12, C13; ...).
func testTree() unitTree {
	t := unitTree{root: "P", children: map[string][]string{}}
	for d := 1; d <= 3; d++ {
		dc := fmt.Sprintf("D%d", d)
		t.children["P"] = append(t.children["P"], dc)
		for c := 1; c <= 3; c++ {
			t.children[dc] = append(t.children[dc], fmt.Sprintf("C%d%d", d, c))
		}
	}
	return t
}

// history fills every day with the same commune counts, then sets the
// given (commune, days ago) counts, and sums districts and the province.
func history(t unitTree, days int, base map[string]int64, set map[[2]any]int64) map[string][]int64 {
	h := map[string][]int64{}
	for _, d := range t.children[t.root] {
		for _, c := range t.children[d] {
			h[c] = make([]int64, days)
			for i := range h[c] {
				h[c][i] = base[c]
			}
		}
	}
	for k, v := range set {
		h[k[0].(string)][days-1-k[1].(int)] = v
	}
	h[t.root] = make([]int64, days)
	for _, d := range t.children[t.root] {
		h[d] = make([]int64, days)
		for _, c := range t.children[d] {
			for i, n := range h[c] {
				h[d][i] += n
				h[t.root][i] += n
			}
		}
	}
	return h
}

// attacker is a reader who keeps every day's map and solves every equation
// the figures obey: parent = sum of children on each day, each published
// 14-day total = sum of its days. It reports the small counts it can
// determine exactly, by linear algebra or by reading hidden cells as small.
type attacker struct {
	vars  map[[2]any]int // (unit, day) → column
	known map[int]float64
	eqs   []equation
}

// equation is sum(coefficient × cell) = rhs.
type equation struct {
	coef map[int]float64
	rhs  float64
}

func (a *attacker) col(u string, d int) int {
	k := [2]any{u, d}
	if c, ok := a.vars[k]; ok {
		return c
	}
	a.vars[k] = len(a.vars)
	return a.vars[k]
}

// read publishes the map of day `today` (history index) to the attacker.
func (a *attacker) read(tr unitTree, h map[string][]int64, today int, th int64) {
	window := map[string][]int64{}
	for u, s := range h {
		window[u] = s[today-PublicDays+1 : today+1]
	}
	daily, total := publicCells(tr, window, th)
	withSeries := map[string]bool{tr.root: true}
	for _, d := range tr.children[tr.root] {
		withSeries[d] = true
	}
	for u := range h {
		for i := range PublicDays {
			if (withSeries[u] || i == PublicDays-1) && !daily[i][u] {
				a.known[a.col(u, today-PublicDays+1+i)] = float64(window[u][i])
			}
		}
		if !total[u] {
			var sum int64
			eq := map[int]float64{}
			for d := today - 13; d <= today; d++ {
				eq[a.col(u, d)] = 1
				sum += h[u][d]
			}
			a.eqs = append(a.eqs, equation{eq, float64(sum)})
		}
	}
}

// solve returns the (unit, day) cells whose value the equations determine.
func (a *attacker) solve(tr unitTree, h map[string][]int64) map[[2]any]bool {
	days := len(h[tr.root])
	for d := range days { // the sums hold on every day
		for p, cs := range tr.children {
			eq := map[int]float64{a.col(p, d): -1}
			for _, c := range cs {
				eq[a.col(c, d)] = 1
			}
			a.eqs = append(a.eqs, equation{eq, 0})
		}
	}
	n := len(a.vars)
	var m [][]float64
	for _, e := range a.eqs {
		row := make([]float64, n+1)
		for c, v := range e.coef {
			row[c] = v
		}
		row[n] = e.rhs
		for c, v := range a.known { // move known cells to the right
			row[n] -= row[c] * v
			row[c] = 0
		}
		m = append(m, row)
	}
	// Reduced row echelon form: a cell is determined when its pivot row has
	// no other unknown.
	r := 0
	pivots := map[int]int{}
	for c := 0; c < n && r < len(m); c++ {
		p := -1
		for i := r; i < len(m); i++ {
			if math.Abs(m[i][c]) > 1e-9 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		m[r], m[p] = m[p], m[r]
		f := m[r][c]
		for j := range m[r] {
			m[r][j] /= f
		}
		for i := range m {
			if i != r && math.Abs(m[i][c]) > 1e-9 {
				g := m[i][c]
				for j := range m[i] {
					m[i][j] -= g * m[r][j]
				}
			}
		}
		pivots[c] = r
		r++
	}
	out := map[[2]any]bool{}
	// A reader who takes every hidden cell for a small count (1 or 2) also
	// reads a sum of k hidden cells equal to k as all ones, and to 2k as
	// all twos; that reading is a leak when it is right.
	name := map[int][2]any{}
	for k, c := range a.vars {
		name[c] = k
	}
	for _, row := range m[:r] {
		var cells [][2]any
		sums := true
		for j := range n {
			if math.Abs(row[j]) > 1e-9 {
				sums = sums && math.Abs(row[j]-1) < 1e-9
				cells = append(cells, name[j])
			}
		}
		k := float64(len(cells))
		if !sums || (math.Abs(row[n]-k) > 1e-9 && math.Abs(row[n]-2*k) > 1e-9) {
			continue
		}
		small := true
		for _, c := range cells {
			v := h[c[0].(string)][c[1].(int)]
			small = small && v > 0 && v < 3
		}
		if small {
			for _, c := range cells {
				out[c] = true
			}
		}
	}
	for k, c := range a.vars {
		if _, ok := a.known[c]; ok {
			out[k] = true
			continue
		}
		row, ok := pivots[c]
		if !ok {
			continue
		}
		alone := true
		for j := range n {
			if j != c && math.Abs(m[row][j]) > 1e-9 {
				alone = false
				break
			}
		}
		if alone {
			out[k] = true
		}
	}
	return out
}

// TestComplementarySuppression publishes several days of maps built from
// shapes that today's arithmetic would expose, and checks that a reader who
// keeps them all and solves every equation learns no count under 3, and
// that each hidden cell's 14-day total and parents stay consistent.
func TestComplementarySuppression(t *testing.T) {
	tr := testTree()
	many := map[string]int64{}
	for _, d := range tr.children["P"] {
		for i, c := range tr.children[d] {
			many[c] = int64(4 + i) // large, distinct counts every day
		}
	}
	quiet := map[string]int64{} // zero everywhere
	const days = PublicDays + 16
	last := days - 1
	for _, c := range []struct {
		name string
		base map[string]int64
		set  map[[2]any]int64
	}{
		{"one small child among many", many, map[[2]any]int64{{"C11", 0}: 1}},
		{"two small children of one parent", many, map[[2]any]int64{{"C11", 0}: 1, {"C12", 0}: 1}},
		{"two small children, 2 and 2", many, map[[2]any]int64{{"C21", 0}: 2, {"C22", 0}: 2}},
		{"small children in two districts", many, map[[2]any]int64{{"C11", 0}: 1, {"C31", 0}: 2}},
		{"a district whose communes reveal it", quiet, map[[2]any]int64{{"C11", 0}: 1, {"C21", 0}: 5, {"C31", 0}: 7}},
		{"a small district total of two communes", quiet, map[[2]any]int64{{"C11", 0}: 1, {"C12", 0}: 1, {"C21", 0}: 9}},
		{"only one small count in the province", quiet, map[[2]any]int64{{"C11", 0}: 2}},
		{"small count yesterday, day over day", many, map[[2]any]int64{{"C12", 1}: 1}},
		{"small count leaving the 14-day window", many, map[[2]any]int64{{"C13", 14}: 2}},
		{"small count 13 days ago beside large days", quiet, map[[2]any]int64{{"C11", 13}: 1, {"C11", 3}: 8, {"C21", 3}: 6}},
		{"a small count every other day", quiet, map[[2]any]int64{{"C11", 0}: 1, {"C11", 2}: 2, {"C11", 4}: 1, {"C21", 1}: 6, {"C21", 2}: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := history(tr, days, c.base, c.set)
			a := &attacker{vars: map[[2]any]int{}, known: map[int]float64{}}
			for today := PublicDays - 1; today <= last; today++ { // every map from the first full window
				a.read(tr, h, today, 3)
			}
			known := a.solve(tr, h)
			for k := range known {
				u, d := k[0].(string), k[1].(int)
				if v := h[u][d]; v > 0 && v < 3 {
					t.Errorf("%s on day %d (%d days ago) = %d is derivable", u, d, last-d, v)
				}
			}
			// The small counts themselves were there to protect.
			for k := range c.set {
				if !a.hasCol(k[0].(string), last-k[1].(int)) {
					t.Errorf("%v never published", k)
				}
			}
		})
	}
}

func (a *attacker) hasCol(u string, d int) bool {
	_, ok := a.vars[[2]any{u, d}]
	return ok
}

// TestSuppressionKeepsLargeFigures checks that suppression hides only what
// it must: with no small count nothing is hidden, and one small commune
// hides a handful of cells on its day, not its district's series.
func TestSuppressionKeepsLargeFigures(t *testing.T) {
	tr := testTree()
	base := map[string]int64{}
	for _, d := range tr.children["P"] {
		for i, c := range tr.children[d] {
			base[c] = int64(5 + i)
		}
	}
	h := history(tr, PublicDays, base, nil)
	daily, total := publicCells(tr, h, 3)
	for i, hd := range daily {
		if len(hd) != 0 {
			t.Errorf("day %d hides %v without a small count", i, hd)
		}
	}
	if len(total) != 0 {
		t.Errorf("14-day totals hidden without a small count: %v", total)
	}
	h = history(tr, PublicDays, base, map[[2]any]int64{{"C11", 0}: 1})
	daily, total = publicCells(tr, h, 3)
	today := daily[PublicDays-1]
	if !today["C11"] || !today["C12"] || today["D1"] || today["P"] || len(today) != 2 {
		t.Errorf("today hides %v, want C11 and its complement C12 only", today)
	}
	if !total["C11"] || !total["C12"] || total["D1"] || total["P"] {
		t.Errorf("14-day totals hidden: %v", total)
	}
	for i := range PublicDays - 1 {
		if len(daily[i]) != 0 {
			t.Errorf("day %d hides %v", i, daily[i])
		}
	}
}

// TestSmallTotalNotBrokenDown: a district total under 3 split over two
// communes would be read as 1 and 1 from the number of hidden communes, so
// a zero commune is hidden beside them; a small total held by a single
// commune hides only that commune beside its district.
func TestSmallTotalNotBrokenDown(t *testing.T) {
	tr := testTree()
	for _, c := range []struct {
		name        string
		set         map[[2]any]int64
		want, shown []string
	}{
		{"1 and 1", map[[2]any]int64{{"C11", 0}: 1, {"C12", 0}: 1, {"C21", 0}: 9}, []string{"D1", "C11", "C12", "C13"}, nil},
		{"single commune", map[[2]any]int64{{"C11", 0}: 2, {"C21", 0}: 9}, []string{"D1", "C11"}, []string{"C12", "C13"}},
	} {
		h := history(tr, PublicDays, nil, c.set)
		daily, _ := publicCells(tr, h, 3)
		today := daily[PublicDays-1]
		for _, u := range c.want {
			if !today[u] {
				t.Errorf("%s: %s shown (%v)", c.name, u, today)
			}
		}
		for _, u := range c.shown {
			if today[u] {
				t.Errorf("%s: %s hidden (%v)", c.name, u, today)
			}
		}
	}
}
